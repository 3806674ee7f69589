"""Which version numbers are final: published on the default git remote's runs ref.

A clone numbers new artifact and model versions on its own copy of the runs ref. Until that
ref reaches the shared remote, a merge with someone else's history may renumber them (see
:mod:`store.sync`), so such numbers are *provisional*. A number is *published* once the record
holding it is on the remote-tracking copy of the runs ref (``refs/remotes/<remote>/mlx/runs``),
which only ever grows: the remote's ref is never forced. Without any git remote there is nobody
to disagree with, and every number is final.

:func:`publication` answers for a whole clone with one ``git diff-tree`` between the tracking
copy and the local tip (records are immutable, so a path whose blob differs or is absent there
is one this clone has not published). The CLI marks provisional versions ``v4*`` and every
``--json`` carries ``"published"``; the app uses the same object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from store.paths import parse_record_path

if TYPE_CHECKING:
    from store.gitobj import Git
    from store.project import Project

__all__ = ["Publication", "default_git_remote", "publication", "tracking_ref", "version_label"]


def tracking_ref(ref: str, remote: str) -> str:
    """Where ``remote``'s copy of ``ref`` is fetched to: ``refs/remotes/<remote>/mlx/runs``."""
    return f"refs/remotes/{remote}/{ref.removeprefix('refs/')}"


def default_git_remote(git: Git) -> str | None:
    """The remote whose runs ref is the shared one: the current branch's upstream remote,
    else ``origin``, else the only (or first) remote; None when the clone has no remote."""
    remotes = git.run("remote").split()
    if not remotes:
        return None
    branch = git.current_branch()
    if branch:
        upstream = git.run("config", "--get", f"branch.{branch}.remote", check=False).strip()
        if upstream in remotes:
            return upstream
    return "origin" if "origin" in remotes else sorted(remotes)[0]


@dataclass(frozen=True, slots=True)
class Publication:
    """Provisional (unpublished) version numbers of one clone at one moment.

    Attributes:
        remote: the default git remote; None when there is none (every number is final).
        artifacts: ``(name, version)`` of provisional artifact versions.
        models: ``(name, version)`` of provisional model versions.
        runs: ids of run records not on the remote yet.
    """

    remote: str | None
    artifacts: frozenset[tuple[str, int]] = frozenset()
    models: frozenset[tuple[str, int]] = frozenset()
    runs: frozenset[str] = frozenset()

    def run_published(self, run_id: str) -> bool:
        return run_id not in self.runs

    def artifact_published(self, name: str, version: int | None) -> bool:
        return version is not None and (name, version) not in self.artifacts

    def model_published(self, name: str, version: int | None) -> bool:
        return version is not None and (name, version) not in self.models

    def artifact_label(self, name: str, version: int | None) -> str:
        """``4`` or ``4*`` (provisional) for ``name:4``."""
        return _mark(version, self.artifact_published(name, version))

    def model_label(self, name: str, version: int | None) -> str:
        """``v4`` or ``v4*`` (provisional)."""
        return version_label(version, self.model_published(name, version))

    @property
    def any_provisional(self) -> bool:
        return bool(self.artifacts or self.models)


def version_label(version: int | None, published: bool = True) -> str:
    """``v4`` for a final number, ``v4*`` for a provisional one, ``v?`` for none."""
    return "v" + _mark(version, published)


def _mark(version: int | None, published: bool) -> str:
    if version is None:
        return "?"
    return f"{version}" if published else f"{version}*"


def publication(project: Project) -> Publication:
    """Which of this clone's version numbers are still provisional (see the module docstring)."""
    git = project.git
    remote = default_git_remote(git)
    local = project.runs.tip()
    if remote is None or local is None:
        return Publication(remote)
    shared = git.read_ref(tracking_ref(project.runs.ref, remote))
    if shared == local:
        return Publication(remote)
    if shared is None:
        paths = [p for p, _ in git.ls_tree(local)]
    else:
        paths = [p for status, p, _ in git.diff_tree(shared, local) if status != "D"]
    artifacts: set[tuple[str, int]] = set()
    models: set[tuple[str, int]] = set()
    runs: set[str] = set()
    for path in paths:
        parsed = parse_record_path(path)
        if parsed is None:
            continue
        kind, name, number = parsed
        if kind == "run":
            runs.add(name)
        else:
            (artifacts if kind == "artifact" else models).add((name, int(number)))
    return Publication(remote, frozenset(artifacts), frozenset(models), frozenset(runs))
