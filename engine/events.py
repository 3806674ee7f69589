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
    "StepEvent",
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
class StepEvent(Event):
    """An event about one step of the run."""

    step: str


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    kind: ClassVar[str] = "run_started"
    pipeline: str
    steps: list[dict[str, Any]] = field(default_factory=list)  # [{name, upstream}]
    parameters: dict[str, Any] = field(default_factory=dict)
    stack: str = "local"


@dataclass(frozen=True, kw_only=True)
class StepStarted(StepEvent):
    kind: ClassVar[str] = "step_started"


@dataclass(frozen=True, kw_only=True)
class StepCached(StepEvent):
    kind: ClassVar[str] = "step_cached"
    cached_from: str


@dataclass(frozen=True, kw_only=True)
class StepFinished(StepEvent):
    kind: ClassVar[str] = "step_finished"
    duration: float
    outputs: dict[str, str] = field(default_factory=dict)
    rerun_reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class StepFailed(StepEvent):
    kind: ClassVar[str] = "step_failed"
    error: str
    traceback: str = ""


@dataclass(frozen=True, kw_only=True)
class StepRetrying(StepEvent):
    kind: ClassVar[str] = "step_retrying"
    attempt: int  # the attempt about to start (2 is the first retry)
    error: str
    delay: float = 0.0


@dataclass(frozen=True, kw_only=True)
class StepSkipped(StepEvent):
    kind: ClassVar[str] = "step_skipped"


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
