"""Compile a pipeline body into an immutable DAG (:class:`PipelineSpec`).

The body runs once with a compiler active: each step call records a :class:`StepInvocation`
and returns :class:`OutputHandle` objects standing for outputs that do not exist yet. Literal
arguments become parameters and are validated against the step's annotations here, before
anything runs. ``graphlib`` orders the result and gives topological generations.
"""

from __future__ import annotations

import graphlib
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from engine.artifacts import ArtifactInput
from engine.caching import CachePolicy
from engine.retry import StepRetryConfig
from engine.runtime import bound
from store.errors import ValidationError

__all__ = [
    "ArtifactInput",
    "ExternalArtifact",
    "OutputHandle",
    "OutputSpec",
    "PipelineSpec",
    "StepDefinition",
    "StepInvocation",
    "active_compiler",
    "validate_value",
]

_ACTIVE: ContextVar[Compiler | None] = ContextVar("mlx_compiler", default=None)


def active_compiler() -> Compiler | None:
    return _ACTIVE.get()


@dataclass(frozen=True)
class OutputHandle:
    """Stands for output ``output`` of invocation ``step`` inside a pipeline body."""

    step: str
    output: str

    def __repr__(self) -> str:
        return f"<output {self.step}.{self.output}>"


@dataclass(frozen=True)
class ExternalArtifact:
    """A value from outside the pipeline, stored as an artifact when the run starts.

    Args:
        value: the Python value to store.
        name: artifact name (default ``external_<step>_<input>``).
        materializer: the materializer to store it with (default: chosen by type).
    """

    value: Any
    name: str | None = None
    materializer: type | None = None


@dataclass(frozen=True)
class OutputSpec:
    """One declared output of a step."""

    name: str
    annotation: Any = Any
    is_model_artifact: bool | None = None
    explicit: bool = False  # named with Annotated: the artifact takes this name
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] | None = None
    version_name: str | None = None  # ArtifactConfig(version="raw_2023")

    def artifact_name(self, pipeline: str, step: str) -> str:
        """Artifact name of this output: its own name, or ``<pipeline>.<step>.<output>``."""
        return self.name if self.explicit else f"{pipeline}.{step}.{self.name}"


class StepDefinition(Protocol):
    """What compiling, planning and executing need of a step.

    :class:`engine.step.Step` provides it; the run machinery names this protocol instead, so it
    never imports the user API above it.
    """

    @property
    def name(self) -> str: ...
    @property
    def entrypoint(self) -> Callable[..., Any]: ...
    @property
    def signature(self) -> inspect.Signature: ...
    @property
    def param_types(self) -> Mapping[str, Any]: ...
    @property
    def parameters(self) -> Mapping[str, Any]: ...
    @property
    def outputs(self) -> Sequence[OutputSpec]: ...
    @property
    def output_materializers(self) -> Mapping[str, type]: ...
    @property
    def settings(self) -> Mapping[str, Any]: ...
    @property
    def enable_cache(self) -> bool | None: ...
    @property
    def cache_policy(self) -> CachePolicy | None: ...
    @property
    def on_success(self) -> Callable[..., Any] | None: ...
    @property
    def on_failure(self) -> Callable[..., Any] | None: ...
    def with_options(self, **options: Any) -> Any: ...
    @property
    def retry(self) -> StepRetryConfig | None: ...


@dataclass(frozen=True)
class StepInvocation:
    """One call of a step in a pipeline body."""

    name: str
    step: StepDefinition
    parameters: Mapping[str, Any]
    inputs: Mapping[str, OutputHandle | ArtifactInput | ExternalArtifact]
    after: frozenset[str] = frozenset()

    @property
    def upstream(self) -> list[str]:
        ups = {h.step for h in self.inputs.values() if isinstance(h, OutputHandle)}
        return sorted(ups | set(self.after))


@dataclass(frozen=True)
class PipelineSpec:
    """The compiled DAG of one pipeline."""

    pipeline: str
    invocations: Mapping[str, StepInvocation]
    order: tuple[str, ...] = field(default=())

    def generations(self) -> list[list[str]]:
        """Topological generations: steps of one generation may run at the same time."""
        called = {n: k for k, n in enumerate(self.invocations)}
        sorter = graphlib.TopologicalSorter({n: i.upstream for n, i in self.invocations.items()})
        sorter.prepare()
        out = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=called.__getitem__)
            out.append(ready)
            sorter.done(*ready)
        return out

    def downstream(self, name: str) -> set[str]:
        """Every step that depends on ``name``, directly or not."""
        found: set[str] = set()
        frontier = {name}
        while frontier:
            frontier = {
                n for n, i in self.invocations.items() if frontier & set(i.upstream)
            } - found
            found |= frontier
        return found


class Compiler:
    """Collects step invocations while a pipeline body runs."""

    def __init__(
        self,
        pipeline: str,
        overrides: Mapping[str, Any] | None = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.invocations: dict[str, StepInvocation] = {}
        self.overrides = dict(overrides or {})  # invocation name -> StepOverrides (YAML steps:)
        self.defaults = dict(defaults or {})  # the pipeline's settings / retry for every step

    def add_step(self, step: StepDefinition, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        after = kwargs.pop("after", None) if "after" not in step.param_types else None
        given_id = kwargs.pop("id", None) if "id" not in step.param_types else None
        try:
            bound = step.signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise ValidationError(f"step {step.name!r} called with bad arguments: {exc}") from exc
        name = self._name(step.name, given_id)
        yaml_params: dict[str, Any] = {}
        override = self.overrides.get(name)
        if override is not None:
            options = dict(override.options)
            if "settings" in options:  # YAML settings merge into the step's, key by key
                options["settings"] = {**step.settings, **options["settings"]}
            step = step.with_options(**options) if options else step
            yaml_params = dict(override.parameters)
        step = with_pipeline_defaults(step, self.defaults)
        values = {**step.parameters, **bound.arguments, **yaml_params}
        params: dict[str, Any] = {}
        inputs: dict[str, OutputHandle | ArtifactInput | ExternalArtifact] = {}
        for pname, value in values.items():
            if pname not in step.param_types:
                raise ValidationError(
                    f"step {name!r} has no parameter {pname!r} (configured in the run "
                    f"configuration of pipeline {self.pipeline!r})"
                )
            source = as_input(value)
            sources = as_input_list(value) if source is None else None
            if pname in yaml_params and (source is not None or sources is not None):
                raise ValidationError(f"steps.{name}.parameters.{pname}: it is an artifact input")
            if source is not None:
                inputs[pname] = source
            elif sources is not None:
                inputs.update({f"{pname}.{i}": src for i, src in enumerate(sources)})
            else:
                params[pname] = validate_value(value, step.param_types[pname], f"{name}.{pname}")
        missing = [
            p.name
            for p in step.signature.parameters.values()
            if p.name not in values and p.default is p.empty
        ]
        if missing:
            raise ValidationError(
                f"step {name!r} is missing a value for parameter {missing[0]!r} "
                f"in pipeline {self.pipeline!r}"
            )
        for p in step.signature.parameters.values():
            if p.name not in values and p.default is not p.empty:
                params[p.name] = p.default
        self.invocations[name] = StepInvocation(
            name, step, params, inputs, frozenset(self._after_names(after))
        )
        handles = tuple(OutputHandle(name, o.name) for o in step.outputs)
        if not handles:
            return None
        return handles[0] if len(handles) == 1 else handles

    def _name(self, base: str, given: Any) -> str:
        if given is None:
            return self._unique(base)
        if not isinstance(given, str) or not given:
            raise ValidationError(f"step {base!r}: id= must be a non-empty string")
        if given in self.invocations:
            raise ValidationError(
                f"step id {given!r} is used twice in pipeline {self.pipeline!r}; ids are unique"
            )
        return given

    def _unique(self, base: str) -> str:
        if base not in self.invocations:
            return base
        n = 2
        while f"{base}_{n}" in self.invocations:
            n += 1
        return f"{base}_{n}"

    def _after_names(self, after: Any) -> list[str]:
        if after is None:
            return []
        items = after if isinstance(after, list | tuple | set) else [after]
        names = []
        for item in items:
            name = item.step if isinstance(item, OutputHandle) else getattr(item, "name", item)
            if name not in self.invocations:
                raise ValidationError(f"after={name!r}: no such step earlier in the pipeline")
            names.append(str(name))
        return names

    def spec(self) -> PipelineSpec:
        if not self.invocations:
            raise ValidationError(f"pipeline {self.pipeline!r} calls no step")
        spec = PipelineSpec(self.pipeline, dict(self.invocations))
        try:
            order = call_order(spec)
        except graphlib.CycleError as exc:  # only reachable through after=
            raise ValidationError(f"pipeline {self.pipeline!r} has a cycle: {exc}") from exc
        return PipelineSpec(self.pipeline, spec.invocations, order)


def call_order(spec: PipelineSpec) -> tuple[str, ...]:
    """A topological order where, of the steps ready at once, the one called first goes first.

    This is ZenML's order for a sequential orchestrator (not alphabetical).
    """
    import heapq

    called = {n: k for k, n in enumerate(spec.invocations)}
    sorter = graphlib.TopologicalSorter({n: i.upstream for n, i in spec.invocations.items()})
    sorter.prepare()
    ready: list[tuple[int, str]] = []
    order: list[str] = []
    while sorter.is_active():
        for name in sorter.get_ready():
            heapq.heappush(ready, (called[name], name))
        _, name = heapq.heappop(ready)
        order.append(name)
        sorter.done(name)
    return tuple(order)


def with_pipeline_defaults(step: StepDefinition, defaults: Mapping[str, Any]) -> StepDefinition:
    """``step`` with the pipeline's ``settings`` and ``retry`` where it has none of its own.

    As in ZenML, a pipeline's settings apply to each of its steps and the step's own
    settings win key by key; a pipeline's ``retry`` applies to steps without one.
    """
    changes: dict[str, Any] = {}
    settings = defaults.get("settings") or {}
    if settings and any(k not in step.settings for k in settings):
        changes["settings"] = {**settings, **step.settings}
    retry = defaults.get("retry")
    if retry is not None and step.retry is None:
        changes["retry"] = retry
    with_options = getattr(step, "with_options", None)
    if not changes or with_options is None:
        return step
    return with_options(**changes)  # type: ignore[no-any-return]


@contextmanager
def compiling(
    pipeline: str,
    overrides: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Iterator[Compiler]:
    with compiling_with(Compiler(pipeline, overrides, defaults)) as compiler:
        yield compiler


@contextmanager
def compiling_with(compiler: Compiler) -> Iterator[Compiler]:
    """Make ``compiler`` receive the step calls of the body run inside this block."""
    with bound(_ACTIVE, compiler):
        yield compiler


def as_input(value: Any) -> OutputHandle | ArtifactInput | ExternalArtifact | None:
    """The artifact source ``value`` stands for, or None when it is a literal parameter."""
    if isinstance(value, OutputHandle | ExternalArtifact | ArtifactInput):
        return value
    to_input = getattr(value, "__mlx_artifact_input__", None)
    if callable(to_input):  # a Client artifact version (lazy reference)
        result = to_input()
        return result if isinstance(result, ArtifactInput) else None
    return None


def as_input_list(value: Any) -> list[OutputHandle | ArtifactInput | ExternalArtifact] | None:
    """The sources of a list of step outputs passed as one input (ZenML loads it as a list)."""
    if not isinstance(value, list | tuple) or not value:
        return None
    sources = [as_input(v) for v in value]
    if any(s is None for s in sources):
        return None
    return sources  # type: ignore[return-value]


@lru_cache(maxsize=256)
def _adapter(annotation: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(annotation)


def validate_value(value: Any, annotation: Any, where: str, *, strict: bool = True) -> Any:
    """Check ``value`` against ``annotation`` (pydantic), raising a readable ValidationError."""
    if annotation is Any:
        return value
    try:
        adapter = _adapter(annotation)
    except Exception:  # noqa: BLE001 - a type pydantic cannot describe: isinstance or accept
        if isinstance(annotation, type) and not isinstance(value, annotation):
            raise ValidationError(
                f"{where}: expected {annotation.__name__}, got {type(value).__name__} {value!r}"
            ) from None
        return value
    import pydantic

    try:
        return adapter.validate_python(value, strict=strict)
    except pydantic.ValidationError as exc:
        if strict and isinstance(value, str) and "UUID" in repr(annotation):
            return validate_value(value, annotation, where, strict=False)  # ids are text here
        if strict and isinstance(value, str | int) and _mentions_enum(annotation):
            # an Enum parameter given by its value (YAML, CLI), as ZenML's pydantic accepts it
            return validate_value(value, annotation, where, strict=False)
        detail = exc.errors()[0]["msg"]
        expected = getattr(annotation, "__name__", repr(annotation))
        raise ValidationError(
            f"{where}: expected {expected}, got {type(value).__name__} {value!r} ({detail})"
        ) from exc


def _mentions_enum(annotation: Any) -> bool:
    """True when ``annotation`` is an Enum or a type built from one (``Optional[Color]``)."""
    import enum
    import typing

    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return True
    return any(_mentions_enum(arg) for arg in typing.get_args(annotation))
