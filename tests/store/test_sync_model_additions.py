"""Two clones that both added to one existing model version (metadata logged by runs that use
it, artifacts of a named version) merge both additions when they sync."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from _repo_helpers import Sandbox, record_model_version, save_bytes

from store.project import Project
from store.recorder import commit_run
from store.records import ArtifactRef, ModelRef, RunRecord, StepRecord
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


def predict_with_version(project: Project, seed: str) -> str:
    """A run that used iris v1 and produced ``predictions`` (linked to v1 at commit)."""
    run_id, art_id = uuid.uuid4().hex, uuid.uuid4().hex
    now = datetime.now(UTC)
    draft = {"id": art_id, "name": "predictions", "type": "builtins.bytes",
             "materializer": "engine.materializers.BytesMaterializer",
             "pointer": save_bytes(project, f"predictions {seed}".encode()), "run_id": run_id,
             "step": "predict", "output": "predictions", "created_at": now.isoformat()}  # fmt: skip
    output = {"predictions": ArtifactRef(id=art_id, name="predictions")}
    step = StepRecord(name="predict", status="completed", outputs=output)
    used = ModelRef(name="iris", version=1)
    run = RunRecord(id=run_id, pipeline="inference", status="completed", started_at=now,
                    finished_at=now, model=used, steps=[step])  # fmt: skip
    version = {"id": run_id, "name": "iris", "version": 1, "attach": True, "run_id": run_id,
               "pipeline": "inference", "created_at": now.isoformat(), "metadata": {}}  # fmt: skip
    commit_run(project.runs, run, [draft], version)
    return art_id


def test_artifacts_two_clones_linked_to_one_used_version_keep_the_later_link(
    box: Sandbox,
) -> None:
    work = box.project()
    trained = record_model_version(work, "iris", {"accuracy": 0.9}, seed="work")
    push(work)
    other = box.project(box.clone("other"))
    pull(other)
    theirs = predict_with_version(work, "work")
    ours = predict_with_version(other, "other")
    assert work.index.model_version_json("iris", 1)["artifacts"]["predictions"]["version"] == 1
    push(work)
    result = push(other)
    assert result.action == "merged" and result.pushed
    merged = other.index.model_version_json("iris", 1)
    assert merged is not None and trained.model_version is not None
    # both made predictions:1; ours moved to 2 and, being the later version, stays linked
    assert merged["artifacts"]["predictions"] == {"id": ours, "name": "predictions", "version": 2}
    assert merged["artifacts"]["dataset"] == trained.model_version.artifacts["dataset"].model_dump()
    assert merged["model_artifacts"] == {
        k: v.model_dump() for k, v in trained.model_version.model_artifacts.items()
    }
    assert other.index.artifact_by_id(theirs)["version"] == 1
    pull(work)
    assert work.index.model_version_json("iris", 1) == merged
