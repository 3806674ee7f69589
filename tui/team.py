"""Team state for the app: where this clone's runs ref stands against the shared remote.

Read-only and blocking (call it from a thread worker): the remote and the provisional version
numbers come from :func:`store.publication.publication` (the same answer the CLI marks ``v4*``
with); ahead/behind are commit counts between the local runs ref and its remote-tracking copy
as of the last fetch (``git rev-list --left-right --count``); runs *pulled from others* are runs
whose record was added by a commit another author made, found with one ``git log`` over the
runs ref and cached by its tip. Push and pull go through :mod:`store.sync`, with progress.
Nothing here imports Textual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from store.paths import parse_record_path
from store.project import Project

__all__ = ["TeamState", "foreign_runs", "pull", "push", "team_state"]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TeamState:
    """The runs ref against the remote, and what is not published yet."""

    remote: str | None
    ahead: int = 0  # local commits the remote has not seen
    behind: int = 0  # remote commits (as of the last fetch) not merged here
    unpublished_runs: frozenset[str] = frozenset()
    unpublished_models: frozenset[tuple[str, int]] = frozenset()
    unpublished_artifacts: frozenset[tuple[str, int]] = frozenset()
    foreign: frozenset[str] = field(default_factory=frozenset)  # run ids pulled from others

    def summary(self) -> str:
        """``origin ↑2 ↓0 · 3 unpublished`` (or ``no remote``)."""
        if self.remote is None:
            return "no remote: every number is final"
        text = f"{self.remote} ↑{self.ahead} ↓{self.behind}"
        count = len(self.unpublished_runs)
        if count:
            text += f" · {count} run{'s' * (count > 1)} unpublished (*)"
        return text


_FOREIGN_CACHE: dict[tuple[str, str], frozenset[str]] = {}


def team_state(project: Project) -> TeamState:
    from store.publication import publication, tracking_ref

    pub = publication(project)
    if pub.remote is None:
        return TeamState(None)
    git = project.git
    ref = project.runs.ref
    local, shared = project.runs.tip(), git.read_ref(tracking_ref(ref, pub.remote))
    ahead = behind = 0
    if local and shared:
        out = git.run("rev-list", "--left-right", "--count", f"{local}...{shared}").split()
        ahead, behind = int(out[0]), int(out[1])
    elif local:
        ahead = int(git.run("rev-list", "--count", local).strip() or 0)
    return TeamState(
        pub.remote, ahead, behind, pub.runs, pub.models, pub.artifacts,
        foreign_runs(project, local) if local else frozenset(),
    )  # fmt: skip


def foreign_runs(project: Project, tip: str) -> frozenset[str]:
    """Ids of runs whose record was committed by another author than this clone's user."""
    git = project.git
    mine = git.author_ident().rpartition("<")[2].rstrip(">").lower()
    key = (tip, mine)
    if key not in _FOREIGN_CACHE:
        out = git.run("log", "--format=%x00%ae", "--name-only", "--diff-filter=A", tip)
        found: set[str] = set()
        for chunk in out.split("\0")[1:]:
            email, _, paths = chunk.partition("\n")
            if email.strip().lower() == mine:
                continue
            for path in paths.split():
                parsed = parse_record_path(path)
                if parsed is not None and parsed[0] == "run":
                    found.add(parsed[1])
        _FOREIGN_CACHE.clear()
        _FOREIGN_CACHE[key] = frozenset(found)
    return _FOREIGN_CACHE[key]


def push(project: Project, progress: Progress | None = None) -> Any:
    """Publish the runs ref (and its DVC objects) to the default remote."""
    from store.errors import MlxError
    from store.publication import default_git_remote
    from store.sync import push as sync_push

    remote = default_git_remote(project.git)
    if remote is None:
        raise MlxError("this clone has no git remote to push to; add one with `git remote add`")
    return sync_push(project, remote, progress=progress)


def pull(project: Project, progress: Progress | None = None) -> Any:
    """Fetch the default remote's runs ref and merge it into the local one."""
    from store.errors import MlxError
    from store.publication import default_git_remote
    from store.sync import pull as sync_pull

    remote = default_git_remote(project.git)
    if remote is None:
        raise MlxError("this clone has no git remote to pull from; add one with `git remote add`")
    return sync_pull(project, remote, progress=progress)
