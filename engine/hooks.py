"""Hooks given as callables or as ``"module.function"`` source strings (ZenML style).

A string is checked for shape when the step or pipeline is defined and imported when the hook
first runs (the module may be the one still being imported). A hook that cannot be imported
fails loudly, naming the string and what was missing, never a silent log line.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from store.errors import ValidationError

__all__ = ["SourceHook", "check_hook"]


class SourceHook:
    """A hook named by ``"package.module.function"``; imported on first use."""

    def __init__(self, source: str, where: str) -> None:
        module, _, attr = source.rpartition(".")
        if not module or not attr or not all(p.isidentifier() for p in source.split(".")):
            raise ValidationError(
                f"{where}: hook {source!r} must be a callable or a 'module.function' string"
            )
        import importlib.util

        if importlib.util.find_spec(module.split(".")[0]) is None:
            raise ValidationError(
                f"{where}: hook {source!r}: no module {module.split('.')[0]!r} is importable; "
                "check the module path"
            )
        self.source = source
        self.where = where
        self._target: Callable[..., Any] | None = None
        self.__name__ = attr

    def target(self) -> Callable[..., Any]:
        if self._target is None:
            module, _, attr = self.source.rpartition(".")
            try:
                found = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as exc:
                raise ValidationError(
                    f"{self.where}: hook {self.source!r} cannot be imported ({exc}); "
                    "check the module path and function name"
                ) from exc
            if not callable(found):
                raise ValidationError(f"{self.where}: hook {self.source!r} is not callable")
            self._target = found
        return self._target

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self.target())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.target()(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (SourceHook, (self.source, self.where))

    def __repr__(self) -> str:
        return f"<hook {self.source}>"


def check_hook(hook: Any, where: str) -> Callable[..., Any] | None:
    """``hook`` as a callable (strings become :class:`SourceHook`); None stays None."""
    if hook is None or isinstance(hook, SourceHook):
        return hook
    if isinstance(hook, str):
        return SourceHook(hook, where)
    if not callable(hook):
        raise ValidationError(f"{where} must be a callable or a 'module.function' string")
    return hook  # type: ignore[no-any-return]
