"""Configuration files of a project: ``mlx.toml`` and ``stacks/<name>.toml``.

Files are read with ``tomllib`` into pydantic models that forbid unknown keys. Every problem
becomes a :class:`~store.errors.ConfigError` naming the file, the dotted key and the line, so a
user can jump straight to it. Files mlx owns are written with ``tomli_w``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from store.config_text import parse_toml, read_config_text
from store.errors import ConfigError, ValidationError
from store.names import check_name, check_runs_ref
from store.paths import DEFAULT_RUNS_REF, valid_name

__all__ = [
    "ArtifactStoreConfig",
    "LocalClusterConfig",
    "ModelsSection",
    "OrchestratorConfig",
    "ProjectConfig",
    "ResourceConfig",
    "ScheduleConfig",
    "SecuritySection",
    "SettingsConfig",
    "StackConfig",
    "load_toml_model",
    "locate_key",
    "parse_memory",
]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class ProjectSection(_Config):
    """The ``[project]`` table of ``mlx.toml``."""

    name: str = Field(description="Project name, shown in the TUI and in pull requests.")
    default_stack: str = Field(default="local", description="Stack used when none is chosen.")
    pipelines: list[str] = Field(
        default_factory=lambda: ["pipelines"],
        description="Modules or packages holding @pipeline functions (a package: all modules).",
    )
    runs_ref: str = Field(
        default=DEFAULT_RUNS_REF, description="Git ref holding run records; under refs/mlx/."
    )
    promotion: Literal["pull-request", "direct"] = Field(
        default="pull-request",
        description="How `mlx model promote` lands a stage change: a branch, or a commit.",
    )

    @field_validator("runs_ref")
    @classmethod
    def _under_refs_mlx(cls, ref: str) -> str:
        try:
            return check_runs_ref(ref)
        except ValidationError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("default_stack")
    @classmethod
    def _stack_name(cls, name: str) -> str:
        return _named("stack name", name)


class SecuritySection(_Config):
    """The ``[security]`` table of ``mlx.toml``: what this clone trusts from teammates."""

    allow_pickle_from: list[str] = Field(
        default_factory=list,
        description="Load pickled artifacts that another clone produced when the artifact name"
        " or the producing run id matches one of these patterns (fnmatch; '*' trusts all).",
    )


class ModelsSection(_Config):
    """The ``[models]`` table of ``mlx.toml``."""

    stages: list[str] = Field(
        default_factory=list,
        description=(
            "Stage names allowed besides production, staging and archived, e.g. "
            '["canary", "shadow"]. Promotions to any other name are refused.'
        ),
    )

    @pydantic.field_validator("stages")
    @classmethod
    def _valid_stage_names(cls, stages: list[str]) -> list[str]:
        for name in stages:
            if name == "latest":
                raise ValueError("'latest' is the newest version implicitly; it cannot be a stage")
            if not valid_name(name):
                raise ValueError(f"stage name {name!r} may only use letters, digits, '_', '.', '-'")
        return stages


class ScheduleConfig(_Config):
    """``[schedules.<name>]``: run a pipeline on a cron schedule in CI."""

    pipeline: str = Field(description="Name of the @pipeline to run.")
    cron: str = Field(description="When, in UTC: 'minute hour day-of-month month day-of-week'.")
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Pipeline parameters, e.g. { C = 0.5 }."
    )
    stack: str | None = Field(default=None, description="Stack to run on (default: default).")

    @pydantic.field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from store.cron import check_cron

        check_cron(value)
        return value


_SCHEDULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


class ProjectConfig(_Config):
    """``mlx.toml``: marks the project root."""

    project: ProjectSection
    models: ModelsSection = Field(
        default_factory=ModelsSection, description="Settings of models/*.toml and promotion."
    )
    security: SecuritySection = Field(default_factory=SecuritySection)
    schedules: dict[str, ScheduleConfig] = Field(
        default_factory=dict,
        description="Named schedules ([schedules.nightly]) that `mlx ci init` turns into CI jobs.",
    )

    @pydantic.field_validator("schedules")
    @classmethod
    def _schedule_names(cls, value: dict[str, ScheduleConfig]) -> dict[str, ScheduleConfig]:
        bad = next((name for name in value if not _SCHEDULE_NAME.match(name)), None)
        if bad is not None:
            raise ValueError(f"schedule name {bad!r}: use letters, digits, '-' and '_'")
        return value


class LocalClusterConfig(_Config):
    """``local_cluster = { ... }``: a Dask ``LocalCluster`` started for the run, closed after."""

    n_workers: int = Field(default=2, ge=1, description="Worker processes.")
    threads_per_worker: int = Field(default=1, ge=1, description="Threads in each worker.")
    resources: dict[str, float] = Field(
        default_factory=dict,
        description="Abstract resources each worker offers, e.g. { CPU = 2, GPU = 1 }.",
    )


class OrchestratorConfig(_Config):
    """The ``[orchestrator]`` table of a stack."""

    flavor: Literal["local", "local_parallel", "dask"] = Field(
        default="local",
        description="local: in-process, one step at a time; local_parallel: a process pool; "
        "dask: tasks on a Dask cluster (address, or a local_cluster started for the run).",
    )
    max_workers: int | None = Field(default=None, ge=1, description="Parallel workers.")
    address: str | None = Field(
        default=None, description="dask: scheduler of a running cluster, e.g. tcp://host:8786."
    )
    local_cluster: LocalClusterConfig | None = Field(
        default=None, description="dask: start a LocalCluster for each run (the default)."
    )
    artifacts: Literal["shared_cache", "remote"] | None = Field(
        default=None,
        description="dask: how workers reach artifact bytes: the project's DVC cache path "
        "(same filesystem) or the stack's DVC remote (default with an address).",
    )

    @pydantic.model_validator(mode="after")
    def _dask_only(self) -> OrchestratorConfig:
        if self.flavor != "dask":
            extra = [k for k in ("address", "local_cluster", "artifacts") if getattr(self, k)]
            if extra:
                raise ValueError(f"{extra[0]} applies to flavor 'dask' only")
        elif self.address and self.local_cluster:
            raise ValueError("set either address or local_cluster, not both")
        return self


class ResourceConfig(_Config):
    """Resources a step asks for; Dask matches them against its workers' resources."""

    cpu: float | None = Field(default=None, gt=0, description="CPU cores (Dask resource CPU).")
    memory: str | None = Field(
        default=None, description="Memory such as '512MB' or '4GiB' (Dask resource MEMORY, bytes)."
    )
    gpu: int | None = Field(default=None, ge=0, description="GPUs (Dask resource GPU).")

    @pydantic.field_validator("memory")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        if value is not None:
            parse_memory(value)
        return value


class SettingsConfig(_Config):
    """Step settings: ``[settings]`` of a stack, or ``@step(settings={...})`` (the step wins)."""

    environment: dict[str, str] = Field(
        default_factory=dict, description="Environment variables set while the step runs."
    )
    resources: ResourceConfig = Field(default_factory=ResourceConfig)
    orchestrator: str | None = Field(
        default=None, description="Step only: run this step on another stack's orchestrator."
    )


_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_memory(text: str) -> int:
    """Bytes in ``'512MB'``, ``'4GiB'``, ``'1g'`` or ``'1024'``."""
    match = _MEMORY.match(text)
    if not match:
        raise ValueError(f"memory {text!r} is not a size like '512MB' or '4GiB'")
    unit = (match.group(2) or "").lower().rstrip("b")
    factor = 2 ** (10 * "_kmgt".index(unit[0])) if unit.endswith("i") else _UNITS[unit]
    return int(float(match.group(1)) * factor)


class ArtifactStoreConfig(_Config):
    """The ``[artifact_store]`` table of a stack."""

    remote: str = Field(default="", description="DVC remote name; empty: DVC's default remote.")

    @field_validator("remote")
    @classmethod
    def _remote_name(cls, name: str) -> str:
        return _named("DVC remote name", name) if name else name


class StackConfig(_Config):
    """``stacks/<name>.toml``: where and how pipelines run."""

    description: str = ""
    orchestrator: OrchestratorConfig = Field(default_factory=OrchestratorConfig)
    artifact_store: ArtifactStoreConfig = Field(default_factory=ArtifactStoreConfig)
    settings: SettingsConfig = Field(default_factory=SettingsConfig)

    @pydantic.model_validator(mode="after")
    def _no_stack_override(self) -> StackConfig:
        if self.settings.orchestrator:
            raise ValueError("settings.orchestrator is a step setting; a stack has [orchestrator]")
        return self


def _named(kind: str, name: str) -> str:
    try:
        return check_name(kind, name)
    except ValidationError as exc:
        raise ValueError(str(exc)) from exc


M = TypeVar("M", bound=BaseModel)


def load_toml_model(path: Path, model: type[M]) -> M:
    """Read ``path`` as TOML and validate it into ``model``.

    Raises:
        ConfigError: unreadable file, TOML syntax error, or a validation error (with key and line).
    """
    text = read_config_text(path)
    return validate_toml_data(path, text, parse_toml(text, str(path)), model)


def validate_toml_data(path: Path, text: str, data: dict[str, Any], model: type[M]) -> M:
    """Validate already-parsed TOML ``data``; errors point at the key's line in ``text``."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"]]
        dotted = ".".join(loc)
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}" + _known_keys(model, loc[:-1])
        elif first["type"] == "missing":
            message = f"missing required key {loc[-1]!r}"
        more = len(exc.errors()) - 1
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ConfigError(str(path), message, key=dotted, line=locate_key(text, loc)) from exc


def _known_keys(model: type[BaseModel], loc: list[str]) -> str:
    current: Any = model
    for part in loc:
        field = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if field is None or not isinstance(field.annotation, type):
            return ""
        current = field.annotation
    if hasattr(current, "model_fields"):
        return "; known keys: " + ", ".join(current.model_fields)
    return ""


def locate_key(text: str, loc: list[str]) -> int | None:
    """Best-effort line number (1-based) of dotted key ``loc`` in TOML ``text``."""
    table: list[str] = []
    best: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("["):
            table = [p.strip().strip("\"'") for p in line.strip("[]").split(".")]
            if table[: len(loc)] == loc and best is None:  # the table or its first sub-table
                best = number
            continue
        keys = [k.strip().strip("\"'") for k in line.split("=", 1)[0].split(".")]
        full = table + keys
        if "=" in line and full == loc[: len(full)]:
            return number
    if best is None and loc[:-1]:
        return locate_key(text, loc[:-1])
    return best
