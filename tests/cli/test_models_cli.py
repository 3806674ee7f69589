"""`mlx model ...`, `mlx promotion check`, `mlx push` / `mlx pull` on the demo project."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import git, mlx_cli


def test_model_list_shows_stage_holders(demo: Path) -> None:
    proc = mlx_cli(demo, "model", "list")
    assert proc.returncode == 0
    assert "iris_classifier" in proc.stdout and "production=v1" in proc.stdout


def test_model_show_lists_versions_with_metrics(demo: Path) -> None:
    proc = mlx_cli(demo, "model", "show", "iris_classifier")
    assert "ACCURACY" in proc.stdout and "v1" in proc.stdout and "accuracy >= 0.9" in proc.stdout


def test_unknown_model_suggests_the_known_one(demo: Path) -> None:
    proc = mlx_cli(demo, "model", "show", "iris_clasifier")
    assert proc.returncode == 2
    assert "did you mean 'iris_classifier'" in proc.stderr


def test_compare_two_versions_shows_metrics_side_by_side(demo_copy: Path) -> None:
    assert mlx_cli(demo_copy, "run", "train_and_promote", "-p", "C=0.05", "-p",
                   "threshold=1.5").returncode == 0  # fmt: skip
    proc = mlx_cli(demo_copy, "model", "compare", "iris_classifier", "1", "2")
    assert proc.returncode == 0, proc.stderr
    assert "metric accuracy" in proc.stdout and "v1" in proc.stdout and "v2" in proc.stdout
    assert "artifact trained_model" in proc.stdout


def test_promote_creates_branch_and_writes_body_file(demo_copy: Path) -> None:
    head = git(demo_copy, "rev-parse", "HEAD")
    body = demo_copy.parent / "body.md"
    proc = mlx_cli(demo_copy, "model", "promote", "iris_classifier", "1", "--to", "staging",
                   "--body-file", str(body))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "mlx/promote/iris_classifier/v1-staging" in proc.stderr
    assert "iris_classifier" in body.read_text() and "staging" in body.read_text()
    assert git(demo_copy, "rev-parse", "HEAD") == head
    assert git(demo_copy, "status", "--porcelain") == ""
    diff = git(demo_copy, "diff", "-U0", "main", "mlx/promote/iris_classifier/v1-staging")
    assert "+staging = 1" in diff and diff.count("\n+") == 2  # the +++ header and the line


def test_direct_promotion_commits_on_the_current_branch(demo_copy: Path) -> None:
    proc = mlx_cli(demo_copy, "model", "promote", "iris_classifier", "1", "--to", "staging",
                   "--direct")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "staging = 1" in (demo_copy / "models/iris_classifier.toml").read_text()
    assert git(demo_copy, "log", "-1", "--format=%s").startswith("mlx: promote")
    assert git(demo_copy, "status", "--porcelain") == ""


def test_promotion_to_an_occupied_stage_needs_force(demo_copy: Path) -> None:
    assert mlx_cli(demo_copy, "run", "train_and_promote", "-p", "threshold=1.5").returncode == 0
    proc = mlx_cli(demo_copy, "model", "promote", "iris_classifier", "2", "--to", "production")
    assert proc.returncode == 2 and "--force" in proc.stderr


def test_promotion_check_fails_for_a_missing_version(demo_copy: Path) -> None:
    toml = demo_copy / "models/iris_classifier.toml"
    toml.write_text(toml.read_text().replace("production = 1", "production = 7"))
    git(demo_copy, "commit", "-qam", "bad promotion")
    proc = mlx_cli(demo_copy, "promotion", "check", "--base", "HEAD~1")
    assert proc.returncode == 1
    assert "FAIL" in proc.stdout and "version 7" in proc.stdout


def test_fresh_clone_pulls_runs_and_loads_artifacts(demo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(demo.with_name("iris-origin.git")), str(clone))
    assert json.loads(mlx_cli(clone, "runs", "list", "--json").stdout) == []
    assert mlx_cli(clone, "pull", "origin").returncode == 0
    assert len(json.loads(mlx_cli(clone, "runs", "list", "--json").stdout)) == 5
    dest = tmp_path / "t.parquet"
    proc = mlx_cli(clone, "artifacts", "export", "iris_testing_dataset:1", str(dest))
    assert proc.returncode == 0, proc.stderr
    assert dest.stat().st_size > 0
