"""Orchestrators, one module per flavor; :func:`orchestrator_for` picks one for a stack."""

from __future__ import annotations

from typing import Any

from engine.orchestrators.base import Driver, Orchestrator
from store.config import StackConfig
from store.errors import ConfigError

__all__ = ["Driver", "Orchestrator", "orchestrator_for"]


def orchestrator_for(stack: StackConfig, stack_name: str, project: Any = None) -> Orchestrator:
    """The orchestrator a stack configures (``project`` is needed by ``dask`` only)."""
    config = stack.orchestrator
    flavor = config.flavor
    options = {"max_workers": config.max_workers}
    if flavor == "local":
        from engine.orchestrators.local import LocalOrchestrator

        return LocalOrchestrator(**options)
    if flavor == "local_parallel":
        from engine.orchestrators.parallel import ParallelOrchestrator

        return ParallelOrchestrator(**options)
    if flavor == "dask" and project is not None:
        from engine.orchestrators.dask import DaskOrchestrator, remote_url_of

        remote = stack.artifact_store.remote or None
        dask = DaskOrchestrator(root=project.root, address=config.address,
                                local_cluster=config.local_cluster, artifacts=config.artifacts,
                                remote=remote, max_workers=config.max_workers)  # fmt: skip
        if dask.remote_mode:
            dask.remote_url = remote_url_of(project, remote, stack_name)
        return dask
    raise ConfigError(f"stacks/{stack_name}.toml", f"unknown orchestrator flavor {flavor!r}",
                      key="orchestrator.flavor")  # fmt: skip
