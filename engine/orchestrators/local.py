"""The ``local`` orchestrator: every step in this process, one after the other.

The default and the fastest for small steps (no process start-up, no pickling). With a step
that asks for another stack's orchestrator it uses the shared ready-queue loop instead, so the
delegated step and the local ones still respect dependencies.
"""

from __future__ import annotations

from engine.orchestrators.base import Driver, Orchestrator, execute_here
from engine.orchestrators.pool import run_as_ready

__all__ = ["LocalOrchestrator"]


class LocalOrchestrator(Orchestrator):
    flavor = "local"

    def _run(self, driver: Driver) -> None:
        if self.delegates:
            run_as_ready(self, driver)
            return
        for name in driver.order():
            if driver.blocked(name):
                driver.skip(name)
                continue
            execute_here(driver, driver.prepare(name))
