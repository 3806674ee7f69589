"""Artifact versions as values: store a value as a new version, load a version's value.

The floor under the run machinery and the user API: the executor stores step outputs and loads
step inputs here, ``save_artifact``/``load_artifact`` and the :class:`~engine.client.Client` do
the same outside a run. :class:`ArtifactVersionView` is a *lazy reference*: passing it into a
step inside another pipeline wires that step to the stored version (nothing is copied);
``.load()`` reads the value.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from store.errors import MaterializerError, ValidationError
from store.records import ArtifactVersionRecord, DvcPointer
from store.scratch import make_temp_dir

if TYPE_CHECKING:
    from store.project import Project

__all__ = [
    "ArtifactInput",
    "ArtifactVersionView",
    "UnmaterializedArtifact",
    "load_artifact_value",
    "store_value",
    "wants_unmaterialized",
]


@dataclass(frozen=True)
class ArtifactInput:
    """An input wired to an existing artifact version (referenced, never copied)."""

    id: str
    name: str
    version: int


class ArtifactVersionView:
    """One stored artifact version (lazy: the value is loaded on ``.load()``)."""

    def __init__(self, project: Project, record: Mapping[str, Any]) -> None:
        self._project = project
        self._raw = dict(record)

    @cached_property
    def record(self) -> ArtifactVersionRecord:
        return ArtifactVersionRecord.model_validate(self._raw)

    id = property(lambda self: self._raw["id"])
    name = property(lambda self: self._raw["name"])
    version = property(lambda self: self._raw.get("version"))
    version_name = property(lambda self: self._raw.get("version_name"))
    tags = property(lambda self: list(self._raw.get("tags", [])))
    metadata = property(lambda self: dict(self._raw.get("metadata", {})))
    run_metadata = metadata
    type = property(lambda self: self._raw["type"])
    materializer = property(lambda self: self._raw["materializer"])
    producer_run_id = property(lambda self: self._raw.get("run_id"))
    producer_step = property(lambda self: self._raw.get("step"))
    is_model_artifact = property(lambda self: bool(self._raw.get("is_model_artifact")))

    data_type = type

    @property
    def uri(self) -> str:
        """Where the bytes are: the file in the local DVC cache (fetched when missing; read
        only), or for a directory artifact a checked-out copy in this process's scratch
        space."""
        pointer = DvcPointer.model_validate(self._raw["pointer"])
        if not pointer.is_dir:
            return str(self._project.artifacts.cache_file(pointer))
        dest = make_temp_dir("mlx-uri-") / "data"
        return str(self._project.artifacts.checkout(pointer, dest))

    def load(self, allow_pickle: bool = False) -> Any:
        """Read the value from the DVC cache (fetching from the remote when missing).

        Args:
            allow_pickle: load a pickle another clone produced (it runs code from its bytes);
                see :mod:`store.trust` for the project-wide opt-ins.
        """
        return load_artifact_value(self._project, self._raw, allow_pickle=allow_pickle)

    def read(self) -> Any:
        return self.load()

    def __mlx_artifact_input__(self) -> ArtifactInput:
        if self._raw.get("version") is None:
            raise ValidationError(f"artifact {self.name} has no version yet")
        return ArtifactInput(self.id, self.name, int(self.version))

    # ZenML's step_run.outputs[name] is a list of versions (one per output in static steps):
    # outputs["model"][0].load() works on this single view too
    def __getitem__(self, index: int) -> ArtifactVersionView:
        if index not in (0, -1):
            raise IndexError(f"artifact {self.name}: one version per output (index 0)")
        return self

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Iterator[ArtifactVersionView]:
        yield self

    def __repr__(self) -> str:
        return f"<artifact {self.name}:{self.version}>"


class UnmaterializedArtifact(ArtifactVersionView):
    """A step input annotated with this type receives the artifact version itself, not its
    loaded value (ZenML semantics): ``uri`` is where its bytes are, ``load()`` reads it."""

    def __repr__(self) -> str:
        return f"<unmaterialized artifact {self.name}:{self.version}>"


def wants_unmaterialized(annotation: Any) -> bool:
    """True when a step input's annotation asks for :class:`UnmaterializedArtifact`
    (also inside ``Annotated[...]`` or ``Optional[...]``)."""
    from typing import get_args

    if isinstance(annotation, type):
        return issubclass(annotation, UnmaterializedArtifact)
    return any(wants_unmaterialized(arg) for arg in get_args(annotation))


def load_artifact_value(
    project: Any, record: dict[str, Any], remote: str | None = None, allow_pickle: bool = False
) -> Any:
    """Load an artifact version's value from the DVC cache (fetching it when missing).

    The materializer comes from the registry, and a code-running one (pickle) only loads what
    this clone produced or what the user trusts (:func:`store.trust.check_pickle_trust`).
    """
    from engine.materializers import load_value, resolve_materializer
    from store.trust import check_pickle_trust

    pointer = DvcPointer.model_validate(record["pointer"])
    cls = resolve_materializer(str(record["materializer"]))
    if cls.LOADS_CODE:
        check_pickle_trust(project, record, allow_pickle)
    if not pointer.is_dir:
        path = project.artifacts.cache_file(pointer, remote=remote)
        return load_value(path, cls, record["type"])
    tmp = make_temp_dir("mlx-load-")
    try:
        path = project.artifacts.checkout(pointer, tmp / "data", remote=remote)
        return load_value(path, cls, record["type"])
    finally:  # a Path value is loaded as its own copy elsewhere
        shutil.rmtree(tmp, ignore_errors=True)


def store_value(
    project: Any,
    data: Any,
    name: str,
    *,
    materializer: type | None = None,
    run_id: str | None = None,
    step: str | None = None,
    output: str | None = None,
    metadata: dict[str, Any] | None = None,
    is_model: bool | None = None,
) -> dict[str, Any]:
    """Materialize ``data`` into the DVC cache and return an artifact-version draft."""
    from engine.materializers import materializer_name, save_value, type_name

    tmp = make_temp_dir("mlx-save-")
    try:
        try:
            cls, meta = save_value(data, tmp / "data", materializer)
        except MaterializerError as exc:
            where = f"step {step!r} output {output!r}" if step else f"artifact {name!r}"
            raise MaterializerError(f"{where}: {exc}") from exc
        pointer = project.artifacts.save(tmp / "data")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if cls.LOADS_CODE:  # this clone made these bytes: it may load them back without opting in
        from store.trust import note_authored

        note_authored(project.state_dir, pointer.md5)
    model_type = cls.is_model()
    return {
        "id": uuid.uuid4().hex,
        "name": name,
        "type": type_name(type(data)),
        "materializer": materializer_name(cls),
        "pointer": pointer.model_dump(),
        "run_id": run_id,
        "step": step,
        "output": output,
        "created_at": datetime.now(UTC).isoformat(),
        "metadata": {**meta, **(metadata or {})},
        "is_model_artifact": model_type if is_model is None else is_model,
    }


def check_version_name(project: Project, name: str, version: str) -> None:
    """Refuse a second version of artifact ``name`` called ``version`` (ZenML refuses it).

    Checked when the version is made (so the step fails, as in ZenML) and again when the run
    is committed (:func:`store.recorder.commit_run`), where concurrent runs are settled.

    Raises:
        EntityExistsError: a recorded version of ``name`` already has that name.
    """
    from store.errors import EntityExistsError
    from store.recorder import artifact_version_conflict

    if any(r.get("version_name") == version for r in project.index.artifact_versions(name)):
        raise EntityExistsError(artifact_version_conflict(name, version))
