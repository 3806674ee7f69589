"""Gates hold at every promotion path (CLI branch and direct, ``Model.set_stage``); --force is
recorded; stage names are checked; ``mlx model register`` creates the model file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.support import commit_all, git, mlx_cli, mlx_ok, mlx_run_json, write_pipeline

MODEL_PIPELINE = """
from typing import Annotated

from engine import Model, get_step_context, log_metadata, pipeline, step


@step
def train(acc: float) -> Annotated[list[float], "weights"]:
    log_metadata({"accuracy": acc}, infer_model=True)
    return [acc, 1.0 - acc]


@step(enable_cache=False)
def propose(weights: list[float], stage: str, force: bool) -> None:
    if stage:
        get_step_context().model.set_stage(stage, force=force)


@pipeline(model=Model(name="clf"))
def fit(acc: float = 0.5, stage: str = "", force: bool = False) -> None:
    propose(train(acc=acc), stage=stage, force=force)
"""


@pytest.fixture
def clf(project_dir: Path) -> Path:
    """A project whose `fit` pipeline makes versions of model `clf` (gate: accuracy >= 0.9)."""
    write_pipeline(project_dir, "fit", MODEL_PIPELINE)
    mlx_ok(project_dir, "model", "register", "clf", "--gate", "accuracy >= 0.9",
           "--description", "a tiny classifier")  # fmt: skip
    commit_all(project_dir, "clf")
    mlx_run_json(project_dir, "fit", "-p", "acc=0.5")  # v1 fails the gate
    return project_dir


def branches(root: Path) -> str:
    return git(root, "branch", "--list", "mlx/*").strip()


def test_register_writes_a_valid_model_file(clf: Path) -> None:
    data = tomllib.loads((clf / "models" / "clf.toml").read_text())
    assert data == {"description": "a tiny classifier", "gates": {"accuracy": ">= 0.9"},
                    "stages": {}}  # fmt: skip
    again = mlx_cli(clf, "model", "register", "clf")
    assert again.returncode == 2 and "exists already" in again.stderr
    bad = mlx_cli(clf, "model", "register", "other", "--gate", "accuracy about 0.9")
    assert bad.returncode == 2 and "invalid gate 'accuracy about 0.9'" in bad.stderr


@pytest.mark.parametrize("how", [[], ["--direct"]])
def test_cli_refuses_a_failing_gate_with_exit_1(clf: Path, how: list[str]) -> None:
    head = git(clf, "rev-parse", "HEAD")
    proc = mlx_cli(clf, "model", "promote", "clf", "1", "--to", "staging", *how)
    assert proc.returncode == 1, proc.stderr
    assert "fails its gates: accuracy >= 0.9 (got 0.5)" in proc.stderr
    assert branches(clf) == "" and git(clf, "rev-parse", "HEAD") == head
    assert git(clf, "status", "--porcelain") == ""


def test_cli_refuses_a_missing_gated_metric(clf: Path) -> None:
    path = clf / "models" / "clf.toml"
    path.write_text(path.read_text().replace('accuracy = ">= 0.9"', 'f1 = ">= 0.5"'))
    commit_all(clf, "gate on f1")
    proc = mlx_cli(clf, "model", "promote", "clf", "1", "--to", "staging")
    assert proc.returncode == 1 and "f1 >= 0.5 (got missing)" in proc.stderr


@pytest.mark.parametrize("how", [[], ["--direct"]])
def test_cli_force_is_written_into_commit_and_pr_text(clf: Path, how: list[str]) -> None:
    proc = mlx_ok(clf, "model", "promote", "clf", "1", "--to", "staging", "--force", *how)
    assert "forced past failing gates: accuracy >= 0.9 (got 0.5)" in proc.stderr
    ref = "HEAD" if how else "mlx/promote/clf/v1-staging"
    message = git(clf, "log", "-1", "--format=%B", ref)
    assert "(forced past failing gates)" in message and "accuracy >= 0.9 (got 0.5)" in message
    assert "Forced with --force" in proc.stdout  # the PR text


def test_set_stage_in_a_step_is_refused_by_the_gates(clf: Path) -> None:
    proc = mlx_cli(clf, "run", "fit", "-p", "acc=0.5", "-p", "stage=staging", "--headless")
    assert proc.returncode == 0, proc.stderr  # the run itself is fine; the promotion is not
    assert "promotion clf:2 -> staging refused: version 2 of model 'clf' fails its gates" in (
        proc.stderr
    )
    assert branches(clf) == ""
    mlx_ok(clf, "run", "fit", "-p", "acc=0.95", "-p", "stage=staging", "--headless")
    assert branches(clf) == "mlx/promote/clf/v3-staging"
    mlx_ok(clf, "run", "fit", "-p", "acc=0.4", "-p", "stage=production", "-p", "force=true",
           "--headless")  # fmt: skip
    assert "mlx/promote/clf/v4-production" in branches(clf)
    assert "forced" in git(clf, "log", "-1", "--format=%s", "mlx/promote/clf/v4-production")


def test_unknown_stage_is_refused_with_did_you_mean(clf: Path) -> None:
    proc = mlx_cli(clf, "model", "promote", "clf", "1", "--to", "stagin", "--force")
    assert proc.returncode == 2 and "did you mean 'staging'" in proc.stderr
    assert branches(clf) == ""


def test_model_without_a_file_names_the_register_command(clf: Path) -> None:
    git(clf, "rm", "-q", "models/clf.toml")
    commit_all(clf, "drop the model file")
    proc = mlx_cli(clf, "model", "promote", "clf", "1", "--to", "staging", "--force")
    assert proc.returncode == 2 and "mlx model register clf" in proc.stderr
    assert "mlx model register clf" in mlx_ok(clf, "model", "show", "clf").stdout
    run = mlx_cli(clf, "run", "fit", "-p", "stage=staging", "--headless")
    assert run.returncode == 1 and "mlx model register clf" in run.stderr
