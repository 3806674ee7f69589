"""``mlx promotion check``: the CI gate on pull requests that change ``models/*.toml``.

Compares every model config between the merge base of ``base`` and ``head`` (what a pull
request shows) and ``head``. Each stage that is set or changed must name a model version that
exists on the runs ref, whose model and data artifacts are in the DVC remote (so a deploy can
fetch them) and whose metrics pass the model's gates. ``archived`` only needs to exist.

The check reads the local runs ref: CI must ``mlx pull`` first (the promotion branch is
pushed after ``mlx push``, see :func:`store.promotion.push_branch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from store.errors import ArtifactError, ConfigError, NotFoundError
from store.models import (
    GateResult,
    ModelConfig,
    evaluate_gates,
    load_model_config_at,
    model_config_names_at,
)
from store.promotion import ARCHIVED
from store.records import ArtifactRef, DvcPointer, ModelVersionRecord

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
        before = old.stages if old else {}
        for stage, version in new.stages.items():
            if before.get(stage) != version:
                checks.append(_check(project, name, stage, version, before.get(stage), new, remote))
        notes += [
            f"`{name}`: stage `{s}` is unset (was v{v})"
            for s, v in before.items()
            if s not in new.stages
        ]
        if old is not None and old.gates != new.gates:
            notes.append(
                f"`{name}`: the gates change in this diff ({dict(old.gates)} → {dict(new.gates)})"
            )
    return CheckReport(base, head, tuple(checks), tuple(errors), tuple(notes))


def _check(
    project: Project, name: str, stage: str, version: int, previous: int | None,
    config: ModelConfig, remote: str | None,
) -> StageCheck:  # fmt: skip
    raw = project.index.model_version_json(name, version)
    if raw is None:
        problem = (
            f"version {version} of model {name!r} is not on the runs ref "
            "(push it with `mlx push`; CI must `mlx pull` before checking)"
        )
        return StageCheck(name, stage, version, previous, (problem,))
    if stage == ARCHIVED:
        return StageCheck(name, stage, version, previous, ())
    record = ModelVersionRecord.model_validate(raw)
    gates = tuple(evaluate_gates(config.gates, record.metadata))
    problems = [f"gate failed: {g.describe()}" for g in gates if not g.passed]
    problems += _artifact_problems(project, record, remote)
    return StageCheck(name, stage, version, previous, tuple(problems), gates)


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
