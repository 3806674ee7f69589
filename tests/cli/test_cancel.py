"""Ctrl-C (SIGINT) and the app's cancel (SIGTERM) give an honest ``cancelled`` run.

The blocking step waits on a FIFO (``open`` blocks until someone writes): no sleeps, and the
signal arrives while the step is genuinely in the middle of its work.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from _helpers import step_by_name

from tests.support import REPO, commit_all, mlx_json, mlx_run_json, wait_until, write_pipeline

BLOCKING_PIPELINE = """
from pathlib import Path
from typing import Annotated

from engine import pipeline, step


@step
def first() -> Annotated[int, "one"]:
    return 1


@step(enable_cache=False)
def wait_for_go(one: int, gate: str) -> Annotated[int, "two"]:
    Path(gate + ".started").write_text("started")
    with open(gate) as fh:  # a FIFO: blocks until the test writes to it
        fh.read()
    return one + 1


@step
def last(two: int) -> Annotated[int, "three"]:
    return two + 1


@pipeline
def blocking(gate: str) -> None:
    last(wait_for_go(first(), gate=gate))
"""


def wait_for_file(path: Path, proc: subprocess.Popen[str]) -> None:
    """Poll until ``path`` exists (generous deadline; fails early if ``proc`` exits)."""

    def there() -> bool:
        assert proc.poll() is None, proc.communicate()
        return path.exists()

    wait_until(there, what=f"{path} to appear")


def start_run(root: Path, gate: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "run", "blocking", "-p", f"gate={gate}", "--headless",
         "--json", *args],
        cwd=root, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.fixture
def blocking(project_dir: Path) -> Path:
    write_pipeline(project_dir, "blocking", BLOCKING_PIPELINE)
    (project_dir / "stacks" / "par.toml").write_text(
        '[orchestrator]\nflavor = "local_parallel"\nmax_workers = 2\n'
    )
    commit_all(project_dir, "blocking pipeline")
    return project_dir


@pytest.mark.parametrize(
    ("sig", "stack"),
    [(signal.SIGINT, "local"), (signal.SIGTERM, "local"), (signal.SIGTERM, "par")],  # fmt: skip
)
def test_interrupt_during_a_step_records_a_cancelled_run(
    blocking: Path, tmp_path: Path, sig: signal.Signals, stack: str
) -> None:
    gate = tmp_path / "go"
    os.mkfifo(gate)
    proc = start_run(blocking, gate, "--stack", stack)
    wait_for_file(gate.with_name("go.started"), proc)
    signalled = datetime.now().astimezone()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 130, err
    assert "cancelled; its finished steps are kept for the cache" in err
    run = json.loads(out)
    assert run["status"] == "cancelled"
    assert {s["name"]: s["status"] for s in run["steps"]} == {
        "first": "completed", "wait_for_go": "cancelled", "last": "skipped"}  # fmt: skip
    started = datetime.fromisoformat(run["started_at"])
    finished = datetime.fromisoformat(run["finished_at"])
    step_started = datetime.fromisoformat(step_by_name(run, "wait_for_go")["started_at"])
    assert started <= step_started < signalled <= finished  # the real span, not a few ms
    assert run["error"]["type"] == "Cancelled" and "wait_for_go" in run["error"]["message"]
    listed = mlx_json(blocking, "runs", "list", "--status", "cancelled", "--json")
    assert [r["id"] for r in listed] == [run["id"]]
    assert not list((blocking / ".git" / "mlx" / "journal").glob("*.jsonl"))

    opened = tmp_path / "open"
    opened.write_text("go")  # a plain file: the step does not block this time
    rerun = mlx_run_json(blocking, "blocking", "-p", f"gate={opened}")
    assert step_by_name(rerun, "first")["cached_from"] == run["id"]
    assert rerun["status"] == "completed"
