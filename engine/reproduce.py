"""``mlx runs reproduce RUN``: run a past run again from its exact code and compare the bytes.

The code is rebuilt outside the user's tree: a temporary ``git worktree`` of the run's commit
(detached, in the system temp folder) with the run's stored patch applied (tracked edits and
untracked files, see :mod:`store.code_state`). The worktree shares the repository, so the new
run lands on the same runs ref, and its DVC config points at the project's own cache. The run
executes in a child process (a fresh interpreter imports the worktree's modules, not the ones
already loaded here) with the same pipeline, parameters and stack and the cache off; it makes
no model version and sets no stage. Every output is then compared by md5 with the original.
The worktree is removed afterwards, whatever happened.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store.errors import MlxError, RunFailedError
from store.project import Project
from store.records import RunRecord

__all__ = ["OutputCheck", "Reproduction", "reproduce_run"]


@dataclass(frozen=True)
class OutputCheck:
    """One output of the original run next to the reproduced one."""

    step: str
    output: str
    original: str  # md5 of the original bytes
    reproduced: str | None  # None: the reproduction did not produce it

    @property
    def matches(self) -> bool:
        return self.original == self.reproduced


@dataclass(frozen=True)
class Reproduction:
    """What :func:`reproduce_run` found."""

    original: RunRecord
    run: RunRecord  # the new run (on the runs ref, ``config.reproduces`` = the original id)
    checks: tuple[OutputCheck, ...]

    @property
    def ok(self) -> bool:
        return self.run.status == "completed" and all(c.matches for c in self.checks)


def reproduce_run(project: Project, run_id: str) -> Reproduction:
    """Re-run ``run_id`` from its commit + patch in a temporary worktree; compare outputs.

    Raises:
        NotFoundError: no such run.
        MlxError: the run has no commit, its patch cannot be applied, or the child failed
            before recording a run.
    """
    original = RunRecord.model_validate(project.index.run_json(run_id))
    commit = original.code.commit
    if not commit:
        raise MlxError(f"run {original.id[:12]} has no commit (the repository had none then); "
                       "it cannot be reproduced")  # fmt: skip
    if project.git.rev_parse(f"{commit}^{{commit}}") is None:
        raise MlxError(f"commit {commit[:12]} of run {original.id[:12]} is not in this "
                       "repository; fetch it first (git fetch)")  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="mlx-reproduce-"))
    tree = tmp / "tree"
    try:
        project.git.run("worktree", "add", "--detach", "--quiet", str(tree), commit)
        if original.code.patch is not None:
            _apply_patch(project, tree, original)
        root = tree / project.repo_prefix if project.repo_prefix else tree
        _share_dvc_cache(project, root)
        record = _run_child(root, original, tmp / "run.json")
    finally:
        project.git.run("worktree", "remove", "--force", str(tree), check=False)
        project.git.run("worktree", "prune", check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    fresh = Project(project.root)  # its index catches up with the new run
    return Reproduction(original, record, tuple(_compare(fresh, original, record)))


def _apply_patch(project: Project, tree: Path, run: RunRecord) -> None:
    assert run.code.patch is not None
    patch = project.artifacts.cache_file(run.code.patch)
    proc = subprocess.run(["git", "apply", "--binary", "--whitespace=nowarn", str(patch)],
                          cwd=tree, capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        raise MlxError(f"the stored code patch of run {run.id[:12]} does not apply to "
                       f"{run.code.commit}: {proc.stderr.strip()}")  # fmt: skip


def _share_dvc_cache(project: Project, root: Path) -> None:
    """The worktree's DVC config (local part) points at the project's cache and remotes."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read(project.root / ".dvc" / "config.local", encoding="utf-8")
    if not parser.has_section("cache"):
        parser.add_section("cache")
    parser.set("cache", "dir", str(project.artifacts.cache_dir))
    (root / ".dvc").mkdir(exist_ok=True)
    with open(root / ".dvc" / "config.local", "w", encoding="utf-8") as fh:
        parser.write(fh)


def _run_child(root: Path, run: RunRecord, out: Path) -> RunRecord:
    spec = {"pipeline": run.pipeline, "parameters": run.parameters, "stack": run.stack,
            "reproduces": run.id, "out": str(out)}  # fmt: skip
    source = str(Path(__file__).resolve().parents[1])  # where this mlx is installed
    path = os.pathsep.join([source, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run([sys.executable, "-m", "engine.reproduce", str(root), json.dumps(spec)],
                          cwd=root, env={**os.environ, "PYTHONPATH": path},
                          capture_output=True, text=True)  # fmt: skip
    if not out.is_file():
        raise RunFailedError(f"the reproduction of run {run.id[:12]} stopped before recording a "
                             f"run (exit {proc.returncode}):\n{proc.stderr.strip()}")  # fmt: skip
    return RunRecord.model_validate_json(out.read_text(encoding="utf-8"))


def _compare(project: Project, original: RunRecord, new: RunRecord) -> list[OutputCheck]:
    checks = []
    for step in original.steps:
        again = new.step(step.name)
        for name, ref in step.outputs.items():
            other = again.outputs.get(name) if again else None
            checks.append(OutputCheck(step.name, name, _md5(project, ref.id) or "?",
                                      _md5(project, other.id) if other else None))  # fmt: skip
    return checks


def _md5(project: Project, artifact_id: str) -> str | None:
    record: dict[str, Any] | None = project.index.artifact_by_id(artifact_id)
    return str(record["pointer"]["md5"]) if record else None


def _child(root: str, raw: str) -> int:
    """In the child: run the pipeline of the worktree at ``root``; write the record."""
    from engine.discovery import get_pipeline
    from engine.runner import run_pipeline

    spec = json.loads(raw)
    os.chdir(root)
    project = Project(Path(root))
    pipeline = get_pipeline(project, spec["pipeline"])
    parameters = pipeline.validate_parameters(spec["parameters"])
    record = run_pipeline(project, pipeline, parameters, stack=spec["stack"], enable_cache=False,
                          reproduces=spec["reproduces"])  # fmt: skip
    Path(spec["out"]).write_text(record.model_dump_json(by_alias=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2]))
