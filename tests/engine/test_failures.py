"""Failing runs: a raising step, bad parameters caught before anything runs, and outputs no
materializer can store — the run is recorded as failed and the ref and cache stay consistent."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from _engine_helpers import read_run, run, statuses
from _engine_helpers import step as step_of

from engine import Client, pipeline, step
from engine.runner import run_pipeline
from store.errors import ValidationError
from store.paths import journal_dir
from store.project import Project
from tests.support import fsck_problems, mlx_cli, ref_paths

CALLS: list[Any] = []


@step
def source(n: int) -> Annotated[int, "value"]:
    CALLS.append(("source", n))
    return n


@step
def boom(value: int) -> Annotated[int, "exploded"]:
    raise ValueError(f"kaboom {value}")


@step
def after(exploded: int) -> Annotated[int, "after"]:
    return exploded


@step
def sibling(value: int) -> Annotated[int, "sibling"]:
    return value + 1


def _hooks(log: list[Any]) -> dict[str, Any]:
    return {
        "on_failure": lambda exc: log.append(("failure", exc)),
        "on_success": lambda: log.append(("success", None)),
        "on_cleanup": lambda: log.append(("cleanup", None)),
    }


def test_raising_step_fails_the_run_skips_downstream_and_calls_failure_hooks(
    project: Project,
) -> None:
    hooks: list[Any] = []

    @pipeline(**_hooks(hooks))
    def fragile(n: int = 3) -> None:
        v = source(n)
        after(boom(v))
        sibling(v)

    record = run(project, fragile)

    assert record.status == "failed"
    assert statuses(record) == {"source": "completed", "boom": "failed", "after": "skipped",
                                "sibling": "completed"}  # fmt: skip
    error = step_of(record, "boom").error
    assert (error.type, error.message) == ("ValueError", "kaboom 3")
    assert "Traceback (most recent call last)" in error.traceback
    assert 'raise ValueError(f"kaboom {value}")' in error.traceback
    assert [name for name, _ in hooks] == ["failure", "cleanup"]
    assert isinstance(hooks[0][1], ValueError) and str(hooks[0][1]) == "kaboom 3"
    stored = read_run(project, record.id)
    assert stored["status"] == "failed"
    assert stored["error"]["message"] == "step boom failed: kaboom 3"
    assert Client(project).list_artifact_versions("exploded") == []
    assert fsck_problems(project.root) == []


def test_successful_run_calls_success_and_cleanup_but_not_failure(project: Project) -> None:
    hooks: list[Any] = []

    @pipeline(**_hooks(hooks))
    def sturdy() -> None:
        sibling(source(1))

    assert run(project, sturdy).status == "completed"
    assert hooks == [("success", None), ("cleanup", None)]


def test_step_failure_hook_receives_the_exception(project: Project) -> None:
    seen: list[BaseException] = []
    fragile_step = boom.with_options(on_failure=seen.append)

    @pipeline
    def hooked() -> None:
        fragile_step(source(5))

    run(project, hooked)

    assert len(seen) == 1 and isinstance(seen[0], ValueError) and str(seen[0]) == "kaboom 5"


def test_failed_step_is_not_a_cache_hit_for_the_next_run(project: Project) -> None:
    @pipeline
    def fragile() -> None:
        boom(source(2))

    first = run(project, fragile)
    second = run(project, fragile)

    assert statuses(second) == {"source": "cached", "boom": "failed"}
    assert step_of(second, "source").cached_from == first.id


def test_wrong_parameter_type_is_rejected_before_anything_runs(project: Project) -> None:
    @pipeline
    def typed(n: int = 1) -> None:
        source(n)

    run(project, typed)
    tip = project.runs.tip()
    CALLS.clear()

    with pytest.raises(ValidationError, match=r"pipeline typed parameter n: expected int, got str"):
        typed(n="three")
    with pytest.raises(ValidationError, match=r"source\.n: expected int, got str 'x'"):
        run_pipeline(project, typed.with_options(), {"n": "x"})  # body passes it to the step

    assert CALLS == []
    assert project.runs.tip() == tip
    assert list(journal_dir(project.git.common_dir).glob("*.jsonl")) == []


def test_step_literal_of_the_wrong_type_is_rejected_at_compile_time(project: Project) -> None:
    @pipeline
    def literal() -> None:
        source("not a number")  # type: ignore[arg-type]

    CALLS.clear()
    with pytest.raises(ValidationError, match=r"source\.n: expected int, got str"):
        run(project, literal)

    assert CALLS == [] and project.runs.tip() is None


def test_unknown_pipeline_parameter_suggests_the_close_name(project: Project) -> None:
    @pipeline
    def scaled(factor: int = 2) -> None:
        source(factor)

    with pytest.raises(ValidationError, match=r"has no parameter 'factr'; did you mean 'factor'\?"):
        scaled.validate_parameters({"factr": "3"})
    with pytest.raises(ValidationError, match=r"unexpected keyword argument 'factr'"):
        scaled(factr=3)
    assert project.runs.tip() is None


def test_cli_rejects_unknown_parameter_with_did_you_mean_and_records_nothing(
    project_dir: Path,
) -> None:
    proc = mlx_cli(project_dir, "run", "example", "--headless", "-p", "factr=3")

    assert proc.returncode == 2, proc.stderr
    assert "did you mean 'factor'" in proc.stderr
    assert ref_paths(project_dir) == []


@step
def make_lambda(x: int) -> Annotated[Any, "fn"]:
    return lambda y: y + x


@step
def make_generator(x: int) -> Annotated[Any, "gen"]:
    return (i for i in range(x))


@step
def consume(fn: Any) -> Annotated[int, "used"]:
    return 0


@pytest.mark.filterwarnings("ignore::engine.materializers.pickle.PickleFallbackWarning")
@pytest.mark.parametrize(("bad_step", "output"), [(make_lambda, "fn"), (make_generator, "gen")])
def test_output_no_materializer_can_store_fails_the_step_naming_step_and_output(
    project: Project, bad_step: Any, output: str
) -> None:
    @pipeline
    def unstorable() -> None:
        consume(bad_step(2))

    record = run(project, unstorable)

    assert record.status == "failed"
    assert statuses(record) == {bad_step.name: "failed", "consume": "skipped"}
    error = step_of(record, bad_step.name).error
    assert error.type == "MaterializerError"
    assert f"step {bad_step.name!r} output {output!r}" in error.message
    assert step_of(record, bad_step.name).outputs == {}
    assert read_run(project, record.id)["status"] == "failed"
    assert not any(p.startswith(f"artifacts/{output}/") for p in ref_paths(project.root))
    assert fsck_problems(project.root) == []
    leftovers = [p for p in (project.root / ".dvc" / "cache").rglob("*") if ".tmp" in p.name]
    assert leftovers == []


def test_an_artifact_name_past_the_length_limit_fails_the_step_clearly(project: Project) -> None:
    @step(name="s" * 60)
    def long_step() -> int:
        return 1

    @pipeline(name="p" * 50)
    def long_pipeline() -> None:
        long_step()

    record = run(project, long_pipeline)

    assert record.status == "failed"
    error = step_of(record, "s" * 60).error
    assert "artifact name" in error.message and "the limit is 100" in error.message
