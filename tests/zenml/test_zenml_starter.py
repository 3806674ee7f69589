"""ZenML's starter template runs on mlx after `mlx port`: every mode of its run.py, and its
promoter promotes. The template is read from shared/ at test time (see conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

from _zenml_helpers import python

from tests.support import commit_all, git, mlx_cli


def _ok(proc: object) -> str:
    out = getattr(proc, "stdout", "") + getattr(proc, "stderr", "")
    assert getattr(proc, "returncode", 1) == 0, out
    return out


def _runs(root: Path) -> list[dict[str, object]]:
    return list(json.loads(_ok(mlx_cli(root, "runs", "list", "--json"))))


def test_ported_starter_runs_every_mode_and_its_promoter_promotes(starter: Path) -> None:
    out = _ok(mlx_cli(starter, "port"))
    assert "breast_cancer_classifier" in out
    assert "zenml" not in (starter / "steps" / "model_promoter.py").read_text()
    commit_all(starter, "port to mlx")

    out = _ok(python(starter, "run.py", "--feature-pipeline"))
    assert "Feature Engineering pipeline finished successfully!" in out
    assert "Train Dataset - Name: dataset_trn, Version Name: 1" in out

    out = _ok(python(starter, "run.py", "--training-pipeline"))
    assert "Training pipeline with SGD finished successfully!" in out
    assert "Training pipeline with RF finished successfully!" in out
    versions = json.loads(_ok(mlx_cli(starter, "model", "versions", "breast_cancer_classifier",
                                      "--json")))  # fmt: skip
    assert len(versions) == 2
    # the promoter set a stage with a commit on the branch (promotion = "direct")
    log = git(starter, "log", "--format=%s")
    assert "mlx: promote breast_cancer_classifier v" in log
    stages = (starter / "models" / "breast_cancer_classifier.toml").read_text()
    assert "production = " in stages

    out = _ok(python(starter, "run.py", "--inference-pipeline"))
    assert "Inference pipeline finished successfully!" in out
    runs = _runs(starter)
    assert [r["pipeline"] for r in runs] == ["inference", "training", "training",
                                             "feature_engineering"]  # fmt: skip
    assert {r["status"] for r in runs} == {"completed"}

    # the versioned-datasets mode of run.py (artifact versions passed by id)
    out = _ok(python(starter, "run.py", "--training-pipeline", "--train-dataset-version-name=1",
                     "--test-dataset-version-name=1"))  # fmt: skip
    assert "Training pipeline with RF finished successfully!" in out
