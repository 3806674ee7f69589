"""``git fetch``/``git push`` with their progress forwarded to a ``progress(what, done, total)``.

git reports transfer progress on stderr (``Receiving objects:  45% (9/20), 1.2 MiB | ...``,
lines ended by ``\\r``), and only to a terminal unless ``--progress`` is given. Here git always
gets ``--progress`` when someone listens, stderr is read as it comes, each phase becomes
``progress("git: receiving objects", 9, 20)``, and everything that is not a progress line is
kept for the error message, exactly as :meth:`store.gitobj.Git.run` would report it.
"""

from __future__ import annotations

import re
import subprocess
from typing import TYPE_CHECKING

from store.errors import GitError
from store.gitobj import _env

if TYPE_CHECKING:
    from collections.abc import Callable

    from store.gitobj import Git

__all__ = ["parse_progress", "run_with_progress"]

_PHASE = re.compile(r"(?P<phase>[A-Z][a-z]+(?: [a-z]+)*):\s+\d+% \((?P<done>\d+)/(?P<total>\d+)\)")
_SPLIT = re.compile(rb"[\r\n]")


def parse_progress(line: str) -> tuple[str, int, int] | None:
    """``("git: writing objects", 3, 5)`` for a git progress line, else None."""
    match = _PHASE.search(line)
    if match is None:
        return None
    return f"git: {match['phase'].lower()}", int(match["done"]), int(match["total"])


def run_with_progress(
    git: Git, command: str, args: list[str], progress: Callable[[str, int, int], None]
) -> str:
    """Run ``git COMMAND --progress ARGS``; return its stderr without the progress lines.

    Raises:
        GitError: git failed (the message carries git's own words, like ``Git.run``).
    """
    proc = subprocess.Popen(
        ["git", command, "--progress", *args], cwd=git.cwd, env=_env(),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    kept: list[str] = []
    pending = b""
    while chunk := proc.stderr.read1(8192):  # type: ignore[attr-defined]
        *lines, pending = _SPLIT.split(pending + chunk)
        for raw in lines:
            _take(raw.decode(errors="replace"), kept, progress)
    _take(pending.decode(errors="replace"), kept, progress)
    proc.stderr.close()
    text = "\n".join(kept)
    if proc.wait() != 0:
        raise GitError(f"git {command} {' '.join(args[:2])} failed: {text.strip()}")
    return text


def _take(line: str, kept: list[str], progress: Callable[[str, int, int], None]) -> None:
    parsed = parse_progress(line)
    if parsed is not None:
        progress(*parsed)
    elif line.strip():
        kept.append(line)
