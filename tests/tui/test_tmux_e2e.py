"""End to end in a real terminal: the ``mlx`` binary in tmux, driven by keystrokes.

Pilot idles between keys; a terminal delivers ``/status:failed`` as one burst, which is how a
focus race was found in the prototype. This drives the main flows (filter,
open a run, launch a pipeline, resize, quit) and polls ``capture-pane`` with deadlines rather
than sleeping. Skipped when tmux is not installed, unless ``MLX_REQUIRE_TMUX`` is set
(``.ci/run`` sets it: there a missing tmux is a failure, not a skip).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from _tui_records import GATED, RUN_A, RUN_B, RUN_C

from store.project import Project
from tests.support import REPO, add_remotes, git, wait_until

if shutil.which("tmux") is None and os.environ.get("MLX_REQUIRE_TMUX"):
    raise RuntimeError("tmux is required (MLX_REQUIRE_TMUX is set) but not installed")
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """One tmux server of our own (``-L``), so the child gets exactly our environment."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True)
        return done.stdout

    def screen(self) -> str:
        return self("capture-pane", "-t", "T", "-p")

    def _until(self, shows: bool, text: str) -> str:
        def screen_if() -> str:
            screen = self.screen()
            return screen if (text in screen) == shows else ""

        try:
            return wait_until(screen_if, what=f"{text!r} {'on' if shows else 'off'} the screen")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the screen was:\n{self.screen()}") from None

    def wait_for(self, text: str) -> str:
        """The screen, once ``text`` is on it."""
        return self._until(True, text)

    def wait_gone(self, text: str) -> str:
        """The screen, once ``text`` has left it."""
        return self._until(False, text)

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", "T", *keys)

    def text(self, text: str) -> None:
        self("send-keys", "-t", "T", "-l", text)


def _mlx() -> list[str]:
    found = Path(sys.executable).parent / "mlx"
    return [str(found)] if found.exists() else [sys.executable, "-m", "tui.cli"]


@pytest.fixture
def tmux(tui_project: Project) -> Iterator[Tmux]:
    server = Tmux(f"mlx-e2e-{uuid.uuid4().hex[:8]}")
    env = {k: v for k, v in os.environ.items() if k.startswith(("GIT_", "DVC_", "HOME"))}
    env.update(TERM="xterm-256color", PYTHONPATH=str(REPO), TEXTUAL_ANIMATIONS="none")
    command = shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), *_mlx()])
    server("new-session", "-d", "-s", "T", "-x", "100", "-y", "30", "-c",
           str(tui_project.root), command)  # fmt: skip
    try:
        yield server
    finally:
        server("kill-server")


def test_mlx_binary_filter_open_launch_and_quit(tmux: Tmux, tui_project: Project) -> None:
    screen = tmux.wait_for(RUN_A[:8])
    assert RUN_B[:8] in screen and RUN_C[:8] in screen

    tmux.text("/status:failed")  # one burst, like a fast typist
    tmux.keys("Enter")
    tmux.wait_for("1 of 4  filter: status:failed")
    screen = tmux.wait_gone("╭")  # enter closed the filter box, the only bordered widget
    assert RUN_B[:8] in screen and RUN_C[:8] not in screen

    tmux.keys("Enter")  # open the failed run
    screen = tmux.wait_for("params")
    assert "lr=0.5" in screen and "load_data" in screen
    tmux.keys("Escape")
    tmux.wait_for("1 of 4")
    tmux.keys("Escape")  # clear the filter
    tmux.wait_for(RUN_C[:8])

    tmux("resize-window", "-t", "T", "-x", "80", "-y", "24")
    tmux.wait_for("Pipeline")

    tmux.keys("2")
    tmux.wait_for("factor: int = 2")
    tmux.keys("l")
    tmux.wait_for("Launch example")
    tmux.keys("C-u")  # clear the field (it holds the default 2)
    tmux.wait_for("-p factor= ")  # the command line under the form shows the empty value
    tmux.text("4")
    tmux.wait_for("-p factor=4")
    tmux.keys("C-r")
    tmux.wait_for("completed")
    tmux.wait_for("3/3 steps")  # the status line may lag the lanes by a refresh
    tmux.wait_for("example: completed")  # the child exited (run recorded): q will not ask

    tmux.keys("1")
    tmux.wait_for("example")  # the launched run is in the list
    tmux.keys("q")
    wait_until(lambda: not tmux("list-sessions"), what="mlx to exit on q")
    runs = Project(tui_project.root).index.list_runs(pipeline="example")
    assert len(runs) == 1 and runs[0].status == "completed"


@pytest.fixture
def team_project(tui_project: Project, tmp_path: Path) -> Project:
    """The TUI project with a git and a DVC remote, and a pipeline that waits for a go-file."""
    add_remotes(tui_project, tmp_path)
    (tui_project.root / "pipelines" / "slow.py").write_text(GATED)
    return tui_project


def test_launch_live_lanes_open_promote_and_push(team_project: Project, tmp_path: Path) -> None:
    root = team_project.root
    go = tmp_path / "go"
    server = Tmux(f"mlx-e2e-{uuid.uuid4().hex[:8]}")
    env = {k: v for k, v in os.environ.items() if k.startswith(("GIT_", "DVC_", "HOME"))}
    env.update(TERM="xterm-256color", PYTHONPATH=str(Path(__file__).resolve().parents[2]),
               TEXTUAL_ANIMATIONS="none")  # fmt: skip
    command = shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), *_mlx()])
    server("new-session", "-d", "-s", "T", "-x", "120", "-y", "36", "-c", str(root), command)
    try:
        server.wait_for(RUN_A[:8])
        server.wait_for("origin ↑")  # the team bar: unpublished runs, nothing pushed yet
        server.keys("2")
        server.wait_for("slow")
        server.keys("Down")
        server.wait_for("go: str")
        server.keys("l")
        server.wait_for("Launch slow")
        server.text(str(go))
        server.keys("C-r")
        screen = server.wait_for("log of nap")  # live lanes and the log tail
        screen = server.wait_for("waiting for")
        assert "▶ nap" in screen and "running" in screen
        go.write_text("go")
        server.wait_for("completed")
        server.keys("o")  # open the launched run
        screen = server.wait_for("params")
        assert "go=" in screen and "nap" in screen
        server.keys("Escape")
        server.wait_for("log of nap")  # back on the pipelines screen (an Esc followed at once
        server.keys("3")  # by a key would read as alt+key)
        server.wait_for("production v1")
        server.keys("Tab", "p")  # the versions table, newest first: promote v2
        server.wait_for("Promote iris v2")
        server.wait_for("v1 holds production")  # the default stage is taken: choose staging
        server.keys("Enter")
        server.wait_for("▲")  # the stage list is open
        server.keys("Down", "Enter")
        server.wait_for("staging: nobody → v2")
        server.keys("Enter")  # open the list again and leave it open
        server.wait_for("▲")
        server.keys("y")  # the open stage list has focus: y is still the dialog's
        server.wait_for("promoted iris v2 to staging")
        server.keys("y")  # close
        server.wait_gone("Promote iris v2")
        server.keys("1")
        server.wait_for("origin ↑")
        server.keys("P")
        server.wait_for("push to origin")
        server.wait_for("origin ↑0 ↓0")
        server.keys("q")
    finally:
        go.write_text("go")
        server("kill-server")
    branch = "mlx/promote/iris/v2-staging"
    diff = git(root, "diff", "--unified=0", "HEAD", branch, "--", "models/iris.toml")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[1:2] not in "+-"]
    assert changed == ["-# staging = (unset)", "+staging = 2"]  # its slot, filled in place
    parent, head = git(root, "rev-parse", f"{branch}^", "HEAD").split()
    assert parent == head  # one commit on top of the checked-out one, the work tree untouched
    project = Project(root)
    remote_tip = subprocess.run(["git", "ls-remote", "origin", "refs/mlx/runs"], cwd=root,
                                capture_output=True, text=True).stdout.split()[0]  # fmt: skip
    assert remote_tip == project.runs.tip()
