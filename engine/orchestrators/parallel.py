"""The ``local_parallel`` orchestrator: independent branches of the DAG run at the same time.

Steps run in a pool of forked worker processes (no re-import of user code, no start-up cost
beyond the fork); as soon as a step finishes, every step it unblocks is submitted. The driver,
in this process, stays the only writer of records. A worker that dies fails its step. An
interrupt (Ctrl-C, the app's cancel) stops the workers at once instead of waiting for their steps.
"""

from __future__ import annotations

import graphlib
import multiprocessing
import os
import signal
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
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the driver's SIGTERM handler is not ours


class ParallelOrchestrator(Orchestrator):
    flavor = "local_parallel"

    def _run(self, driver: Driver) -> None:
        sorter = graphlib.TopologicalSorter({n: driver.upstream(n) for n in driver.order()})
        sorter.prepare()
        workers = self.max_workers or max(os.cpu_count() or 1, 2)
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init)
        try:
            self._drive(driver, sorter, pool)
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown(wait=True)

    def _drive(
        self, driver: Driver, sorter: graphlib.TopologicalSorter[str], pool: ProcessPoolExecutor
    ) -> None:
        running: dict[Future[StepResult], StepTask] = {}
        called = {n: k for k, n in enumerate(driver.order())}  # ready steps go in call order
        while sorter.is_active():
            for name in sorted(sorter.get_ready(), key=called.__getitem__):
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


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel queued steps and terminate the workers running the others."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join()


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
