"""`mlx gc` keeps everything anything references (real git, DVC CLI and writer processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _repo_helpers import Sandbox, record_run, save_bytes

from store.gc import collect_garbage, parse_duration
from store.project import Project
from store.records import DvcPointer
from tests.support import git, mlx_cli, sh

REPO = Path(__file__).resolve().parents[2]
HOURS_AGO = time.time() - 3 * 3600


def cached(project: Project, md5: str) -> Path:
    return project.artifacts.cache_dir / "files" / "md5" / md5[:2] / md5[2:]


def age(path: Path) -> None:
    os.utime(path, (HOURS_AGO, HOURS_AGO))


def orphan(project: Project, payload: bytes) -> str:
    md5 = str(save_bytes(project, payload)["md5"])
    age(cached(project, md5))
    return md5


def test_grace_period_and_parse_duration(box: Sandbox) -> None:
    work = box.project()
    old = orphan(work, b"old and unreferenced")
    young = str(save_bytes(work, b"young and unreferenced")["md5"])
    result = collect_garbage(work)  # default grace: 1 h
    assert result.removed == (old,)
    assert cached(work, young).exists()
    assert collect_garbage(work, grace=0).removed == (young,)
    assert [parse_duration(t) for t in ("90", "15m", "1h", "2d", "0")] == [90, 900, 3600, 172800, 0]


def test_keeps_records_on_remote_tracking_refs_and_live_runs(box: Sandbox) -> None:
    work = box.project()
    theirs = record_run(work, {"x": b"pushed by someone"})
    git(box.work, "push", "-q", "origin", "refs/mlx/runs:refs/mlx/runs")
    clone = Project(box.clone("clone"))
    git(clone.root, "fetch", "-q", "origin", "+refs/mlx/*:refs/remotes/origin/mlx/*")
    assert clone.runs.tip() is None  # only the remote-tracking copy has the record
    remote_md5 = orphan(clone, b"pushed by someone")
    assert remote_md5 == theirs.artifacts[0].pointer.md5
    live_md5 = orphan(clone, b"a live run's finished step")
    journal = clone.git.common_dir / "mlx" / "journal" / "abc.jsonl"
    journal.parent.mkdir(parents=True, exist_ok=True)
    events = [
        {"event": "run_started", "pid": os.getpid(), "host": os.uname().nodename, "run": {}},
        {"event": "step_finished", "artifacts": [{"pointer": {"md5": live_md5, "size": 1}}]},
    ]
    journal.write_text("".join(json.dumps(e) + "\n" for e in events))
    doomed = orphan(clone, b"nobody")
    assert collect_garbage(clone, grace=0).removed == (doomed,)
    assert cached(clone, remote_md5).exists() and cached(clone, live_md5).exists()


def test_keeps_what_plain_dvc_tracks_on_any_branch_and_in_the_work_tree(box: Sandbox) -> None:
    work = box.project()
    dvc = [sys.executable, "-m", "dvc"]
    git(box.work, "checkout", "-q", "-b", "feature")
    (box.work / "data.csv").write_text("a,b\n1,2\n")
    sh(box.work, *dvc, "add", "-q", "data.csv")
    git(box.work, "add", "data.csv.dvc", ".gitignore")
    git(box.work, "commit", "-q", "-m", "data")
    git(box.work, "checkout", "-q", "main")
    (box.work / "wip.txt").write_text("not committed yet\n")
    sh(box.work, *dvc, "add", "-q", "wip.txt")
    outs = {}
    for name, text in (("data.csv", git(box.work, "show", "feature:data.csv.dvc")),
                       ("wip.txt", (box.work / "wip.txt.dvc").read_text())):  # fmt: skip
        outs[name] = text.split("md5: ")[1].split()[0]
        age(cached(work, outs[name]))
    doomed = orphan(work, b"nobody")
    assert collect_garbage(work, grace=0).removed == (doomed,)
    assert all(cached(work, md5).exists() for md5 in outs.values())


WRITER = """
import hashlib, os, sys, time, uuid
from pathlib import Path
sys.path[:0] = [{repo!r}, {helpers!r}]
from store.project import Project
from _repo_helpers import record_run
project = Project(Path({root!r}))
for i in range({runs}):
    payload = uuid.uuid4().bytes
    if i % 2:  # content cached long ago by a run whose records are gone: old, unreferenced
        md5 = hashlib.md5(payload).hexdigest()
        old = project.artifacts.cache_dir / "files" / "md5" / md5[:2] / md5[2:]
        old.parent.mkdir(parents=True, exist_ok=True)
        old.write_bytes(payload)
        os.utime(old, (time.time() - 3 * 3600,) * 2)
    outputs = {{"out": payload, "other": b"writer {n} run %d" % i}}
    record_run(project, outputs, between=lambda: time.sleep(1.0))  # the run's other steps
"""


def test_gc_in_a_loop_beside_three_writers_never_loses_a_completed_runs_artifact(
    box: Sandbox,
) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER.format(
                    repo=str(REPO),
                    helpers=str(Path(__file__).parent),
                    root=str(box.work),
                    runs=8,
                    n=n,
                ),
            ],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for n in range(3)
    ]
    rounds = 0
    while rounds < 3 or any(w.poll() is None for w in writers):
        with Project(box.work) as project:
            collect_garbage(project)  # default grace, as a user runs it
        rounds += 1
    errors = [w.communicate()[1] for w in writers]  # waits, and closes the pipes
    assert [w.returncode for w in writers] == [0, 0, 0], errors
    with Project(box.work) as project:
        collect_garbage(project)
    fresh = Project(box.work)
    tip = fresh.runs.tip()
    assert tip is not None
    rows = fresh.git.ls_tree(tip, "artifacts")
    blobs = fresh.git.read_blobs([b for _, b in rows])
    assert len(rows) == 3 * 8 * 2
    for _, blob in rows:
        pointer = DvcPointer.model_validate(json.loads(blobs[blob])["pointer"])
        assert fresh.artifacts.exists(pointer), pointer.md5
        assert fresh.artifacts.read_bytes(pointer)


def test_plain_dvc_gc_with_the_runs_ref_keeps_every_run_artifact(box: Sandbox) -> None:
    work = box.project()
    made = [record_run(work, {"a": f"file {i}".encode()}) for i in range(3)]
    folder = box.base / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "x.txt").write_text("x")
    (folder / "sub" / "y.txt").write_text("y")
    tree = work.artifacts.save(folder)
    record_run(work, {"b": b"one more"})
    from store.paths import dvc_file_path
    from store.records import dvc_file

    def add_dir(view: object) -> dict[str, bytes]:
        return {dvc_file_path(tree.md5): dvc_file(tree)}

    work.runs.commit(add_dir, "a directory pointer")  # the recorder writes these for runs
    pointers = [m.artifacts[0].pointer for m in made] + [tree]
    sh(box.work, sys.executable, "-m", "dvc", "gc", "-w", "--rev", "refs/mlx/runs", "-f", "-q")
    fresh = Project(box.work)
    assert all(fresh.artifacts.exists(p) for p in pointers)
    sh(box.work, sys.executable, "-m", "dvc", "gc", "-w", "-f", "-q")  # without --rev: gone
    assert not any(Project(box.work).artifacts.exists(p) for p in pointers)


def test_push_backfills_pointer_files_of_older_records_so_plain_dvc_gc_keeps_them(
    box: Sandbox,
) -> None:
    work = box.project()
    made = [record_run(work, {"a": f"older {i}".encode()}) for i in range(3)]
    pointers = [m.artifacts[0].pointer for m in made]
    tip = work.runs.tip()
    assert tip is not None
    # what an older mlx wrote: the same records, no dvc/ pointer files on the ref
    dvc_paths = [p for p, _ in work.git.ls_tree(tip, "dvc")]
    assert len(dvc_paths) >= 3
    tree = work.git.update_tree(work.git.commit_tree_of(tip), dict.fromkeys(dvc_paths))
    older = work.git.commit_tree(tree, [], "runs of an older mlx")
    git(box.work, "update-ref", "refs/mlx/runs", older, tip)

    proc = mlx_cli(box.work, "push").stdout
    assert f"added {len(dvc_paths)} DVC pointer file(s) for older records" in proc
    assert sorted(p for p, _ in Project(box.work).git.ls_tree("refs/mlx/runs", "dvc")) == sorted(
        dvc_paths
    )
    assert git(box.origin, "rev-parse", "refs/mlx/runs") == git(box.work, "rev-parse",
                                                                "refs/mlx/runs")  # fmt: skip
    assert "pointer file" not in mlx_cli(box.work, "push").stdout
    sh(box.work, sys.executable, "-m", "dvc", "gc", "-w", "--rev", "refs/mlx/runs", "-f", "-q")
    fresh = Project(box.work)
    assert all(fresh.artifacts.exists(p) for p in pointers)


def test_a_runs_code_patch_gets_a_pointer_file_so_plain_dvc_gc_keeps_it(box: Sandbox) -> None:
    import uuid
    from datetime import UTC, datetime

    from store.paths import dvc_file_path
    from store.recorder import commit_run
    from store.records import CodeRef, RunRecord

    work = box.project()
    patch = DvcPointer.model_validate(save_bytes(work, b"diff --git a/x b/x\n"))
    now = datetime.now(UTC)
    run = RunRecord(
        id=uuid.uuid4().hex, pipeline="training", status="completed", started_at=now,
        finished_at=now, code=CodeRef(commit=work.git.head_commit(), dirty=True, patch=patch),
    )  # fmt: skip
    commit_run(work.runs, run, [])
    paths = {p for p, _ in work.git.ls_tree("refs/mlx/runs", "dvc")}
    assert dvc_file_path(patch.md5) in paths
    sh(box.work, sys.executable, "-m", "dvc", "gc", "-w", "--rev", "refs/mlx/runs", "-f", "-q")
    assert Project(box.work).artifacts.exists(patch)
