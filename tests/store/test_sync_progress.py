"""`mlx push`/`mlx pull` progress: rich bars on a terminal (a real pty), one summary line
otherwise; git's own transfer phases are part of it (real git, DVC remote, `mlx` processes)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from _repo_helpers import Sandbox, record_run

from store.git_progress import parse_progress
from store.project import Project
from store.sync import pull, push
from tests.support import git, mlx_cli, mlx_env


def clone(box: Sandbox, name: str) -> Path:
    """A clone that shares no objects with origin (a plain local clone copies them all)."""
    git(box.base, "clone", "-q", "--no-local", str(box.origin), name)
    return box.base / name


def on_a_terminal(cwd: Path, *args: str) -> tuple[int, str]:
    """Run ``mlx ARGS`` with stdin/stdout/stderr on a pseudo-terminal; (exit code, output)."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", *args], cwd=cwd, stdin=child, stdout=child,
        stderr=child, env=mlx_env({"TERM": "xterm-256color", "COLUMNS": "120"}),
        close_fds=True,
    )  # fmt: skip
    os.close(child)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 600  # a hang, not a budget
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1.0)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the child side is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    code = proc.wait(timeout=60)
    text = b"".join(chunks).decode(errors="replace")
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # without the escape codes


def test_without_a_terminal_push_and_pull_print_one_summary_line(box: Sandbox) -> None:
    work = box.project()
    for i in range(2):
        record_run(work, {"a": f"payload {i}".encode() * 100})
    pushed = mlx_cli(box.work, "push")
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stderr == ""
    assert re.fullmatch(
        r"origin: uploaded \d+ DVC object\(s\) \(\d+(\.\d)?[BKM]\); pushed the runs ref\n",
        pushed.stdout,
    ), pushed.stdout
    clone = box.clone("fresh")
    pulled = mlx_cli(clone, "pull", "--all")
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stderr == ""
    assert re.fullmatch(
        r"runs ref from origin: fast-forward; "
        r"fetched \d+ artifact object\(s\) \(\d+(\.\d)?[BK]\)\n",
        pulled.stdout,
    ), pulled.stdout


def test_on_a_terminal_push_and_pull_draw_git_and_dvc_progress(box: Sandbox) -> None:
    work = box.project()
    record_run(work, {"a": b"x" * 5000, "b": b"y" * 3000})
    code, out = on_a_terminal(box.work, "push")
    assert code == 0, out
    assert "git: writing objects" in out
    assert "uploading DVC objects" in out and "uploading bytes" in out
    assert re.search(r"\d+/\d+ objects", out)
    assert "pushed the runs ref" in out
    fresh = clone(box, "fresh")
    code, out = on_a_terminal(fresh, "pull", "--all")
    assert code == 0, out
    assert "git: " in out and "objects" in out
    assert "downloading DVC objects" in out and "downloading bytes" in out
    assert "fetched" in out


def test_the_progress_callback_hears_git_phases_objects_and_bytes(box: Sandbox) -> None:
    work = box.project()
    made = record_run(work, {"a": b"z" * 4096})
    heard: list[tuple[str, int, int]] = []
    result = push(work, progress=lambda what, done, total: heard.append((what, done, total)))
    assert result.pushed and result.bytes_pushed >= 4096
    phases = {what for what, _, _ in heard}
    assert {"git: writing objects", "uploading", "uploading bytes"} <= phases
    size = sum(a.pointer.size for a in made.artifacts)
    assert ("uploading bytes", result.bytes_pushed, result.bytes_pushed) in heard
    assert result.bytes_pushed >= size
    fresh = Project(clone(box, "other"))
    heard.clear()
    got = pull(fresh, all_objects=True, progress=lambda *a: heard.append(a))
    assert got.bytes_fetched >= size
    assert any(what.startswith("git: ") for what, _, _ in heard)
    assert parse_progress("Writing objects:  66% (2/3)") == ("git: writing objects", 2, 3)
    assert parse_progress("remote: Counting objects: 100% (3/3), done.") == (
        "git: counting objects",
        3,
        3,
    )
    assert parse_progress("To ../origin.git") is None
