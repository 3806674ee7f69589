"""Hostile records: what an attacker with push access to ``refs/mlx/runs`` and the DVC remote can
do to a teammate's clean clone. Everything is pushed with git plumbing to a bare origin (and raw
files into the local DVC remote), then pulled into a fresh clone that runs the real CLI.

No code runs (a pickle payload would create a marker file), no file outside the clone changes,
every command keeps working, and the checks fail where they should.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from _repo_helpers import IRIS_TOML, Sandbox, record_model_version

from store.project import Project
from store.sync import push
from tests.support import git, mlx_cli

NOW = "2026-01-01T00:00:00+00:00"
TINY = """\
from typing import Annotated
from engine import pipeline, step

@step
def one() -> Annotated[int, "one"]:
    return 1

@pipeline
def tiny() -> None:
    one()
"""


class Payload:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _to_dvc_remote(box: Sandbox, data: bytes) -> dict[str, object]:
    """Put raw bytes into the DVC remote under their md5; return the pointer."""
    md5 = hashlib.md5(data).hexdigest()
    path = box.dvc_remote / "files" / "md5" / md5[:2] / md5[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"md5": md5, "size": len(data), "hash": "md5"}


def _plumb(repo: Path, files: dict[str, bytes]) -> None:
    """Commit ``files`` onto refs/mlx/runs with git plumbing and push it to origin."""
    index = repo / ".git" / "hostile-index"
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    parent = git(repo, "rev-parse", "-q", "--verify", "refs/mlx/runs")

    def run(*args: str, data: bytes | None = None) -> str:
        proc = subprocess.run(["git", *args], cwd=repo, env=env, input=data, capture_output=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.decode().strip()

    run("read-tree", parent)
    for path, data in files.items():
        blob = run("hash-object", "-w", "--stdin", data=data)
        run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
    tree = run("write-tree")
    commit = run("commit-tree", tree, "-p", parent, "-m", "hostile")
    run("update-ref", "refs/mlx/runs", commit)
    run("push", "-q", "origin", "refs/mlx/runs:refs/mlx/runs")
    index.unlink()


def _artifact(name: str, version: int, pointer: dict[str, object], **extra: object) -> bytes:
    record = {
        "id": uuid.uuid4().hex, "name": name, "version": version, "type": "builtins.dict",
        "materializer": "engine.materializers.builtin.JsonMaterializer", "pointer": pointer,
        "run_id": None, "created_at": NOW, **extra,
    }  # fmt: skip
    return json.dumps(record).encode()


def _outside(box: Sandbox) -> dict[str, str]:
    """Checksums of every file of the sandbox outside the victim's clone and git's own dirs."""
    files = {}
    for path in sorted(box.base.rglob("*")):
        rel = path.relative_to(box.base)
        if path.is_file() and rel.parts[0] not in ("victim", "home", "origin.git", "work"):
            files[str(rel)] = hashlib.md5(path.read_bytes()).hexdigest()
    return files


@pytest.fixture
def attacked(box: Sandbox) -> tuple[Sandbox, Path, Path]:
    """An attacker's clone pushed hostile-but-valid records; a victim cloned and pulled them.

    Returns the sandbox, the victim's clone and the marker path a payload would create.
    """
    (box.work / "pipelines").mkdir()
    (box.work / "pipelines" / "tiny.py").write_text(TINY)
    (box.work / "stacks").mkdir()
    (box.work / "stacks" / "local.toml").write_text('[orchestrator]\nflavor = "local"\n')
    git(box.work, "add", "-A")
    git(box.work, "commit", "-qm", "a pipeline")
    git(box.work, "push", "-q", "origin", "main")
    attacker = box.project()
    record_model_version(attacker, "iris", {"accuracy": 0.95}, seed="good")
    record_model_version(attacker, "iris", {"accuracy": 0.5}, seed="weak")
    push(attacker)

    marker = box.base / "pwned"
    evil = _to_dvc_remote(box, pickle.dumps(Payload(marker), protocol=5))
    zen = _to_dvc_remote(box, b'{"a": 1}')
    swapped = _to_dvc_remote(box, b'{"c": 3}')  # then other bytes under that md5's name:
    remote_object = box.dvc_remote / "files" / "md5" / str(swapped["md5"])[:2]
    (remote_object / str(swapped["md5"])[2:]).write_bytes(b'{"c": 666}')
    forged_version = {
        "id": uuid.uuid4().hex, "name": "iris", "version": 3, "created_at": NOW,
        "metadata": {"accuracy": 0.99}, "run_id": None,
    }  # fmt: skip
    _plumb(box.work, {
        "artifacts/evil/0/1.json": _artifact(
            "evil", 1, evil, materializer="engine.materializers.pickle.PickleMaterializer"),
        "artifacts/zen/0/1.json": _artifact("zen", 1, zen, type="this.Nope"),
        "artifacts/swapped/0/1.json": _artifact("swapped", 1, swapped),
        "models/iris/0/3.json": json.dumps(forged_version).encode(),
    })  # fmt: skip
    victim = box.clone("victim")
    result = mlx_cli(victim, "pull")
    assert result.returncode == 0, result.stderr
    (box.base / "victim.txt").write_text("the victim's file\n")
    return box, victim, marker


def test_a_pickle_payload_never_runs_on_load_preview_or_show(
    attacked: tuple[Sandbox, Path, Path],
) -> None:
    box, victim, marker = attacked
    outside = _outside(box)
    code = (
        "import sys\n"
        "from engine import Client\n"
        "from store.trust import UntrustedPickleError\n"
        "from store.errors import MaterializerError\n"
        "from tui.services import Services\n"
        "client = Client()\n"
        "try:\n"
        "    client.get_artifact_version('evil').load()\n"
        "except UntrustedPickleError as exc:\n"
        "    print('refused:', exc)\n"
        "print('preview:', Services(client.project).preview_data("
        "client.project.index.artifact_json('evil')).caption)\n"
        "try:\n"
        "    client.get_artifact_version('zen').load()\n"
        "except MaterializerError as exc:\n"
        "    print('zen refused:', exc)\n"
        "print('this imported:', 'this' in sys.modules)\n"
        "from store.errors import ArtifactError\n"
        "try:\n"
        "    print('swapped loaded:', client.get_artifact_version('swapped').load())\n"
        "except ArtifactError as exc:\n"
        "    print('swapped refused:', exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=victim, env=env, capture_output=True, text=True
    )

    assert proc.returncode == 0, proc.stderr
    assert "refused: artifact evil:1 is a pickle" in proc.stdout
    assert "allow_pickle_from" in proc.stdout
    assert "not previewed, loading it would run code" in proc.stdout
    assert "zen refused: type 'this.Nope' is not loaded" in proc.stdout
    assert "this imported: False" in proc.stdout and "Beautiful is better" not in proc.stdout
    assert "swapped refused:" in proc.stdout and "do not match their md5" in proc.stdout
    after = _outside(box)
    assert after == outside, set(after.items()) ^ set(outside.items())  # nothing deleted
    show = mlx_cli(victim, "artifacts", "show", "evil")
    assert show.returncode == 0, show.stderr
    assert not marker.exists()


def test_forged_versions_and_gate_lowering_prs_fail_the_check(
    attacked: tuple[Sandbox, Path, Path],
) -> None:
    box, victim, marker = attacked
    for branch, stage, gates in (
        ("forged", "production = 3", None),  # the hand-made record, no run behind it
        ("lowered", "production = 2", 'accuracy = ">= 0.1"'),  # weak v2, gate lowered
        ("dropped", "production = 2", ""),  # weak v2, gate deleted
    ):
        git(victim, "checkout", "-qb", branch, "origin/main")
        text = IRIS_TOML.replace("production = 1", stage)
        if gates is not None:
            text = text.replace('accuracy = ">= 0.9"', gates)
        (victim / "models" / "iris.toml").write_text(text)
        git(victim, "commit", "-qam", f"promote ({branch})")

        result = mlx_cli(victim, "promotion", "check", "--base", "origin/main")

        assert result.returncode == 1, (branch, result.stdout, result.stderr)
        out = result.stdout
        if branch == "forged":
            assert "names no run" in out
        else:
            assert "gate failed: accuracy >= 0.9 (got 0.5)" in out and "changes the gates" in out
        assert "recorded by" in out
    assert not marker.exists()


def test_invalid_records_are_refused_at_pull_and_skipped_when_present(
    attacked: tuple[Sandbox, Path, Path],
) -> None:
    box, victim, marker = attacked
    before = git(victim, "rev-parse", "refs/mlx/runs")
    good = _to_dvc_remote(box, b'{"b": 2}')
    traversal = {"md5": "1e/../../../../victim.txt", "size": 1, "hash": "md5"}
    nul_run = {
        "id": "ab" + uuid.uuid4().hex[2:], "pipeline": "x", "status": "completed",
        "started_at": NOW,
        "steps": [{"name": "s", "status": "completed",
                   "outputs": {"a\u0000b": {"id": uuid.uuid4().hex, "name": "y"}}}],
    }  # fmt: skip
    hostile = {
        "artifacts/trav/0/1.json": _artifact("trav", 1, traversal),
        "artifacts/dots/0/1.json": _artifact("..", 1, good),
        f"runs/ab/{nul_run['id']}.json": json.dumps(nul_run).encode(),
        "runs/cd/cdef.json": b'{"pipeline": "x"}',
        "runs/ef/ef01.json": b"\xff not json",
    }
    _plumb(box.work, hostile)
    outside = _outside(box)  # the DVC remote, victim.txt: nothing there may change

    refused = mlx_cli(victim, "pull", "--all")

    assert refused.returncode == 1
    for path in hostile:
        assert path in refused.stderr
    assert git(victim, "rev-parse", "refs/mlx/runs") == before

    # Already present (e.g. pulled by an older mlx): skipped with a warning, never fatal.
    git(victim, "update-ref", "refs/mlx/runs", "refs/remotes/origin/mlx/runs")
    first = mlx_cli(victim, "runs", "list")
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("mlx: warning: skipped invalid record") == 1
    for args in (("artifacts", "list"), ("model", "versions", "iris"), ("pull", "--all"),
                 ("run", "tiny", "--headless"), ("runs", "list")):  # fmt: skip
        result = mlx_cli(victim, *args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
    listed = [r.path for r in Project(victim).index.invalid_records()]
    assert sorted(listed) == sorted(hostile)
    assert _outside(box) == outside and (box.base / "victim.txt").exists()
    assert not marker.exists()
