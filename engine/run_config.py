"""YAML run configuration: ``pipeline.with_options(config_path="configs/train.yaml")``.

ZenML projects keep run settings in YAML files; mlx reads the same files unchanged. Keys that
change what runs are applied (``parameters``, ``steps.<name>.parameters`` / ``enable_cache`` /
``settings`` / ``extra`` / ``retry``, ``model``, ``settings``, ``extra``, ``enable_cache``,
``run_name``, ``substitutions``, ``tags``, hook sources, ``cache_policy``, ``retry``; the
pipeline's ``settings`` and ``retry`` apply to every step that does not set its own); keys
about infrastructure mlx does not have (``build``, ``docker`` settings, ``secrets``, ...) are
accepted and have no effect, and keys ZenML does not know are ignored with a warning, as
ZenML does. Precedence follows ZenML: options given in code override the file; a step's YAML
``parameters`` override the values the pipeline body passes to that step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.config_text import parse_yaml, read_config_text
from store.errors import ConfigError

__all__ = ["RunConfig", "StepOverrides", "load_run_config"]

_log = logging.getLogger(__name__)

# accepted, no effect on a local mlx run (infrastructure, UI or server features)
_INERT = frozenset({
    "enable_artifact_metadata", "enable_artifact_visualization", "enable_step_logs",
    "enable_pipeline_logs", "enable_heartbeat", "build", "environment", "secrets",
    "execution_mode", "schedule", "init_hook_kwargs",
    "init_hook_source", "start_hook_source", "end_hook_source",
})  # fmt: skip
_STEP_KEYS = frozenset({"parameters", "enable_cache", "settings", "extra", "name",
                        "failure_hook_source", "success_hook_source", "cache_policy",
                        "model", "model_version", "experiment_tracker", "step_operator", "outputs",
                        "enable_artifact_metadata", "enable_artifact_visualization",
                        "enable_step_logs", "retry", "environment", "secrets",
                        "substitutions", "enable_heartbeat"})  # fmt: skip


@dataclass(frozen=True)
class StepOverrides:
    """The ``steps.<invocation>`` table of a run configuration."""

    parameters: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # for Step.with_options


@dataclass(frozen=True)
class RunConfig:
    """A parsed YAML run configuration."""

    path: str
    parameters: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, StepOverrides] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # for Pipeline.with_options


def load_run_config(path: str | Path) -> RunConfig:
    """Read ``path`` (YAML) into a :class:`RunConfig`.

    Raises:
        ConfigError: unreadable file, invalid YAML, or a key with a value of the wrong shape.
    """
    data = _read_yaml(Path(path))
    label = str(path)
    options: dict[str, Any] = {}
    steps = data.get("steps") or {}
    for key, value in data.items():
        if value is None or key in ("parameters", "steps"):
            continue
        if key in ("enable_cache", "run_name", "settings", "extra", "tags", "cache_policy"):
            options[key] = _checked(label, key, value)
        elif key in ("model", "model_version"):  # model_version: ZenML < 0.55
            options["model"] = _model(label, value)
        elif key == "retry":
            options["retry"] = _retry(label, key, value)
        elif key == "substitutions":
            options["substitutions"] = dict(_mapping(label, key, value))
        elif key in ("failure_hook_source", "success_hook_source", "cleanup_hook_source"):
            options["on_" + key.removesuffix("_hook_source")] = _source(value)
        elif key in ("experiment_tracker", "step_operator"):
            _unsupported(label, key)
        elif key not in _INERT:
            _log.warning("%s: unknown key %r ignored (ZenML ignores it too)", label, key)
    return RunConfig(
        label,
        dict(_mapping(label, "parameters", data.get("parameters") or {})),
        {n: _step(label, n, v) for n, v in _mapping(label, "steps", steps).items()},
        options,
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    data = parse_yaml(read_config_text(path, " the run configuration"), str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "a run configuration must be a mapping of keys")
    return data


def _mapping(label: str, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(label, f"expected a mapping, got {type(value).__name__}", key=key)
    return value


def _checked(label: str, key: str, value: Any) -> Any:
    expected: dict[str, type | tuple[type, ...]] = {
        "enable_cache": bool, "run_name": str, "settings": dict, "extra": dict,
        "tags": list, "cache_policy": dict,
    }  # fmt: skip
    if not isinstance(value, expected[key]):
        raise ConfigError(label, f"expected {key} to be {_kind(expected[key])}", key=key)
    if key == "cache_policy":
        from engine.caching import CachePolicy

        known = {"max_age_days", "ignore_fields", "file_dependencies", "include_step_code"}
        table: dict[str, Any] = dict(value)  # type: ignore[call-overload]
        return CachePolicy(**{k: v for k, v in table.items() if k in known})
    if key == "tags":
        items: list[Any] = list(value)  # type: ignore[call-overload]
        return [t if isinstance(t, str) else str(t.get("name", t)) for t in items]
    return value


def _kind(t: type | tuple[type, ...]) -> str:
    return {bool: "true/false", str: "a string", dict: "a mapping", list: "a list"}.get(
        t if isinstance(t, type) else t[0], "valid"
    )


def _model(label: str, value: Any) -> Any:
    from engine.model import Model

    if not isinstance(value, dict) or "name" not in value:
        raise ConfigError(label, "model needs at least a name", key="model")
    try:
        return Model(**value)
    except TypeError as exc:
        raise ConfigError(label, f"model: {exc}", key="model") from exc


def _source(value: Any) -> Any:
    if isinstance(value, dict):  # ZenML's serialized Source form
        module, attr = value.get("module", ""), value.get("attribute", "")
        return f"{module}.{attr}" if attr else module
    return value


def _step(label: str, name: str, value: Any) -> StepOverrides:
    table = _mapping(label, f"steps.{name}", value or {})
    options: dict[str, Any] = {}
    for key, item in table.items():
        where = f"steps.{name}.{key}"
        if key not in _STEP_KEYS:
            _log.warning("%s: unknown key %r ignored", label, where)
        elif key in ("experiment_tracker", "step_operator"):
            _unsupported(label, where)
        elif key in ("enable_cache", "settings", "extra"):
            options[key] = _checked(label, key, item)
        elif key in ("failure_hook_source", "success_hook_source"):
            options["on_" + key.split("_")[0]] = _source(item)
        elif key in ("model", "model_version") and item:
            options["model"] = _model(label, item)
        elif key == "retry" and item:
            options["retry"] = _retry(label, where, item)
    params = dict(_mapping(label, f"steps.{name}.parameters", table.get("parameters") or {}))
    return StepOverrides(params, options)


def _retry(label: str, where: str, value: Any) -> Any:
    from engine.retry import StepRetryConfig

    table = _mapping(label, where, value)
    known = {"max_retries", "delay", "backoff"}
    try:
        return StepRetryConfig(**{k: v for k, v in table.items() if k in known})
    except (TypeError, ValueError) as exc:
        raise ConfigError(label, str(exc), key=where) from exc


def _unsupported(label: str, key: str) -> None:
    raise ConfigError(
        label,
        "mlx has no experiment trackers or step operators; remove the key and log metrics "
        "with log_metadata() (they are stored with the run and the model version)",
        key=key,
    )
