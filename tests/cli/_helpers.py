"""Helpers of the CLI tests only; the shared ones are in ``tests/support.py``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


def step_by_name(run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in run["steps"] if s["name"] == name)


def copy_project(template: Path, dest: Path) -> Path:
    """A private copy of the session template project (for module-scoped fixtures)."""
    shutil.copytree(template, dest, symlinks=True)
    return dest
