"""``mlx promotion check``: the CI gate on pull requests that change ``models/*.toml``.

Compares every model config between the merge base of ``base`` and ``head`` (what a pull
request shows) and ``head``. Each stage that is set or changed must name a model version that
exists on the runs ref, whose model and data artifacts are in the DVC remote (so a deploy can
fetch them) and whose metrics pass the model's gates. ``archived`` only needs to exist.

The pull request is not trusted to grade itself: the gates are those of the ``base`` commit's
TOML (gate changes in the diff are reported, and a version must pass both sets, i.e. the
stricter applies), and the version record must agree with a completed run record on the runs
ref: the run exists, produced every linked artifact, and logged the gated metrics with the
values the version claims. The report names who committed the version record, since anyone
who can push the runs ref can write one.

The check reads the local runs ref: CI must ``mlx pull`` first (the promotion branch is
pushed after ``mlx push``, see :func:`store.promotion.push_branch`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from store.errors import ArtifactError, ConfigError, NotFoundError
from store.models import (
    GateResult,
    ModelConfig,
    evaluate_gates,
    load_model_config_at,
    lookup_metric,
    model_config_names_at,
)
from store.paths import model_version_path
from store.promotion import ARCHIVED
from store.records import ArtifactRef, DvcPointer, ModelVersionRecord, RunRecord
from store.renumbering import run_mismatch

if TYPE_CHECKING:
    from store.project import Project

__all__ = ["CheckReport", "StageCheck", "check_promotions"]


@dataclass(frozen=True, slots=True)
class StageCheck:
    """One stage that the change sets to a version."""

    model: str
    stage: str
    version: int
    previous: int | None
    problems: tuple[str, ...]
    gate_results: tuple[GateResult, ...] = ()
    recorded_by: str = ""  # author and commit of the version record on the runs ref

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The result of :func:`check_promotions`; ``ok`` decides the CI status."""

    base: str
    head: str
    checks: tuple[StageCheck, ...]
    errors: tuple[str, ...] = ()  # a model config at head that cannot be read
    notes: tuple[str, ...] = ()  # worth a reviewer's eye, not failures

    @property
    def ok(self) -> bool:
        return not self.errors and all(c.ok for c in self.checks)

    def markdown(self) -> str:
        """A pull-request comment: verdict, one row per stage change, problems, notes."""
        verdict = "passed" if self.ok else "failed"
        lines = [f"## mlx promotion check {verdict}", "", f"`{self.base}` → `{self.head}`", ""]
        if not self.checks and not self.errors:
            lines.append("No stage changes in `models/*.toml`.")
        if self.checks:
            lines += ["| model | stage | change | result |", "|---|---|---|---|"]
            for c in self.checks:
                was = f"v{c.previous}" if c.previous is not None else "unset"
                result = "ok" if c.ok else "FAIL: " + "; ".join(c.problems)
                lines.append(f"| `{c.model}` | `{c.stage}` | {was} → v{c.version} | {result} |")
        for c in self.checks:
            if c.recorded_by:
                lines += ["", f"`{c.model}` v{c.version} was recorded by {c.recorded_by}."]
            if c.gate_results:
                lines += ["", f"Gates of `{c.model}` v{c.version} (`{c.stage}`):"]
                lines += [
                    f"- {'pass' if g.passed else 'FAIL'}: {g.describe()}" for g in c.gate_results
                ]
        if self.errors:
            lines += ["", "### Errors", "", *(f"- {e}" for e in self.errors)]
        if self.notes:
            lines += ["", "### Notes", "", *(f"- {n}" for n in self.notes)]
        return "\n".join(lines) + "\n"


def check_promotions(
    project: Project, base: str, head: str = "HEAD", remote: str | None = None
) -> CheckReport:
    """Check every stage change in ``models/*.toml`` between ``base`` and ``head``.

    Args:
        base: the target branch of the pull request (e.g. ``origin/main``); the comparison
            starts at its merge base with ``head``, like the pull request's diff.
        head: the proposed commit.
        remote: DVC remote the artifacts must be in (default: DVC's default remote).

    Raises:
        NotFoundError: ``base`` or ``head`` does not name a commit.
    """
    git = project.git
    commits = {}
    for rev in (base, head):
        sha = git.rev_parse(f"{rev}^{{commit}}")
        if sha is None:
            raise NotFoundError(
                "git revision", rev, hint="(fetch it first, e.g. `git fetch origin`)"
            )
        commits[rev] = sha
    start = git.run("merge-base", commits[base], commits[head], check=False).strip()
    start = start or commits[base]
    checks: list[StageCheck] = []
    errors: list[str] = []
    notes: list[str] = []
    names = sorted(
        set(model_config_names_at(project, start))
        | set(model_config_names_at(project, commits[head]))
    )
    for name in names:
        try:
            new = load_model_config_at(project, name, commits[head])
        except ConfigError as exc:
            errors.append(str(exc))
            continue
        try:
            old = load_model_config_at(project, name, start)
        except ConfigError:
            old = None  # it was broken before; every stage counts as new
        if new is None:
            notes.append(f"models/{name}.toml is removed")
            continue
        gates, gate_notes = _gates(project, name, commits[base], new)
        notes += gate_notes
        before = old.stages if old else {}
        for stage, version in new.stages.items():
            if before.get(stage) != version:
                check = _check(project, name, stage, version, before.get(stage), gates, remote)
                mismatch = run_mismatch(project, f"{start}..{commits[head]}", name, stage, version)
                if mismatch:
                    check = replace(check, problems=(*check.problems, mismatch))
                checks.append(check)
        notes += [
            f"`{name}`: stage `{s}` is unset (was v{v})"
            for s, v in before.items()
            if s not in new.stages
        ]
    note = local_cache_note(project, remote) if checks else None
    notes += [note] if note else []
    return CheckReport(base, head, tuple(checks), tuple(errors), tuple(notes))


def _gates(
    project: Project, name: str, base: str, new: ModelConfig
) -> tuple[list[dict[str, str]], list[str]]:
    """The gate sets a version must pass: the base commit's, and the head's when they differ.

    Passing both means the stricter of the two applies to every metric; a pull request can
    add gates but not lower or drop them.
    """
    try:
        at_base = load_model_config_at(project, name, base)
    except ConfigError as exc:
        return [dict(new.gates)], [f"`{name}`: the base's model config is unreadable ({exc})"]
    if at_base is None:
        note = (
            f"`{name}` is new in this diff: its gates ({dict(new.gates)}) come from it; review them"
        )
        return [dict(new.gates)], [note]
    if at_base.gates == new.gates:
        return [dict(at_base.gates)], []
    note = (
        f"`{name}`: this diff changes the gates ({dict(at_base.gates)} → {dict(new.gates)}); "
        "the base's gates still apply (a version must pass both)"
    )
    return [dict(at_base.gates), dict(new.gates)], [note]


def _check(
    project: Project, name: str, stage: str, version: int, previous: int | None,
    gate_sets: list[dict[str, str]], remote: str | None,
) -> StageCheck:  # fmt: skip
    raw = project.index.model_version_json(name, version)
    if raw is None:
        problem = (
            f"version {version} of model {name!r} is not on the runs ref "
            "(push it with `mlx push`; CI must `mlx pull` before checking)"
        )
        return StageCheck(name, stage, version, previous, (problem,))
    author = _recorded_by(project, name, version)
    if stage == ARCHIVED:
        return StageCheck(name, stage, version, previous, (), recorded_by=author)
    record = ModelVersionRecord.model_validate(raw)
    gates: list[GateResult] = []
    for gate_set in gate_sets:
        gates += [g for g in evaluate_gates(gate_set, record.metadata) if g not in gates]
    problems = [f"gate failed: {g.describe()}" for g in gates if not g.passed]
    metrics = {metric for gate_set in gate_sets for metric in gate_set}
    problems += _run_problems(project, record, metrics)
    problems += _artifact_problems(project, record, remote)
    return StageCheck(name, stage, version, previous, tuple(problems), tuple(gates), author)


def _run_problems(project: Project, record: ModelVersionRecord, metrics: set[str]) -> list[str]:
    """Disagreements between a version record and the completed run that should have made it."""
    label = f"v{record.version} of {record.name!r}"
    if record.run_id is None:
        return [f"{label} names no run: a version must come from a completed run"]
    try:
        run = RunRecord.model_validate(project.index.run_json(record.run_id))
    except NotFoundError:
        return [f"{label} names run {record.run_id[:12]}, which is not on the runs ref"]
    if run.id != record.run_id:  # run_json resolves prefixes; a record names the full id
        return [f"{label} names run {record.run_id!r}, which is not on the runs ref"]
    problems = []
    if run.status != "completed":
        problems.append(f"run {run.id[:12]} of {label} is {run.status}, not completed")
    if run.model is None or run.model.name != record.name or run.model.version != record.version:
        problems.append(f"run {run.id[:12]} did not record {label} as its model version")
    produced = {ref.id for step in run.steps for ref in step.outputs.values()}
    linked = [*record.model_artifacts.values(), *record.artifacts.values()]
    problems += [
        f"artifact {ref.label()} linked to {label} was not produced by run {run.id[:12]}"
        for ref in linked
        if ref.id not in produced
    ]
    logged = [meta for step in run.steps for meta in (step.model_metadata, step.metadata)]
    for metric in sorted(metrics):
        claimed = lookup_metric(record.metadata, metric)
        if claimed is not None and not any(lookup_metric(m, metric) == claimed for m in logged):
            problems.append(
                f"metric {metric} = {claimed} of {label} was not logged by run {run.id[:12]}"
            )
    return problems


def _recorded_by(project: Project, name: str, version: int) -> str:
    """``Author <email> in commit abc123`` of the runs-ref commit that added the version record."""
    path = model_version_path(name, version)
    out = project.git.run(
        "log", "--diff-filter=A", "--format=%an <%ae> in commit %h", project.runs.ref, "--",
        path, check=False,
    ).strip()  # fmt: skip
    return out.splitlines()[-1] if out else ""


def _artifact_problems(
    project: Project, record: ModelVersionRecord, remote: str | None
) -> list[str]:
    problems = []
    refs: list[ArtifactRef] = [*record.model_artifacts.values(), *record.artifacts.values()]
    for ref in refs:
        try:
            art = project.index.artifact_json(ref.name, ref.version)
        except NotFoundError:
            problems.append(f"artifact {ref.label()} is not on the runs ref")
            continue
        pointer = DvcPointer.model_validate(art["pointer"])
        if remote is None and not project.artifacts.remotes():  # see local_cache_note()
            if not project.artifacts.exists(pointer):
                problems.append(
                    f"artifact {ref.label()} ({pointer.md5}) is not in the local DVC cache "
                    "(no DVC remote is configured)"
                )
            continue
        try:
            present = project.artifacts.in_remote(pointer, remote)
        except (ArtifactError, NotFoundError) as exc:
            problems.append(f"cannot query the DVC remote: {exc}")
            break
        if not present:
            problems.append(
                f"artifact {ref.label()} ({pointer.md5}) is not in the DVC remote; "
                "run `mlx push` where it was produced"
            )
    return problems


def local_cache_note(project: Project, remote: str | None) -> str | None:
    """Without any DVC remote, artifacts are checked in the local cache: say so."""
    if remote is None and not project.artifacts.remotes():
        return (
            "no DVC remote is configured: artifacts were checked in the local DVC cache "
            "instead (`dvc remote add -d NAME URL` to share them)"
        )
    return None
