"""CLI fixtures; the general ones live in tests/conftest.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import build_once, git, mlx_cli


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, isolated_env: None) -> Path:
    """The iris demo, set up once per session by `mlx demo`, shared by the xdist workers.

    Read-only: copy it with `demo_copy` to change anything.
    """

    def build(base: Path) -> None:
        proc = mlx_cli(base, "demo", str(base / "iris"))
        assert proc.returncode == 0, proc.stdout + proc.stderr

    return build_once(tmp_path_factory, "demo", build) / "iris"


@pytest.fixture
def demo_copy(demo: Path, tmp_path: Path) -> Path:
    """A private copy of the demo with its own git origin and DVC remote."""
    root = tmp_path / "iris"
    for suffix in ("", "-origin.git", "-dvc-storage"):
        shutil.copytree(demo.with_name(demo.name + suffix), root.with_name(root.name + suffix),
                        symlinks=True)  # fmt: skip
    git(root, "remote", "set-url", "origin", str(root.with_name("iris-origin.git")))
    subprocess.run([sys.executable, "-m", "dvc", "remote", "modify", "--local", "storage", "url",
                    str(root.with_name("iris-dvc-storage"))], cwd=root, check=True)  # fmt: skip
    return root
