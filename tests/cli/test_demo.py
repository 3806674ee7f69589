"""The iris sample project end to end: `mlx demo`, promotion review, inference following it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.support import git, mlx_cli


def _runs(root: Path) -> list[dict]:
    proc = mlx_cli(root, "runs", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _show(root: Path, run_id: str) -> dict:
    proc = mlx_cli(root, "runs", "show", run_id, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_demo_runs_every_sample_pipeline(demo: Path) -> None:
    pipelines = {r["pipeline"]: r["status"] for r in _runs(demo)}
    assert pipelines == {
        "feature_engineering": "completed", "training": "completed",
        "train_and_promote": "completed", "do_predictions": "completed",
    }  # fmt: skip


def test_demo_leaves_the_working_tree_clean_and_the_repo_consistent(demo: Path) -> None:
    assert git(demo, "status", "--porcelain") == ""
    git(demo, "fsck", "--strict")


def test_demo_promotion_branch_changes_only_the_stage_line(demo: Path) -> None:
    branches = git(demo, "branch", "--list", "mlx/promote/*", "--format=%(refname:short)").split()
    assert branches == ["mlx/promote/iris_classifier/v1-production"]
    diff = git(demo, "diff", "-U0", f"{branches[0]}~1", branches[0])
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert changed == ["-# production = (unset)", "+production = 1"]  # its own slot, in place


def test_training_references_feature_datasets_instead_of_copying(demo: Path) -> None:
    runs = {r["pipeline"]: r["id"] for r in _runs(demo)}
    steps = {s["name"]: s for s in _show(demo, runs["training"])["steps"]}
    trainer, evaluator = steps["model_trainer"], steps["model_evaluator"]
    assert trainer["inputs"] == {"train": "iris_training_dataset:1"}
    assert evaluator["inputs"]["test"] == "iris_testing_dataset:1"
    names = {a["name"] for a in json.loads(mlx_cli(demo, "artifacts", "list", "--json").stdout)}
    assert "iris_training_dataset" in names and "external_model_trainer_train" not in names


def test_model_version_carries_accuracy_and_model_artifact(demo: Path) -> None:
    proc = mlx_cli(demo, "model", "versions", "iris_classifier", "--json")
    versions = json.loads(proc.stdout)
    assert [v["version"] for v in versions] == [1, 2]  # the demo trains a second one
    assert versions[0]["metadata"]["accuracy"] >= 0.9
    assert "trained_model" in versions[0]["model_artifacts"]
    assert versions[0]["stages"] == ["production"]
    # v2's model step came from the cache (training ran C=0.5 before): still a complete version
    assert "trained_model" in versions[1]["model_artifacts"] and versions[1]["stages"] == []
    assert versions[1]["metadata"]["accuracy"] >= 0.9


def test_inference_follows_a_newly_merged_promotion(demo_copy: Path, tmp_path: Path) -> None:
    work = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(demo_copy.with_name("iris-origin.git")), str(work))
    assert mlx_cli(work, "pull", "origin").returncode == 0
    env = {"HOME": os.environ["HOME"]}
    proc = mlx_cli(work, "run", "train_and_promote", "--headless", "-p", "C=2.0", env=env)
    assert proc.returncode == 0, proc.stderr
    branch = "mlx/promote/iris_classifier/v3-production"
    assert branch in git(work, "branch", "--list", "mlx/promote/*")
    # the promotion published the (provisional) runs and their bytes first: CI can check it now
    assert git(work, "rev-parse", "refs/mlx/runs").strip() == git(work, "ls-remote", "origin",
                                                         "refs/mlx/runs").split()[0]  # fmt: skip
    check = mlx_cli(work, "promotion", "check", "--base", "main", "--head", branch)
    assert check.returncode == 0, check.stdout
    assert mlx_cli(work, "push", "origin").returncode == 0
    git(work, "merge", "-q", "--ff-only", branch)
    proc = mlx_cli(work, "run", "do_predictions", "--headless", "--json")
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    versions = json.loads(mlx_cli(work, "model", "versions", "iris_classifier", "--json").stdout)
    v3 = next(v for v in versions if v["version"] == 3)
    assert v3["stages"] == ["production"]
    expected = v3["model_artifacts"]["trained_model"]
    assert run["model"] == {"name": "iris_classifier", "version": 3}
    predict = next(s for s in run["steps"] if s["name"] == "predict")
    assert predict["inputs"]["model"] == f"trained_model:{expected['version']}"
    log = mlx_cli(work, "runs", "logs", run["id"], "predict_from_context").stdout
    assert "<model iris_classifier:3>" in log
