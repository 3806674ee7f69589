"""Orchestrators, one module per flavor; :func:`orchestrator_for` picks one for a stack."""

from __future__ import annotations

from engine.orchestrators.base import Driver, Orchestrator
from store.config import StackConfig
from store.errors import ConfigError

__all__ = ["Driver", "Orchestrator", "orchestrator_for"]


def orchestrator_for(stack: StackConfig, stack_name: str) -> Orchestrator:
    flavor = stack.orchestrator.flavor
    options = {"max_workers": stack.orchestrator.max_workers}
    if flavor == "local":
        from engine.orchestrators.local import LocalOrchestrator

        return LocalOrchestrator(**options)
    if flavor == "local_parallel":
        from engine.orchestrators.parallel import ParallelOrchestrator

        return ParallelOrchestrator(**options)
    raise ConfigError(f"stacks/{stack_name}.toml", f"unknown orchestrator flavor {flavor!r}",
                      key="orchestrator.flavor")  # fmt: skip
