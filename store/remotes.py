"""The git remotes of the user's repository, read with GitPython.

GitPython's config reader is clearer than parsing ``git remote -v`` text. It costs about 0.1 s
to import, so only commands that talk to a remote (push, pull) use this module; runs and
listings never do (they stay on the plumbing of :mod:`store.gitobj`).
"""

from __future__ import annotations

from pathlib import Path

from store.errors import NotFoundError

__all__ = ["git_remotes", "require_remote"]


def git_remotes(root: Path) -> dict[str, str]:
    """``name -> fetch URL`` of every remote configured for the repository holding ``root``."""
    import git

    with git.Repo(root, search_parent_directories=True) as repo:
        return {remote.name: str(remote.config_reader.get("url")) for remote in repo.remotes}


def require_remote(root: Path, remote: str) -> str:
    """``remote`` itself when it is a configured remote, a URL or a path; else a clear error.

    Raises:
        NotFoundError: no remote of that name (with "did you mean" and how to add one; exit 2).
    """
    if "/" in remote or ":" in remote or remote in (".", ".."):
        return remote  # git takes a URL or a path where a remote name goes
    remotes = git_remotes(root)
    if remote not in remotes:
        raise NotFoundError(
            "git remote", remote, remotes,
            hint=f"(configured: {', '.join(sorted(remotes)) or 'none'}; add one with "
            "`git remote add NAME URL`)",
        )  # fmt: skip
    return remote
