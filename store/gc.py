"""``mlx gc``: delete DVC cache objects that nothing references, and nothing else.

Kept, whatever the local runs ref says (DESIGN "Team state"):

* every object a record references on any ``refs/mlx/*`` ref and on the remote-tracking copies
  (``refs/remotes/<remote>/mlx/*``): artifact pointers and step logs;
* every output (and dependency) plain DVC tracks in ``*.dvc`` files and ``dvc.lock`` on any
  branch or tag, and in the work tree (a ``dvc add`` not committed yet);
* objects named in run journals (live runs, and crashed ones not folded yet);
* objects modified less than ``grace`` seconds ago.

Races with a committing run: journals are read *before* the refs, so a run that commits (and
removes its journal) meanwhile is seen in one or the other; what a step saved but has not
journaled yet is young, and :meth:`ArtifactStore.save` refreshes the time of content it finds
already cached, so the grace period covers it. The age is checked again just before deleting.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store.errors import GitError
from store.paths import journal_dir
from store.pointers import PointerLike
from store.records import DvcPointer
from store.remote_objects import changed_blobs, pointers_in

if TYPE_CHECKING:
    from store.gitobj import Git
    from store.project import Project

__all__ = ["DEFAULT_GRACE", "GcResult", "collect_garbage", "dvc_tracked", "parse_duration"]

DEFAULT_GRACE = 3600.0


@dataclass(frozen=True, slots=True)
class GcResult:
    """What :func:`collect_garbage` removed (or would remove) and what it protected."""

    removed: tuple[str, ...]
    refs: tuple[str, ...]  # the runs refs whose records were kept
    revisions: int  # branches and tags whose DVC outputs were kept
    journals: int  # run journals whose objects were kept
    grace: float


def collect_garbage(project: Project, grace: float = DEFAULT_GRACE, dry: bool = False) -> GcResult:
    """Delete unreferenced DVC cache objects older than ``grace`` seconds (see the module)."""
    started = time.time()
    keep: dict[str, PointerLike] = {}
    journals = _journal_pointers(project, keep)  # first: see the module docstring
    refs = _ref_pointers(project, keep)
    revisions = _dvc_pointers(project, keep)
    removed = project.artifacts.gc(keep.values(), dry=dry, older_than=started - grace)
    return GcResult(tuple(removed), tuple(refs), revisions, journals, grace)


def parse_duration(text: str) -> float:
    """``"90"``/``"90s"``, ``"15m"``, ``"1h"``, ``"2d"`` -> seconds.

    Raises:
        ValueError: not a non-negative number with an optional unit.
    """
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    factor = units.get(text[-1:])
    number = text[:-1] if factor else text
    value = float(number) * (factor or 1)
    if value < 0:
        raise ValueError(f"a duration cannot be negative: {text!r}")
    return value


# -- what is referenced ----------------------------------------------------------------------
def _add(keep: dict[str, PointerLike], pointers: Iterable[PointerLike]) -> None:
    for pointer in pointers:
        keep.setdefault(pointer.md5, pointer)


def _journal_pointers(project: Project, keep: dict[str, PointerLike]) -> int:
    directory = journal_dir(project.git.common_dir)
    paths = sorted(directory.glob("*.jsonl")) if directory.is_dir() else []
    for path in paths:
        try:
            lines = path.read_bytes().splitlines()
        except OSError:
            continue  # committed and removed meanwhile: its records are on the ref
        for line in lines:
            try:
                _add(keep, _md5s(json.loads(line)))
            except ValueError:
                continue  # a torn last line
    return len(paths)


def _ref_pointers(project: Project, keep: dict[str, PointerLike]) -> list[str]:
    git = project.git
    fmt = "--format=%(refname) %(objectname)"
    out = git.run("for-each-ref", fmt, "refs/mlx/", "refs/remotes/")
    refs: list[str] = []
    blobs: set[str] = set()
    for line in out.splitlines():
        name, _, tip = line.partition(" ")
        if name.startswith("refs/mlx/") or "/mlx/" in name.removeprefix("refs/remotes/"):
            refs.append(name)
            blobs.update(changed_blobs(git, None, tip))
    _add(keep, pointers_in(git, blobs))
    return refs


def _dvc_pointers(project: Project, keep: dict[str, PointerLike]) -> int:
    """Outputs of ``*.dvc`` files and ``dvc.lock`` on every branch and tag and in the work tree."""
    git = project.git
    revisions = git.run("for-each-ref", "--format=%(objectname)", "refs/heads/", "refs/tags/")
    blobs: set[str] = set()
    tips = revisions.split()
    for tip in tips:
        blobs.update(b for path, b in _ls(git, tip) if _is_dvc_file(path))
    texts = list(git.read_blobs(sorted(blobs)).values())
    listed = git.run("ls-files", "-z", "--cached", "--others", "--exclude-standard", check=False)
    top = Path(git.run("rev-parse", "--show-toplevel").strip())
    for path in listed.split("\0"):
        if path and _is_dvc_file(path):
            try:
                texts.append((top / path).read_bytes())
            except OSError:
                continue
    _add(keep, dvc_tracked(texts))
    return len(tips)


def dvc_tracked(texts: list[bytes]) -> list[DvcPointer]:
    """Every md5 named in ``.dvc`` / ``dvc.lock`` YAML documents (unparsable ones skipped)."""
    import yaml

    found: list[DvcPointer] = []
    for text in texts:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        found += _md5s(data)
    return found


def _md5s(data: Any) -> list[DvcPointer]:
    """Every ``{"md5": ...}`` mapping anywhere in a JSON/YAML structure, as a pointer."""
    found: list[DvcPointer] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            md5 = item.get("md5")
            if isinstance(md5, str) and len(md5.removesuffix(".dir")) == 32:
                found.append(DvcPointer(md5=md5, size=0))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _is_dvc_file(path: str) -> bool:
    return path.endswith(".dvc") or path.rsplit("/", 1)[-1] == "dvc.lock"


def _ls(git: Git, tip: str) -> list[tuple[str, str]]:
    try:
        return git.ls_tree(tip)
    except GitError:  # a tag of a blob: nothing DVC-tracked there
        return []
