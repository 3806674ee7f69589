"""Committing a finished (or crashed) run to the runs ref.

A run is committed once, when it ends: the run record, the artifact versions its steps
produced and, when the run carries a model, the new model version. Version numbers are
assigned here, inside the compare-and-swap loop of :meth:`RunsRef.commit`, from what the tip
holds at that moment, so concurrent runs never collide. Names that must be unique are checked
in the same loop: a run name (``names_taken``), an explicit artifact version name
(``ArtifactConfig(version="raw_2023")``: a second version of that name is refused, as ZenML
refuses it) and a named model version (``Model(version="sgd")``: the first run to commit
creates it, later ones add to it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
    ArtifactRef,
    ArtifactVersionRecord,
    ErrorInfo,
    ModelVersionRecord,
    RunRecord,
    StepRecord,
    dump_record,
    dvc_file,
)
from store.runs_ref import RunsRef, TipView

__all__ = ["CommittedRun", "commit_run", "fold_crashed_runs", "run_name_conflict"]


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
        self.parent: str | None = None  # the tip the commit was added to
        self.commit = ""  # the commit (empty when the run was already on the ref)
        self.files: dict[str, bytes] = {}  # what the commit added, by path


def commit_run(
    runs: RunsRef,
    run: RunRecord,
    artifacts: list[dict[str, Any]],
    model_version: dict[str, Any] | None = None,
    *,
    names_taken: Callable[[str], list[str]] | None = None,
) -> CommittedRun:
    """Number the new artifact/model versions and commit everything in one commit.

    A taken run name or artifact version name does not lose the run: it is committed as
    ``failed`` with the conflict as its error (a taken run name also renames it
    ``<name>-<id prefix>``; a refused artifact version keeps only its number).

    Args:
        runs: the runs ref.
        run: the run record; its steps reference new artifacts by id with ``version=None``.
        artifacts: drafts of :class:`ArtifactVersionRecord` (dicts, ``version`` unset).
        model_version: draft of a :class:`ModelVersionRecord` (``version`` None = next number,
            or the version already called ``version_name``).
        names_taken: ids of the recorded runs with a given name, read at the tip being built
            on (or a newer one); None when the run's name need not be unique.
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
        attach = bool(model_version and model_version.get("attach"))
        files: dict[str, bytes] = {}
        records = []
        refusals: list[tuple[str | None, str]] = []  # (artifact id, message)
        labels: dict[str, set[str]] = {}
        for draft in artifacts:
            name = draft["name"]
            number = view.next_number(artifact_dir(name), taken.setdefault(name, set()))
            taken[name].add(number)
            numbers[draft["id"]] = number
            data = {**draft, "version": number}
            label = draft.get("version_name")
            if label:
                if name not in labels:
                    labels[name] = {str(r.get("version_name")) for r in _records(view,
                                    artifact_dir(name)) if r.get("version_name")}  # fmt: skip
                if label in labels[name]:
                    refusals.append((draft["id"], artifact_version_conflict(name, label)))
                    data["version_name"] = None
                labels[name].add(label)
            if model_rec is not None and not attach:
                data["model"] = {"name": model_rec.name, "version": model_rec.version}
            record = ArtifactVersionRecord.model_validate(data)
            records.append(record)
            files[artifact_path(name, number)] = dump_record(record)
        current = run
        if names_taken is not None and run.name:
            others = [r for r in names_taken(run.name) if r != run.id]
            if others:
                refusals.append((None, run_name_conflict(run.name, others[0])))
                current = run.model_copy(update={"name": f"{run.name}-{run.id[:8]}"})
        final = _renumber_run(_refused(current, refusals), numbers, model_rec)
        if model_rec is not None:
            model_rec = _link_model(model_rec, records)
            path = model_version_path(model_rec.name, model_rec.version)
            written = dump_record(model_rec)
            if view.read(path) != written:  # a used version the run added nothing to stays
                files[path] = written
        files[run_path(final.id)] = dump_record(final)
        logs = [step.log for step in final.steps if step.log is not None]
        patch = [final.code.patch] if final.code and final.code.patch else []
        for pointer in [r.pointer for r in records] + logs + patch:  # see paths.dvc_file_path
            files[dvc_file_path(pointer.md5)] = dvc_file(pointer)
        result[:] = [CommittedRun(final, records, model_rec)]
        result[0].parent, result[0].files = view.tip, files
        return files

    commit = runs.commit(build, f"run {run.id} {run.pipeline} {run.status}")
    if result[0].files:
        result[0].commit = commit
    return result[0]


def run_name_conflict(name: str, other: str) -> str:
    """Why a run may not be called ``name``: run ``other`` is (ZenML's wording first)."""
    return (
        f"Unable to create pipeline run: A pipeline run with name {name!r} already exists "
        f"(run {other[:12]}); pick another run_name, e.g. with {{date}}_{{time}} placeholders"
    )


def artifact_version_conflict(name: str, version: str) -> str:
    """Why an artifact version may not be called ``version`` (ZenML's wording first)."""
    return (
        f"Unable to create artifact version {name} (version {version}): An artifact with the "
        "same name and version already exists. Custom versions cannot be duplicated: change "
        "ArtifactConfig(version=...) (or leave it out to number versions automatically)"
    )


def _records(view: TipView, directory: str) -> Iterator[dict[str, Any]]:
    """Every version record under a versioned ``directory`` at the tip."""
    import json

    for bucket in view.names(directory):
        for entry in view.names(f"{directory}/{bucket}"):
            data = view.read(f"{directory}/{bucket}/{entry}")
            if data is not None:
                yield json.loads(data)


def _refused(run: RunRecord, refusals: list[tuple[str | None, str]]) -> RunRecord:
    """``run`` as ``failed`` with the refusals as its error (and its steps' that made them)."""
    if not refusals:
        return run
    error = ErrorInfo(type="EntityExistsError", message="; ".join(m for _, m in refusals))
    refused = {artifact_id: message for artifact_id, message in refusals if artifact_id}
    steps = []
    for step in run.steps:
        hits = [refused[ref.id] for ref in step.outputs.values() if ref.id in refused]
        if hits:
            step = step.model_copy(update={
                "status": "failed",
                "error": ErrorInfo(type="EntityExistsError", message="; ".join(hits))})  # fmt: skip
        steps.append(step)
    return run.model_copy(update={"status": "failed", "error": run.error or error,
                                  "steps": steps})  # fmt: skip


def _committed_from(view: TipView, data: bytes) -> CommittedRun:
    run = RunRecord.model_validate_json(data)
    return CommittedRun(run, [], None)


def _number_model(view: TipView, draft: dict[str, Any] | None) -> ModelVersionRecord | None:
    if draft is None:
        return None
    draft = dict(draft)
    if draft.pop("attach", False):  # metadata for a used version: everything else stays
        stored = view.read(model_version_path(draft["name"], int(draft["version"])))
        if stored is None:
            return None
        old = ModelVersionRecord.model_validate_json(stored)
        return old.model_copy(update={
            key: {**getattr(old, key), **{k: ArtifactRef.model_validate(v) if key != "metadata"
                                          else v for k, v in draft.get(key, {}).items()}}
            for key in ("metadata", "artifacts", "model_artifacts")})  # fmt: skip
    version = draft.get("version")
    label = draft.get("version_name")
    if version is None and label:  # a named version: the first run to commit creates it
        found = [int(r["version"]) for r in _records(view, model_dir(draft["name"]))
                 if r.get("version_name") == label]  # fmt: skip
        version = max(found, default=None)
    version = version or view.next_number(model_dir(draft["name"]))
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
