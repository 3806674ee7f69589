"""Complete pushes: every referenced object reaches the DVC remote, or the push is refused.

Real clones, a bare origin, a local-directory DVC remote, the real DVC CLI and real `mlx`
processes (no mocks).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _repo_helpers import Sandbox, record_model_version, record_run

from store.errors import DvcRemoteError, PushRefusedError
from store.project import Project
from store.records import DvcPointer
from store.sync import pull, push
from tests.support import assert_fsck_clean, git, sh

REPO = Path(__file__).resolve().parents[2]


def mlx(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def pointers(project: Project) -> list[DvcPointer]:
    tip = project.runs.tip()
    assert tip is not None
    rows = project.git.ls_tree(tip, "artifacts")
    blobs = project.git.read_blobs([b for _, b in rows])
    return [DvcPointer.model_validate(json.loads(blobs[b])["pointer"]) for _, b in rows]


def remote_objects(box: Sandbox) -> set[str]:
    root = box.dvc_remote / "files" / "md5"
    return {p.parent.name + p.name for p in root.glob("*/*")} if root.exists() else set()


def test_push_refuses_bytes_that_exist_nowhere_then_a_clone_that_has_them_completes_it(
    box: Sandbox,
) -> None:
    work = box.project()
    for i in range(3):
        record_run(work, {f"out{i}": f"payload {i}".encode()})
    keeper = box.base / "keeper"  # a second copy of the clone that still has the bytes
    shutil.copytree(box.work, keeper, symlinks=True)
    sh(box.work, sys.executable, "-m", "dvc", "gc", "-w", "-f", "-q")  # mlx runs are not .dvc files
    wanted = {p.md5 for p in pointers(work)}
    assert not any(work.artifacts.exists(p) for p in pointers(work))

    refused = mlx(box.work, "push")
    assert refused.returncode == 1, refused.stderr
    assert all(md5 in refused.stderr for md5 in wanted), refused.stderr
    assert "--allow-missing" in refused.stderr
    assert git(box.origin, "for-each-ref", "refs/mlx") == ""  # nothing reached git

    forced = mlx(box.work, "push", "--allow-missing")
    assert forced.returncode == 0, forced.stderr
    assert "neither in the local cache nor on the DVC remote" in forced.stderr
    assert git(box.origin, "rev-parse", "refs/mlx/runs") == work.runs.tip()
    assert remote_objects(box) == set()

    # the keeper's ref is already on origin: push must still upload what the remote lacks
    done = mlx(keeper, "push")
    assert done.returncode == 0, done.stderr
    assert "uploaded 3 DVC object(s)" in done.stdout
    assert remote_objects(box) >= wanted

    fresh = Project(box.clone("fresh"))
    result = pull(fresh, all_objects=True)
    assert result.objects_fetched == 3 and result.objects_missing == ()
    assert sorted(fresh.artifacts.read_bytes(p) for p in pointers(fresh)) == [
        b"payload 0",
        b"payload 1",
        b"payload 2",
    ]


def test_pull_counts_what_it_fetched_and_lists_what_the_remote_lacks(box: Sandbox) -> None:
    work = box.project()
    kept = record_run(work, {"a": b"kept"})
    lost = record_run(work, {"b": b"lost"})
    push(work)
    (box.dvc_remote / "files" / "md5" / lost.artifacts[0].pointer.md5[:2]
     / lost.artifacts[0].pointer.md5[2:]).unlink()  # fmt: skip
    clone = box.clone("clone")
    proc = mlx(clone, "pull", "--all")
    assert proc.returncode == 1
    assert "fetched 1 artifact object(s)" in proc.stdout
    assert lost.artifacts[0].pointer.md5 in proc.stderr
    assert kept.artifacts[0].pointer.md5 not in proc.stderr


def test_the_verified_note_keeps_later_pushes_incremental(box: Sandbox) -> None:
    work = box.project()
    for i in range(4):
        record_run(work, {"x": f"{i}".encode()})
    assert push(work).objects_pushed == 4
    notes = list((work.state_dir / "remote-objects").glob("*.json"))
    assert len(notes) == 1 and json.loads(notes[0].read_text())["tip"] == work.runs.tip()
    record_run(work, {"x": b"new"})
    from store.remote_objects import complete_remote

    done = complete_remote(work, work.runs.tip() or "", None)
    assert (done.checked, done.uploaded) == (1, 1)  # only the new record's object, not all 5
    again = complete_remote(work, work.runs.tip() or "", None)
    assert (again.checked, again.uploaded) == (0, 0)
    record_run(work, {"x": b"newer"})
    assert push(work).objects_pushed == 1


def test_a_local_dvc_remote_that_does_not_exist_is_an_error_not_created(box: Sandbox) -> None:
    work = box.project()
    record_run(work, {"x": b"bytes"})
    sh(box.work, sys.executable, "-m", "dvc", "remote", "modify", "store", "url", "../typo")
    with pytest.raises(DvcRemoteError, match="does not exist"):
        push(Project(box.work))  # the DVC config is read when a project opens
    assert not (box.base / "typo").exists()
    assert git(box.origin, "for-each-ref", "refs/mlx") == ""
    proc = mlx(box.work, "push")
    assert proc.returncode == 1 and "does not exist" in proc.stderr


def test_push_refusal_is_a_push_refused_error_naming_the_objects(box: Sandbox) -> None:
    work = box.project()
    made = record_run(work, {"x": b"gone"})
    sh(box.work, sys.executable, "-m", "dvc", "gc", "-w", "-f", "-q")
    with pytest.raises(PushRefusedError) as caught:
        push(work)
    assert caught.value.missing == (made.artifacts[0].pointer.md5,)


def test_five_clones_pushing_three_times_at_once_all_succeed(box: Sandbox) -> None:
    clones = [box.clone(f"c{i}") for i in range(5)]
    expected_runs = set()
    for path in clones:
        project = Project(path)
        for _ in range(3):
            expected_runs.add(record_model_version(project, "iris").run.id)
    procs = [
        subprocess.Popen([sys.executable, "-m", "tui.cli", "push"], cwd=path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
        for path in clones for _ in range(3)
    ]  # fmt: skip
    outcomes = [(p.wait(timeout=600), p.communicate()) for p in procs]
    failures = [(code, err) for code, (_out, err) in outcomes if code != 0]
    assert not failures, failures
    for path in clones:  # everyone catches up
        pull(Project(path))
    origin = Project(clones[0])
    tip = git(box.origin, "rev-parse", "refs/mlx/runs")
    paths = git(box.origin, "ls-tree", "-r", "--name-only", tip).splitlines()
    runs = {p.rsplit("/", 1)[1][:-5] for p in paths if p.startswith("runs/")}
    assert runs == expected_runs
    models = sorted(int(p.rsplit("/", 1)[1][:-5]) for p in paths if p.startswith("models/iris/"))
    assert models == list(range(1, 16))
    for name in ("trained_model", "dataset"):
        numbers = sorted(int(p.rsplit("/", 1)[1][:-5]) for p in paths
                         if p.startswith(f"artifacts/{name}/"))  # fmt: skip
        assert numbers == list(range(1, 16))
    assert {v["run_id"] for v in origin.index.model_versions("iris")} == expected_runs
    assert_fsck_clean(box.origin)
    for path in clones:
        assert_fsck_clean(path)
