"""The user-facing API imported from ``engine``: decorators, contexts, external artifacts,
Client, artifact helpers, metadata and materializers — exercised through real runs."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import pytest
from _engine_helpers import run, statuses
from _engine_helpers import step as step_of

from engine import (
    BaseMaterializer,
    Client,
    ExternalArtifact,
    MlxError,
    Pipeline,
    Step,
    get_pipeline_context,
    get_step_context,
    load_artifact,
    log_metadata,
    pipeline,
    save_artifact,
    step,
)
from engine.materializers import materializer_name
from store.errors import NotFoundError, ValidationError
from store.project import Project
from store.records import DvcPointer
from tests.support import cache_objects


# -- one-line steps -------------------------------------------------------------------------
@step
def make(n: int) -> Annotated[list[int], "nums"]:
    return list(range(n))


@step(name="renamed_scale", enable_cache=True)
def scale(nums: list[int], factor: int = 2) -> Annotated[list[int], "scaled"]:
    return [x * factor for x in nums]


@step
def total(scaled: list[int]) -> Annotated[int, "total"]:
    return sum(scaled)


@step
def unnamed(x: int) -> int:
    return x


@step
def split(nums: list[int]) -> tuple[Annotated[list[int], "evens"], Annotated[list[int], "odds"]]:
    return [x for x in nums if x % 2 == 0], [x for x in nums if x % 2]


@step
def two_unnamed(x: int) -> tuple[int, str]:
    return x, str(x)


@pipeline
def numbers(n: int = 4, factor: int = 2) -> None:
    total(scale(make(n), factor=factor))


# -- decorators -----------------------------------------------------------------------------
def test_step_works_bare_and_with_arguments() -> None:
    assert isinstance(make, Step) and make.name == "make"
    assert isinstance(scale, Step) and scale.name == "renamed_scale"
    assert scale.enable_cache is True
    assert isinstance(numbers, Pipeline) and numbers.name == "numbers"


def test_pipeline_works_bare_and_with_arguments() -> None:
    @pipeline(name="custom", tags=["nightly"], enable_cache=False)
    def body() -> None:
        make(1)

    assert body.name == "custom" and body.tags == ["nightly"] and body.enable_cache is False


def test_step_called_outside_a_pipeline_returns_the_plain_value() -> None:
    assert make(3) == [0, 1, 2]
    assert scale([1, 2], factor=3) == [3, 6]
    assert split([1, 2, 3]) == ([2], [1, 3])


def test_untyped_step_parameter_is_rejected_at_decoration_naming_it() -> None:
    with pytest.raises(ValidationError, match=r"step 'loose': parameter 'value' has no type"):

        @step
        def loose(count: int, value) -> int:  # type: ignore[no-untyped-def]
            return count


def test_variadic_step_parameters_are_rejected_at_decoration() -> None:
    with pytest.raises(ValidationError, match=r"step 'spread': \*args / \*\*args"):

        @step
        def spread(*args: int) -> int:
            return 0


def test_output_names_come_from_annotated_tuples_or_default_to_output() -> None:
    assert [o.name for o in make.outputs] == ["nums"]
    assert [o.name for o in split.outputs] == ["evens", "odds"]
    assert [o.name for o in unnamed.outputs] == ["output"]
    assert [o.name for o in two_unnamed.outputs] == ["output_0", "output_1"]


def test_tuple_outputs_become_separate_artifacts(project: Project) -> None:
    @pipeline
    def splitter() -> None:
        split(make(5))
        unnamed(7)

    record = run(project, splitter)

    outputs = step_of(record, "split").outputs
    assert set(outputs) == {"evens", "odds"}
    assert Client(project).get_artifact_version("evens").load() == [0, 2, 4]
    assert Client(project).get_artifact_version("odds").load() == [1, 3]
    assert step_of(record, "unnamed").outputs["output"].name == "splitter.unnamed.output"


def test_with_options_renames_and_binds_parameters_without_changing_the_original(
    project: Project,
) -> None:
    triple = scale.with_options(name="triple", parameters={"factor": 3})

    @pipeline
    def tripled() -> None:
        total(triple(make(3)))

    record = run(project, tripled)

    assert list(statuses(record)) == ["make", "triple", "total"]
    assert step_of(record, "triple").parameters == {"factor": 3}
    assert Client(project).get_artifact_version("total").load() == 9
    assert scale.name == "renamed_scale" and scale.parameters == {}
    with pytest.raises(ValidationError, match=r"unknown option 'colour'"):
        scale.with_options(colour="red")
    with pytest.raises(ValidationError, match=r"has no parameter 'facter'"):
        scale.with_options(parameters={"facter": 1})


def test_calling_a_pipeline_runs_it_and_returns_a_loadable_run_view(project_dir: Path) -> None:
    run_view = numbers(n=4, factor=10)

    assert run_view.status == "completed"
    assert run_view.steps["renamed_scale"].outputs["scaled"].load() == [0, 10, 20, 30]
    assert run_view.steps["total"].output.load() == 60
    assert Client().get_pipeline_run(run_view.id).status == "completed"


# -- contexts -------------------------------------------------------------------------------
@step
def introspect(nums: list[int]) -> Annotated[dict[str, Any], "facts"]:
    ctx = get_step_context()
    view = ctx.inputs["nums"]
    return {"step": ctx.step_name, "run": ctx.run_id, "pipeline": ctx.pipeline_name,
            "input_name": view.name, "input_id": view.id, "params": ctx.parameters}  # fmt: skip


@step
def input_version(nums: list[int]) -> Annotated[Any, "version"]:
    return get_step_context().inputs["nums"].version


def test_step_context_names_step_run_pipeline_and_input_artifacts(project: Project) -> None:
    @pipeline
    def ctx_pipe() -> None:
        introspect(make(2))

    record = run(project, ctx_pipe)

    facts = Client(project).get_artifact_version("facts").load()
    assert facts == {
        "step": "introspect", "run": record.id, "pipeline": "ctx_pipe", "input_name": "nums",
        "input_id": step_of(record, "make").outputs["nums"].id, "params": {},
    }  # fmt: skip


def test_step_context_input_version_of_a_stored_artifact_is_its_number(project: Project) -> None:
    @pipeline
    def producer() -> None:
        make(2)

    run(project, producer)
    run(project, producer.with_options(enable_cache=False))

    @pipeline
    def consumer() -> None:
        input_version(Client().get_artifact_version("nums", 1))  # type: ignore[arg-type]

    run(project, consumer)

    assert Client(project).get_artifact_version("version").load() == 1


def test_step_context_input_version_of_an_in_run_output_does_not_crash(project: Project) -> None:
    @pipeline
    def in_run() -> None:
        input_version(make(2))

    record = run(project, in_run)

    assert statuses(record) == {"make": "completed", "input_version": "completed"}


def test_get_step_context_outside_a_step_raises() -> None:
    with pytest.raises(MlxError, match=r"get_step_context\(\) works only inside a step"):
        get_step_context()


def test_get_pipeline_context_inside_the_body_and_raising_outside(project: Project) -> None:
    seen: list[Any] = []

    @pipeline(extra={"team": "ml"}, enable_cache=False)
    def contextual() -> None:
        ctx = get_pipeline_context()
        seen.append((ctx.name, ctx.extra, ctx.enable_cache))
        make(1)

    run(project, contextual)

    assert seen == [("contextual", {"team": "ml"}, False)]
    with pytest.raises(MlxError, match=r"get_pipeline_context\(\) works only inside a @pipeline"):
        get_pipeline_context()


# -- external artifacts and the client ------------------------------------------------------
@step
def count(items: int) -> Annotated[int, "counted"]:
    return items + 1


@step
def length(items: list[int]) -> Annotated[int, "length"]:
    return len(items)


def test_external_artifact_value_is_stored_and_fed_to_the_step(project: Project) -> None:
    @pipeline
    def external() -> None:
        count(items=ExternalArtifact(value=41))  # type: ignore[arg-type]

    record = run(project, external)

    ref = step_of(record, "count").inputs["items"]
    assert ref.name == "external_count_items" and ref.version == 1
    assert Client(project).get_artifact_version("external_count_items").load() == 41
    assert Client(project).get_artifact_version("counted").load() == 42


def test_external_artifact_with_an_unhashable_value_is_stored(project: Project) -> None:
    @pipeline
    def external_list() -> None:
        length(items=ExternalArtifact(value=[1, 2, 3], name="items"))  # type: ignore[arg-type]

    run(project, external_list)

    assert Client(project).get_artifact_version("length").load() == 3


def test_client_gets_latest_and_numbered_artifact_versions_and_lists_them(
    project: Project,
) -> None:
    first = run(project, numbers, n=2)
    second = run(project, numbers, n=3)
    client = Client(project)

    assert client.get_artifact_version("nums").load() == [0, 1, 2]
    assert client.get_artifact_version("nums").version == 2
    assert client.get_artifact_version("nums", 1).load() == [0, 1]
    assert client.get_artifact_version("nums:1").producer_run_id == first.id
    assert [a.version for a in client.list_artifact_versions("nums")] == [1, 2]
    assert {"nums", "scaled", "total"} <= set(client.list_artifacts())
    with pytest.raises(NotFoundError, match=r"unknown version of artifact 'nums' '9'"):
        client.get_artifact_version("nums", 9)
    with pytest.raises(NotFoundError, match=r"unknown artifact 'num'; did you mean 'nums'"):
        client.get_artifact_version("num")
    assert client.get_pipeline_run(second.id[:10]).id == second.id


def test_client_lists_runs_by_pipeline_and_status(project: Project) -> None:
    @step
    def explode(x: int) -> int:
        raise RuntimeError("no")

    @pipeline
    def failing() -> None:
        explode(1)

    ok = run(project, numbers)
    bad = run(project, failing)
    client = Client(project)

    assert [r.id for r in client.list_pipeline_runs(pipeline="numbers")] == [ok.id]
    assert [r.id for r in client.list_pipeline_runs(status="failed")] == [bad.id]
    assert client.list_pipeline_runs(pipeline="numbers", status="failed") == []
    assert {r.id for r in client.list_pipeline_runs()} == {ok.id, bad.id}


def test_artifact_fetched_in_a_pipeline_body_is_referenced_not_copied(project: Project) -> None:
    produced = run(project, numbers, n=5)
    original = step_of(produced, "make").outputs["nums"]

    @pipeline
    def reuse() -> None:
        length(Client().get_artifact_version("nums"))  # type: ignore[arg-type]

    record = run(project, reuse)

    used = step_of(record, "length").inputs["items"]
    assert (used.id, used.name, used.version) == (original.id, "nums", 1)
    assert [a.version for a in Client(project).list_artifact_versions("nums")] == [1]
    assert Client(project).get_artifact_version("length").load() == 5
    assert (record.id, "length") in project.index.artifact_uses(original.id, "input")


# -- save/load/log helpers ------------------------------------------------------------------
@step
def saves_extra(x: int) -> Annotated[int, "main"]:
    assert save_artifact([x, x], "side", metadata={"origin": "step"}) is None
    return x


@step
def loads_saved(x: int) -> Annotated[int, "loaded"]:
    return int(load_artifact("config")["a"]) + x


def test_save_and_load_artifact_outside_a_step(project_dir: Path) -> None:
    view = save_artifact({"a": 1}, "config", metadata={"source": "notebook"})

    assert view.version == 1 and view.name == "config"
    assert load_artifact("config") == {"a": 1}
    assert load_artifact("config", 1) == {"a": 1}
    assert Client().get_artifact_version("config").metadata["source"] == "notebook"
    assert save_artifact({"a": 2}, "config").version == 2
    with pytest.raises(ValidationError, match=r"artifact name 'bad/name' must not contain '/'"):
        save_artifact(1, "bad/name")


def test_save_artifact_inside_a_step_adds_an_output_and_load_artifact_reads_one(
    project_dir: Path,
) -> None:
    save_artifact({"a": 40}, "config")

    @pipeline
    def helpers() -> None:
        saves_extra(3)
        loads_saved(2)

    project = Project(project_dir)
    record = run(project, helpers)

    assert statuses(record) == {"saves_extra": "completed", "loads_saved": "completed"}
    assert set(step_of(record, "saves_extra").outputs) == {"main", "side"}
    side = Client().get_artifact_version("side")
    assert side.load() == [3, 3] and side.producer_run_id == record.id
    assert side.metadata["origin"] == "step"
    assert load_artifact("loaded") == 42


@step
def annotated(n: int) -> tuple[Annotated[list[int], "rows"], Annotated[int, "size"]]:
    log_metadata({"phase": "load", "n": n})
    log_metadata({"quality": "good"}, artifact_name="rows")
    return list(range(n)), n


def test_log_metadata_on_the_step_and_on_a_named_output_is_recorded(project: Project) -> None:
    @pipeline
    def meta() -> None:
        annotated(3)

    record = run(project, meta)

    assert step_of(record, "annotated").metadata == {"phase": "load", "n": 3}
    rows = Client(project).get_artifact_version("rows")
    assert rows.metadata["quality"] == "good"
    assert "quality" not in Client(project).get_artifact_version("size").metadata
    with pytest.raises(MlxError, match=r"log_metadata\(\) works inside a step"):
        log_metadata({"x": 1})


# -- materializers --------------------------------------------------------------------------
class TaggedText(BaseMaterializer):
    ASSOCIATED_TYPES = (str,)

    def save(self, data: Any, path: Path) -> None:
        path.write_text("TAGGED:" + data)

    def load(self, data_type: type, path: Path) -> Any:
        return path.read_text().removeprefix("TAGGED:")


@step(output_materializers={"text": TaggedText})
def shout(word: str) -> Annotated[str, "text"]:
    return word.upper()


def test_custom_materializer_attached_per_output_writes_and_reads_the_value(
    project: Project,
) -> None:
    @pipeline
    def shouting() -> None:
        shout("hey")

    run(project, shouting)

    view = Client(project).get_artifact_version("text")
    assert view.materializer == materializer_name(TaggedText)
    pointer = DvcPointer.model_validate(view.record.pointer.model_dump())
    assert project.artifacts.read_bytes(pointer) == b"TAGGED:HEY"
    assert pointer.md5 in cache_objects(project.root)
    assert view.load() == "HEY"


def test_output_materializers_naming_an_unknown_output_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"output_materializers names unknown output 'txt'"):

        @step(output_materializers={"txt": TaggedText})
        def wrong() -> Annotated[str, "text"]:
            return ""


@step
def fit_model(n: int) -> Annotated[Any, "classifier"]:
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="constant", constant=1).fit([[0]] * n, [1] * n)


def test_sklearn_estimator_is_stored_with_skops_as_a_model(project: Project) -> None:
    @pipeline
    def training() -> None:
        fit_model(3)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        record = run(project, training)

    assert statuses(record) == {"fit_model": "completed"}
    view = Client(project).get_artifact_version("classifier")
    assert view.materializer == "engine.materializers.sklearn.SklearnMaterializer"
    assert view.type == "sklearn.dummy.DummyClassifier"
    assert view.is_model_artifact is True
    assert "sklearn" in view.metadata
    assert list(view.load().predict([[5], [6]])) == [1, 1]
