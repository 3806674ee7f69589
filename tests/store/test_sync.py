"""Sync of the runs ref and DVC objects between clones through a bare origin (real git + DVC)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from _repo_helpers import Sandbox, record_model_version, record_run, save_bytes

import store.sync as sync_module
from store.errors import RefConflictError
from store.gitobj import Git
from store.project import Project
from store.recorder import commit_run
from store.records import DvcPointer, RunRecord
from store.sync import SyncResult, pull, push
from tests.support import git, sh


def origin_tip(box: Sandbox) -> str:
    return git(box.origin, "rev-parse", "refs/mlx/runs")


def records(project: Project, kind: str) -> dict[str, dict]:  # type: ignore[type-arg]
    """Every record under ``kind`` (runs/artifacts/models) at the local tip, by path."""
    tip = project.runs.tip()
    assert tip is not None
    rows = project.git.ls_tree(tip, kind)
    blobs = project.git.read_blobs([b for _, b in rows])
    return {path: json.loads(blobs[blob]) for path, blob in rows}


def test_fresh_clone_pulls_the_runs_and_their_bytes(box: Sandbox) -> None:
    work = box.project()
    made = [record_run(work, {"numbers": f"data {i}".encode()}) for i in range(3)]
    result = push(work)
    assert result.pushed and result.objects_pushed == 3
    assert origin_tip(box) == work.runs.tip()

    clone = box.project(box.clone("clone"))
    assert clone.runs.tip() is None  # git clone ignores refs/mlx/*
    pulled = pull(clone, all_objects=True)
    assert pulled.action == "fast-forward" and pulled.objects_fetched == 3
    assert clone.runs.tip() == work.runs.tip()
    assert {r.id for r in clone.index.list_runs()} == {m.run.id for m in made}
    pointer = made[0].artifacts[0].pointer
    assert clone.artifacts.read_bytes(pointer) == b"data 0"
    assert sh(clone.root, "git", "config", "--get-all", "remote.origin.push", check=False) == ""
    assert pull(clone).action == "up-to-date"


def test_objects_reach_the_dvc_remote_before_the_ref(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = box.project()
    committed = record_run(work, {"a": b"alpha", "b": b"beta"})
    seen: list[bool] = []
    real = sync_module._push_ref

    def spy(g: Git, remote: str, ref: str, progress: object = None) -> bool:
        seen.extend(work.artifacts.in_remote(a.pointer) for a in committed.artifacts)
        return real(g, remote, ref)

    monkeypatch.setattr(sync_module, "_push_ref", spy)
    push(work)
    assert seen == [True, True]


def test_two_clones_that_both_recorded_runs_end_with_the_union(box: Sandbox) -> None:
    work = box.project()
    other = box.project(box.clone("other"))
    a = [record_run(work, {"x": b"from work"}, pipeline="etl") for _ in range(2)]
    b = [record_run(other, {"y": b"from other"}, pipeline="etl") for _ in range(2)]
    push(work)
    result = push(other)
    assert result.action == "merged" and result.pushed
    pulled = pull(work)
    assert pulled.action == "fast-forward"
    assert work.runs.tip() == other.runs.tip() == origin_tip(box)
    ids = {r.id for r in work.index.list_runs()}
    assert ids == {c.run.id for c in a + b}
    tip = work.runs.tip()
    parents = git(work.root, "log", "-1", "--format=%P", str(tip)).split()
    assert len(parents) == 2
    git(box.origin, "fsck", "--strict")


def test_concurrent_version_numbers_stay_unique_and_references_follow(box: Sandbox) -> None:
    work = box.project()
    other = box.project(box.clone("other"))
    theirs = record_model_version(work, "iris", {"accuracy": 0.9}, seed="work")
    first = record_model_version(other, "iris", {"accuracy": 0.8}, seed="other-1")
    second = record_model_version(other, "iris", {"accuracy": 0.7}, seed="other-2")
    assert theirs.model_version and first.model_version and second.model_version
    assert (theirs.model_version.version, first.model_version.version) == (1, 1)
    push(work)
    result = push(other)
    assert dict(result.renumbered) == {
        "artifacts/dataset/0/1.json": "artifacts/dataset/0/2.json",
        "artifacts/dataset/0/2.json": "artifacts/dataset/0/3.json",
        "artifacts/trained_model/0/1.json": "artifacts/trained_model/0/2.json",
        "artifacts/trained_model/0/2.json": "artifacts/trained_model/0/3.json",
        "models/iris/0/1.json": "models/iris/0/2.json",
        "models/iris/0/2.json": "models/iris/0/3.json",
    }
    models = records(other, "models")
    assert {p: m["metadata"]["accuracy"] for p, m in models.items()} == {
        "models/iris/0/1.json": 0.9, "models/iris/0/2.json": 0.8, "models/iris/0/3.json": 0.7,
    }  # fmt: skip
    arts = records(other, "artifacts")
    by_id = {a["id"]: a for a in arts.values()}
    assert len(by_id) == 6 and all(p.endswith(f"/{a['version']}.json") for p, a in arts.items())
    for path, model in models.items():
        version = int(path.rsplit("/", 1)[1][:-5])
        assert model["version"] == version
        for ref in [*model["artifacts"].values(), *model["model_artifacts"].values()]:
            assert by_id[ref["id"]]["version"] == ref["version"]
            assert by_id[ref["id"]]["run_id"] == model["run_id"]
        if model["model_artifacts"]:
            art = by_id[model["model_artifacts"]["trained_model"]["id"]]
            assert art["model"] == {"name": "iris", "version": version}
    for run in records(other, "runs").values():
        assert run["model"]["version"] == models_of_run(models, run["id"])
        for ref in run["steps"][0]["outputs"].values():
            assert by_id[ref["id"]]["version"] == ref["version"]
    # the remote's own records kept their numbers
    assert other.index.model_version_json("iris", 1)["id"] == theirs.model_version.id  # type: ignore[index]
    assert other.index.model_version_json("iris", 3)["id"] == second.model_version.id  # type: ignore[index]
    pull(work)
    assert [v["version"] for v in work.index.model_versions("iris")] == [1, 2, 3]


def models_of_run(models: dict[str, dict], run_id: str) -> int:  # type: ignore[type-arg]
    (version,) = [m["version"] for m in models.values() if m["run_id"] == run_id]
    return int(version)


def test_a_rejected_push_is_merged_and_retried_never_forced(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = box.project()
    racer = box.project(box.clone("racer"))
    record_run(work, {"n": b"work"})
    push(work)
    mine = record_run(work, {"n": b"work again"})
    theirs = record_run(racer, {"n": b"racer"})
    pushed_before: list[str] = []
    real = sync_module._push_ref
    calls: list[bool] = []

    def racing(g: Git, remote: str, ref: str, progress: object = None) -> bool:
        if g is work.git and not calls:  # the racer pushes between our fetch and our push
            pushed_before.append(origin_tip(box))
            assert push(racer).pushed
        ok = real(g, remote, ref)
        if g is not work.git:
            return ok
        calls.append(ok)
        return ok

    monkeypatch.setattr(sync_module, "_push_ref", racing)
    result = push(work)
    assert calls == [False, True] and result.attempts == 2 and result.pushed
    tip = origin_tip(box)
    assert git(box.origin, "merge-base", "--is-ancestor", pushed_before[0], tip) == ""
    runs = {r.id for r in work.index.list_runs()}
    assert {mine.run.id, theirs.run.id} <= runs and len(runs) == 3


def test_same_run_with_two_contents_is_a_conflict(box: Sandbox) -> None:
    work = box.project()
    other = box.project(box.clone("other"))
    now = datetime.now(UTC)
    for project, status in ((work, "completed"), (other, "failed")):
        commit_run(
            project.runs, RunRecord(id="ab" * 16, pipeline="p", status=status, started_at=now), []
        )
    push(work)
    before = other.runs.tip()
    with pytest.raises(RefConflictError, match=r"disagree on runs/ab/abab.*\.json"):
        push(other)
    assert other.runs.tip() == before


def test_pull_keeps_a_local_ref_that_is_ahead(box: Sandbox) -> None:
    work = box.project()
    record_run(work, {"a": b"1"})
    push(work)
    record_run(work, {"a": b"2"})
    tip = work.runs.tip()
    result: SyncResult = pull(work)
    assert result.action == "ahead" and work.runs.tip() == tip


def test_push_without_runs_is_a_no_op(box: Sandbox) -> None:
    result = push(box.project())
    assert not result.pushed and result.after is None
    assert git(box.origin, "for-each-ref", "refs/mlx") == ""


def test_pointers_of_step_logs_are_pushed_too(box: Sandbox) -> None:
    work = box.project()
    log = DvcPointer.model_validate(save_bytes(work, b"step log\n"))
    now = datetime.now(UTC)
    run = RunRecord.model_validate(
        {"id": "cd" * 16, "pipeline": "p", "status": "completed", "started_at": now,
         "steps": [{"name": "s", "status": "completed", "log": log.model_dump()}]}
    )  # fmt: skip
    commit_run(work.runs, run, [])
    assert push(work).objects_pushed == 1
    assert work.artifacts.in_remote(log)


def test_remotes_are_read_with_their_urls_and_an_unknown_one_is_refused(box: Sandbox) -> None:
    from store.errors import NotFoundError
    from store.remotes import git_remotes, require_remote

    assert git_remotes(box.work) == {"origin": str(box.origin)}
    assert require_remote(box.work, "origin") == "origin"
    assert require_remote(box.work, str(box.origin)) == str(box.origin)  # a path is fine
    with pytest.raises(NotFoundError, match=r"unknown git remote 'orign'.*did you mean 'origin'"):
        require_remote(box.work, "orign")
