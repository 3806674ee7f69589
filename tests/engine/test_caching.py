"""Step caching: what hits, what misses and why, and that a hit reuses the stored artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from _engine_helpers import artifact_records, run, statuses, write_module
from _engine_helpers import step as step_of

from engine import CachePolicy, pipeline, step
from store.project import Project
from tests.support import cache_objects


@step
def zeros(n: int) -> Annotated[list[int], "zeros"]:
    return [0] * n


@step
def scale(nums: list[int], factor: int) -> Annotated[list[int], "scaled"]:
    return [x * factor for x in nums]


@step
def total(scaled: list[int]) -> Annotated[int, "total"]:
    return sum(scaled)


@pipeline
def chain(n: int = 3, factor: int = 2) -> None:
    total(scale(zeros(n), factor=factor))


def test_second_identical_run_takes_every_step_from_the_cache(project: Project) -> None:
    first = run(project, chain)
    second = run(project, chain)

    assert set(statuses(first).values()) == {"completed"}
    assert statuses(second) == {"zeros": "cached", "scale": "cached", "total": "cached"}
    for s in second.steps:
        assert s.cached_from == first.id
        old = step_of(first, s.name)
        assert {k: (r.id, r.version) for k, r in s.outputs.items()} == {
            k: (r.id, r.version) for k, r in old.outputs.items()}  # fmt: skip
        assert s.cache_key == old.cache_key
    assert [a["version"] for a in artifact_records(project, "total")] == [1]


def test_changed_parameter_reruns_its_step_and_identical_downstream_input_hits(
    project: Project,
) -> None:
    first = run(project, chain, factor=2)
    second = run(project, chain, factor=5)  # zeros times anything: same scaled content

    assert statuses(second) == {"zeros": "cached", "scale": "completed", "total": "cached"}
    assert "parameter factor changed" in step_of(second, "scale").rerun_reasons
    assert step_of(second, "total").cached_from == first.id
    scaled = artifact_records(project, "scaled")
    assert [a["version"] for a in scaled] == [1, 2]
    assert scaled[0]["pointer"]["md5"] == scaled[1]["pointer"]["md5"]


def test_changed_input_content_reruns_downstream_with_reason(project: Project) -> None:
    run(project, chain, n=3)
    second = run(project, chain, n=4)

    assert statuses(second) == {"zeros": "completed", "scale": "completed", "total": "completed"}
    assert "parameter n changed" in step_of(second, "zeros").rerun_reasons
    assert step_of(second, "scale").rerun_reasons == ["input nums changed"]


MODULE = """
from typing import Annotated
from engine import CachePolicy, pipeline, step


def helper(x: int) -> int:
    return x + {helper_delta}


@step
def work(x: int) -> Annotated[int, "worked"]:
    return x * {work_factor}


@step(cache_policy=CachePolicy(source_dependencies=[helper]))
def helped(x: int) -> Annotated[int, "helped"]:
    return helper(x)


@pipeline
def versioned(x: int = 1) -> None:
    work(x)
    helped(x)
"""


def _module(project_dir: Path, work_factor: int = 2, helper_delta: int = 1):  # type: ignore[no-untyped-def]
    source = MODULE.format(work_factor=work_factor, helper_delta=helper_delta)
    return write_module(project_dir, "cachemod", source)


def test_changed_step_code_reruns_with_code_changed(project: Project) -> None:
    run(project, _module(project.root).versioned)
    second = run(project, _module(project.root, work_factor=300).versioned)

    assert statuses(second) == {"work": "completed", "helped": "cached"}
    assert step_of(second, "work").rerun_reasons == ["code changed"]


def test_changed_source_dependency_invalidates_the_step_that_declares_it(
    project: Project,
) -> None:
    run(project, _module(project.root).versioned)
    second = run(project, _module(project.root, helper_delta=1000).versioned)

    assert statuses(second) == {"work": "cached", "helped": "completed"}
    assert step_of(second, "helped").rerun_reasons == ["code changed"]
    assert project.index.artifact_json("helped")["version"] == 2


@step(cache_policy=CachePolicy(ignore_fields=["stamp"]))
def stamped(x: int, stamp: str) -> Annotated[int, "stamped"]:
    return x


@pipeline
def stamping(stamp: str = "a", x: int = 1) -> None:
    stamped(x, stamp=stamp)


def test_ignore_fields_leaves_that_parameter_out_of_the_key(project: Project) -> None:
    first = run(project, stamping, stamp="monday")
    second = run(project, stamping, stamp="tuesday")
    third = run(project, stamping, stamp="tuesday", x=2)

    assert step_of(second, "stamped").status == "cached"
    assert step_of(second, "stamped").cached_from == first.id
    assert step_of(third, "stamped").status == "completed"
    assert step_of(third, "stamped").rerun_reasons == ["parameter x changed"]


@step(cache_policy=CachePolicy(max_age_days=0))
def perishable(x: int) -> Annotated[int, "fresh"]:
    return x


@pipeline
def perishing() -> None:
    perishable(1)
    total([1, 2])


def test_max_age_zero_forces_a_rerun(project: Project) -> None:
    run(project, perishing)
    second = run(project, perishing)

    assert statuses(second) == {"perishable": "completed", "total": "cached"}
    assert step_of(second, "perishable").cached_from is None
    assert step_of(second, "perishable").rerun_reasons == [
        "cached result older than max_age_days=0"
    ]


@step(enable_cache=False)
def uncached(x: int) -> Annotated[int, "uncached"]:
    return x


@pipeline
def mixed() -> None:
    uncached(1)
    total([1])


def test_enable_cache_false_on_a_step_reruns_only_that_step(project: Project) -> None:
    run(project, mixed)
    second = run(project, mixed)

    assert statuses(second) == {"uncached": "completed", "total": "cached"}
    assert step_of(second, "uncached").rerun_reasons == ["caching disabled"]


def test_enable_cache_false_on_the_pipeline_reruns_every_step(project: Project) -> None:
    no_cache = chain.with_options(enable_cache=False)
    run(project, no_cache)
    second = run(project, no_cache)

    assert set(statuses(second).values()) == {"completed"}
    assert all(s.rerun_reasons == ["caching disabled"] for s in second.steps)
    assert second.config["enable_cache"] is False


@step(enable_cache=True)
def insists(x: int) -> Annotated[int, "insists"]:
    return x


@pipeline
def insisting() -> None:
    total(scale(zeros(2), factor=1))
    insists(1)


def test_run_with_enable_cache_false_reruns_everything_even_steps_that_enable_it(
    project: Project,
) -> None:
    run(project, insisting)
    second = run(project, insisting, enable_cache=False)

    assert set(statuses(second).values()) == {"completed"}
    assert step_of(second, "insists").rerun_reasons == ["caching disabled"]
    assert [a["version"] for a in artifact_records(project, "insists")] == [1, 2]


def test_hit_whose_bytes_left_the_dvc_cache_reruns_and_restores_them(project: Project) -> None:
    first = run(project, chain)
    pointer = project.index.artifact_json("zeros")["pointer"]
    cached = cache_objects(project.root)[pointer["md5"]]
    cached.unlink()
    assert project.artifacts.remotes() == {}  # nothing to fetch from

    second = run(project, chain)

    assert statuses(second) == {"zeros": "completed", "scale": "cached", "total": "cached"}
    assert step_of(second, "zeros").rerun_reasons == [
        "cached outputs are no longer in the DVC cache or remote"
    ]
    assert step_of(second, "scale").cached_from == first.id
    assert cached.is_file()
    assert project.index.artifact_json("zeros")["pointer"]["md5"] == pointer["md5"]
