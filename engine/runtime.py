"""Run-time state: the step being executed and the pipeline body being compiled.

Context variables, so nested or parallel use cannot leak between steps. The executor and the
pipeline set them; :mod:`engine.context` (``get_step_context()``/``get_pipeline_context()``)
and the artifact helpers read them. Kept in its own module under both so neither has to
import the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from store.errors import MlxError

if TYPE_CHECKING:
    from engine.artifacts import ArtifactVersionView

__all__ = [
    "PipelineContext",
    "StepContext",
    "current_pipeline_context",
    "current_step_context",
    "pipeline_context",
    "step_context",
]


@dataclass
class StepContext:
    """Facts about the running step, and places to attach metadata."""

    step_name: str
    run_id: str
    pipeline_name: str
    inputs: dict[str, ArtifactVersionView] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)
    output_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    model_metadata: dict[str, Any] = field(default_factory=dict)
    extra_outputs: dict[str, Any] = field(default_factory=dict)
    extra_output_versions: dict[str, str] = field(default_factory=dict)  # save_artifact(version=)
    output_names: list[str] = field(default_factory=list)
    stage_requests: list[tuple[str, bool]] = field(default_factory=list)
    output_tags: dict[str, list[str]] = field(default_factory=dict)
    run_name: str = ""
    run_parameters: dict[str, Any] = field(default_factory=dict)
    # artifact versions made earlier in this run (not committed yet): name -> drafts, oldest first
    run_artifacts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    artifact_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)  # by artifact id
    # steps of this run finished so far: step -> output -> artifact record
    run_steps: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def model_version(self) -> Any:
        """ZenML's older name for :attr:`model`."""
        return self.model

    @property
    def pipeline(self) -> _Named:
        """The pipeline (``.name``)."""
        return _Named(self.pipeline_name, self.pipeline_name)

    @property
    def pipeline_run(self) -> _RunInfo:
        """The run: ``.id``, ``.name`` (the run's name), ``.config.parameters``."""
        return _RunInfo(self.run_id, self.run_name or self.pipeline_name,
                        _Config(dict(self.run_parameters)))  # fmt: skip

    @property
    def step_run(self) -> _RunInfo:
        """This step's execution: ``.name``, ``.config.parameters``."""
        return _RunInfo(self.run_id, self.step_name, _Config(dict(self.parameters)))

    def add_output_tags(self, tags: list[str], output_name: str | None = None) -> None:
        """Tag one output artifact (the only one when not named)."""
        name = self._output(output_name, "name the one to tag")
        self.output_tags.setdefault(name, []).extend(tags)

    def add_output_metadata(self, metadata: dict[str, Any], output_name: str | None = None) -> None:
        """Attach metadata to one output artifact (the only one when not named)."""
        name = self._output(output_name, "name the one to attach metadata to")
        self.output_metadata.setdefault(name, {}).update(metadata)

    def _output(self, output_name: str | None, fix: str) -> str:
        """``output_name``, or the step's only output when it is not given."""
        if output_name is not None:
            return output_name
        if len(self.output_names) != 1:
            raise MlxError(f"step {self.step_name!r} has {len(self.output_names)} outputs; {fix}")
        return self.output_names[0]


@dataclass(frozen=True)
class _Named:
    id: str
    name: str


@dataclass(frozen=True)
class _Config:
    parameters: dict[str, Any]


@dataclass(frozen=True)
class _RunInfo:
    id: str
    name: str
    config: _Config


@dataclass(frozen=True)
class PipelineContext:
    """Facts about the pipeline whose body is being compiled."""

    name: str
    model: Any
    extra: dict[str, Any]
    enable_cache: bool | None

    @property
    def model_version(self) -> Any:
        """ZenML's older name for :attr:`model`."""
        return self.model


_T = TypeVar("_T")
_STEP: ContextVar[StepContext | None] = ContextVar("mlx_step_context", default=None)
_PIPELINE: ContextVar[PipelineContext | None] = ContextVar("mlx_pipeline_context", default=None)


def current_step_context() -> StepContext | None:
    return _STEP.get()


def current_pipeline_context() -> PipelineContext | None:
    return _PIPELINE.get()


@contextmanager
def bound(var: ContextVar[_T | None], value: _T) -> Iterator[_T]:
    """Set ``var`` to ``value`` for the block, then back to what it was."""
    token = var.set(value)
    try:
        yield value
    finally:
        var.reset(token)


def step_context(ctx: StepContext) -> AbstractContextManager[StepContext]:
    return bound(_STEP, ctx)


def pipeline_context(ctx: PipelineContext) -> AbstractContextManager[PipelineContext]:
    return bound(_PIPELINE, ctx)
