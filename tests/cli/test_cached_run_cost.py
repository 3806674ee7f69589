"""A fully cached `mlx run` pays only for what it uses.

Measured on the real CLI in a subprocess: which modules it imports (``PYTHONPROFILEIMPORTTIME``,
Python's own import log), which git processes it starts (a ``git`` script first on PATH that
logs its arguments and execs the real git) and which record models had their pydantic
validators built (they are built on first use).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from tests.support import commit_all, mlx_cli, mlx_env, write_pipeline

PIPELINE = """
import tempfile
from pathlib import Path
from typing import Annotated

from engine import pipeline, step


@step
def folder() -> Annotated[Path, "folder"]:
    out = Path(tempfile.mkdtemp()) / "folder"
    out.mkdir()
    (out / "a.txt").write_text("a")
    (out / "b.txt").write_text("bb")
    return out


@step
def size(folder: Path) -> Annotated[int, "size"]:
    return sum(p.stat().st_size for p in folder.iterdir())


@step
def double(size: int) -> Annotated[int, "doubled"]:
    return 2 * size


@pipeline
def three() -> None:
    double(size(folder()))
"""

HEAVY = {"dvc", "dvc_data", "dvc_objects", "numpy", "pandas"}
MAX_GIT_PROCESSES = 6  # +1 since untracked modules make a run dirty: ls-files --others


def _git_shim(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Env whose PATH starts with a `git` that logs its arguments, then runs the real git."""
    real = shutil.which("git")
    assert real is not None
    folder, log = tmp_path / "shim", tmp_path / "git-calls.log"
    folder.mkdir()
    script = folder / "git"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}, log


def _run(root: Path, env: dict[str, str]) -> tuple[int, set[str]]:
    """`mlx run three --headless`: the number of steps served by the cache, modules imported."""
    proc = mlx_cli(root, "run", "three", "--headless", env={**env, "PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return proc.stderr.count(" cached (from run "), imported


def test_a_fully_cached_run_imports_no_dvc_numpy_or_pandas(project_dir: Path) -> None:
    write_pipeline(project_dir, "three", PIPELINE)
    commit_all(project_dir)

    _, cold = _run(project_dir, {})
    served, cached = _run(project_dir, {})

    assert {"dvc_data", "dvc_objects"} <= cold  # the import log sees storing outputs
    assert served == 3
    assert "pydantic" in cached and HEAVY & cached == set()


def test_a_fully_cached_run_starts_few_git_processes(project_dir: Path, tmp_path: Path) -> None:
    write_pipeline(project_dir, "three", PIPELINE)
    commit_all(project_dir)
    env, log = _git_shim(tmp_path)
    _run(project_dir, env)
    log.unlink()

    served, _ = _run(project_dir, env)

    calls = log.read_text().splitlines()
    assert served == 3
    assert any(c.startswith("update-ref") for c in calls)  # the shim saw the run's commit
    assert not [c for c in calls if " status" in f" {c}" or c.startswith("gc")], calls
    assert len(calls) <= MAX_GIT_PROCESSES, "\n".join(calls)


# `mlx run` in this process, then the store's pydantic models whose validators were built
BUILT_MODELS = """
import json, sys
from pydantic import BaseModel
from tui.cli import main

code = main(["run", "three", "--headless"])
found, todo = [], list(BaseModel.__subclasses__())
while todo:
    cls = todo.pop()
    todo += cls.__subclasses__()
    if cls.__module__.startswith("store.") and cls.__pydantic_complete__:
        found.append(cls.__name__)
print(json.dumps({"code": code, "built": sorted(set(found))}))
"""


def test_a_fully_cached_run_builds_validators_only_for_what_it_uses(project_dir: Path) -> None:
    write_pipeline(project_dir, "three", PIPELINE)
    commit_all(project_dir)
    mlx_cli(project_dir, "run", "three", "--headless")  # its records go to the index as written

    proc = subprocess.run([sys.executable, "-c", BUILT_MODELS], cwd=project_dir, env=mlx_env(),
                          capture_output=True, text=True, check=True)  # fmt: skip
    result = json.loads(proc.stdout.splitlines()[-1])

    assert result["code"] == 0
    built = set(result["built"])
    assert {"RunRecord", "StepRecord"} <= built  # the record it commits
    # never used by a cached run: the project file (read from its cache), other record kinds
    # (the first run's artifact versions were handed to the index by the run that made them)
    unused = {"ProjectConfig", "ArtifactVersionRecord", "ModelVersionRecord", "ModelConfig"}
    assert built & unused == set(), built
