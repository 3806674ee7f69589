"""Find a cached execution a step can reuse, or say why there is none.

A hit needs a finished step with the same cache key, young enough for the step's
``max_age_days``, whose outputs are still in the DVC cache (md5-checked) or the stack's remote.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from engine.caching import CachePolicy, explain_miss
from store.errors import MlxError
from store.project import Project
from store.records import ArtifactRef, StepRecord

__all__ = ["CacheLookup"]


class CacheLookup:
    """Cache look-ups of one run; ``miss_note`` says why the last look-up found nothing."""

    def __init__(self, project: Project, remote: str | None = None) -> None:
        self.project = project
        self.remote = remote
        self.miss_note = ""

    def find(self, key: str, policy: CachePolicy) -> tuple[str, StepRecord] | None:
        """``(run id, step record)`` of a reusable execution with ``key``, or None."""
        self.miss_note = ""
        index = self.project.index
        for run_id, step_name in index.steps_with_key(key)[:5]:
            steps = index.run_json(run_id)["steps"]
            step = StepRecord.model_validate(next(s for s in steps if s["name"] == step_name))
            if _expired(step.finished_at, policy.max_age_days):
                self.miss_note = f"cached result older than max_age_days={policy.max_age_days:g}"
                continue
            self.miss_note = "cached outputs are no longer in the DVC cache or remote"
            if all(self.available(ref) for ref in step.outputs.values()):
                return run_id, step
        return None

    def available(self, ref: ArtifactRef) -> bool:
        """True when the artifact's bytes can be had: local cache (verified) or remote."""
        from store.records import DvcPointer

        record = self.project.index.artifact_by_id(ref.id)
        if record is None:
            return False
        pointer = DvcPointer.model_validate(record["pointer"])
        if self.project.artifacts.verified(pointer):  # md5-checked bytes (corrupt: removed)
            return True
        try:
            return bool(self.project.artifacts.in_remote(pointer, remote=self.remote))
        except MlxError:
            return False

    def explain(self, pipeline: str, name: str, components: Any) -> list[str]:
        """Why step ``name`` cannot reuse its last execution in ``pipeline``."""
        previous = self.project.index.last_step_run(pipeline, name)
        if previous is None:
            return explain_miss(components, None)
        steps = self.project.index.run_json(previous)["steps"]
        step: dict[str, Any] = next((s for s in steps if s["name"] == name), {})
        old = step.get("cache_components")
        from store.records import CacheComponents

        return explain_miss(components, CacheComponents.model_validate(old) if old else None)


def _expired(finished: datetime | None, max_age_days: float | None) -> bool:
    if max_age_days is None or finished is None:
        return False
    return datetime.now(UTC) - finished > timedelta(days=max_age_days)
