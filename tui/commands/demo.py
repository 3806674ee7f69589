"""``mlx demo [DIR]``: the whole workflow on the iris sample project, end to end.

Copies ``sample_project/`` into a fresh git + DVC repository with a bare git "origin" and a
local-directory DVC remote beside it, then: runs feature engineering and training, trains and
proposes a model for production (a promotion branch), pushes runs and artifacts, checks the
promotion as CI would, merges it, runs batch inference on the production model, and trains a
second version to compare with the first (so the README's model examples have two versions).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from store.errors import MlxError

__all__ = ["cmd_demo", "sample_project_dir"]


def sample_project_dir() -> Path:
    """The sample project shipped with mlx (in the source tree next to the packages)."""
    here = Path(__file__).resolve().parents[2] / "sample_project"
    if (here / "mlx.toml").is_file():
        return here
    raise MlxError(f"the sample project was not found at {here}; install mlx from a clone "
                   "(`pip install -e .`) to use `mlx demo`")  # fmt: skip


def _say(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def _sh(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    proc = subprocess.run(args, cwd=cwd, text=True, capture_output=True, env=env)
    if check and proc.returncode != 0:
        raise MlxError(f"demo step `{' '.join(args)}` failed in {cwd}:\n{proc.stdout}{proc.stderr}")
    return proc


def _mlx(cwd: Path, *args: str) -> None:
    """Run an mlx command of the demo, showing its output."""
    print(f"$ mlx {' '.join(args)}", flush=True)
    proc = subprocess.run([sys.executable, "-m", "tui.cli", *args], cwd=cwd,
                          env={**os.environ, "DVC_NO_ANALYTICS": "1"})  # fmt: skip
    if proc.returncode != 0:
        raise MlxError(f"demo step `mlx {' '.join(args)}` failed (exit {proc.returncode})")


def _identity(cwd: Path) -> None:
    """The demo commits; give the demo repository an identity if git has none."""
    if _sh(["git", "var", "GIT_COMMITTER_IDENT"], cwd, check=False).returncode != 0:
        _sh(["git", "config", "user.name", "mlx demo"], cwd)
        _sh(["git", "config", "user.email", "demo@mlx.invalid"], cwd)


def cmd_demo(args: argparse.Namespace) -> int:
    target = Path(args.dir).resolve()
    if target.exists() and any(target.iterdir()):
        raise MlxError(f"{target} exists and is not empty; choose a new directory "
                       "(e.g. `mlx demo mlx-demo-2`)")  # fmt: skip
    origin = target.with_name(target.name + "-origin.git")
    storage = target.with_name(target.name + "-dvc-storage")
    for path in (origin, storage):
        if path.exists():
            raise MlxError(f"{path} already exists; remove it or choose another demo directory")
    _say(f"creating the iris project in {target}")
    shutil.copytree(sample_project_dir(), target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
    _sh(["git", "init", "-q", "-b", "main"], target)
    _identity(target)
    _sh([sys.executable, "-m", "dvc", "init", "-q"], target)
    storage.mkdir(parents=True)
    _sh([sys.executable, "-m", "dvc", "remote", "add", "-d", "storage", str(storage)], target)
    _sh(["git", "init", "-q", "--bare", "-b", "main", str(origin)], target)
    _sh(["git", "remote", "add", "origin", str(origin)], target)
    _sh(["git", "add", "-A"], target)
    _sh(["git", "commit", "-qm", "iris sample project"], target)
    _sh(["git", "push", "-q", "origin", "main"], target)
    print(f"git origin: {origin}\nDVC remote: {storage}")

    _say("feature engineering, then training on its datasets (fetched by name)")
    _mlx(target, "run", "feature_engineering", "--headless")
    _mlx(target, "run", "training", "--headless", "-p", "C=0.5")
    _say("train a new iris_classifier version and propose it for production")
    _mlx(target, "run", "train_and_promote", "--headless")
    _mlx(target, "model", "show", "iris_classifier")
    branch = _promotion_branch(target)

    _say("publish runs and artifacts: DVC objects first, then refs/mlx/runs")
    _mlx(target, "push", "origin")
    _say(f"CI reviews the pull request of {branch}")
    _mlx(target, "promotion", "check", "--base", "main", "--head", branch)
    _say(f"merge the promotion ({branch}) into main")
    _sh(["git", "merge", "-q", "--ff-only", branch], target)
    _sh(["git", "push", "-q", "origin", "main"], target)
    print(_sh(["git", "log", "-1", "-p", "--format=%h %s", "--", "models/"], target).stdout)

    _say("batch inference with the production model")
    _mlx(target, "run", "do_predictions", "--headless")
    _say("train a second version (C=0.5, its model step comes from the cache) and compare")
    _mlx(target, "run", "train_and_promote", "--headless", "-p", "C=0.5", "-p", "threshold=1.5")
    _mlx(target, "model", "compare", "iris_classifier", "1", "2")
    _mlx(target, "push", "origin")
    _mlx(target, "runs", "list")
    _say("done")
    print(f"explore it:  cd {target} && mlx")
    return 0


def _promotion_branch(root: Path) -> str:
    out = _sh(["git", "branch", "--list", "mlx/promote/*", "--format=%(refname:short)"], root)
    branches = out.stdout.split()
    if not branches:
        raise MlxError("train_and_promote proposed no promotion (accuracy below threshold?)")
    return branches[-1]
