"""Promoting a model version to a stage: a one-line change of ``models/<name>.toml``.

Two ways to land it (``[project] promotion`` in mlx.toml, or ``direct=`` per call):

* **pull-request** (default): a branch ``mlx/promote/<model>/v<version>-<stage>`` holding one
  commit on top of HEAD, built with plumbing (blob, tree, commit, ``update-ref`` CAS). The user's
  checked-out branch, work tree and index are never touched, so a promotion can be prepared
  from the TUI in the middle of other work. The commit message carries the pull-request
  description (forges use a one-commit branch's message as the pull request's text).
* **direct**: a commit of that one file on the current branch (``git commit -- path``).

The file is edited with tomlkit so comments and layout survive and the diff is the stage
line(s) only; the result is re-parsed and compared with what we meant to write before anything
is stored. :func:`preview` computes the same diff and description without side effects.
This module is the git side; :mod:`store.promotion_body` renders the pull-request description.
"""

from __future__ import annotations

import difflib
import os
import re
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import tomlkit

from store.errors import GateError, GitError, NotFoundError, PromotionError
from store.models import (
    ARCHIVED,
    GateResult,
    ModelConfig,
    allowed_stages,
    check_stage,
    evaluate_gates,
    failing_gates,
    load_model_config,
    load_model_config_at,
    model_config_repo_path,
    read_at,
)
from store.promotion_body import forced_text, render_body
from store.records import ModelVersionRecord
from store.renumbering import RUN_TRAILER
from store.stage_layout import slotted

if TYPE_CHECKING:
    from store.project import Project
    from store.sync import SyncResult

__all__ = [
    "ARCHIVED",
    "PromotionPreview",
    "PromotionResult",
    "branch_commit",
    "branch_name",
    "edit_stages",
    "preview",
    "promote",
    "push_branch",
]

Mode = Literal["pull-request", "direct"]


@dataclass(frozen=True, slots=True)
class PromotionResult:
    """What :func:`promote` did."""

    mode: Mode
    model: str
    version: int
    stage: str
    branch: str | None  # the promotion branch (pull-request) or the current branch (direct)
    commit: str
    diff: str
    body: str
    archived_version: int | None  # the previous holder, moved to ``archived`` by --force
    forced_gates: tuple[GateResult, ...] = ()  # failing gates --force promoted past
    published: SyncResult | None = None  # the runs were pushed first to make the number final
    requested_version: int | None = None  # the number asked for, when publishing changed it


@dataclass(frozen=True, slots=True)
class PromotionPreview:
    """What :func:`promote` would do, for a confirmation dialog; nothing is written."""

    model: str
    version: int
    stage: str
    diff: str
    body: str
    incumbent: int | None
    gate_results: tuple[GateResult, ...]
    needs_force: bool  # another version holds the stage, or a gate fails
    refusal: str | None  # why promote() would refuse with the given ``force``; None: it would not
    forced_gates: tuple[GateResult, ...] = ()  # failing gates ``force`` promotes past


@dataclass(frozen=True, slots=True)
class _Plan:
    model: str
    version: int
    stage: str
    record: ModelVersionRecord
    config: ModelConfig
    incumbent: int | None
    archived: int | None
    repo_path: str
    old_text: str
    new_text: str
    diff: str
    gate_results: tuple[GateResult, ...]
    refusal: str | None
    gates_refused: bool  # the refusal is about failing gates (exit 1, not a usage error)
    forced_gates: tuple[GateResult, ...]
    layout_text: str  # old_text in the merge-friendly [stages] layout (store.stage_layout)


def branch_name(model: str, version: int, stage: str) -> str:
    """The promotion branch: ``mlx/promote/<model>/v<version>-<stage>``."""
    return f"mlx/promote/{model}/v{version}-{stage}"


# -- public API ------------------------------------------------------------------------------
def preview(
    project: Project, model: str, version: int, stage: str, force: bool = False
) -> PromotionPreview:
    """The diff and description a promotion would produce; no side effects.

    Raises:
        NotFoundError: unknown model config or model version.
        ValidationError: ``stage`` is ``latest`` or not an allowed stage. Other refusals (dirty
            file, occupied stage, failing gates) are reported in ``refusal`` instead, for the
            dialog to show.
    """
    plan = _plan(project, model, version, stage, force)
    mode = project.config.project.promotion
    body = render_body(project, plan, mode, branch_name(model, version, stage))
    return PromotionPreview(
        model, version, stage, plan.diff, body, plan.incumbent, plan.gate_results,
        plan.incumbent not in (None, version) or bool(failing_gates(plan.gate_results)),
        plan.refusal, plan.forced_gates,
    )  # fmt: skip


def promote(
    project: Project,
    model: str,
    version: int,
    stage: str,
    *,
    direct: bool | None = None,
    force: bool = False,
    body_file: Path | None = None,
) -> PromotionResult:
    """Move ``stage`` of ``model`` to ``version``, as a reviewable branch or a direct commit.

    Args:
        direct: commit on the current branch (True) or create a promotion branch (False);
            None follows ``[project] promotion`` in mlx.toml.
        force: promote even when gates fail, and when another version holds the stage move it
            to ``archived`` instead of refusing. What it overrode is written into the commit
            message and the pull-request description.
        body_file: also write the pull-request description (markdown) there.

    Raises:
        NotFoundError: no ``models/<model>.toml``, or no such version on the runs ref.
        ValidationError: ``stage`` is ``latest`` or not an allowed stage.
        GateError: (without ``force``) a gate fails or its metric is missing.
        PromotionError: the TOML has uncommitted changes, the stage is held by another version
            (without ``force``) or already by this one, or the promotion branch exists.
    """
    requested = version
    plan = _plan(project, model, version, stage, force)
    if plan.refusal:
        raise (GateError if plan.gates_refused else PromotionError)(plan.refusal)
    published = _publish_first(project, plan)
    if published is not None and published[0] != version:  # the final number differs
        version = published[0]
        plan = _plan(project, model, version, stage, force)
        if plan.refusal:
            raise (GateError if plan.gates_refused else PromotionError)(plan.refusal)
    mode: Mode = "direct" if direct or (
        direct is None and project.config.project.promotion == "direct"
    ) else "pull-request"  # fmt: skip
    if mode == "pull-request":
        branch = branch_name(model, version, stage)
        body = render_body(project, plan, mode, branch)
        commit = _commit_branch(project, plan, branch, _commit_message(plan, body))
    else:
        branch = project.git.current_branch() or ""
        body = render_body(project, plan, mode, branch)
        commit = _commit_direct(project, plan, _commit_message(plan))
    if body_file is not None:
        Path(body_file).write_text(body, encoding="utf-8")
    return PromotionResult(
        mode, model, version, stage, branch or None, commit, plan.diff, body, plan.archived,
        plan.forced_gates, published[1] if published else None,
        requested if version != requested else None,
    )  # fmt: skip


def _publish_first(project: Project, plan: _Plan) -> tuple[int, SyncResult] | None:
    """Push the runs when ``plan``'s version number is still provisional; its final number.

    A stage line must never name a provisional number (a later merge could give it to other
    content). Without any git remote every number is final and nothing happens.

    Raises:
        PromotionError: after publishing, the version cannot be found again.
    """
    from store.publication import publication
    from store.sync import push

    pub = publication(project)
    if pub.remote is None or pub.model_published(plan.model, plan.version):
        return None
    result = push(project, pub.remote)
    for row in project.index.model_versions(plan.model):
        if row.get("id") == plan.record.id:
            return int(row["version"]), result
    raise PromotionError(
        f"published the runs to {pub.remote} but cannot find version {plan.version} of "
        f"{plan.model!r} (record {plan.record.id}) any more; run `mlx doctor`"
    )


def push_branch(project: Project, branch: str, remote: str = "origin") -> SyncResult:
    """Publish a promotion: DVC objects and the runs ref (:func:`store.sync.push`), then the branch.

    The records go first so a CI check triggered by the branch can already see the version.
    Never forced: a rejected branch push raises :class:`PromotionError`.
    """
    from store.sync import push

    result = push(project, remote)
    ref = f"refs/heads/{branch}"
    if project.git.rev_parse(ref) is None:
        raise NotFoundError("branch", branch, hint="(create it with `mlx model promote`)")
    try:
        project.git.run("push", "--quiet", remote, f"{ref}:{ref}")
    except GitError as exc:
        raise PromotionError(
            f"could not push promotion branch {branch!r} to {remote!r}: {exc}; if it already "
            "exists there, delete it or promote again after merging"
        ) from exc
    return result


# -- planning --------------------------------------------------------------------------------
def branch_commit(
    project: Project, model: str, version: int, stage: str, parent: str
) -> tuple[str, str]:
    """The model file and commit message of a promotion branch made on top of ``parent``.

    For re-making a branch whose version was renumbered (:mod:`store.renumbering`): the stage
    line, the subject and the pull-request description all name ``version``, and gates that
    fail are recorded as forced, as they were when the branch was first made.

    Raises:
        NotFoundError: no such version, or no model config at ``parent``.
    """
    plan = _plan(project, model, version, stage, force=True, at=parent)
    body = render_body(project, plan, "pull-request", branch_name(model, version, stage))
    return plan.new_text, _commit_message(plan, body)


def _plan(
    project: Project, model: str, version: int, stage: str, force: bool, at: str | None = None
) -> _Plan:
    """What promoting would change: against the work tree, or against commit ``at``."""
    check_stage(project, stage)
    repo_path = model_config_repo_path(project, model)
    config = load_model_config(project, model) if at is None else (
        load_model_config_at(project, model, at)
    )  # fmt: skip
    if config is None:
        raise NotFoundError("model config", f"{at}:{repo_path}")
    raw = project.index.model_version_json(model, version)
    if raw is None:
        known = [str(v["version"]) for v in project.index.model_versions(model)]
        raise NotFoundError(
            f"version of model {model!r}", str(version), known,
            hint="(versions are created by pipeline runs with a model; try `mlx pull`)",
        )  # fmt: skip
    record = ModelVersionRecord.model_validate(raw)
    if at is not None:
        refusal = None
        old_text = read_at(project, repo_path, at) or ""
    else:
        refusal = _dirty_reason(project, model)
        head = read_at(project, repo_path, "HEAD") if project.git.head_commit() else None
        old_text = head if head is not None and refusal is None else _worktree(project, model)
    incumbent = config.stages.get(stage)
    updates = {stage: version}
    archived = None
    if incumbent is not None and incumbent != version:
        if not force and refusal is None:
            refusal = (
                f"stage {stage!r} of model {model!r} is held by version {incumbent}; pass "
                f"--force to promote version {version} and move version {incumbent} to "
                f"{ARCHIVED!r}"
            )
        if stage != ARCHIVED:
            archived = incumbent
            updates[ARCHIVED] = incumbent
    elif incumbent == version and refusal is None:
        refusal = f"version {version} of model {model!r} already holds stage {stage!r}"
    layout_text = slotted(old_text, list(dict.fromkeys([*allowed_stages(project), stage])))
    new_text = edit_stages(layout_text, updates, repo_path)
    diff = "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
            f"a/{repo_path}", f"b/{repo_path}",
        )
    )  # fmt: skip
    gates = tuple(evaluate_gates(config.gates, record.metadata))
    failing = tuple(failing_gates(gates))
    gates_refused = bool(failing) and not force and refusal is None
    if gates_refused:
        refusal = (
            f"version {version} of model {model!r} fails its gates: "
            + "; ".join(g.describe() for g in failing)
            + "; pass --force to promote it anyway (recorded in the commit and the PR text)"
        )
    return _Plan(
        model, version, stage, record, config, incumbent, archived, repo_path, old_text,
        new_text, diff, gates, refusal, gates_refused, failing if force else (), layout_text,
    )  # fmt: skip


def _worktree(project: Project, model: str) -> str:
    return (project.models_dir / f"{model}.toml").read_text(encoding="utf-8")


def _dirty_reason(project: Project, model: str) -> str | None:
    rel = f"models/{model}.toml"
    if project.git.head_commit() is None:
        return "the repository has no commit yet; commit models/ first"
    # --no-optional-locks: a status must not refresh (rewrite) the user's index
    out = project.git.run(
        "--no-optional-locks", "status", "--porcelain", "--untracked-files=all", "--", rel
    )
    if not out.strip():
        return None
    if out.startswith("??"):
        return f"{rel} is not committed yet; commit it before promoting"
    return f"{rel} has uncommitted changes; commit or stash them first, then promote again"


def edit_stages(text: str, updates: dict[str, int], label: str) -> str:
    """``text`` with ``[stages]`` keys set (the table appended when missing), layout kept.

    A stage's unset slot line (:func:`store.models.stage_slots`) becomes its line in place.
    """
    original = text
    already = tomllib.loads(text).get("stages", {})
    for key in [k for k in updates if k not in already and _unset_slot(text, k) is not None]:
        pattern = _unset_slot(text, key)
        assert pattern is not None
        text_before = text
        text = pattern.sub(f"{key} = {updates[key]}", text, count=1)
        if tomllib.loads(text).get("stages", {}).get(key) != updates[key]:
            text = text_before  # not inside [stages] after all: edit it as a TOML key below
    doc = tomlkit.parse(text)
    stages: Any = doc.get("stages")
    if stages is None:
        table = tomlkit.table()
        for key, value in updates.items():
            table[key] = value
        doc["stages"] = table
    else:
        for key, value in updates.items():
            stages[key] = value
    new_text = tomlkit.dumps(doc)
    expected = tomllib.loads(original)
    expected.setdefault("stages", {}).update(updates)
    if tomllib.loads(new_text) != expected:  # never write a file that means something else
        raise PromotionError(
            f"could not edit the [stages] table of {label} safely; edit it by hand"
        )
    return new_text


def _unset_slot(text: str, stage: str) -> re.Pattern[str] | None:
    """The ``# <stage> = (unset)`` slot line of :func:`store.models.stage_slots`, if present."""
    pattern = re.compile(rf"^#\s*{re.escape(stage)}\s*=\s*\(unset\)[ \t]*$", re.M)
    return pattern if pattern.search(text) else None


def _commit_message(plan: _Plan, body: str | None = None) -> str:
    """Subject, what was forced or archived, and the ``Mlx-Run`` trailer.

    A promotion branch's commit carries the pull-request description (``body``) instead of
    the short paragraphs: forges fill a one-commit pull request's text from its message.
    """
    subject = f"mlx: promote {plan.model} v{plan.version} to {plan.stage}"
    paragraphs = []
    if plan.forced_gates:
        subject += " (forced past failing gates)"
    if body is not None:
        paragraphs.append(body.strip())
    else:
        if plan.forced_gates:
            paragraphs.append(forced_text(plan.forced_gates))
        if plan.archived is not None:
            paragraphs.append(f"Version {plan.archived} moves to {ARCHIVED}.")
    if plan.record.run_id:  # lets `mlx promotion check` verify number and content agree
        paragraphs.append(f"{RUN_TRAILER}: {plan.record.run_id}")
    return subject + "".join(f"\n\n{p}" for p in paragraphs) + "\n"


# -- landing ---------------------------------------------------------------------------------
def _ident(project: Project, var: str) -> str | None:
    out = project.git.run("var", var, check=False).strip()
    return out or None


def _commit_branch(project: Project, plan: _Plan, branch: str, message: str) -> str:
    git = project.git
    ref = f"refs/heads/{branch}"
    if not git.run_ok("check-ref-format", ref):
        raise PromotionError(f"{branch!r} is not a valid branch name; rename the model or stage")
    if git.rev_parse(ref) is not None:
        raise PromotionError(
            f"branch {branch!r} already exists; delete it (`git branch -D {branch}`) or merge it"
        )
    head = git.head_commit()
    assert head is not None  # _dirty_reason refused an empty repository
    if plan.layout_text != plan.old_text:
        head = _layout_commit(project, plan, head)
    blob = git.write_object("blob", plan.new_text.encode("utf-8"))
    tree = git.update_tree(git.commit_tree_of(head), {plan.repo_path: blob})
    fallback = f"mlx <mlx@localhost> {int(time.time())} +0000"
    author = _ident(project, "GIT_AUTHOR_IDENT") or fallback
    committer = _ident(project, "GIT_COMMITTER_IDENT") or fallback
    lines = [f"tree {tree}", f"parent {head}", f"author {author}", f"committer {committer}"]
    commit = git.write_object("commit", ("\n".join(lines) + "\n\n" + message).encode("utf-8"))
    if not git.update_ref(ref, commit, None, message=f"mlx: {message.splitlines()[0]}"):
        raise PromotionError(f"branch {branch!r} was created meanwhile; delete it or merge it")
    return commit


def _layout_commit(project: Project, plan: _Plan, head: str) -> str:
    """A commit on ``head`` that only lays ``[stages]`` out one slot per stage.

    Identity and date are fixed (mlx, ``head``'s commit date), so every promotion opened
    from ``head``, in any clone, makes this very commit: git then merges two of them with
    only their own stage lines differing (:mod:`store.stage_layout`).
    """
    git = project.git
    blob = git.write_object("blob", plan.layout_text.encode("utf-8"))
    tree = git.update_tree(git.commit_tree_of(head), {plan.repo_path: blob})
    when = git.run("log", "-1", "--format=%ct", head).strip()
    ident = f"mlx <mlx@localhost> {when} +0000"
    message = (
        f"mlx: lay out [stages] of {plan.repo_path} one line per stage\n\n"
        "Blank lines between the stage lines let promotions to different stages merge "
        "without conflicts.\n"
    )
    lines = [f"tree {tree}", f"parent {head}", f"author {ident}", f"committer {ident}"]
    return git.write_object("commit", ("\n".join(lines) + "\n\n" + message).encode("utf-8"))


def _commit_direct(project: Project, plan: _Plan, message: str) -> str:
    path = project.models_dir / f"{plan.model}.toml"
    rel = f"models/{plan.model}.toml"
    _write_atomic(path, plan.new_text)
    identity: list[str] = []
    if _ident(project, "GIT_AUTHOR_IDENT") is None:
        identity = ["-c", "user.name=mlx", "-c", "user.email=mlx@localhost"]
    try:
        project.git.run("add", "--", rel)
        project.git.run(*identity, "commit", "--quiet", "-m", message, "--", rel)
    except GitError as exc:
        _write_atomic(path, plan.old_text)
        project.git.run("reset", "--quiet", "--", rel, check=False)
        raise PromotionError(f"could not commit {rel}: {exc}; the file was restored") from exc
    head = project.git.head_commit()
    assert head is not None
    return head


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.mlx-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, path.stat().st_mode & 0o7777)
    os.replace(tmp, path)
