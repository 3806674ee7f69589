"""Store fixtures (the general ones live in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _repo_helpers import Sandbox, build_template, make_sandbox


@pytest.fixture(scope="session")
def sandbox_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git + DVC repository with a bare origin and a DVC remote, made once."""
    return build_template(tmp_path_factory.mktemp("sandbox-template"))


@pytest.fixture
def box(sandbox_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """A private copy of the sandbox template with its own origin and isolated HOME."""
    return make_sandbox(sandbox_template, tmp_path, monkeypatch)
