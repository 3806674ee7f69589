"""How a run stops early: interrupts, SIGTERM, and the record of a stopped run.

Ctrl-C (SIGINT) and SIGTERM (the app's cancel, a CI timeout) both become a
``KeyboardInterrupt`` while the orchestrator runs; the driver then marks the running steps
``cancelled`` and the unstarted ones ``skipped``, and :func:`engine.runner.run_pipeline` raises
:class:`RunCancelled` once the record is committed.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import traceback
from collections.abc import Iterator
from typing import Any

from store.records import ErrorInfo, RunRecord

__all__ = ["RunCancelled", "interrupts_ignored", "stop_error", "terminate_as_interrupt"]


class RunCancelled(KeyboardInterrupt):
    """The run was interrupted (Ctrl-C / SIGINT, or SIGTERM as the app's cancel sends it).

    Raised by :func:`engine.runner.run_pipeline` after the ``cancelled`` record is committed;
    ``record`` holds it. A ``KeyboardInterrupt``, so scripts stop as they would on any Ctrl-C.
    """

    def __init__(self, record: RunRecord) -> None:
        super().__init__(f"run {record.id} cancelled")
        self.record = record


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (the app's cancel, a CI timeout) stops the run the way Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def interrupts_ignored() -> Iterator[None]:
    """SIGINT and SIGTERM are ignored inside (a second Ctrl-C must not lose the record)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop_error(exc: BaseException, running: list[str]) -> ErrorInfo:
    """The run's error when ``exc`` stopped it while ``running`` steps were executing."""
    if isinstance(exc, KeyboardInterrupt):
        during = f" during step {', '.join(running)}" if running else ""
        return ErrorInfo(
            type="Cancelled",
            message=f"cancelled ({exc or 'interrupted'}){during}; finished steps are kept "
            "for the cache",
        )
    return ErrorInfo(type=type(exc).__name__, message=str(exc) or type(exc).__name__,
                     traceback=traceback.format_exc())  # fmt: skip
