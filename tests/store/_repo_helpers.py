"""Real git + DVC sandboxes for the models, promotion and sync tests (no mocks).

A sandbox is a directory holding a bare ``origin.git``, a local-directory DVC remote
``dvc-remote`` and a work clone ``work`` (mlx.toml, two model configs, one commit pushed to
origin). Its DVC remote URL is relative (``../../dvc-remote``), so every clone made next to
``work`` shares it. A template is built once per test module and copied per test.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from store.project import Project
from store.recorder import CommittedRun, commit_run
from store.records import ArtifactRef, CodeRef, ModelRef, RunRecord, StepRecord
from tests.support import git, isolate, isolated_environ, prepare_home, sh

IRIS_TOML = """\
# The iris classifier: which version serves where.
description = "Classifies irises"  # shown in the TUI
tags = ["demo"]

[gates]
accuracy = ">= 0.9"  # agreed with the product team

[stages]
# One line per stage, blank lines between: promotions to different stages merge cleanly.
# production is what the API serves
production = 1  # first release

# staging = (unset)

# archived = (unset)
"""

#: The same file as older versions (and hand edits) laid it out: no slots, no blank lines.
OLD_IRIS_TOML = """\
# The iris classifier: which version serves where.
description = "Classifies irises"  # shown in the TUI
tags = ["demo"]

[gates]
accuracy = ">= 0.9"  # agreed with the product team

[stages]
# production is what the API serves
production = 1  # first release
"""

PLAIN_TOML = """\
description = "No stages yet"

[gates]
f1 = "> 0.5"
"""


def build_template(base: Path) -> Path:
    """Create ``base/{origin.git,dvc-remote,work}``; return ``base``."""
    prepare_home(base / "home")
    env = isolated_environ(base / "home")
    (base / "dvc-remote").mkdir()
    sh(base, "git", "init", "-q", "--bare", "-b", "main", "origin.git", env=env)
    work = base / "work"
    work.mkdir()
    sh(work, "git", "init", "-q", "-b", "main", env=env)
    sh(work, sys.executable, "-m", "dvc", "init", "-q", env=env)
    sh(
        work,
        sys.executable,
        "-m",
        "dvc",
        "remote",
        "add",
        "-d",
        "store",
        "../dvc-remote",  # relative to the work tree; DVC stores it relative to .dvc/
        env=env,
    )
    (work / "mlx.toml").write_text('[project]\nname = "demo"\n')
    (work / "models").mkdir()
    (work / "models" / "iris.toml").write_text(IRIS_TOML)
    (work / "models" / "plain.toml").write_text(PLAIN_TOML)
    sh(work, "git", "add", "-A", env=env)
    sh(work, "git", "commit", "-q", "-m", "init", env=env)
    return base


@dataclass
class Sandbox:
    base: Path

    @property
    def work(self) -> Path:
        return self.base / "work"

    @property
    def origin(self) -> Path:
        return self.base / "origin.git"

    @property
    def dvc_remote(self) -> Path:
        return self.base / "dvc-remote"

    def project(self, repo: Path | None = None) -> Project:
        return Project(repo or self.work)

    def clone(self, name: str) -> Path:
        git(self.base, "clone", "-q", str(self.origin), name)
        return self.base / name


def make_sandbox(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Copy the template to ``tmp_path/sb``, wire origin, push main; isolate the environment."""
    isolate(monkeypatch, tmp_path / "home")
    base = tmp_path / "sb"
    shutil.copytree(template, base, symlinks=True)
    box = Sandbox(base)
    git(box.work, "remote", "add", "origin", str(box.origin))
    git(box.work, "push", "-q", "origin", "main")
    return box


# -- records -------------------------------------------------------------------------------
def _now() -> str:
    return datetime.now(UTC).isoformat()


def save_bytes(project: Project, payload: bytes) -> dict[str, Any]:
    """Save ``payload`` into the project's DVC cache; return its pointer as a dict."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "value.bin"
        path.write_bytes(payload)
        return project.artifacts.save(path).model_dump()


def record_run(
    project: Project,
    outputs: dict[str, bytes] | None = None,
    *,
    pipeline: str = "training",
    model: str | None = None,
    metrics: dict[str, Any] | None = None,
    model_outputs: tuple[str, ...] = ("trained_model",),
    between: Callable[[], object] | None = None,
) -> CommittedRun:
    """Commit a completed one-step run producing ``outputs`` (and a model version if asked).

    ``between`` is called after the outputs are saved and before the run is committed (the
    rest of a run's work, during which a concurrent gc must not lose the saved bytes).
    """
    run_id = uuid.uuid4().hex
    drafts, refs = [], {}
    for name, payload in (outputs or {}).items():
        art_id = uuid.uuid4().hex
        is_model = model is not None and name in model_outputs
        drafts.append(
            {
                "id": art_id, "name": name, "type": "builtins.bytes",
                "materializer": "engine.materializers.BytesMaterializer",
                "pointer": save_bytes(project, payload), "run_id": run_id, "step": "train",
                "output": name, "created_at": _now(), "is_model_artifact": is_model,
                "model": {"name": model, "version": None} if is_model else None,
            }
        )  # fmt: skip
        refs[name] = ArtifactRef(id=art_id, name=name)
    head = project.git.head_commit()
    run = RunRecord(
        id=run_id, pipeline=pipeline, status="completed", started_at=datetime.now(UTC),
        finished_at=datetime.now(UTC), code=CodeRef(commit=head, branch="main"),
        steps=[StepRecord(name="train", status="completed", outputs=refs,
                          model_metadata=metrics or {})],
        model=ModelRef(name=model) if model else None,
    )  # fmt: skip
    version = None
    if model is not None:
        version = {
            "id": uuid.uuid4().hex, "name": model, "run_id": run_id, "pipeline": pipeline,
            "created_at": _now(), "metadata": metrics or {},
        }  # fmt: skip
    if between is not None:
        between()
    return commit_run(project.runs, run, drafts, version)


def record_model_version(
    project: Project, model: str = "iris", metrics: dict[str, Any] | None = None, seed: str = ""
) -> CommittedRun:
    """A run that trains ``model``: a model artifact and a data artifact, with ``metrics``."""
    payloads = {
        "trained_model": f"weights {model} {seed} {uuid.uuid4()}".encode(),
        "dataset": f"rows {seed}".encode(),
    }
    return record_run(project, payloads, model=model, metrics=metrics)
