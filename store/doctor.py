"""``mlx doctor``: check a project's shared state and say what to do about each problem.

Checks, each reported even when it passes:

* **refs**: ``git fsck --strict`` of everything reachable from ``refs/mlx/*`` and their
  remote-tracking copies (objects present, well formed);
* **records**: every record on the runs ref validates (``Index.invalid_records``, the same
  validation as at ingest);
* **bytes**: every DVC object a record references is in the local cache or on the DVC remote,
  and has a DVC pointer file on the runs ref (so plain ``dvc gc --rev`` keeps it);
* **stages**: every stage line at HEAD names a version on the runs ref, and a published one;
* **config**: ``stacks/*.toml`` and ``models/*.toml`` parse and validate (``mlx.toml`` has been
  by the time a project opens).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from store.backfill import missing_pointer_files
from store.errors import ArtifactError, ConfigError, MlxError, NotFoundError
from store.remote_objects import changed_blobs, pointers_in

if TYPE_CHECKING:
    from store.project import Project

__all__ = ["CHECKS", "DoctorReport", "Finding", "diagnose"]

CHECKS = ("refs", "records", "bytes", "stages", "config")


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: which check found it, what is wrong, what to do."""

    check: str
    problem: str
    fix: str


@dataclass(frozen=True, slots=True)
class DoctorReport:
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.findings

    def failed(self, check: str) -> list[Finding]:
        return [f for f in self.findings if f.check == check]


def diagnose(project: Project, dvc_remote: str | None = None) -> DoctorReport:
    """Run every check (see the module docstring); never raises for a problem it finds."""
    findings: list[Finding] = []
    notes: list[str] = []
    findings += _refs(project)
    findings += _records(project)
    found, note = _bytes(project, dvc_remote)
    findings += found
    notes += [note] if note else []
    findings += _stages(project)
    findings += _config(project)
    return DoctorReport(tuple(findings), tuple(notes))


def _refs(project: Project) -> list[Finding]:
    git = project.git
    fmt = "--format=%(refname)"
    refs = [
        r for r in git.run("for-each-ref", fmt, "refs/mlx/", "refs/remotes/").split()
        if r.startswith("refs/mlx/") or "/mlx/" in r.removeprefix("refs/remotes/")
    ]  # fmt: skip
    if not refs:
        return []
    out = git.run("fsck", "--strict", "--no-progress", "--no-dangling", *refs, check=False)
    bad = [
        line for line in out.splitlines()
        if line.split(" ")[0].rstrip(":") in ("error", "missing", "broken", "bad", "warning")
    ]  # fmt: skip
    fix = "fetch the refs again (`mlx pull`) or restore the objects from a clone that has them"
    return [Finding("refs", line, fix) for line in bad]


def _records(project: Project) -> list[Finding]:
    fix = "they are skipped everywhere; ask who pushed them, or remove them from the ref"
    return [
        Finding("records", f"invalid record {r.path}: {r.reason}", fix)
        for r in project.index.invalid_records()
    ]


def _bytes(project: Project, dvc_remote: str | None) -> tuple[list[Finding], str | None]:
    tip = project.runs.tip()
    if tip is None:
        return [], None
    store = project.artifacts
    pointers = pointers_in(project.git, changed_blobs(project.git, None, tip))
    absent = [p for p in pointers if not store.exists(p)]
    note = None
    if absent and (dvc_remote or store.remotes()):
        try:
            absent = store.absent_from_remote(absent, dvc_remote)
        except (ArtifactError, NotFoundError) as exc:
            return [Finding("bytes", f"cannot query the DVC remote: {exc}", "fix the remote")], None
    elif absent:
        note = "no DVC remote is configured: only the local cache was checked"
    fix = "run `mlx push` from a clone that still has them"
    found = [
        Finding("bytes", f"object {p.md5} is neither in the local DVC cache nor on the remote", fix)
        for p in absent
    ]  # fmt: skip
    unpinned = missing_pointer_files(project.git, tip)
    if unpinned:
        found.append(Finding(
            "bytes", f"{len(unpinned)} object(s) of older records have no DVC pointer file on "
            f"the runs ref, so `dvc gc --rev {project.runs.ref}` would delete them",
            "run `mlx push`: it adds the missing pointer files before it publishes",
        ))  # fmt: skip
    return found, note


def _stages(project: Project) -> list[Finding]:
    from store.models import load_model_config, model_config_names
    from store.publication import publication

    pub = publication(project)
    findings: list[Finding] = []
    for name in model_config_names(project):
        try:
            config = load_model_config(project, name)
        except (ConfigError, NotFoundError):
            continue  # reported by _config
        for stage, version in config.stages.items():
            where = f"models/{name}.toml: {stage} = {version}"
            if project.index.model_version_json(name, version) is None:
                findings.append(Finding(
                    "stages", f"{where} names a version that is not on the runs ref",
                    "run `mlx pull`, or promote an existing version",
                ))  # fmt: skip
            elif not pub.model_published(name, version):
                findings.append(Finding(
                    "stages", f"{where} names provisional v{version}*: a merge may renumber it",
                    f"run `mlx push {pub.remote}` before sharing this stage line",
                ))  # fmt: skip
    return findings


def _config(project: Project) -> list[Finding]:
    from store.models import load_model_config, model_config_names

    findings: list[Finding] = []
    for stack in project.stack_names():
        try:
            project.load_stack(stack)
        except MlxError as exc:
            findings.append(Finding("config", str(exc), "fix the file"))
    for name in model_config_names(project):
        try:
            load_model_config(project, name)
        except (ConfigError, NotFoundError) as exc:
            findings.append(Finding("config", str(exc), "fix the file"))
    return findings
