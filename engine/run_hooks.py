"""Pipeline hooks (``on_success``, ``on_failure``, ``on_cleanup``) at the end of a run.

A hook sees a step context, as in ZenML: the failed step's, else the last one that ran. A hook
that raises never loses the run record: its failure becomes the run's error when there is none.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from store.records import ErrorInfo, StepRecord

__all__ = ["call_hook", "first_exception", "hook_step"]


def call_hook(
    hook: Callable[..., Any] | None,
    exc: BaseException | None,
    context: Callable[[], AbstractContextManager[Any]],
) -> ErrorInfo | None:
    """Call ``hook`` (with ``exc`` when it takes an argument) inside ``context()``.

    Returns what went wrong when the hook raised, else None.
    """
    if hook is None:
        return None
    try:
        takes = bool(inspect.signature(hook).parameters)
        with context():
            hook(exc) if takes and exc is not None else hook()
    except Exception as hook_exc:  # noqa: BLE001 - hooks must not lose the run record
        return ErrorInfo(type=type(hook_exc).__name__,
                         message=f"hook {hook.__name__} failed: {hook_exc}",
                         traceback=traceback.format_exc())  # fmt: skip
    return None


def hook_step(steps: Sequence[StepRecord], failure: bool) -> StepRecord | None:
    """The step whose context a hook sees: the failed one on failure, else the last that ran."""
    chosen = next((s for s in steps if s.status == "failed"), None) if failure else None
    return chosen or next((s for s in reversed(steps) if s.status != "skipped"), None)


def first_exception(
    exception: BaseException | None, error: ErrorInfo | None, steps: Sequence[StepRecord]
) -> BaseException:
    """What ``on_failure`` receives: the first step exception, else one rebuilt from the record."""
    if exception is not None:
        return exception
    failed = next((s for s in steps if s.error), None)
    info = error or (failed.error if failed else None)
    return RuntimeError(f"{info.type}: {info.message}" if info else "run failed")
