"""ZenML's ``UnmaterializedArtifact``: a step input annotated with it receives the artifact
version itself (``uri``, ``load()``, ``name``, ``version``...) and nothing is loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from engine import UnmaterializedArtifact, pipeline, step
from engine.porting import rewrite_source
from store.project import Project

SEEN: dict[str, Any] = {}


@step
def make_text() -> Annotated[str, "text"]:
    return "hello unmaterialized"


@step
def make_rows() -> Annotated[list[int], "rows"]:
    return [1, 2, 3]


@step(enable_cache=False)
def inspect_text(text: UnmaterializedArtifact, rows: list[int]) -> Annotated[int, "size"]:
    SEEN.update(kind=type(text), name=text.name, id=text.id, uri=text.uri,
                rows=rows, loaded=text.load(), data_type=text.data_type)  # fmt: skip
    return Path(text.uri).stat().st_size


@step(enable_cache=False)
def gather(parts: list[UnmaterializedArtifact]) -> Annotated[list[str], "names"]:
    return [f"{p.name}:{type(p).__name__}:{p.load()}" for p in parts]


def test_an_unmaterialized_input_is_the_version_with_its_uri(project: Project) -> None:
    @pipeline
    def reading() -> None:
        inspect_text(make_text(), make_rows())

    SEEN.clear()
    run = reading()
    made = run.steps["make_text"].outputs["text"]
    assert SEEN["kind"] is UnmaterializedArtifact
    assert (SEEN["name"], SEEN["id"]) == ("text", made.id)  # numbered when the run commits
    assert SEEN["rows"] == [1, 2, 3]  # other inputs are loaded as before
    assert SEEN["loaded"] == "hello unmaterialized" and SEEN["data_type"] == "builtins.str"
    uri = Path(SEEN["uri"])
    assert uri.is_file() and str(project.root / ".dvc" / "cache") in str(uri.resolve())
    assert made.record.pointer.md5 == uri.parent.name + uri.name
    assert run.steps["inspect_text"].outputs["size"].load() == uri.stat().st_size


def test_a_list_of_unmaterialized_inputs(project: Project) -> None:
    @pipeline
    def listing() -> None:
        gather([make_text(), make_rows()])

    run = listing()
    assert run.steps["gather"].outputs["names"].load() == [
        "text:UnmaterializedArtifact:hello unmaterialized",
        "rows:UnmaterializedArtifact:[1, 2, 3]",
    ]


def test_mlx_port_imports_unmaterialized_artifact_from_engine() -> None:
    source = "from zenml.artifacts.unmaterialized_artifact import UnmaterializedArtifact\n"
    ported, leftovers = rewrite_source(source, "steps.py")
    assert ported == "from engine import UnmaterializedArtifact\n" and leftovers == []
