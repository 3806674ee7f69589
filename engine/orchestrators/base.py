"""The orchestrator seam: decide *when and where* ready steps run, nothing else.

Template method (Kedro's ``AbstractRunner``): :meth:`Orchestrator.run` opens the flavor's
session (a process pool, a Dask client) and the sessions of per-step delegates, then calls
:meth:`_run`. The driver owns caching decisions, retries, records and events;
:func:`engine.executor.execute_step` runs one step. Every orchestrator can also :meth:`submit`
a single step and return a future, which is how one step runs on another stack's orchestrator
(``@step(settings={"orchestrator": "cluster"})``) while the rest of the run stays put.
"""

from __future__ import annotations

import contextlib
import traceback
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from engine.executor import StepResult, StepTask

__all__ = ["Driver", "Orchestrator", "execute_here", "failed_result"]


class Driver(Protocol):
    """What an orchestrator may ask of the run it executes."""

    def order(self) -> list[str]: ...
    def upstream(self, name: str) -> list[str]: ...
    def blocked(self, name: str) -> bool: ...
    def skip(self, name: str) -> None: ...
    def prepare(self, name: str) -> StepTask | None: ...
    def retry(self, task: StepTask, result: StepResult) -> tuple[StepTask, float] | None: ...
    def route(self, name: str) -> str | None: ...
    def complete(self, result: StepResult) -> None: ...


class Orchestrator(ABC):
    """Runs the steps of one pipeline run through a :class:`Driver`."""

    flavor: ClassVar[str]

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers
        self.delegates: dict[str, Orchestrator] = {}  # stack name -> its orchestrator

    def run(self, driver: Driver) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(self.session())
            for delegate in self.delegates.values():
                stack.enter_context(delegate.session())
            self._run(driver)

    @abstractmethod
    def _run(self, driver: Driver) -> None:
        """Execute every step of ``driver.order()`` respecting dependencies."""

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Resources held for the run (a pool, a cluster client); none by default."""
        yield

    def submit(self, task: StepTask, delay: float) -> Any:
        """Start one step; return a future (``add_done_callback``) of its :class:`StepResult`.

        The default runs it here and now.
        """
        from engine.executor import execute_step_after

        future: Future[StepResult] = Future()
        future.set_result(execute_step_after(task, delay))
        return future

    def outcome(self, future: Any, task: StepTask) -> StepResult:
        """The result of a finished :meth:`submit`; a lost worker becomes a failed step."""
        try:
            return future.result()  # type: ignore[no-any-return]
        except Exception as exc:  # noqa: BLE001 - the worker died (killed, unpicklable result)
            return failed_result(task, exc, f"worker process failed: {exc}")

    def for_step(self, driver: Driver, name: str) -> Orchestrator:
        """The orchestrator a step runs on: a delegate when the step asks for one."""
        target = driver.route(name)
        return self.delegates.get(target, self) if target else self


def execute_here(driver: Driver, task: StepTask | None) -> None:
    """Run a step in this process, attempt after attempt while the driver grants retries."""
    from engine.executor import execute_step_after

    delay = 0.0
    while task is not None:
        result = execute_step_after(task, delay)
        again = driver.retry(task, result)
        if again is None:
            driver.complete(result)
            return
        task, delay = again


def failed_result(task: StepTask, exc: BaseException, message: str) -> StepResult:
    """A failed :class:`StepResult` for a step whose execution itself was lost."""
    from engine.executor import StepResult
    from store.records import ErrorInfo

    now = datetime.now(UTC)
    trace = "".join(traceback.format_exception(exc))
    error = ErrorInfo(type=type(exc).__name__, message=message, traceback=trace)
    return StepResult(task.name, "failed", now, now, error=error, attempt=task.attempt)
