"""The ``local`` orchestrator: every step in this process, one after the other.

The default and the fastest for small steps (no process start-up, no pickling).
"""

from __future__ import annotations

from engine.executor import execute_step
from engine.orchestrators.base import Driver, Orchestrator

__all__ = ["LocalOrchestrator"]


class LocalOrchestrator(Orchestrator):
    flavor = "local"

    def _run(self, driver: Driver) -> None:
        for name in driver.order():
            if driver.blocked(name):
                driver.skip(name)
                continue
            task = driver.prepare(name)
            if task is not None:
                driver.complete(execute_step(task))
