"""What a renumbering merge means for stage lines and promotion branches (DESIGN "Team state").

A merge of two clones' runs refs may move this clone's unpublished versions to new numbers
(:mod:`store.sync`). Anything a human reads as final must then still name the content its
author meant:

* mlx's own promotion branches (``mlx/promote/<model>/v<N>-<stage>``) that were never pushed
  are rewritten: the stage line, the subject and the branch name take the new number.
* A stage line at HEAD or on any local branch that names a moved number is reported as stale,
  with the command that fixes it. The commit that last set it decides: its ``Mlx-Run`` trailer
  names the run it meant (stale when that run's version is now another number); without a
  trailer, a line that came from the remote named shared numbers, one committed only here is
  stale.

Promotion commits carry ``Mlx-Run: <run id>`` so number and content can be checked against
each other later (``mlx promotion check`` does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from store.paths import parse_record_path, version_of

if TYPE_CHECKING:
    from store.project import Project

__all__ = [
    "RUN_TRAILER",
    "Followup",
    "StaleStage",
    "follow_moves",
    "model_moves",
    "run_mismatch",
    "run_trailer",
    "version_of_run",
]

RUN_TRAILER = "Mlx-Run"
_BRANCH = re.compile(r"^mlx/promote/(?P<model>[^/]+)/v(?P<version>\d+)-(?P<stage>.+)$")


@dataclass(frozen=True, slots=True)
class StaleStage:
    """A stage line naming a version number that now belongs to other content."""

    where: str  # branch name, or "HEAD"
    model: str
    stage: str
    old: int
    new: int

    def describe(self) -> str:
        return (
            f"{self.where}: models/{self.model}.toml sets {self.stage} = {self.old}, but the "
            f"version this clone numbered {self.old} is now {self.new} ({self.old} is another "
            f"clone's); fix: `git checkout {self.where}` then `mlx model promote {self.model} "
            f"{self.new} --to {self.stage} --direct --force`"
        )


@dataclass(frozen=True, slots=True)
class Followup:
    """What :func:`follow_moves` did and found."""

    rewritten: tuple[tuple[str, str], ...] = ()  # (old branch, new branch)
    stale: tuple[StaleStage, ...] = ()


def model_moves(renumbered: tuple[tuple[str, str], ...]) -> dict[tuple[str, int], int]:
    """``{(model, old): new}`` from a sync's ``(old path, new path)`` pairs."""
    moves: dict[tuple[str, int], int] = {}
    for old, new in renumbered:
        parsed = parse_record_path(old)
        number = version_of(new)
        if parsed and parsed[0] == "model" and number is not None:
            moves[(parsed[1], int(parsed[2]))] = number
    return moves


def run_trailer(project: Project, commit: str) -> str | None:
    """The ``Mlx-Run`` trailer of a commit, if any."""
    out = project.git.run(
        "log", "-1", f"--format=%(trailers:key={RUN_TRAILER},valueonly)", commit, check=False
    )
    value = out.strip().splitlines()
    return value[-1].strip() if value else None


def run_mismatch(project: Project, span: str, model: str, stage: str, version: int) -> str | None:
    """Why the newest promotion commit of ``model``/``stage`` in ``span`` disagrees with
    ``version`` (its ``Mlx-Run`` made another version), or None when it agrees or has none."""
    from store.models import model_config_repo_path

    path = model_config_repo_path(project, model)
    fmt = f"--format=%H%x00%s%x00%(trailers:key={RUN_TRAILER},valueonly)%x01"
    out = project.git.run("log", fmt, span, "--", path, check=False)
    subject = re.compile(rf"^mlx: promote {re.escape(model)} v\d+ to {re.escape(stage)}\b")
    for entry in out.split("\x01"):
        sha, _, rest = entry.strip().partition("\x00")
        title, _, trailer = rest.partition("\x00")
        run_id = trailer.strip().splitlines()[-1].strip() if trailer.strip() else ""
        if not run_id or not subject.match(title):
            continue
        made = version_of_run(project, model, run_id)
        if made == version:
            return None
        what = f"v{made}" if made is not None else "no version of it on the runs ref"
        return (
            f"the stage line names v{version}, but promotion commit {sha[:8]} promoted run "
            f"{run_id[:8]}, which is {what}: the number was re-pointed; promote again"
        )
    return None


def version_of_run(project: Project, model: str, run_id: str) -> int | None:
    """The version number the run ``run_id`` made of ``model`` (None: it made none)."""
    for version in project.index.model_versions(model):
        if version.get("run_id") == run_id:
            return int(version["version"])
    return None


def follow_moves(
    project: Project, renumbered: tuple[tuple[str, str], ...], remote: str
) -> Followup:
    """Rewrite unpushed promotion branches and find stale stage lines after a renumbering."""
    moves = model_moves(renumbered)
    if not moves:
        return Followup()
    rewritten, stale = _rewrite_branches(project, moves, remote)
    handled = {old for old, _ in rewritten} | {s.where for s in stale}
    stale += _stale_lines(project, moves, handled, remote)
    return Followup(tuple(rewritten), tuple(stale))


# -- promotion branches ----------------------------------------------------------------------
def _rewrite_branches(
    project: Project, moves: dict[tuple[str, int], int], remote: str
) -> tuple[list[tuple[str, str]], list[StaleStage]]:
    git = project.git
    rewritten: list[tuple[str, str]] = []
    stale: list[StaleStage] = []
    current = git.current_branch()
    out = git.run(
        "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/mlx/promote/"
    )
    for line in out.splitlines():
        branch, _, tip = line.partition(" ")
        match = _BRANCH.match(branch)
        if not match:
            continue
        model, old, stage = match["model"], int(match["version"]), match["stage"]
        new = moves.get((model, old))
        if new is None:
            continue
        pushed = git.rev_parse(f"refs/remotes/{remote}/{branch}") is not None
        if pushed or branch == current or not _rewrite(project, branch, tip, stage, old, new):
            stale.append(StaleStage(branch, model, stage, old, new))
        else:
            rewritten.append((branch, f"mlx/promote/{model}/v{new}-{stage}"))
    return rewritten, stale


def _rewrite(project: Project, branch: str, tip: str, stage: str, old: int, new: int) -> bool:
    """Re-make the branch's one commit for ``new``: stage line, subject and pull-request
    description regenerated (:func:`store.promotion.branch_commit`), authorship kept; False
    when it cannot be done."""
    model = branch.split("/")[2]
    from store.errors import MlxError
    from store.models import model_config_repo_path
    from store.promotion import branch_commit

    git = project.git
    path = model_config_repo_path(project, model)
    parent = git.rev_parse(f"{tip}^")
    if parent is None:
        return False
    try:
        new_text, message = branch_commit(project, model, new, stage, parent)
    except MlxError:
        return False
    blob = git.write_object("blob", new_text.encode("utf-8"))
    tree = git.update_tree(git.commit_tree_of(parent), {path: blob})
    _kind, raw = git.read_object(tip)
    header = raw.decode("utf-8").partition("\n\n")[0]
    lines = [ln for ln in header.splitlines() if not ln.startswith(("tree ", "parent "))]
    body = "\n".join([f"tree {tree}", f"parent {parent}", *lines]) + "\n\n" + message
    commit = git.write_object("commit", body.encode("utf-8"))
    target = f"refs/heads/mlx/promote/{model}/v{new}-{stage}"
    if not git.update_ref(target, commit, None, message="mlx: renumbered promotion"):
        return False  # a branch of that name exists: leave both, report it
    git.run("update-ref", "-d", f"refs/heads/{branch}", tip)
    return True


# -- stage lines -----------------------------------------------------------------------------
def _names_moved_content(
    project: Project, commit: str, model: str, number: int, remote: str
) -> bool:
    """Whether the stage line ``commit`` set to ``number`` meant this clone's moved version.

    A promotion commit says which run it meant (``Mlx-Run``): decisive. Without one, a line
    that came from the remote named the shared numbers; one only committed here is suspect.
    """
    run_id = run_trailer(project, commit)
    if run_id:
        return version_of_run(project, model, run_id) != number
    shared = project.git.run("for-each-ref", "--contains", commit, f"refs/remotes/{remote}/")
    return not shared.strip()


def _stale_lines(
    project: Project, moves: dict[tuple[str, int], int], skip: set[str], remote: str
) -> list[StaleStage]:
    from store.errors import ConfigError
    from store.models import load_model_config_at, model_config_repo_path

    git = project.git
    refs = [("HEAD", "HEAD")] if git.current_branch() is None else []
    out = git.run("for-each-ref", "--format=%(refname:short)", "refs/heads/")
    refs += [(b, f"refs/heads/{b}") for b in out.split() if b not in skip]
    models = {model for model, _ in moves}
    stale: list[StaleStage] = []
    for where, rev in refs:
        for model in sorted(models):
            try:
                config = load_model_config_at(project, model, rev)
            except ConfigError:
                continue
            for stage, number in (config.stages if config else {}).items():
                new = moves.get((model, number))
                if new is None:
                    continue
                path = model_config_repo_path(project, model)
                last = git.run("log", "-1", "--format=%H", rev, "--", path, check=False).strip()
                if last and not _names_moved_content(project, last, model, number, remote):
                    continue
                stale.append(StaleStage(where, model, stage, number, new))
    return stale
