"""The ``local_parallel`` orchestrator: independent branches of the DAG run at the same time.

Steps run in a pool of forked worker processes (no re-import of user code, no start-up cost
beyond the fork); as soon as a step finishes, every step it unblocks is submitted. The driver,
in this process, stays the only writer of records. A worker that dies fails its step.
"""

from __future__ import annotations

import graphlib
import multiprocessing
import os
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from datetime import UTC, datetime

from engine.executor import StepResult, StepTask, execute_step
from engine.orchestrators.base import Driver, Orchestrator
from store.records import ErrorInfo

__all__ = ["ParallelOrchestrator"]


def _worker_init() -> None:
    from engine import executor

    executor._PROJECTS.clear()  # never share the parent's git processes


class ParallelOrchestrator(Orchestrator):
    flavor = "local_parallel"

    def _run(self, driver: Driver) -> None:
        sorter = graphlib.TopologicalSorter({n: driver.upstream(n) for n in driver.order()})
        sorter.prepare()
        workers = self.max_workers or max(os.cpu_count() or 1, 2)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init) as pool:
            running: dict[Future[StepResult], StepTask] = {}
            while sorter.is_active():
                for name in sorted(sorter.get_ready()):
                    if driver.blocked(name):
                        driver.skip(name)
                        sorter.done(name)
                        continue
                    task = driver.prepare(name)
                    if task is None:
                        sorter.done(name)
                    else:
                        running[pool.submit(execute_step, task)] = task
                if not running:
                    continue
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    task = running.pop(future)
                    driver.complete(_result(future, task))
                    sorter.done(task.name)


def _result(future: Future[StepResult], task: StepTask) -> StepResult:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - the worker died (killed, unpicklable result)
        now = datetime.now(UTC)
        return StepResult(
            task.name, "failed", now, now,
            error=ErrorInfo(type=type(exc).__name__,
                            message=f"worker process failed: {exc}",
                            traceback=traceback.format_exc()),
        )  # fmt: skip
