"""Code state of a run (dirty files + stored patch), --require-clean, and `mlx runs reproduce`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import commit_all, git, mlx_cli, mlx_json, mlx_run_json, runs_tip, write_pipeline

PIPELINE = """
from typing import Annotated

from engine import pipeline, step
from pipelines.helpers import offset
import mathlib


@step
def make(n: int) -> Annotated[list[float], "numbers"]:
    return [mathlib.halve(i) + offset() for i in range(n)]


@step
def total(numbers: list[float]) -> Annotated[float, "sum"]:
    return sum(numbers)


@pipeline
def repro(n: int = 4) -> None:
    total(make(n))
"""


@pytest.fixture
def dirty(project_dir: Path) -> Path:
    """A committed pipeline that imports an untracked module in pipelines/ and one at the root."""
    write_pipeline(project_dir, "repro", PIPELINE)
    commit_all(project_dir, "repro pipeline (its helpers are not committed)")
    helpers = project_dir / "pipelines" / "helpers.py"
    helpers.write_text("def offset() -> float:\n    return 1.0\n")
    (project_dir / "mathlib.py").write_text("def halve(x: int) -> float:\n    return x / 2\n")
    return project_dir


def test_untracked_imported_modules_make_a_dirty_run_with_a_patch(dirty: Path) -> None:
    run = mlx_run_json(dirty, "repro", "-p", "n=5")
    code = run["code"]
    assert code["dirty"] is True
    assert code["dirty_files"] == ["mathlib.py", "pipelines/helpers.py"]
    assert code["patch"]["md5"] and code["commit"] == git(dirty, "rev-parse", "HEAD").strip()
    shown = mlx_cli(dirty, "runs", "show", run["id"][:8]).stdout
    assert "changed   mathlib.py, pipelines/helpers.py (patch stored" in shown


def test_require_clean_refuses_a_dirty_tree_and_accepts_a_clean_one(dirty: Path) -> None:
    proc = mlx_cli(dirty, "run", "repro", "--headless", "--require-clean")
    assert proc.returncode == 1
    assert "local changes: mathlib.py, pipelines/helpers.py" in proc.stderr
    assert runs_tip(dirty) is None  # nothing ran, nothing was recorded
    commit_all(dirty, "helpers")
    run = mlx_run_json(dirty, "repro", "--require-clean")
    assert run["code"]["dirty"] is False and run["code"]["patch"] is None


def test_reproduce_rebuilds_the_exact_code_and_matches_byte_for_byte(dirty: Path) -> None:
    changed = PIPELINE.replace("n: int = 4", "n: int = 6")
    changed = changed.replace("@pipeline\n", '@pipeline(run_name="nightly")\n')  # a unique name
    (dirty / "pipelines" / "repro.py").write_text(changed)
    run = mlx_run_json(dirty, "repro")  # a tracked edit and two untracked modules
    assert run["code"]["dirty_files"] == [
        "mathlib.py", "pipelines/helpers.py", "pipelines/repro.py"]  # fmt: skip
    # the user's tree moves on: the reproduction must not depend on it
    (dirty / "mathlib.py").write_text("def halve(x: int) -> float:\n    return x / 3\n")
    status = git(dirty, "status", "--porcelain")
    result = mlx_json(dirty, "runs", "reproduce", run["id"][:8], "--json")

    assert result["ok"] is True and result["status"] == "completed"
    assert [(o["step"], o["output"], o["matches"]) for o in result["outputs"]] == [
        ("make", "numbers", True), ("total", "sum", True)]  # fmt: skip
    assert all(o["original"] == o["reproduced"] for o in result["outputs"])
    again = mlx_json(dirty, "runs", "show", result["run"], "--json")
    assert again["config"]["reproduces"] == run["id"]
    first = mlx_json(dirty, "runs", "show", run["id"], "--json")
    assert (first["name"], again["name"]) == ("nightly", f"nightly-reproduced-{again['id'][:8]}")
    assert {s["status"] for s in again["steps"]} == {"completed"}  # cache off
    assert git(dirty, "status", "--porcelain") == status  # the user's tree is untouched
    assert len(git(dirty, "worktree", "list").splitlines()) == 1  # the temporary one is gone


def test_reproduce_reports_outputs_that_differ(dirty: Path) -> None:
    commit_all(dirty, "helpers")
    (dirty / "pipelines" / "helpers.py").write_text(
        "import random\n\ndef offset() -> float:\n    return random.random()\n"
    )
    commit_all(dirty, "a random offset")
    run = mlx_run_json(dirty, "repro")
    proc = mlx_cli(dirty, "runs", "reproduce", run["id"])
    assert proc.returncode == 1
    assert "DIFFERS" in proc.stdout and "0/2 outputs identical" in proc.stdout
