"""Cache keys: when may a step reuse an earlier execution's outputs?

A step's key hashes what decides its result: its source code (plus declared source and file
dependencies), its parameters (minus ``ignore_fields``), the *content* hashes of its inputs
(DVC md5, so identical data from another run still hits), its output names and materializers,
and result-relevant config. The components are kept in the step record so a miss can be
explained ("parameter lr changed"). Everything here is pure apart from reading source files.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from store.errors import ValidationError
from store.records import CacheComponents

__all__ = ["CachePolicy", "cache_key", "compute_components", "explain_miss"]


@dataclass(frozen=True)
class CachePolicy:
    """How a step's cache key is computed and how long a hit stays valid.

    Args:
        max_age_days: a cached execution older than this is not reused.
        ignore_fields: parameter names left out of the key (e.g. ``"timestamp"``).
        source_dependencies: functions, classes or modules whose source joins the key.
        file_dependencies: files (relative to the project root) whose bytes join the key.
        include_step_code: hash the step's own source (on by default).
    """

    max_age_days: float | None = None
    ignore_fields: Sequence[str] = ()
    source_dependencies: Sequence[Callable[..., Any] | type | ModuleType] = ()
    file_dependencies: Sequence[str] = ()
    include_step_code: bool = True

    def __post_init__(self) -> None:
        if self.max_age_days is not None and self.max_age_days < 0:
            raise ValidationError("CachePolicy(max_age_days=...) must be >= 0")
        if isinstance(self.ignore_fields, str):
            raise ValidationError("CachePolicy(ignore_fields=...) takes a list of names")


DEFAULT_POLICY = CachePolicy()


def _digest(data: Any) -> str:
    text = data if isinstance(data, str) else json.dumps(data, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def source_of(obj: Any) -> str:
    """The source of a function, class or module (its repr when source is unavailable)."""
    target = getattr(obj, "entrypoint", obj)  # a Step: hash the wrapped function
    try:
        return inspect.getsource(target)
    except (OSError, TypeError):
        return repr(target)


@dataclass(frozen=True)
class KeyInputs:
    """Everything a cache key is computed from (built by the runner)."""

    func: Callable[..., Any]
    parameters: Mapping[str, Any]
    input_hashes: Mapping[str, str]
    outputs: Mapping[str, str]  # output name -> materializer / type description
    config: Mapping[str, Any] = field(default_factory=dict)
    policy: CachePolicy = DEFAULT_POLICY
    root: Path | None = None


def compute_components(inputs: KeyInputs) -> CacheComponents:
    policy = inputs.policy
    code_parts = [source_of(inputs.func)] if policy.include_step_code else []
    code_parts += [source_of(dep) for dep in policy.source_dependencies]
    for rel in policy.file_dependencies:
        path = (inputs.root or Path.cwd()) / rel
        try:
            code_parts.append(hashlib.sha256(path.read_bytes()).hexdigest())
        except OSError as exc:
            raise ValidationError(
                f"cache file dependency {rel!r} cannot be read ({exc.strerror}); "
                "fix the path in CachePolicy(file_dependencies=...)"
            ) from exc
    return CacheComponents(
        code=_digest("\n".join(code_parts)),
        parameters={
            k: _digest(v) for k, v in inputs.parameters.items() if k not in policy.ignore_fields
        },
        inputs=dict(inputs.input_hashes),
        outputs=_digest(dict(inputs.outputs)),
        config=_digest(dict(inputs.config)),
    )


def cache_key(components: CacheComponents) -> str:
    return hashlib.sha256(json.dumps(components.model_dump(), sort_keys=True).encode()).hexdigest()


def explain_miss(new: CacheComponents, old: CacheComponents | None) -> list[str]:
    """Human reasons why ``new`` differs from the previous execution's ``old``."""
    if old is None:
        return ["no earlier execution of this step"]
    reasons = []
    if new.code != old.code:
        reasons.append("code changed")
    for name in sorted(set(new.parameters) | set(old.parameters)):
        if new.parameters.get(name) != old.parameters.get(name):
            reasons.append(f"parameter {name} changed")
    for name in sorted(set(new.inputs) | set(old.inputs)):
        if new.inputs.get(name) != old.inputs.get(name):
            reasons.append(f"input {name} changed")
    if new.outputs != old.outputs:
        reasons.append("outputs changed")
    if new.config != old.config:
        reasons.append("step configuration changed")
    return reasons or ["earlier outputs are no longer available"]
