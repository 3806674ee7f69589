"""What `mlx push` of one new run and the first look after `mlx pull` cost: imports and work
counted, not seconds (real git, DVC remote and `mlx` processes; bench/team_sync.py times it)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from _repo_helpers import Sandbox, record_run

from store.project import Project
from store.sync import push
from tests.support import mlx_env


def imported(cwd: Path, *args: str) -> tuple[str, set[str]]:
    """Run ``mlx ARGS`` under ``-X importtime``; (stdout, top-level packages it imported)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tui.cli", *args], cwd=cwd,
        capture_output=True, text=True, env=mlx_env(), timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return proc.stdout, names


def test_pushing_one_run_whose_bytes_the_remote_has_imports_neither_pydantic_nor_dvc_data(
    box: Sandbox,
) -> None:
    work = box.project()
    for i in range(5):
        record_run(work, {"x": f"{i}".encode()})
    assert push(work).objects_pushed == 5
    record_run(work, {"x": b"0"})  # a new run; its bytes are on the DVC remote already
    out, names = imported(box.work, "push")
    assert out.startswith("origin: uploaded 0 DVC object(s)") and "pushed the runs ref" in out
    assert not names & {"pydantic", "dvc_data", "dvc_objects", "dvc", "fsspec", "git"}, names
    record_run(work, {"x": b"a new object"})  # bytes to upload: now dvc-data does the work
    out, names = imported(box.work, "push")
    assert out.startswith("origin: uploaded 1 DVC object(s)")
    assert "dvc_data" in names


def test_pull_builds_the_index_so_the_first_runs_list_reads_it_without_pydantic(
    box: Sandbox,
) -> None:
    work = box.project()
    made = [record_run(work, {"x": f"{i}".encode()}) for i in range(4)]
    push(work)
    clone = box.clone("fresh")
    out, _ = imported(clone, "pull")
    assert "fast-forward" in out
    fresh = Project(clone)
    db = sqlite3.connect(fresh.state_dir / "index.sqlite")
    (tip,) = db.execute("SELECT value FROM meta WHERE key='tip'").fetchone()
    assert tip == fresh.runs.tip()  # built during the pull
    assert db.execute("SELECT count(*) FROM runs").fetchone() == (4,)
    db.close()
    out, names = imported(clone, "runs", "list")
    assert all(m.run.id[:8] in out for m in made)
    assert "pydantic" not in names, names
