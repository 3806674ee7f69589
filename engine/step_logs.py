"""Each running step's output (``print``, ``logging``, tracebacks) goes to its own log file.

Several steps can run at once in one process (a Dask worker with ``threads_per_worker > 1``),
so ``sys.stdout``/``sys.stderr`` and the root logger cannot simply be pointed at one step's
file. While any step runs, they are replaced once per process by routers that write to the
log of the step running in the calling thread (a context variable set by :func:`captured`).
Output of a thread that is not a step (a thread the step started, the driver) goes to the
only running step when there is one, as it did before steps could share a process; with
several running it cannot be attributed and goes where it would have gone without mlx.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Any

__all__ = ["captured"]

_CURRENT: ContextVar[IO[str] | None] = ContextVar("mlx_step_log", default=None)
_LOCK = threading.Lock()
_ACTIVE: list[IO[str]] = []  # logs of the steps running in this process, oldest first
_SAVED: dict[str, Any] = {}  # what the routers replaced, restored when the last step ends


def _step_stream() -> IO[str] | None:
    """The log of the step running in this thread, else the only running step's, else None."""
    stream = _CURRENT.get()
    if stream is None:
        active = _ACTIVE[:]
        stream = active[0] if len(active) == 1 else None
    return stream


class _Router:
    """Stands for ``sys.stdout``/``sys.stderr``: writes go to the current step's log."""

    def __init__(self, original: Any) -> None:
        self._original = original

    def _target(self) -> Any:
        return _step_stream() or self._original

    def write(self, text: str) -> int:
        result: int = self._target().write(text)
        return result

    def flush(self) -> None:
        self._target().flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


class _StepLogHandler(logging.Handler):
    """The root logger's handler while steps run: each record to its step's log."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        stream = _step_stream()
        if stream is None:
            return
        stream.write(self.format(record) + "\n")
        stream.flush()


_HANDLER = _StepLogHandler()


def _enter(stream: IO[str]) -> None:
    with _LOCK:
        if not _ACTIVE:
            root = logging.getLogger()
            _SAVED.update(stdout=sys.stdout, stderr=sys.stderr, level=root.level)
            sys.stdout = _Router(sys.stdout)
            sys.stderr = _Router(sys.stderr)
            root.addHandler(_HANDLER)
            if root.level > logging.INFO or root.level == logging.NOTSET:
                root.setLevel(logging.INFO)
        _ACTIVE.append(stream)


def _leave(stream: IO[str]) -> None:
    with _LOCK:
        _ACTIVE.remove(stream)
        if _ACTIVE:
            return
        root = logging.getLogger()
        root.removeHandler(_HANDLER)
        root.setLevel(_SAVED["level"])
        if isinstance(sys.stdout, _Router):  # unless the step put its own stream there
            sys.stdout = _SAVED["stdout"]
        if isinstance(sys.stderr, _Router):
            sys.stderr = _SAVED["stderr"]
        _SAVED.clear()


class _TeeFile:
    """A text file that also hands each write to a sink (log lines streamed to the driver)."""

    def __init__(self, fh: IO[str], sink: Callable[[str], None]) -> None:
        self._fh = fh
        self._sink = sink

    def write(self, text: str) -> int:
        written = self._fh.write(text)
        if text:
            self._sink(text)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


@contextlib.contextmanager
def captured(path: Path, sink: Callable[[str], None] | None = None) -> Iterator[IO[str]]:
    """Send stdout, stderr and logging of the step in this thread to ``path`` (line-buffered,
    live); ``sink`` also receives every write (workers stream log lines to the driver)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8", buffering=1) as raw:
        fh: IO[str] = raw if sink is None else _TeeFile(raw, sink)  # type: ignore[assignment]
        token = _CURRENT.set(fh)
        _enter(fh)
        try:
            yield fh
        finally:
            _leave(fh)
            _CURRENT.reset(token)
