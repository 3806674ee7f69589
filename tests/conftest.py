"""Shared fixtures: isolated git/DVC environment and throw-away mlx projects.

Every test gets its own copy of a project made once per session with `mlx init` (git init +
dvc init are the slow part), an isolated HOME and git config, and a working directory inside
the project. Helpers live in ``tests/support.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import build_once, isolated_environ, prepare_home

# Tests interrupt mlx processes with SIGINT as a terminal's Ctrl-C would. A test session started
# in the background by a shell without job control inherits SIGINT ignored, and so would every
# child (Python then raises no KeyboardInterrupt): run as if started from a terminal. A Python
# handler is not inherited across exec, so children start with the default action.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    prepare_home(home)
    saved, isolated = dict(os.environ), isolated_environ(home)
    os.environ.clear()
    os.environ.update(isolated)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def template_project(tmp_path_factory: pytest.TempPathFactory, isolated_env: None) -> Path:
    """A project made by ``mlx init`` once per session (shared by xdist workers; read-only)."""
    from store.scaffold import init_project

    return (
        build_once(
            tmp_path_factory, "template", lambda base: init_project(base / "proj", name="proj")
        )
        / "proj"
    )


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
