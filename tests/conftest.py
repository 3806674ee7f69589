"""Shared fixtures: isolated git/DVC environment and throw-away mlx projects.

Every test gets its own copy of a project made once per session with `mlx init` (git init +
dvc init are the slow part), an isolated HOME and git config, and a working directory inside
the project.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    os.environ.update({
        "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Author", "GIT_COMMITTER_EMAIL": "author@example.com",
        "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(home / "dvc-site"),
        "GIT_TERMINAL_PROMPT": "0",
    })  # fmt: skip
    os.environ.pop("GITHUB_STEP_SUMMARY", None)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def template_project(tmp_path_factory: pytest.TempPathFactory, isolated_env: None) -> Path:
    from store.scaffold import init_project

    root = tmp_path_factory.mktemp("template") / "proj"
    init_project(root, name="proj")
    return root


def _purge_user_modules() -> None:
    for name in list(sys.modules):
        if name == "pipelines" or name.startswith("pipelines."):
            del sys.modules[name]


@pytest.fixture
def project_dir(
    tmp_path: Path, template_project: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A fresh mlx project (git + DVC, no commit yet) as the working directory."""
    root = tmp_path / "proj"
    shutil.copytree(template_project, root, symlinks=True)
    monkeypatch.chdir(root)
    _purge_user_modules()
    yield root
    _purge_user_modules()
    if str(root) in sys.path:
        sys.path.remove(str(root))


@pytest.fixture
def project(project_dir: Path):  # type: ignore[no-untyped-def]
    from store.project import Project

    return Project(project_dir)


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` and return stdout (raises on failure)."""
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def commit_all(cwd: Path, message: str = "snapshot") -> str:
    git(cwd, "add", "-A")
    git(cwd, "commit", "-qm", message)
    return git(cwd, "rev-parse", "HEAD").strip()


def mlx_cli(cwd: Path, *args: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run the real `mlx` command line in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, timeout=timeout,
    )  # fmt: skip
