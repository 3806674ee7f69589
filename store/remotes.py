"""The git remotes of the user's repository: one ``git config --get-regexp`` (no GitPython).

Push and pull check the remote name before anything moves; reading the configuration with
plumbing costs one short git process, where importing GitPython cost about 0.1 s and two
more git processes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from store.errors import NotFoundError

__all__ = ["git_remotes", "require_remote"]


def git_remotes(root: Path) -> dict[str, str]:
    """``name -> fetch URL`` of every remote configured for the repository holding ``root``."""
    proc = subprocess.run(
        ["git", "config", "-z", "--get-regexp", r"^remote\..*\.url$"], cwd=root,
        capture_output=True, text=True,
    )  # fmt: skip
    remotes: dict[str, str] = {}
    for entry in proc.stdout.split("\0"):
        key, _, url = entry.partition("\n")
        if key.startswith("remote.") and key.endswith(".url"):
            remotes.setdefault(key[len("remote.") : -len(".url")], url)
    return remotes


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
