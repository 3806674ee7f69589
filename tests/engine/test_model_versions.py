"""Every run of a model pipeline makes a complete version, cached steps included."""

from __future__ import annotations

from typing import Annotated

from _engine_helpers import run, statuses

from engine import ArtifactConfig, Model, log_metadata, pipeline, step
from store.project import Project


@step
def prepare(n: int) -> Annotated[list[float], "dataset"]:
    return [i / n for i in range(n)]


@step
def fit(
    dataset: list[float],
) -> Annotated[dict[str, float], ArtifactConfig(name="weights", is_model_artifact=True)]:
    log_metadata({"accuracy": 0.92, "size": len(dataset)}, infer_model=True)
    return {"mean": sum(dataset) / len(dataset)}


@step(enable_cache=False)
def report(weights: dict[str, float]) -> Annotated[str, "summary"]:
    log_metadata({"loss": 0.25}, infer_model=True)
    return f"mean={weights['mean']:.3f}"


@pipeline(model=Model(name="tiny"))
def train(n: int = 4) -> None:
    fit(prepare(n))


@pipeline(model=Model(name="tiny"))
def train_and_report(n: int = 4) -> None:
    report(fit(prepare(n)))


def test_fully_cached_rerun_makes_a_version_whose_model_loads(project: Project) -> None:
    first = run(project, train)
    second = run(project, train)
    assert set(statuses(second).values()) == {"cached"}
    v1, v2 = Model("tiny", 1).resolve(project), Model("tiny", 2).resolve(project)
    assert v2.run_id == second.id
    assert v2.metadata == v1.metadata == {"accuracy": 0.92, "size": 4}
    assert v2.get_model_artifact("weights").load() == {"mean": 0.375}
    assert v2.get_data_artifact("dataset").load() == [0.0, 0.25, 0.5, 0.75]
    assert v2.record["model_artifacts"] == v1.record["model_artifacts"]  # the same version
    assert v2.record["artifacts"] == v1.record["artifacts"]
    assert first.step("fit").model_metadata == second.step("fit").model_metadata


def test_partly_cached_run_links_cached_and_new_outputs(project: Project) -> None:
    run(project, train)
    partly = run(project, train_and_report)
    assert statuses(partly) == {"prepare": "cached", "fit": "cached", "report": "completed"}
    v2 = Model("tiny", 2).resolve(project)
    assert v2.metadata == {"accuracy": 0.92, "size": 4, "loss": 0.25}
    assert v2.get_model_artifact("weights").load() == {"mean": 0.375}
    assert v2.load_artifact("summary") == "mean=0.375"
    assert set(v2.record["artifacts"]) == {"dataset", "summary"}


def test_a_cache_hit_on_a_cached_step_still_carries_the_metadata(project: Project) -> None:
    run(project, train)
    run(project, train)
    third = run(project, train)
    assert set(statuses(third).values()) == {"cached"}
    assert Model("tiny", 3).resolve(project).metadata == {"accuracy": 0.92, "size": 4}
