"""Run events: what the orchestrator reports while a pipeline runs.

The headless printer, the ``--events`` JSON-lines stream (read by the TUI) and tests all
consume these frozen, keyword-only messages. ``to_json()`` gives the stable wire form.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

__all__ = [
    "Event",
    "ModelPromoted",
    "RunFinished",
    "RunStarted",
    "StepCached",
    "StepFailed",
    "StepFinished",
    "StepRetrying",
    "StepSkipped",
    "StepStarted",
]


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str] = "event"
    run_id: str

    def to_json(self) -> dict[str, Any]:
        return {"event": self.kind, **asdict(self)}


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    kind: ClassVar[str] = "run_started"
    pipeline: str
    steps: list[dict[str, Any]] = field(default_factory=list)  # [{name, upstream}]
    parameters: dict[str, Any] = field(default_factory=dict)
    stack: str = "local"


@dataclass(frozen=True, kw_only=True)
class StepStarted(Event):
    kind: ClassVar[str] = "step_started"
    step: str


@dataclass(frozen=True, kw_only=True)
class StepCached(Event):
    kind: ClassVar[str] = "step_cached"
    step: str
    cached_from: str


@dataclass(frozen=True, kw_only=True)
class StepFinished(Event):
    kind: ClassVar[str] = "step_finished"
    step: str
    duration: float
    outputs: dict[str, str] = field(default_factory=dict)
    rerun_reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class StepFailed(Event):
    kind: ClassVar[str] = "step_failed"
    step: str
    error: str
    traceback: str = ""


@dataclass(frozen=True, kw_only=True)
class StepRetrying(Event):
    kind: ClassVar[str] = "step_retrying"
    step: str
    attempt: int  # the attempt about to start (2 is the first retry)
    error: str
    delay: float = 0.0


@dataclass(frozen=True, kw_only=True)
class StepSkipped(Event):
    kind: ClassVar[str] = "step_skipped"
    step: str


@dataclass(frozen=True, kw_only=True)
class ModelPromoted(Event):
    kind: ClassVar[str] = "model_promoted"
    model: str
    version: int
    stage: str
    mode: str
    branch: str | None = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    kind: ClassVar[str] = "run_finished"
    status: str
    duration: float = 0.0
    error: str | None = None
