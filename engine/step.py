"""``@step``: a typed Python function that becomes one node of a pipeline.

A decorated function stays plainly callable outside a pipeline. Inside a pipeline body (while
it is being compiled) a call records an invocation and returns output handles instead. The
signature is checked once, at decoration: every parameter must be typed (so values can be
validated before anything runs) and outputs are named with ``Annotated[T, "name"]`` (a tuple
return gives several outputs; an unnamed one is called ``output``).
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, ParamSpec, TypeVar, get_args, get_origin, overload

from engine.caching import CachePolicy
from engine.compiler import OutputSpec, active_compiler
from engine.retry import StepRetryConfig
from store.errors import ValidationError
from store.names import check_name

__all__ = ["ArtifactConfig", "BaseStep", "OutputSpec", "Step", "step"]

P = ParamSpec("P")
R = TypeVar("R")
HookFn = Callable[..., Any]


@dataclass(frozen=True)
class ArtifactConfig:
    """Output settings: ``Annotated[T, ArtifactConfig(name="m", is_model_artifact=True)]``."""

    name: str | None = None
    is_model_artifact: bool | None = None
    version: str | int | None = None
    tags: tuple[str, ...] | list[str] | None = None
    run_metadata: Mapping[str, Any] | None = None
    artifact_type: Any = None
    is_deployment_artifact: bool = False

    @property
    def model_artifact(self) -> bool | None:
        """True when marked as a model (``is_model_artifact`` or ``ArtifactType.MODEL``)."""
        if self.is_model_artifact is not None:
            return self.is_model_artifact
        kind = getattr(self.artifact_type, "value", self.artifact_type)
        return None if kind is None else kind == "ModelArtifact"


class Step(Generic[P, R]):
    """A step: wraps the user's function and its configuration (immutable; see with_options)."""

    def __init__(
        self,
        func: Callable[P, R],
        *,
        name: str | None = None,
        enable_cache: bool | None = None,
        cache_policy: CachePolicy | None = None,
        output_materializers: Mapping[str, type] | type | None = None,
        settings: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        on_failure: HookFn | str | None = None,
        on_success: HookFn | str | None = None,
        model: Any = None,
        parameters: Mapping[str, Any] | None = None,
        retry: StepRetryConfig | None = None,
        **unsupported: Any,
    ) -> None:
        from engine.compat import reject_unsupported
        from engine.hooks import check_hook

        self.entrypoint = func
        self.name = check_name("step name", name or func.__name__)
        reject_unsupported(unsupported, f"step {self.name!r}")
        self.enable_cache = enable_cache
        self.cache_policy = cache_policy
        self.settings = dict(settings or {})
        self.retry = retry
        if retry is not None and not isinstance(retry, StepRetryConfig):
            raise ValidationError(
                f"step {name or func.__name__!r}: retry must be a StepRetryConfig, "
                f"not {type(retry).__name__}"
            )
        if {"environment", "resources", "orchestrator"} & set(self.settings):
            from engine.settings import validate_step_settings

            validate_step_settings(name or func.__name__, self.settings)
        self.extra = dict(extra or {})
        self.on_failure = check_hook(on_failure, f"step {self.name!r} on_failure")
        self.on_success = check_hook(on_success, f"step {self.name!r} on_success")
        self.model = model
        self.parameters = dict(parameters or {})
        self.signature = inspect.signature(func)
        self.param_types = _parameter_types(func, self.signature, self.name)
        self.outputs = parse_outputs(func)
        self.output_materializers = _materializer_map(output_materializers, self.outputs, self.name)
        unknown = set(self.parameters) - set(self.param_types)
        if unknown:
            raise ValidationError(
                f"step {self.name!r} has no parameter {sorted(unknown)[0]!r} "
                f"(parameters: {', '.join(self.param_types) or 'none'})"
            )
        functools.update_wrapper(self, func)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        compiler = active_compiler()
        if compiler is None:
            return self.entrypoint(*args, **kwargs)
        return compiler.add_step(self, args, kwargs)  # type: ignore[no-any-return]

    def with_options(self, **options: Any) -> Step[P, R]:
        """A copy of this step with some options replaced (name, parameters, enable_cache, ...)."""
        current = {
            "name": self.name,
            "enable_cache": self.enable_cache,
            "cache_policy": self.cache_policy,
            "output_materializers": self.output_materializers or None,
            "settings": self.settings,
            "extra": self.extra,
            "on_failure": self.on_failure,
            "on_success": self.on_success,
            "model": self.model,
            "parameters": self.parameters,
            "retry": self.retry,
        }
        if "parameters" in options:
            options["parameters"] = {**self.parameters, **options["parameters"]}
        return Step(self.entrypoint, **{**current, **options})

    def configure(self, **options: Any) -> Step[P, R]:
        """Change this step's options in place (ZenML semantics) and return it.

        Every later use of this step object, in any pipeline, sees the change; use
        :meth:`with_options` for a configured copy instead.
        """
        changed = self.with_options(**options)
        self.__dict__.update(changed.__dict__)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled by reference so process pools import the step from its module
        return (_import_step, (self.entrypoint.__module__, self.entrypoint.__qualname__, self.name))

    def __repr__(self) -> str:
        return f"<step {self.name}>"


BaseStep = Step


def _import_step(module: str, qualname: str, name: str) -> Step[Any, Any]:
    import importlib

    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if isinstance(obj, Step) and obj.name != name:
        obj = obj.with_options(name=name)
    return obj  # type: ignore[no-any-return]


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:  # noqa: BLE001 - unresolvable forward refs: fall back to raw annotations
        return dict(getattr(func, "__annotations__", {}))


def _parameter_types(func: Callable[..., Any], sig: inspect.Signature, name: str) -> dict[str, Any]:
    hints = _hints(func)
    types: dict[str, Any] = {}
    for param in sig.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ValidationError(
                f"step {name!r}: *{param.name} / **{param.name} are not supported; "
                "declare each input as a typed parameter"
            )
        if param.name not in hints:
            raise ValidationError(
                f"step {name!r}: parameter {param.name!r} has no type annotation; "
                f"annotate it (e.g. `{param.name}: int`) so values can be validated"
            )
        types[param.name] = hints[param.name]
    return types


def parse_outputs(func: Callable[..., Any]) -> list[OutputSpec]:
    """Output specs from a return annotation (see the module docstring)."""
    hints = _hints(func)
    if "return" not in hints:
        return [OutputSpec("output")]
    ret = hints["return"]
    if ret is None or ret is type(None):
        return []
    if get_origin(ret) is tuple and get_args(ret) and get_args(ret)[-1] is not Ellipsis:
        specs = [_one_output(arg, f"output_{i}") for i, arg in enumerate(get_args(ret))]
        names = [s.name for s in specs]
        for output in names:
            check_name(f"{func.__name__}: output name", output)
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate:
            raise ValidationError(f"{func.__name__}: two outputs are named {duplicate!r}")
        return specs
    return [_one_output(ret, "output")]


def _one_output(annotation: Any, default: str) -> OutputSpec:
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        config = next((m for m in meta if isinstance(m, ArtifactConfig)), ArtifactConfig())
        name = next((m for m in meta if isinstance(m, str)), config.name)
        label = None if config.version is None else str(config.version)
        return OutputSpec(name or default, base, config.model_artifact, explicit=bool(name),
                          tags=tuple(config.tags or ()), metadata=config.run_metadata,
                          version_name=label)  # fmt: skip
    return OutputSpec(default, annotation)


def _materializer_map(
    value: Mapping[str, type] | type | None, outputs: list[OutputSpec], name: str
) -> dict[str, type]:
    if value is None:
        return {}
    if isinstance(value, type):
        return {o.name: value for o in outputs}
    unknown = set(value) - {o.name for o in outputs}
    if unknown:
        raise ValidationError(
            f"step {name!r}: output_materializers names unknown output {sorted(unknown)[0]!r} "
            f"(outputs: {', '.join(o.name for o in outputs) or 'none'})"
        )
    return dict(value)


@overload
def step(func: Callable[P, R], /) -> Step[P, R]: ...
@overload
def step(
    *,
    name: str | None = None,
    enable_cache: bool | None = None,
    cache_policy: CachePolicy | None = None,
    output_materializers: Mapping[str, type] | type | None = None,
    settings: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    on_failure: HookFn | str | None = None,
    on_success: HookFn | str | None = None,
    model: Any = None,
    retry: StepRetryConfig | None = None,
    **unsupported: Any,
) -> Callable[[Callable[P, R]], Step[P, R]]: ...
def step(func: Callable[P, R] | None = None, /, **options: Any) -> Any:
    """Make a function a pipeline step; works bare (``@step``) and called (``@step(...)``)."""
    if func is not None:
        if not callable(func):
            raise ValidationError("@step must decorate a function")
        return Step(func, **options)

    def decorate(f: Callable[P, R]) -> Step[P, R]:
        return Step(f, **options)

    return decorate
