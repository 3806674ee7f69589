"""The event loop shared by orchestrators whose steps run elsewhere and finish in any order.

Ready steps (``graphlib``) are submitted as soon as their inputs exist; each finished future
lands in a queue through ``add_done_callback`` (process-pool and Dask futures alike), and the
loop settles it: a retry is submitted again (its back-off is spent in the worker, so the loop
never sleeps), anything else completes the step and unblocks what depends on it. The loop
blocks on the queue, never polls.
"""

from __future__ import annotations

import graphlib
import queue
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from engine.orchestrators.base import Driver, Orchestrator, failed_result
from store.errors import MlxError

if TYPE_CHECKING:
    from engine.executor import StepResult, StepTask

__all__ = ["PoolOrchestrator", "run_as_ready"]

_Done = tuple[Any, "StepTask", Orchestrator | None]  # None: refused at submission


class PoolOrchestrator(Orchestrator):
    """An orchestrator that runs independent steps at the same time."""

    def _run(self, driver: Driver) -> None:
        run_as_ready(self, driver)


def run_as_ready(orchestrator: Orchestrator, driver: Driver) -> None:
    """Submit each step when its inputs are ready (to ``orchestrator`` or its delegate)."""
    sorter = graphlib.TopologicalSorter({n: driver.upstream(n) for n in driver.order()})
    sorter.prepare()
    position = {name: i for i, name in enumerate(driver.order())}
    finished: queue.Queue[_Done] = queue.Queue()
    running = 0

    def submit(task: StepTask, delay: float) -> None:
        via = orchestrator.for_step(driver, task.name)
        try:
            future = via.submit(task, delay)
        except MlxError as exc:  # e.g. no Dask worker offers the resources the step asks for
            refused: Future[StepResult] = Future()
            refused.set_result(failed_result(task, exc, str(exc)))
            finished.put((refused, task, None))
            return
        future.add_done_callback(lambda f: finished.put((f, task, via)))

    while sorter.is_active():
        for name in sorted(sorter.get_ready(), key=position.__getitem__):
            if driver.blocked(name):
                driver.skip(name)
                sorter.done(name)
                continue
            task = driver.prepare(name)
            if task is None:
                sorter.done(name)
            else:
                submit(task, 0.0)
                running += 1
        if not running:
            continue
        future, task, via = finished.get()
        result = via.outcome(future, task) if via is not None else future.result()
        again = driver.retry(task, result)
        if again is not None:
            submit(*again)
            continue
        running -= 1
        driver.complete(result)
        sorter.done(task.name)
