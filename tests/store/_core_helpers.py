"""Helpers of the core store tests (runs ref, index, config, layers): records without DVC.

The helpers every package shares are in ``tests/support.py``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from store.recorder import CommittedRun, commit_run
from store.records import ArtifactRef, RunRecord, RunStatus, StepRecord
from store.runs_ref import RunsRef


def fake_pointer(seed: str = "x") -> dict[str, Any]:
    """A well-formed DVC pointer (the bytes need not exist for ref/index tests)."""
    import hashlib

    return {"md5": hashlib.md5(seed.encode()).hexdigest(), "size": len(seed), "hash": "md5"}


def draft(name: str, run_id: str, step: str = "make") -> dict[str, Any]:
    """An artifact-version draft (no version number yet)."""
    art_id = uuid.uuid4().hex
    return {
        "id": art_id, "name": name, "type": "builtins.int",
        "materializer": "engine.materializers.JsonMaterializer",
        "pointer": fake_pointer(art_id), "run_id": run_id, "step": step, "output": name,
        "created_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip


def add_run(
    runs: RunsRef,
    *,
    run_id: str | None = None,
    pipeline: str = "training",
    artifacts: tuple[str, ...] = ("model",),
    status: RunStatus = "completed",
    cache_key: str | None = None,
) -> CommittedRun:
    """Commit one finished one-step run producing one new version of each name in ``artifacts``."""
    run_id = run_id or uuid.uuid4().hex
    drafts = [draft(name, run_id) for name in artifacts]
    now = datetime.now(UTC)
    step = StepRecord(
        name="make", status="completed" if status == "completed" else "failed",
        started_at=now, finished_at=now, cache_key=cache_key,
        outputs={d["name"]: ArtifactRef(id=d["id"], name=d["name"]) for d in drafts},
    )  # fmt: skip
    run = RunRecord(
        id=run_id,
        pipeline=pipeline,
        status=status,
        started_at=now,
        finished_at=now,
        steps=[step],
    )
    return commit_run(runs, run, drafts)
