"""Fixtures of the ZenML-compatibility tests (helpers in _zenml_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _zenml_helpers import copy_as_repo, shared_dir


@pytest.fixture
def starter(tmp_path: Path) -> Path:
    """ZenML's starter template as a fresh git repository (not ported yet)."""
    return copy_as_repo(shared_dir("zenml-examples") / "starter", tmp_path / "starter")
