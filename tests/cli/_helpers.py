"""Helpers of the CLI tests: the real `mlx` in a subprocess, plus small readers of its output.

The plain helpers of ``tests/conftest.py`` are re-exported from here.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

from tests.conftest import commit_all, git, mlx_cli  # noqa: F401  (re-exported)

RUNS_REF = "refs/mlx/runs"


def mlx_ok(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `mlx ARGS` and assert it exited 0 (showing its output when it did not)."""
    proc = mlx_cli(cwd, *args, env=env)
    assert proc.returncode == 0, (
        f"mlx {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


def mlx_json(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run `mlx ARGS` (which must include --json), assert exit 0, return the parsed stdout."""
    return json.loads(mlx_ok(cwd, *args, env=env).stdout)


def mlx_run_json(cwd: Path, pipeline: str, *args: str, expect: int = 0) -> dict[str, Any]:
    """`mlx run PIPELINE ARGS --headless --json`: assert the exit code, return the run."""
    proc = mlx_cli(cwd, "run", pipeline, *args, "--headless", "--json")
    assert proc.returncode == expect, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def runs_tip(cwd: Path) -> str | None:
    """The commit the runs ref points at, or None when no run was recorded yet."""
    proc = subprocess.run(["git", "rev-parse", "--verify", "-q", RUNS_REF], cwd=cwd,
                          capture_output=True, text=True)  # fmt: skip
    return proc.stdout.strip() or None


def write_pipeline(root: Path, module: str, source: str) -> Path:
    """Write ``pipelines/<module>.py`` (dedented)."""
    path = root / "pipelines" / f"{module}.py"
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return path


def step_by_name(run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in run["steps"] if s["name"] == name)


def tree_digest(root: Path) -> dict[str, str]:
    """``relative path -> sha256`` of every file under ``root`` (including ``.git``)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def assert_fsck_clean(repo: Path) -> None:
    """``git fsck --strict`` exits 0 and reports no error (dangling objects are fine)."""
    proc = subprocess.run(["git", "fsck", "--strict", "--no-progress"], cwd=repo,
                          capture_output=True, text=True)  # fmt: skip
    bad = [line for line in (proc.stdout + proc.stderr).splitlines()
           if line.startswith(("error", "warning", "missing", "broken", "bad"))]  # fmt: skip
    assert proc.returncode == 0 and not bad, f"git fsck --strict:\n{proc.stdout}\n{proc.stderr}"


def copy_project(template: Path, dest: Path) -> Path:
    """A private copy of the session template project (for module-scoped fixtures)."""
    shutil.copytree(template, dest, symlinks=True)
    return dest


FAILING_PIPELINE = """
from typing import Annotated

from engine import pipeline, step


@step
def first() -> Annotated[int, "one"]:
    return 1


@step
def explode(one: int) -> Annotated[int, "two"]:
    print("about to explode")
    raise RuntimeError("kaboom in explode")


@step
def after(two: int) -> Annotated[int, "three"]:
    return two


@pipeline
def boom() -> None:
    after(explode(first()))
"""


# A pipeline whose second step kills its own process (SIGKILL) after the first finished.
CRASHING_PIPELINE = """
import os
import signal
from typing import Annotated

from engine import pipeline, step


@step
def make() -> Annotated[list[int], "made"]:
    return [41, 42, 43]


@step
def die(made: list[int], really: bool) -> Annotated[int, "after"]:
    if really:
        os.kill(os.getpid(), signal.SIGKILL)
    return len(made)


@pipeline
def crash(really: bool = True) -> None:
    die(make(), really=really)
"""
