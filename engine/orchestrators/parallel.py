"""The ``local_parallel`` orchestrator: independent branches of the DAG run at the same time.

Steps run in a pool of forked worker processes (no re-import of user code, no start-up cost
beyond the fork); as soon as a step finishes, every step it unblocks is submitted (the shared
ready loop of :mod:`engine.orchestrators.pool`). The driver, in this process, stays the only
writer of records. A worker that dies fails its step; a retry gets a fresh pool. An interrupt
(Ctrl-C, the app's cancel) stops the workers at once instead of waiting for their steps.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from engine.executor import StepResult, StepTask, execute_step_after
from engine.orchestrators.pool import PoolOrchestrator

__all__ = ["ParallelOrchestrator"]


def _worker_init() -> None:
    from engine import executor

    executor._PROJECTS.clear()  # never share the parent's git processes
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the driver's SIGTERM handler is not ours


class ParallelOrchestrator(PoolOrchestrator):
    flavor = "local_parallel"
    _pool: ProcessPoolExecutor | None = None

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        self._pool = self._new_pool()
        try:
            yield
        except BaseException:
            _stop(self._pool)
            raise
        finally:
            pool, self._pool = self._pool, None
        pool.shutdown(wait=True)

    def _new_pool(self) -> ProcessPoolExecutor:
        workers = self.max_workers or max(os.cpu_count() or 1, 2)
        context = multiprocessing.get_context("fork")
        return ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init)

    def submit(self, task: StepTask, delay: float) -> Future[StepResult]:
        assert self._pool is not None, "submit() outside session()"
        try:
            return self._pool.submit(execute_step_after, task, delay)
        except BrokenProcessPool:  # a worker was killed: a retry gets a fresh pool
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return self._pool.submit(execute_step_after, task, delay)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel queued steps and terminate the workers running the others."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join()
