"""Two clones that both added to one existing model version (metadata logged by runs that use
it, artifacts of a named version) merge both additions when they sync."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from _repo_helpers import Sandbox, record_model_version

from store.project import Project
from store.recorder import commit_run
from store.records import RunRecord
from store.sync import pull, push


def use_version(project: Project, metadata: dict[str, Any]) -> None:
    """A run that used iris v1 and logged ``metadata`` for it (as the engine commits it)."""
    run_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    run = RunRecord(id=run_id, pipeline="inference", status="completed", started_at=now,
                    finished_at=now)  # fmt: skip
    draft = {"id": run_id, "name": "iris", "version": 1, "attach": True, "run_id": run_id,
             "pipeline": "inference", "created_at": now.isoformat(),
             "metadata": metadata}  # fmt: skip
    commit_run(project.runs, run, [], draft)


def test_metadata_two_clones_logged_for_one_version_is_merged(box: Sandbox) -> None:
    work = box.project()
    trained = record_model_version(work, "iris", {"accuracy": 0.9}, seed="work")
    push(work)
    other = box.project(box.clone("other"))
    pull(other)
    use_version(work, {"served_by": "work", "shared": "work"})
    use_version(other, {"batch": 7, "shared": "other"})
    push(work)
    result = push(other)
    assert result.action == "merged" and result.pushed
    merged = other.index.model_version_json("iris", 1)
    assert merged is not None and trained.model_version is not None
    assert merged["metadata"] == {"accuracy": 0.9, "served_by": "work", "batch": 7,
                                  "shared": "work"}  # both changed it: the remote's  # fmt: skip
    assert merged["id"] == trained.model_version.id and merged["run_id"] == trained.run.id
    assert (
        merged["model_artifacts"] == trained.model_version.model_artifacts
        or merged["model_artifacts"]
    )
    pull(work)
    assert work.index.model_version_json("iris", 1) == merged
