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
from engine.compiler import PipelineSpec, compiling, compiling_with, validate_value
from engine.retry import StepRetryConfig
from engine.runtime import PipelineContext, pipeline_context
from store.errors import RunFailedError, ValidationError, did_you_mean
from store.names import check_name

if TYPE_CHECKING:
    pass

__all__ = ["Pipeline", "PipelineParameter", "PipelineRunFailedError", "pipeline"]

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
    """A pipeline definition (see :meth:`with_options` for a configured copy)."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        enable_cache: bool | None = None,
        cache_policy: CachePolicy | None = None,
        tags: Sequence[str] = (),
        on_failure: HookFn | str | None = None,
        on_success: HookFn | str | None = None,
        on_cleanup: HookFn | str | None = None,
        model: Any = None,
        settings: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        run_name: str | None = None,
        dynamic: bool = False,
        parameters: Mapping[str, Any] | None = None,
        steps: Mapping[str, Any] | None = None,
        retry: StepRetryConfig | None = None,
        substitutions: Mapping[str, str] | None = None,
        **unsupported: Any,
    ) -> None:
        from engine.compat import reject_unsupported
        from engine.hooks import check_hook

        self.entrypoint = func
        self.name = check_name("pipeline name", name or func.__name__)
        for alias in ("model_config", "model_version"):  # ZenML < 0.55 names of model=
            model = model or unsupported.pop(alias, None)
        reject_unsupported(unsupported, f"pipeline {self.name!r}")
        self.enable_cache = enable_cache
        self.cache_policy = cache_policy
        self.tags = list(tags)
        self.on_failure = check_hook(on_failure, f"pipeline {self.name!r} on_failure")
        self.on_success = check_hook(on_success, f"pipeline {self.name!r} on_success")
        self.on_cleanup = check_hook(on_cleanup, f"pipeline {self.name!r} on_cleanup")
        self.model = model
        self.settings = dict(settings or {})
        self.extra = dict(extra or {})
        self.run_name = run_name
        self.substitutions = {str(k): str(v) for k, v in (substitutions or {}).items()}
        if retry is not None and not isinstance(retry, StepRetryConfig):
            raise ValidationError(f"pipeline {self.name!r}: retry must be a StepRetryConfig, "
                                  f"not {type(retry).__name__}")  # fmt: skip
        self.retry = retry
        self.dynamic = dynamic
        self.config_parameters = dict(parameters or {})
        self.step_overrides: dict[str, Any] = dict(steps or {})
        self.signature = inspect.signature(func)
        unknown = set(self.config_parameters) - set(self.signature.parameters)
        if unknown:
            raise ValidationError(
                f"pipeline {self.name!r} has no parameter {sorted(unknown)[0]!r} "
                f"(configured parameters: {', '.join(sorted(self.config_parameters))})"
            )
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
            default = self.config_parameters.get(p.name, default)
            required = p.default is p.empty and p.name not in self.config_parameters
            specs.append(PipelineParameter(p.name, label, default, required))
        return specs

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Validate call arguments into a complete ``name -> value`` mapping.

        Values from a run configuration fill in parameters the call leaves out; the same
        parameter given both ways with different values is an error (as in ZenML).
        """
        bound = self._bound(args, kwargs)
        hints = self._annotations()
        return {
            k: validate_value(v, hints.get(k, Any), f"pipeline {self.name} parameter {k}")
            for k, v in bound.items()
        }

    def _bound(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        try:
            bound = self.signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise ValidationError(f"pipeline {self.name!r}: {exc}") from exc
        for key, value in self.config_parameters.items():
            given = bound.arguments.get(key, value)
            if given is not value and given != value:
                raise ValidationError(
                    f"pipeline {self.name!r}: parameter {key!r} is {value!r} in the run "
                    f"configuration and {given!r} in the call; give it in one place"
                )
            bound.arguments[key] = given
        try:
            full = self.signature.bind(**bound.arguments)
        except TypeError as exc:
            raise ValidationError(f"pipeline {self.name!r}: {exc}") from exc
        full.apply_defaults()
        return dict(full.arguments)

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
    def compile(self, parameters: Mapping[str, Any], compiler: Any = None) -> PipelineSpec:
        """The DAG of the body for ``parameters`` (empty for a dynamic pipeline, whose body
        runs during the run with the dynamic orchestrator's ``compiler``)."""
        if self.dynamic and compiler is None:
            return PipelineSpec(self.name, {})
        model = self.model
        bind = getattr(model, "_bind_for_compile", None)
        if callable(bind):
            model = bind()
        context = PipelineContext(self.name, model, dict(self.extra), self.enable_cache)
        if compiler is not None:
            with compiling_with(compiler), pipeline_context(context):
                self.entrypoint(**parameters)
            return PipelineSpec(self.name, dict(compiler.invocations))
        with (
            compiling(self.name, self.step_overrides, self.step_defaults()) as active,
            pipeline_context(context),
        ):
            self.entrypoint(**parameters)
        return active.spec()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the pipeline and return the run; raise :class:`PipelineRunFailedError` if it fails.

        Called inside another pipeline's body, the body of this one joins the outer run
        (its steps become steps of the outer pipeline) and its return value is returned.
        """
        from engine.compiler import active_compiler

        if active_compiler() is not None:
            return self.entrypoint(**self._bound(args, kwargs))
        from engine.client import PipelineRunView
        from engine.runner import run_pipeline
        from store.project import Project

        parameters = self.bind(args, kwargs)
        project = Project.find(_project_hint(self.entrypoint))
        view = PipelineRunView(project, run_pipeline(project, self, parameters))
        if view.status != "completed":
            raise PipelineRunFailedError(view)
        return view

    def _options(self) -> dict[str, Any]:
        return {
            "name": self.name, "enable_cache": self.enable_cache,
            "cache_policy": self.cache_policy, "tags": self.tags,
            "on_failure": self.on_failure, "on_success": self.on_success,
            "on_cleanup": self.on_cleanup, "model": self.model,
            "settings": self.settings, "extra": self.extra, "run_name": self.run_name,
            "dynamic": self.dynamic, "parameters": self.config_parameters,
            "steps": self.step_overrides, "retry": self.retry,
            "substitutions": self.substitutions,
        }  # fmt: skip

    def step_defaults(self) -> dict[str, Any]:
        """What every step of this pipeline inherits unless it sets its own (ZenML merging)."""
        return {"settings": self.settings, "retry": self.retry}

    def _merged(self, options: dict[str, Any]) -> dict[str, Any]:
        from engine.compat import reject_unsupported

        config_path = options.pop("config_path", None)
        options.pop("unlisted", None)
        reject_unsupported(
            {k: options.pop(k) for k in list(options) if k not in self._options()},
            f"pipeline {self.name!r} with_options()",
        )
        current = self._options()
        if config_path is not None:
            from engine.run_config import load_run_config

            config = load_run_config(config_path)
            current.update(config.options)
            current["parameters"] = {**current["parameters"], **config.parameters}
            current["steps"] = {**current["steps"], **config.steps}
        if "parameters" in options:
            options["parameters"] = {**current["parameters"], **options["parameters"]}
        if "steps" in options:
            options["steps"] = {**current["steps"], **_step_overrides(options["steps"])}
        return {**current, **options}

    def with_options(self, **options: Any) -> Pipeline:
        """A copy with some options replaced; ``config_path=`` applies a YAML run configuration."""
        return Pipeline(self.entrypoint, **self._merged(options))

    def configure(self, **options: Any) -> Pipeline:
        """Change this pipeline's options in place (ZenML semantics) and return it."""
        changed = Pipeline(self.entrypoint, **self._merged(options))
        self.__dict__.update(changed.__dict__)
        return self

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"


class PipelineRunFailedError(RunFailedError):
    """A pipeline called from Python failed; names the failed step (a ``RuntimeError``).

    Attributes:
        run: the recorded run (``PipelineRunView``), with its steps and errors.
    """

    def __init__(self, run: Any) -> None:
        self.run = run
        record = run.record
        failed = next((s for s in record.steps if s.status == "failed"), None)
        if failed is not None and failed.error is not None:
            what = f"step {failed.name!r} failed: {failed.error.type}: {failed.error.message}"
        else:
            what = record.error.message if record.error else f"status {record.status}"
        super().__init__(
            f"pipeline {record.pipeline!r} run {record.id[:8]} failed: {what} "
            f"(`mlx runs show {record.id[:8]}`)",
            run_id=record.id,
        )
        self.step_name = failed.name if failed is not None else None


def _step_overrides(steps: Mapping[str, Any]) -> dict[str, Any]:
    """``steps={"trainer": {"parameters": {...}, "enable_cache": False}}`` in code, as in YAML."""
    from engine.run_config import StepOverrides

    out: dict[str, Any] = {}
    for name, value in steps.items():
        if isinstance(value, StepOverrides):
            out[name] = value
        else:
            table = dict(value)
            params = dict(table.pop("parameters", None) or {})
            out[name] = StepOverrides(params, table)
    return out


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
    on_failure: HookFn | str | None = None,
    on_success: HookFn | str | None = None,
    on_cleanup: HookFn | str | None = None,
    model: Any = None,
    settings: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    run_name: str | None = None,
    dynamic: bool = False,
    retry: StepRetryConfig | None = None,
    substitutions: Mapping[str, str] | None = None,
    **unsupported: Any,
) -> Callable[[Callable[P, R]], Pipeline]: ...
def pipeline(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Make a function a pipeline; works bare (``@pipeline``) and called (``@pipeline(...)``)."""
    if func is not None:
        return Pipeline(func, **options)

    def decorate(f: Callable[..., Any]) -> Pipeline:
        return Pipeline(f, **options)

    return decorate
