"""Pydantic models of every record mlx stores on the runs ref.

Records are immutable views (``frozen=True``), reject unknown keys (``extra="forbid"``) and
carry a ``schema`` number so a future reader can migrate an old record. They serialise to
compact, key-sorted JSON so identical records give identical git blobs.

Identity: an artifact version has a random ``id`` from the moment a step produces it; its
``version`` number is assigned when the run is committed to the ref (inside the
compare-and-swap loop), so concurrent runs never reuse a number.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import pydantic
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from store.errors import InvalidRecordError
from store.names import MAX_NAME, md5_problem, name_problem
from store.paths import dvc_file_path, parse_record_path, run_path, versioned_path
from store.pointers import dvc_file

__all__ = [
    "ArtifactRef",
    "ArtifactVersionRecord",
    "CacheComponents",
    "CodeRef",
    "DvcPointer",
    "ErrorInfo",
    "ModelRef",
    "ModelVersionRecord",
    "Record",
    "RunRecord",
    "RunStatus",
    "StepRecord",
    "StepStatus",
    "dump_record",
    "dvc_file",
    "load_record",
    "record_at",
]


def _name(value: str) -> str:
    if _PLAIN.fullmatch(value) and ".." not in value and not value.endswith(".lock"):
        return value  # the common case in one regex: every record holds dozens of names
    problem = name_problem(value)
    if problem is not None:
        raise ValueError(f"name {value!r} {problem}")
    return value


def _md5(value: str) -> str:
    problem = md5_problem(value)
    if problem is not None:
        raise ValueError(f"md5 {value!r} {problem}")
    return value


def _dotted(value: str) -> str:
    if not _DOTTED.match(value):
        raise ValueError(f"{value!r} is not a dotted Python name ('module.QualName')")
    return value


_PLAIN = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_.\-]{{0,{MAX_NAME - 1}}}")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
Name = Annotated[str, AfterValidator(_name)]
"""A step, output, artifact, pipeline, model or stack name (the rule of store/names.py)."""
Id = Annotated[str, AfterValidator(_name)]
"""A run, artifact-version or model-version id: a path segment too, so the same rule."""
Md5 = Annotated[str, AfterValidator(_md5)]
"""A DVC object id: 32 lowercase hex digits, ``.dir`` for a directory."""
Dotted = Annotated[str, AfterValidator(_dotted)]
"""A qualified Python name, as recorded for types and materializers (never imported as is)."""

RunStatus = Literal["running", "completed", "failed", "crashed", "cancelled"]
StepStatus = Literal["completed", "cached", "failed", "running", "skipped", "cancelled"]
SCHEMA = 1


class Record(BaseModel):
    """Base of every stored record: frozen, strict about keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


class DvcPointer(Record):
    """A DVC-compatible pointer to bytes in the cache: the ``outs`` entry of a ``.dvc`` file."""

    md5: Md5 = Field(description="md5 of the file, or '<md5>.dir' for a directory")
    size: int = Field(ge=0, description="total size in bytes")
    nfiles: int | None = Field(default=None, ge=0, description="number of files (directories)")
    hash: Literal["md5"] = Field(default="md5", description="DVC 3 hash name; required by DVC")

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")


class ErrorInfo(Record):
    """An exception that failed a step or a run."""

    type: str
    message: str
    traceback: str = ""


class ArtifactRef(Record):
    """A reference from a run/step to one artifact version."""

    id: Id
    name: Name
    version: int | None = Field(default=None, ge=0, description="assigned at commit time")

    def label(self) -> str:
        return f"{self.name}:{self.version}" if self.version is not None else f"{self.name}:?"


class ModelRef(Record):
    """A reference to one model version."""

    name: Name
    version: int | None = Field(default=None, ge=0)


class CodeRef(Record):
    """The code a run executed: the commit checked out and its local changes, if any."""

    commit: str | None = None
    dirty: bool = Field(
        default=False,
        description="a project file the run imported (or a module under the pipeline folders) "
        "was modified or untracked",
    )
    branch: str | None = None
    dirty_files: list[str] = Field(
        default_factory=list, description="those files, relative to the git top level"
    )
    patch: DvcPointer | None = Field(
        default=None,
        description="binary git patch from the commit to the code that ran (tracked edits and "
        "untracked files), in the DVC cache; `mlx runs reproduce` applies it",
    )


class CacheComponents(Record):
    """What went into a step's cache key, kept so a miss can be explained."""

    code: str = ""
    parameters: dict[str, str] = Field(default_factory=dict)
    inputs: dict[str, str] = Field(default_factory=dict)
    outputs: str = ""
    config: str = ""


class StepRecord(Record):
    """One step of a run."""

    name: Name
    status: StepStatus
    started_at: datetime | None = None
    finished_at: datetime | None = None
    upstream: list[Name] = Field(default_factory=list, description="names of steps it depends on")
    parameters: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[Name, ArtifactRef] = Field(default_factory=dict)
    outputs: dict[Name, ArtifactRef] = Field(default_factory=dict)
    cache_key: str | None = None
    cache_components: CacheComponents | None = None
    cached_from: Id | None = Field(default=None, description="run id the outputs came from")
    rerun_reasons: list[str] = Field(default_factory=list, description="why the cache missed")
    log: DvcPointer | None = None
    error: ErrorInfo | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    model_metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="what the step logged for the model version (log_metadata(infer_model=True)); "
        "carried over when a later run takes the step from the cache",
    )
    attempts: int = Field(default=1, ge=1, description="executions, retries included")
    retried_error: ErrorInfo | None = Field(
        default=None, description="error of the last attempt that was retried"
    )

    @property
    def duration(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class RunRecord(Record):
    """One pipeline run: written to ``runs/<xx>/<id>.json`` once, when it ends."""

    schema_: int = Field(default=SCHEMA, alias="schema")
    id: Id
    pipeline: Name
    name: str | None = Field(default=None, description="the run's name (run_name=)")
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None = None
    code: CodeRef = Field(default_factory=CodeRef)
    parameters: dict[str, Any] = Field(default_factory=dict)
    stack: Name = "local"
    orchestrator: str = "local"
    tags: list[str] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)
    steps: list[StepRecord] = Field(default_factory=list)
    model: ModelRef | None = None
    error: ErrorInfo | None = None
    host: str = ""
    user: str = ""

    @property
    def duration(self) -> float | None:
        if self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    def step(self, name: str) -> StepRecord | None:
        return next((s for s in self.steps if s.name == name), None)


class ArtifactVersionRecord(Record):
    """One stored value: ``artifacts/<name>/<bucket>/<version>.json``."""

    schema_: int = Field(default=SCHEMA, alias="schema")
    id: Id
    name: Name
    version: int = Field(ge=0)
    type: Dotted = Field(description="qualified Python type of the value")
    materializer: Dotted = Field(description="qualified class name of the materializer")
    pointer: DvcPointer
    run_id: Id | None = None
    step: Name | None = None
    output: Name | None = None
    created_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)
    is_model_artifact: bool = False
    model: ModelRef | None = None
    version_name: str | None = Field(default=None, description="a name for the version")
    tags: list[str] = Field(default_factory=list)

    def label(self) -> str:
        return f"{self.name}:{self.version}"

    def ref(self) -> ArtifactRef:
        return ArtifactRef(id=self.id, name=self.name, version=self.version)


class ModelVersionRecord(Record):
    """One model version: ``models/<name>/<bucket>/<version>.json``."""

    schema_: int = Field(default=SCHEMA, alias="schema")
    id: Id
    name: Name
    version: int = Field(ge=0)
    version_name: str | None = Field(default=None, description='a name, Model(version="sgd")')
    run_id: Id | None = None
    pipeline: Name | None = None
    created_at: datetime
    description: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    artifacts: dict[Name, ArtifactRef] = Field(default_factory=dict, description="data artifacts")
    model_artifacts: dict[Name, ArtifactRef] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)


R = TypeVar("R", bound=Record)


def dump_record(record: Record) -> bytes:
    """Canonical JSON bytes of a record (sorted keys, aliases, no insignificant space)."""
    data = record.model_dump(mode="json", by_alias=True, exclude_none=False)
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def load_record(cls: type[R], data: bytes | str) -> R:
    """Parse a record of type ``cls`` from JSON bytes."""
    return cls.model_validate_json(data)


_KINDS: dict[str, type[Record]] = {
    "run": RunRecord,
    "artifact": ArtifactVersionRecord,
    "model": ModelVersionRecord,
}


def check_dvc_file(path: str, data: bytes) -> None:
    """Validate a ``.dvc`` pointer on the runs ref (ingest): canonical, at its own path.

    Raises:
        InvalidRecordError: anything else.
    """
    import yaml

    try:
        outs = yaml.safe_load(data)["outs"]
        pointer = DvcPointer.model_validate({k: v for k, v in outs[0].items() if k != "path"})
    except (yaml.YAMLError, TypeError, KeyError, IndexError, AttributeError, ValueError) as exc:
        raise InvalidRecordError(path, f"not a DVC pointer file: {exc}") from exc
    if dvc_file_path(pointer.md5) != path or dvc_file(pointer) != data:
        raise InvalidRecordError(path, "not the canonical DVC pointer of the object it names")


def record_at(path: str, data: bytes | str) -> Record:
    """Validate the record stored at ``path`` on the runs ref (ingest: pull, index rebuild).

    The same schema that wrote it, plus the agreement of the record with where it is stored
    (``runs/ab/<id>.json`` holds run ``<id>``; ``artifacts/<name>/0/<n>.json`` holds version
    ``n`` of ``<name>``), so a record cannot pose as another.

    Raises:
        InvalidRecordError: the path is not a record path, or the record is malformed.
    """
    parsed = parse_record_path(path)
    if parsed is None:
        raise InvalidRecordError(path, "not a record path")
    kind, key, sub = parsed
    try:
        record = _KINDS[kind].model_validate_json(data)
    except pydantic.ValidationError as exc:
        raise InvalidRecordError(path, _describe(exc)) from exc
    if isinstance(record, RunRecord):
        where = run_path(record.id)
    else:
        assert isinstance(record, ArtifactVersionRecord | ModelVersionRecord)
        where = versioned_path(f"{path.split('/')[0]}/{record.name}", record.version)
    if where != path:
        raise InvalidRecordError(path, f"the record belongs at {where}, not here")
    del key, sub
    return record


def _describe(exc: pydantic.ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "the record"
    more = exc.error_count() - 1
    return f"{where}: {first['msg']}" + (f" (and {more} more)" if more else "")
