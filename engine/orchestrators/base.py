"""The orchestrator seam: decide *when and where* ready steps run, nothing else.

Template method (Kedro's ``AbstractRunner``): :meth:`Orchestrator.run` times the run and makes
sure the driver is told about every step; subclasses implement :meth:`_run`. The driver owns
caching decisions, records and events; :func:`engine.executor.execute_step` runs one step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from engine.executor import StepResult, StepTask

__all__ = ["Driver", "Orchestrator"]


class Driver(Protocol):
    """What an orchestrator may ask of the run it executes."""

    def order(self) -> list[str]: ...
    def upstream(self, name: str) -> list[str]: ...
    def blocked(self, name: str) -> bool: ...
    def skip(self, name: str) -> None: ...
    def prepare(self, name: str) -> StepTask | None: ...
    def complete(self, result: StepResult) -> None: ...


class Orchestrator(ABC):
    """Runs the steps of one pipeline run through a :class:`Driver`."""

    flavor: ClassVar[str]

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers

    def run(self, driver: Driver) -> None:
        self._run(driver)

    @abstractmethod
    def _run(self, driver: Driver) -> None:
        """Execute every step of ``driver.order()`` respecting dependencies."""
