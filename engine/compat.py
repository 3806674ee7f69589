"""ZenML features mlx does not have: refused at definition time, with what to use instead.

A ported project must never lose a feature silently. Options of ``@step``/``@pipeline``/
``with_options`` that ZenML has and mlx does not raise here, naming the replacement; options
that only tune infrastructure mlx does not run (Docker builds, step logs on a server) are
accepted without effect where ZenML's local orchestrator ignores them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from store.errors import ValidationError

__all__ = ["UNSUPPORTED", "DockerSettings", "ResourceSettings", "reject_unsupported"]

# ZenML option -> what to do instead in mlx
UNSUPPORTED: dict[str, str] = {
    "experiment_tracker": "mlx has no experiment trackers: log metrics with "
    "log_metadata(...) (stored on the run, the artifact or the model version)",
    "step_operator": "mlx has no step operators: run the step on another stack's orchestrator "
    "with @step(settings={'orchestrator': '<stack>'}) (e.g. a dask stack)",
    "on_init": "mlx has no init hooks: do the setup at the start of the first step",
    "on_init_kwargs": "mlx has no init hooks: do the setup at the start of the first step",
    "schedule": "declare [schedules.<name>] in mlx.toml and run `mlx ci init github`",
    "environment": "use @step(settings={'environment': {...}}) or [settings.environment] "
    "of the stack",
    "secrets": "mlx has no secret store: read secrets from the environment",
}
# accepted and ignored: no effect on how mlx runs a step (ZenML's local orchestrator too)
INERT = frozenset({
    "enable_artifact_metadata", "enable_artifact_visualization", "enable_step_logs",
    "enable_pipeline_logs", "enable_heartbeat", "substitutions", "execution_mode", "build",
})  # fmt: skip


def reject_unsupported(options: Mapping[str, Any], where: str) -> None:
    """Raise for any option in ``options`` (what is left after the known ones were taken)."""
    for key, value in options.items():
        if key in INERT:
            continue
        if key in UNSUPPORTED:
            if value is None or value == {} or value == []:
                continue
            raise ValidationError(f"{where}: {key}= is not supported; {UNSUPPORTED[key]}")
        raise ValidationError(f"{where}: unknown option {key!r}")


class _InertSettings:
    """Settings for infrastructure mlx does not run; kept so ported code imports and runs."""

    def __init__(self, **values: Any) -> None:
        self.values = dict(values)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.values.items())})"


class DockerSettings(_InertSettings):
    """ZenML's Docker build settings: no effect (mlx runs steps in the local environment)."""


class ResourceSettings(_InertSettings):
    """ZenML's resource requests (``cpu_count``, ``gpu_count``, ``memory``): Dask worker resources
    on a dask stack (:mod:`engine.settings`); no effect on the local orchestrators."""
