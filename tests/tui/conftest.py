"""Fixtures of the TUI tests: a real project with recorded runs, and a frozen clock.

The runs are built by :mod:`_tui_records`; step logs and artifact values are real objects in
the project's DVC cache, so previews and logs go through the real store.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from _tui_records import LIVE, MODEL_TOML, NOW, populate, populate_long_names

from store.journal import Journal
from store.paths import journal_dir, live_log_dir
from store.project import Project
from tests.support import git
from tui.services import Services


@pytest.fixture
def tui_project(project: Project, tmp_path: Path) -> Project:
    """The session template project plus a second stack, a model config and four runs."""
    root = project.root
    (root / "stacks" / "prod.toml").write_text(
        'description = "parallel runs"\n'
        '[orchestrator]\nflavor = "local_parallel"\nmax_workers = 4\n'
    )
    (root / "models" / "iris.toml").write_text(MODEL_TOML)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "project")
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    populate(project, blobs)
    return project


@pytest.fixture
def services(tui_project: Project) -> Services:
    return Services(tui_project, now=lambda: NOW)


@pytest.fixture
def wide_services(tui_project: Project, tmp_path: Path) -> Services:
    """:func:`services` plus a run with long names (snapshots check they show in full)."""
    blobs = tmp_path / "long-blobs"
    blobs.mkdir()
    populate_long_names(tui_project, blobs)
    return Services(tui_project, now=lambda: NOW)


@pytest.fixture
def live_run(tui_project: Project) -> Iterator[str]:
    """A running ``etl`` run: a journal owned by this (alive) process and a live log."""
    common = tui_project.git.common_dir
    journal = Journal(journal_dir(common), LIVE)
    started = (NOW - timedelta(seconds=30)).isoformat()
    run = {"id": LIVE, "pipeline": "etl", "status": "running", "started_at": started,
           "stack": "local", "steps": []}  # fmt: skip
    journal.append({"event": "run_started", "pid": os.getpid(), "host": os.uname().nodename,
                    "started_at": started, "run": run})  # fmt: skip
    journal.append({"event": "step_started", "step": {"name": "extract", "status": "running",
                    "started_at": started, "upstream": []}})  # fmt: skip
    logs = live_log_dir(common, LIVE)
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "extract.log").write_text("extracting rows\n")
    yield LIVE
    journal.close()


@pytest.fixture(autouse=True)
def _no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots must not depend on the cursor's blink phase."""
    from textual.widgets import Input

    monkeypatch.setattr(Input, "cursor_blink", False, raising=False)
