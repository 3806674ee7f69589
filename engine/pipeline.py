"""``@pipeline``: a function whose body wires steps together.

Calling a pipeline runs it: the body is compiled into a DAG (see :mod:`engine.compiler`), then
executed on the active stack of the project found from the working directory, and the
finished run is returned. Pipeline parameters are the function's parameters; values given on
the command line arrive as strings and are converted by type here.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from engine.caching import CachePolicy
from engine.compiler import PipelineSpec, compiling, validate_value
from engine.runtime import PipelineContext, pipeline_context
from store.errors import ValidationError, did_you_mean
from store.names import check_name

if TYPE_CHECKING:
    from engine.client import PipelineRunView

__all__ = ["PipelineParameter", "Pipeline", "pipeline"]

P = ParamSpec("P")
R = TypeVar("R")
HookFn = Callable[..., Any]


@dataclass(frozen=True)
class PipelineParameter:
    """A pipeline parameter as shown in the TUI's launch form."""

    name: str
    annotation: str
    default: Any
    required: bool


class Pipeline:
    """A pipeline definition (immutable; see :meth:`with_options`)."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        enable_cache: bool | None = None,
        cache_policy: CachePolicy | None = None,
        tags: Sequence[str] = (),
        on_failure: HookFn | None = None,
        on_success: HookFn | None = None,
        on_cleanup: HookFn | None = None,
        model: Any = None,
        settings: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.entrypoint = func
        self.name = check_name("pipeline name", name or func.__name__)
        self.enable_cache = enable_cache
        self.cache_policy = cache_policy
        self.tags = list(tags)
        self.on_failure = on_failure
        self.on_success = on_success
        self.on_cleanup = on_cleanup
        self.model = model
        self.settings = dict(settings or {})
        self.extra = dict(extra or {})
        self.signature = inspect.signature(func)
        for hook_name, hook in (("on_failure", on_failure), ("on_success", on_success),
                                ("on_cleanup", on_cleanup)):  # fmt: skip
            if hook is not None and not callable(hook):
                raise ValidationError(f"pipeline {self.name!r}: {hook_name} must be callable")
        self.__doc__ = func.__doc__

    # -- parameters ------------------------------------------------------------------------
    def _annotations(self) -> dict[str, Any]:
        from engine.step import _hints

        return _hints(self.entrypoint)

    def parameter_specs(self) -> list[PipelineParameter]:
        hints = self._annotations()
        specs = []
        for p in self.signature.parameters.values():
            ann = hints.get(p.name, Any)
            label = getattr(ann, "__name__", None) or repr(ann).replace("typing.", "")
            default = None if p.default is p.empty else p.default
            specs.append(PipelineParameter(p.name, label, default, p.default is p.empty))
        return specs

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Validate call arguments into a complete ``name -> value`` mapping."""
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ValidationError(f"pipeline {self.name!r}: {exc}") from exc
        bound.apply_defaults()
        hints = self._annotations()
        return {
            k: validate_value(v, hints.get(k, Any), f"pipeline {self.name} parameter {k}")
            for k, v in bound.arguments.items()
        }

    def validate_parameters(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Convert ``-p key=value`` strings by type; reject unknown names and bad values."""
        known = list(self.signature.parameters)
        hints = self._annotations()
        values = {}
        for key, value in raw.items():
            if key not in known:
                raise ValidationError(
                    f"pipeline {self.name!r} has no parameter {key!r}"
                    + (did_you_mean(key, known) if known else " (it takes no parameters)")
                )
            values[key] = _from_text(value, hints.get(key, Any), f"parameter {key}")
        return self.bind((), values)

    # -- compile and run -------------------------------------------------------------------
    def compile(self, parameters: Mapping[str, Any]) -> PipelineSpec:
        model = self.model
        bind = getattr(model, "_bind_for_compile", None)
        if callable(bind):
            model = bind()
        context = PipelineContext(self.name, model, dict(self.extra), self.enable_cache)
        with compiling(self.name) as compiler, pipeline_context(context):
            self.entrypoint(**parameters)
        return compiler.spec()

    def __call__(self, *args: Any, **kwargs: Any) -> PipelineRunView:
        from engine.client import PipelineRunView
        from engine.runner import run_pipeline
        from store.project import Project

        parameters = self.bind(args, kwargs)
        project = Project.find(_project_hint(self.entrypoint))
        return PipelineRunView(project, run_pipeline(project, self, parameters))

    def with_options(self, **options: Any) -> Pipeline:
        current = {
            "name": self.name, "enable_cache": self.enable_cache,
            "cache_policy": self.cache_policy, "tags": self.tags,
            "on_failure": self.on_failure, "on_success": self.on_success,
            "on_cleanup": self.on_cleanup, "model": self.model,
            "settings": self.settings, "extra": self.extra,
        }  # fmt: skip
        unknown = set(options) - set(current)
        if unknown:
            raise ValidationError(f"with_options() got unknown option {sorted(unknown)[0]!r}")
        return Pipeline(self.entrypoint, **{**current, **options})

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"


def _project_hint(func: Callable[..., Any]) -> str | None:
    """Where to look for the project: the working directory, else the pipeline's file."""
    from pathlib import Path

    from store.project import find_root

    if find_root(Path.cwd()) is not None:
        return None
    source = inspect.getsourcefile(func)
    return str(Path(source).parent) if source else None


def _from_text(value: Any, annotation: Any, where: str) -> Any:
    if not isinstance(value, str) or annotation is str:
        return validate_value(value, annotation, where, strict=False)
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    try:
        return validate_value(parsed, annotation, where, strict=False)
    except ValidationError:
        if parsed is not value:  # e.g. a str parameter given "1": keep the text
            return validate_value(value, annotation, where, strict=False)
        raise


@overload
def pipeline(func: Callable[P, R], /) -> Pipeline: ...
@overload
def pipeline(
    *,
    name: str | None = None,
    enable_cache: bool | None = None,
    cache_policy: CachePolicy | None = None,
    tags: Sequence[str] = (),
    on_failure: HookFn | None = None,
    on_success: HookFn | None = None,
    on_cleanup: HookFn | None = None,
    model: Any = None,
    settings: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Callable[[Callable[P, R]], Pipeline]: ...
def pipeline(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Make a function a pipeline; works bare (``@pipeline``) and called (``@pipeline(...)``)."""
    if func is not None:
        return Pipeline(func, **options)

    def decorate(f: Callable[..., Any]) -> Pipeline:
        return Pipeline(f, **options)

    return decorate
