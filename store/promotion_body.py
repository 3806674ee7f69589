"""The pull-request description of a promotion: markdown, no git and no side effects.

:mod:`store.promotion` plans and lands a promotion (git plumbing); this module turns the plan
into the text a reviewer reads: the stage change, candidate and incumbent metrics side by side
(named by :func:`store.models.metric_values`, like the gates), the gate results, the lineage of
the version, and how to land it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from store.errors import NotFoundError
from store.models import ARCHIVED, GateResult, ModelConfig, metric_values
from store.records import ModelVersionRecord

if TYPE_CHECKING:
    from store.project import Project

__all__ = ["PromotionFacts", "forced_text", "render_body"]


class PromotionFacts(Protocol):
    """What the description needs to know about a planned promotion."""

    @property
    def model(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def stage(self) -> str: ...
    @property
    def record(self) -> ModelVersionRecord: ...
    @property
    def config(self) -> ModelConfig: ...
    @property
    def incumbent(self) -> int | None: ...
    @property
    def archived(self) -> int | None: ...
    @property
    def repo_path(self) -> str: ...
    @property
    def gate_results(self) -> tuple[GateResult, ...]: ...
    @property
    def forced_gates(self) -> tuple[GateResult, ...]: ...


def forced_text(forced_gates: tuple[GateResult, ...]) -> str:
    """How a forced promotion is recorded, in the commit message and the PR text alike."""
    failed = "; ".join(g.describe() for g in forced_gates)
    return f"Forced with --force: promoted although its gates fail: {failed}."


def render_body(project: Project, plan: PromotionFacts, mode: str, branch: str) -> str:
    """The pull-request description (markdown) of a promotion planned by :mod:`store.promotion`.

    Args:
        plan: what the promotion changes (the planner's frozen plan).
        mode: ``pull-request`` or ``direct``: decides the "how to land it" section.
        branch: the promotion branch, or the current branch for a direct commit.
    """
    held = f"currently version {plan.incumbent}" if plan.incumbent else "currently empty"
    lines = [
        f"## Promote `{plan.model}` v{plan.version} to `{plan.stage}`",
        "",
        f"Stage `{plan.stage}` of model `{plan.model}` ({held}) moves to version "
        f"**{plan.version}**."
        + (f" Version {plan.archived} moves to `{ARCHIVED}`." if plan.archived else ""),
        "",
        *([f"> **{forced_text(plan.forced_gates)}**", ""] if plan.forced_gates else []),
        *_metrics_table(project, plan),
        "",
        *_gates_section(plan),
        "",
        *_lineage(project, plan.record),
        "",
        "### How to land it",
        "",
        *_howto(mode, branch),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _metrics_table(project: Project, plan: PromotionFacts) -> list[str]:
    cand = metric_values(plan.record.metadata)
    inc_raw = (
        project.index.model_version_json(plan.model, plan.incumbent) if plan.incumbent else None
    )
    inc = metric_values(inc_raw.get("metadata") or {}) if inc_raw else {}
    names = list(dict.fromkeys([*plan.config.gates, *cand, *inc]))
    if not names:
        return ["### Metrics", "", "No metrics were logged for this version."]
    head = f"v{plan.incumbent}" if plan.incumbent else "none"
    rows = [
        "### Metrics",
        "",
        f"| metric | candidate v{plan.version} | incumbent {head} | change |",
    ]
    rows.append("|---|---:|---:|---:|")
    for name in names:
        a, b = cand.get(name), inc.get(name)
        change = f"{a - b:+.4g}" if a is not None and b is not None else ""
        rows.append(f"| {name} | {_fmt(a)} | {_fmt(b)} | {change} |")
    return rows


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _gates_section(plan: PromotionFacts) -> list[str]:
    if not plan.gate_results:
        return ["### Gates", "", f"No gates are defined in `{plan.repo_path}`."]
    rows = ["### Gates", "", "| gate | value | result |", "|---|---:|---|"]
    for g in plan.gate_results:
        rows.append(
            f"| `{g.metric} {g.condition}` | {_fmt(g.value)} | {'pass' if g.passed else 'FAIL'} |"
        )
    return rows


def _lineage(project: Project, record: ModelVersionRecord) -> list[str]:
    rows = ["### Lineage", ""]
    if record.run_id:
        try:
            run = project.index.run_json(record.run_id)
        except NotFoundError:
            rows.append(f"- Run `{record.run_id}` (not on the local runs ref)")
        else:
            code = run.get("code") or {}
            commit = (code.get("commit") or "unknown")[:12]
            dirty = " (dirty work tree)" if code.get("dirty") else ""
            rows.append(
                f"- Run `{run['id']}` of pipeline `{run.get('pipeline')}`, "
                f"status {run.get('status')}, code commit `{commit}`{dirty}"
            )
    for title, refs in (
        ("Model artifacts", record.model_artifacts),
        ("Data artifacts", record.artifacts),
    ):
        for ref in refs.values():
            try:
                art = project.index.artifact_json(ref.name, ref.version)
                where = f"md5 `{art['pointer']['md5']}`, {art['pointer']['size']} bytes"
            except NotFoundError:
                where = "record not on the local runs ref"
            rows.append(f"- {title}: `{ref.label()}` ({where})")
    return rows if len(rows) > 2 else [*rows, "No run or artifacts are linked to this version."]


def _howto(mode: str, branch: str) -> list[str]:
    if mode == "direct":
        return [f"Committed on `{branch or 'HEAD'}`; publish it with `git push` and `mlx push`."]
    return [
        "```sh",
        "mlx push                     # runs ref + artifact bytes, so CI can check them",
        f"git push origin {branch}",
        "```",
        "",
        "Then open a pull request from that branch; CI runs `mlx promotion check --base <target>`.",
        f"Or land it without review: `git merge {branch}`.",
    ]
