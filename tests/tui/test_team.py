"""Team state in the app: ahead/behind and unpublished runs at a glance, P pushes in a worker.

A real bare git repository is the remote and a local directory the DVC remote.
"""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from _tui_records import NOW, Recorder

from store.project import Project
from store.recorder import commit_run
from store.records import RunRecord
from tests.support import add_remotes, make_app, pilot_wait, settle
from tui.services import Services
from tui.team import team_state
from tui.widgets.runs_table import RunsTable
from tui.widgets.team_bar import TeamBar

OTHER = "c0" + "1" * 30


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


@pytest.fixture
def remote_services(tui_project: Project, tmp_path: Path) -> Services:
    add_remotes(tui_project, tmp_path)
    return Services(Project(tui_project.root), now=lambda: NOW)


def test_team_state_counts_unpublished_and_marks_runs_of_others(
    remote_services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = remote_services.project
    state = team_state(project)
    assert state.remote == "origin" and state.ahead > 0 and state.behind == 0
    assert len(state.unpublished_runs) == 4 and not state.foreign
    with monkeypatch.context() as env:
        env.setenv("GIT_AUTHOR_EMAIL", "colleague@example.com")
        other = Project(project.root)  # a fresh git handle: the author identity is read anew
        blobs = tmp_path / "other-blobs"
        blobs.mkdir()
        start = NOW - timedelta(minutes=1)
        step = Recorder(other, blobs).step("extract", "completed", start, 1.0)
        commit_run(other.runs, RunRecord(id=OTHER, pipeline="etl", status="completed",
                                         started_at=start, steps=[step]), [])  # fmt: skip
    assert team_state(Project(project.root)).foreign == {OTHER}


async def test_push_key_publishes_in_a_worker_and_updates_the_bar(
    remote_services: Services,
) -> None:
    app = make_app(remote_services)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, app)
        bar = app.screen.query_one(TeamBar)
        await pilot_wait(pilot, lambda: bar.state is not None)
        assert bar.state.remote == "origin" and len(bar.state.unpublished_runs) == 4
        table = app.screen.query_one(RunsTable)
        assert "".join(s.text for s in table.render_line(1))[1] == "*"  # unpublished mark
        await pilot.press("P")
        await pilot_wait(pilot, lambda: not app._syncing)
        assert not bar.state.unpublished_runs, [n.message for n in app._notifications]
        assert (bar.state.ahead, bar.state.behind) == (0, 0)
        await settle(pilot, app)
        assert "".join(s.text for s in table.render_line(1))[1] == " "
    remote_tip = _git(remote_services.project.root, "ls-remote", "origin", "refs/mlx/runs")
    assert remote_tip.split()[0] == remote_services.project.runs.tip()
