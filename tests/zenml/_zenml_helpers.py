"""Helpers of the ZenML-compatibility tests: ZenML example code is read from ``shared/`` at test
time (never copied into this repository) and copied into a fresh git repository per test."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO, commit_all, git


def shared_dir(name: str) -> Path:
    """``shared/<name>``: under ``$MLX_SHARED_DIR`` when set (``.ci/run`` sets it, since it tests
    a clone in a temporary folder; then a missing folder fails), else next to the repository or
    one of its parent folders."""
    if given := os.environ.get("MLX_SHARED_DIR"):
        candidate = Path(given) / name
        assert candidate.is_dir(), f"MLX_SHARED_DIR={given} has no {name}/"
        return candidate
    for base in REPO.parents:
        candidate = base / "shared" / name
        if candidate.is_dir():
            return candidate
    pytest.skip(f"shared/{name} is not next to the repository ({REPO}); it holds ZenML's "
                "example code that these tests port at test time")  # fmt: skip


def copy_as_repo(source: Path, dest: Path) -> Path:
    """Copy ``source`` to ``dest`` (writable) and commit it as the first commit of a repo."""
    shutil.copytree(source, dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    git(dest, "init", "-q")
    commit_all(dest, "ZenML project as published")
    return dest


def python(cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` in ``cwd`` the way a user runs a ported script."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(cwd), str(REPO)])}
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=timeout)  # fmt: skip
