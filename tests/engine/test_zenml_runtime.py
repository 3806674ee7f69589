"""ZenML semantics of the run-time API, each from ZenML's documented behaviour: calling a
pipeline returns the run or raises, step ids and after=, run names, named model versions,
pipelines calling pipelines, lists of outputs as one input, configure() in place, call-order
scheduling, hooks as strings and with a step context, and the model version a run creates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pytest
from _engine_helpers import statuses, write_module

from engine import (
    Client,
    Model,
    PipelineRunFailedError,
    get_step_context,
    log_metadata,
    pipeline,
    step,
)
from store.errors import ValidationError
from store.project import Project

CALLS: list[str] = []


@step
def one() -> Annotated[int, "one"]:
    CALLS.append("one")
    return 1


@step
def add(x: int, y: int = 1) -> Annotated[int, "sum"]:
    CALLS.append(f"add{x}+{y}")
    return x + y


@step
def explode(x: int) -> Annotated[int, "never"]:
    raise ValueError(f"boom {x}")


@step
def total(values: list[int]) -> Annotated[int, "total"]:
    return sum(values)


@step(enable_cache=False)
def record(tag: str) -> None:
    CALLS.append(tag)


def test_calling_a_pipeline_returns_the_run_or_raises_a_runtime_error_naming_the_step(
    project: Project,
) -> None:
    @pipeline
    def fine() -> None:
        add(one())

    run = fine()
    assert run.status == "completed" and run.pipeline_name == "fine"
    assert run.steps["add"].outputs["sum"].load() == 2
    assert run.steps["add"].outputs["sum"][0].load() == 2  # ZenML: a list per output name
    assert [v.load() for v in run.steps["add"].outputs["sum"]] == [2]

    @pipeline
    def broken() -> None:
        explode(one())

    with pytest.raises(RuntimeError, match=r"step 'explode' failed: ValueError: boom 1") as info:
        broken()
    assert isinstance(info.value, PipelineRunFailedError)
    assert info.value.step_name == "explode"
    assert info.value.run.status == "failed"


def test_step_ids_name_invocations_and_after_takes_them(project: Project) -> None:
    CALLS.clear()

    @pipeline
    def ordered() -> None:
        record("second", id="late", after="early")
        record("first", id="early")

    with pytest.raises(ValidationError, match="after='early': no such step earlier"):
        ordered()

    @pipeline
    def ordered_ok() -> None:
        record("first", id="early")
        record("second", id="late", after="early")
        add(one(), id="predict_a")
        add(one(), id="predict_b")

    run = ordered_ok()
    assert CALLS[:2] == ["first", "second"]
    assert {"early", "late", "predict_a", "predict_b"} <= set(run.steps)
    assert run.steps["late"].record.upstream == ["early"]

    @pipeline
    def twice() -> None:
        record("x", id="same")
        record("y", id="same")

    with pytest.raises(ValidationError, match="step id 'same' is used twice"):
        twice()


def test_ready_steps_run_in_the_order_they_were_called(project: Project) -> None:
    CALLS.clear()

    @pipeline
    def fan() -> None:
        record("zeta")
        record("alpha", id="alpha_step")
        record("mid", id="b_mid")

    fan()
    assert CALLS == ["zeta", "alpha", "mid"]


def test_run_name_template_names_the_run_and_the_step_context_sees_it(project: Project) -> None:
    seen: dict[str, Any] = {}

    @step
    def look() -> None:
        ctx = get_step_context()
        seen.update(run=ctx.pipeline_run.name, pipeline=ctx.pipeline.name,
                    params=ctx.step_run.config.parameters)  # fmt: skip

    @pipeline(run_name="nightly-{date}")
    def nightly() -> None:
        look()

    run = nightly()
    assert run.name.startswith("nightly-2") and "{" not in run.name
    assert seen == {"run": run.name, "pipeline": "nightly", "params": {}}
    plain = nightly.with_options(run_name=None)()
    assert plain.name.startswith("nightly-") and plain.name != run.name


def test_named_model_versions_are_created_once_and_reused(project: Project) -> None:
    numbers: list[Any] = []

    @step(enable_cache=False)
    def train(kind: str) -> Annotated[int, "model"]:
        model = get_step_context().model
        numbers.append((model.version, model.number))
        log_metadata({"kind": kind}, infer_model=True)
        return len(kind)

    def training(version: str) -> Any:
        @pipeline(model=Model(name="clf", version=version))
        def train_clf() -> None:
            train(version)

        return train_clf()

    training("sgd")
    training("rf")
    training("sgd")
    assert numbers == [("sgd", 1), ("rf", 2), ("sgd", 1)]
    client = Client()
    sgd = client.get_model_version("clf", "sgd")
    assert (sgd.number, sgd.version, sgd.run_metadata["kind"]) == (1, "sgd", "sgd")
    rf = client.get_model_version(model_name_or_id="clf", model_version_name_or_number_or_id=2)
    assert rf.version == "rf"
    assert [v.number for v in client.list_model_versions("clf")] == [1, 2]
    with pytest.raises(KeyError, match="unknown model 'clf'"):
        client.get_model_version("clf", "production")


def test_a_pipeline_called_in_a_pipeline_joins_the_outer_run(project: Project) -> None:
    @pipeline
    def inner(start: int = 1) -> Any:
        return add(one(), y=start)

    @pipeline
    def outer() -> None:
        total([inner(start=5), one(id="extra")])

    run = outer()
    assert set(run.steps) == {"one", "add", "extra", "total"}
    assert run.steps["total"].outputs["total"].load() == 7


def test_a_list_of_outputs_is_one_input_loaded_as_a_list(project: Project) -> None:
    @pipeline
    def gather() -> None:
        parts = [add(one(id=f"src_{i}"), y=i, id=f"add_{i}") for i in range(3)]
        total(parts)

    run = gather()
    assert run.steps["total"].outputs["total"].load() == 1 + 2 + 3
    assert sorted(run.steps["total"].record.inputs) == ["values.0", "values.1", "values.2"]


def test_configure_changes_the_step_in_place_with_options_copies(project: Project) -> None:
    @step
    def scaled(x: int, factor: int = 1) -> Annotated[int, "scaled"]:
        return x * factor

    copy = scaled.with_options(parameters={"factor": 3})
    assert scaled.parameters == {} and copy.parameters == {"factor": 3}
    assert scaled.configure(parameters={"factor": 10}) is scaled
    assert scaled.parameters == {"factor": 10}

    @pipeline
    def uses() -> None:
        scaled(one())

    assert uses().steps["scaled"].outputs["scaled"].load() == 10


def test_hooks_given_as_module_function_strings_are_called(
    project: Project, project_dir: Path
) -> None:
    write_module(project_dir, "my_hooks", """
        import json, pathlib
        from engine import get_step_context

        def on_fail(exc):
            ctx = get_step_context()
            pathlib.Path("failed.json").write_text(json.dumps([ctx.step_name, str(exc)]))

        def on_ok():
            pathlib.Path("ok.txt").write_text(get_step_context().step_name)
        """)  # fmt: skip

    @step(on_success="my_hooks.on_ok")
    def fine() -> Annotated[int, "v"]:
        return 1

    @pipeline(on_failure="my_hooks.on_fail")
    def hooked() -> None:
        explode(fine())

    with pytest.raises(PipelineRunFailedError):
        hooked()
    assert (project_dir / "ok.txt").read_text() == "fine"
    # the pipeline-level hook ran with the failed step's context
    assert json.loads((project_dir / "failed.json").read_text()) == ["explode", "boom 1"]

    with pytest.raises(ValidationError, match="no module 'no_such_module' is importable"):

        @step(on_failure="no_such_module.hook")
        def bad() -> None: ...


def test_the_version_a_run_creates_is_seen_by_its_steps_and_by_client(project: Project) -> None:
    seen: dict[str, Any] = {}

    @step
    def produce() -> Annotated[list[int], "weights"]:
        return [1, 2, 3]

    @step(enable_cache=False)
    def evaluate(weights: list[int]) -> Annotated[float, "score"]:
        model = get_step_context().model
        seen["loaded"] = model.load_artifact("weights")
        latest = Client().get_artifact_version("weights")
        seen["same_run"] = latest.run_metadata
        log_metadata({"checked": True}, artifact_version_id=latest.id)
        model.log_metadata({"score": 0.5})
        seen["number"] = model.number
        return 0.5

    @pipeline(model=Model(name="scorer"), enable_cache=False)
    def scoring() -> None:
        evaluate(produce())

    scoring()
    scoring()
    assert seen["loaded"] == [1, 2, 3] and seen["number"] == 2
    weights = Client().get_artifact_version("weights")
    assert weights.version == 2 and weights.run_metadata["checked"] is True
    version = Client().get_model_version("scorer", "latest")
    assert version.run_metadata["score"] == 0.5
    assert version.get_artifact("weights").id == weights.id


def test_client_in_zenml_shapes(project: Project) -> None:
    @pipeline
    def listed(n: int = 1) -> None:
        add(one(), y=n)

    first = listed(n=1)
    second = listed(n=2)
    client = Client()
    runs = client.list_pipeline_runs(pipeline_name="listed", sort_by="desc:created", size=1)
    assert [r.id for r in runs] == [second.id]
    oldest = client.list_pipeline_runs(pipeline_name="listed", sort_by="asc:created")
    assert [r.id for r in oldest] == [first.id, second.id]
    assert oldest[1].config.parameters == {"n": 2}
    assert client.get_pipeline("listed").last_run.id == second.id
    artifact = client.get_artifact_version(name_id_or_prefix="sum")
    assert client.get_artifact_version(name_id_or_prefix=artifact.id).version == artifact.version
    assert client.active_stack.name == "local"
    assert client.active_stack.orchestrator.flavor == "local"
    for lookup in (lambda: client.get_pipeline("nope"), lambda: client.get_model("nope"),
                   lambda: client.get_artifact_version("nope")):  # fmt: skip
        with pytest.raises(KeyError):
            lookup()
    assert statuses(second.record) == {"one": "cached", "add": "completed"}


def test_older_metadata_helpers_and_add_tags_reach_their_targets(project: Project) -> None:
    from engine import add_tags, log_artifact_metadata, log_model_metadata, log_step_metadata

    @step
    def fit() -> Annotated[int, "weights"]:
        log_artifact_metadata({"rows": 3})
        log_model_metadata({"accuracy": 0.9})
        log_step_metadata({"seconds": 1})
        add_tags(["fresh"], infer_artifact=True)
        return 3

    @pipeline(model=Model(name="legacy_meta"))
    def fitting() -> None:
        fit()

    run = fitting()
    weights = Client().get_artifact_version("weights")
    assert weights.run_metadata["rows"] == 3 and weights.tags == ["fresh"]
    assert run.steps["fit"].record.metadata == {"seconds": 1}
    assert Client().get_model_version("legacy_meta", "latest").run_metadata["accuracy"] == 0.9


@step
def search(model_metadata: dict[str, Any], factor: int) -> Annotated[dict[str, Any], "best_model"]:
    return {"name": model_metadata["name"], "metric": model_metadata["base"] * factor}


@step
def select_best_model(search_steps_prefix: str) -> Annotated[dict[str, Any], "best"]:
    run = Client().get_pipeline_run(get_step_context().pipeline_run.name)
    found = [
        s.outputs["best_model"].load()
        for name, s in run.steps.items()
        if name.startswith(search_steps_prefix)
    ]
    return max(found, key=lambda m: m["metric"])


def test_a_step_reads_the_finished_steps_of_its_own_run_through_client(project: Project) -> None:
    from engine import ExternalArtifact
    from engine.materializers import JsonMaterializer

    @pipeline(run_name="hp-{time}")
    def tuning() -> None:
        after = []
        for i, base in enumerate([3, 5, 4]):
            search(model_metadata=ExternalArtifact(value={"name": f"m{i}", "base": base},
                                                   materializer=JsonMaterializer),
                   factor=2, id=f"hp_search_{i}")  # fmt: skip
            after.append(f"hp_search_{i}")
        select_best_model(search_steps_prefix="hp_search_", after=after)

    run = tuning()
    assert run.steps["select_best_model"].outputs["best"].load() == {"name": "m1", "metric": 10}
    assert Client().get_pipeline_run(run.name).id == run.id  # by run name too
