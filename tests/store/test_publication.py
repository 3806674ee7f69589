"""Provisional vs published version numbers (real clones and a bare origin)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from _repo_helpers import Sandbox, record_model_version

from store.publication import publication, version_label
from store.sync import push
from tests.support import git

REPO = Path(__file__).resolve().parents[2]


def test_versions_are_provisional_until_pushed_and_final_without_a_remote(box: Sandbox) -> None:
    work = box.project()
    made = record_model_version(work, "iris")
    pub = publication(work)
    assert pub.remote == "origin"
    assert not pub.model_published("iris", made.model_version.version if made.model_version else 0)
    assert not pub.artifact_published("trained_model", 1)
    assert not pub.run_published(made.run.id)
    assert pub.model_label("iris", 1) == "v1*"

    push(work)
    pub = publication(work)
    assert pub.model_published("iris", 1) and pub.artifact_published("trained_model", 1)
    assert pub.model_label("iris", 1) == "v1" and not pub.any_provisional

    git(box.work, "remote", "remove", "origin")
    record_model_version(work, "iris")
    assert publication(work).model_published("iris", 2)  # nobody to disagree with
    assert version_label(3, published=False) == "v3*"


def test_cli_marks_provisional_versions_and_json_says_published(box: Sandbox) -> None:
    import os

    work = box.project()
    record_model_version(work, "iris")

    def mlx(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "tui.cli", *args], cwd=box.work,
                              env={**os.environ, "PYTHONPATH": str(REPO)},
                              capture_output=True, text=True, check=True)  # fmt: skip
        return proc.stdout

    assert "v1*" in mlx("model", "versions", "iris")
    assert "provisional" in mlx("model", "list")
    import json

    assert [v["published"] for v in json.loads(mlx("model", "versions", "iris", "--json"))] == [
        False
    ]
    assert json.loads(mlx("artifacts", "show", "trained_model", "--json"))["published"] is False
    push(work)
    assert json.loads(mlx("artifacts", "show", "trained_model", "--json"))["published"] is True
    assert "v1*" not in mlx("model", "versions", "iris")


def test_a_fresh_clone_points_at_mlx_pull(box: Sandbox) -> None:
    import os

    record_model_version(box.project(), "iris")
    push(box.project())
    clone = box.clone("fresh")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for args in (("runs", "list"), ("artifacts", "list")):
        proc = subprocess.run([sys.executable, "-m", "tui.cli", *args], cwd=clone, env=env,
                              capture_output=True, text=True, check=True)  # fmt: skip
        assert "`mlx pull origin`" in proc.stdout
