"""Step settings: environment variables, resource requests and a per-step orchestrator.

A stack's ``[settings]`` table gives defaults; ``@step(settings={...})`` overrides them key by
key (environment variables merge, the step's win). Only the keys ``environment``, ``resources``
and ``orchestrator`` are read here; other keys (ZenML's ``docker``, ...) are left to others.
Resources become Dask worker resources (``CPU``, ``MEMORY`` in bytes, ``GPU``); the local
orchestrators run every step in the same place, so they do not check them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from store.errors import ValidationError

if TYPE_CHECKING:
    from store.config import SettingsConfig

__all__ = ["dask_resources", "effective_settings", "validate_step_settings"]

_KEYS = ("environment", "resources", "orchestrator")


def _parse(settings: Mapping[str, Any]) -> SettingsConfig:
    from store.config import SettingsConfig

    data = {k: settings[k] for k in _KEYS if k in settings}
    resources = data.get("resources")
    if resources is not None and not isinstance(resources, Mapping):  # ZenML ResourceSettings
        values = getattr(resources, "values", {})
        zenml = {"cpu": values.get("cpu_count"), "gpu": values.get("gpu_count"),
                 "memory": values.get("memory")}  # fmt: skip
        data["resources"] = {k: v for k, v in zenml.items() if v is not None}
    return SettingsConfig.model_validate(data)


def validate_step_settings(step: str, settings: Mapping[str, Any]) -> None:
    """Raise :class:`ValidationError` naming the step when its settings are malformed."""
    import pydantic

    try:
        _parse(settings)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationError(
            f"step {step!r}: settings {where}: {first['msg']} "
            "(known: environment = {NAME: value}, resources = {cpu, memory, gpu}, "
            "orchestrator = '<stack name>')"
        ) from exc


def effective_settings(stack: SettingsConfig, step: Mapping[str, Any]) -> SettingsConfig:
    """The stack's settings overridden by the step's."""
    own = _parse(step)
    resources = stack.resources.model_copy(update=own.resources.model_dump(exclude_none=True))
    return stack.model_copy(update={
        "environment": {**stack.environment, **own.environment},
        "resources": resources,
        "orchestrator": own.orchestrator,
    })  # fmt: skip


def dask_resources(settings: SettingsConfig) -> dict[str, float]:
    """Worker resources a step needs on Dask (``CPU``, ``MEMORY`` bytes, ``GPU``)."""
    from store.config import parse_memory

    wanted = settings.resources
    found: dict[str, float] = {}
    if wanted.cpu:
        found["CPU"] = wanted.cpu
    if wanted.memory:
        found["MEMORY"] = parse_memory(wanted.memory)
    if wanted.gpu:
        found["GPU"] = wanted.gpu
    return found
