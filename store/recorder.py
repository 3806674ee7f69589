"""Committing a finished (or crashed) run to the runs ref.

A run is committed once, when it ends: the run record, the artifact versions its steps
produced and, when the run carries a model, the new model version. Version numbers are
assigned here, inside the compare-and-swap loop of :meth:`RunsRef.commit`, from what the tip
holds at that moment, so concurrent runs never collide.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from store.journal import JournalState, read_journals, set_aside
from store.paths import (
    artifact_dir,
    artifact_path,
    dvc_file_path,
    journal_dir,
    model_dir,
    model_version_path,
    run_path,
)
from store.records import (
    ArtifactVersionRecord,
    ErrorInfo,
    ModelVersionRecord,
    RunRecord,
    StepRecord,
    dump_record,
    dvc_file,
)
from store.runs_ref import RunsRef, TipView

__all__ = ["CommittedRun", "commit_run", "fold_crashed_runs"]


class CommittedRun:
    """What :func:`commit_run` wrote, with every number filled in."""

    def __init__(
        self,
        run: RunRecord,
        artifacts: list[ArtifactVersionRecord],
        model_version: ModelVersionRecord | None,
    ) -> None:
        self.run = run
        self.artifacts = artifacts
        self.model_version = model_version


def commit_run(
    runs: RunsRef,
    run: RunRecord,
    artifacts: list[dict[str, Any]],
    model_version: dict[str, Any] | None = None,
) -> CommittedRun:
    """Number the new artifact/model versions and commit everything in one commit.

    Args:
        runs: the runs ref.
        run: the run record; its steps reference new artifacts by id with ``version=None``.
        artifacts: drafts of :class:`ArtifactVersionRecord` (dicts, ``version`` unset).
        model_version: draft of a :class:`ModelVersionRecord` (``version`` None = next number).
    """
    result: list[CommittedRun] = []

    def build(view: TipView) -> dict[str, bytes]:
        existing = view.read(run_path(run.id))
        if existing is not None:  # already committed (a crashed run folded by another process)
            result[:] = [_committed_from(view, existing)]
            return {}
        numbers: dict[str, int] = {}
        taken: dict[str, set[int]] = {}
        model_rec = _number_model(view, model_version)
        files: dict[str, bytes] = {}
        records = []
        for draft in artifacts:
            name = draft["name"]
            number = view.next_number(artifact_dir(name), taken.setdefault(name, set()))
            taken[name].add(number)
            numbers[draft["id"]] = number
            data = {**draft, "version": number}
            if model_rec is not None:
                data["model"] = {"name": model_rec.name, "version": model_rec.version}
            record = ArtifactVersionRecord.model_validate(data)
            records.append(record)
            files[artifact_path(name, number)] = dump_record(record)
        final = _renumber_run(run, numbers, model_rec)
        if model_rec is not None:
            model_rec = _link_model(model_rec, records)
            files[model_version_path(model_rec.name, model_rec.version)] = dump_record(model_rec)
        files[run_path(final.id)] = dump_record(final)
        logs = [step.log for step in final.steps if step.log is not None]
        for pointer in [r.pointer for r in records] + logs:  # see store.paths.dvc_file_path
            files[dvc_file_path(pointer.md5)] = dvc_file(pointer)
        result[:] = [CommittedRun(final, records, model_rec)]
        return files

    runs.commit(build, f"run {run.id} {run.pipeline} {run.status}")
    return result[0]


def _committed_from(view: TipView, data: bytes) -> CommittedRun:
    run = RunRecord.model_validate_json(data)
    return CommittedRun(run, [], None)


def _number_model(view: TipView, draft: dict[str, Any] | None) -> ModelVersionRecord | None:
    if draft is None:
        return None
    version = draft.get("version") or view.next_number(model_dir(draft["name"]))
    existing = view.read(model_version_path(draft["name"], version))
    data = {**draft, "version": version}
    if existing:  # attaching to an explicit existing version: keep what it had
        old = ModelVersionRecord.model_validate_json(existing)
        data["metadata"] = {**old.metadata, **draft.get("metadata", {})}
        data["artifacts"] = {**old.artifacts, **draft.get("artifacts", {})}
        data["model_artifacts"] = {**old.model_artifacts, **draft.get("model_artifacts", {})}
        data["id"], data["created_at"] = old.id, old.created_at
    return ModelVersionRecord.model_validate(data)


def _link_model(
    model: ModelVersionRecord, records: list[ArtifactVersionRecord]
) -> ModelVersionRecord:
    data = model.model_dump(by_alias=True)
    for rec in records:
        key = "model_artifacts" if rec.is_model_artifact else "artifacts"
        data[key][rec.name] = rec.ref().model_dump()
    return ModelVersionRecord.model_validate(data)


def _renumber_run(
    run: RunRecord, numbers: dict[str, int], model: ModelVersionRecord | None
) -> RunRecord:
    def fix(refs: dict[str, Any]) -> dict[str, Any]:
        return {
            k: (r.model_copy(update={"version": numbers[r.id]}) if r.id in numbers else r)
            for k, r in refs.items()
        }

    steps = [
        s.model_copy(update={"inputs": fix(s.inputs), "outputs": fix(s.outputs)}) for s in run.steps
    ]
    update: dict[str, Any] = {"steps": steps}
    if model is not None and run.model is not None:
        update["model"] = run.model.model_copy(update={"version": model.version})
    return run.model_copy(update=update)


def fold_crashed_runs(runs: RunsRef) -> list[str]:
    """Turn journals of dead processes into ``crashed`` run records; return their ids.

    Finished steps keep their artifact versions, so a rerun takes them from the cache.
    """
    folded: list[str] = []
    for state in read_journals(journal_dir(runs.git.common_dir)):
        if state.alive:
            continue
        try:
            record = _crashed_record(state)
            drafts = state.artifacts()
            committed = commit_run(runs, record, drafts, None)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a damaged journal
            set_aside(state.path, f"cannot fold it into a crashed run: {exc}")
            continue
        state.path.unlink(missing_ok=True)
        folded.append(committed.run.id)
    return folded


def _crashed_record(state: JournalState) -> RunRecord:
    header = state.header
    steps = []
    now = datetime.now(UTC)
    for step in state.steps().values():
        if step.get("status") == "running":
            step = {**step, "status": "failed", "finished_at": now.isoformat()}
            step["error"] = {"type": "Crashed", "message": "the process running it died"}
        steps.append(StepRecord.model_validate(step))
    last = max((e.get("time", "") for e in state.events), default="") or header["started_at"]
    return RunRecord.model_validate(
        {
            **header["run"],
            "status": "crashed",
            "finished_at": last,
            "steps": [s.model_dump(by_alias=True) for s in steps],
            "error": ErrorInfo(
                type="Crashed",
                message=f"process {header.get('pid')} on {header.get('host')} stopped "
                "before the run finished",
            ).model_dump(),
        }
    )
