"""The runs ref: an append-only chain of commits holding every record as a JSON blob.

Each commit adds (or replaces) a few blobs in a cumulative, sharded tree. Writes build objects
directly in the object database, make a commit whose parent is the current tip, and move the
ref by compare-and-swap; when another process won the race, the change is rebuilt on the new
tip. Numbers that must be unique (artifact and model versions) are assigned inside that loop
by the ``build`` callback, so two concurrent writers can never take the same one.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from store.errors import RefConflictError
from store.gitobj import Git, TreeEntry
from store.paths import DEFAULT_RUNS_REF

__all__ = ["RunsRef", "TipView"]


@dataclass
class TipView:
    """Read access to the tip a change is being built on (re-created on every retry)."""

    git: Git
    tip: str | None
    tree: str | None
    _dirs: dict[str, list[str]] = field(default_factory=dict)

    def names(self, directory: str) -> list[str]:
        """Entry names directly under ``directory`` at the tip (``[]`` when absent)."""
        if directory not in self._dirs:
            sha = self.tree
            for part in directory.split("/"):
                entry = next((e for e in self.git.tree_entries(sha) if e.name == part), None)
                sha = entry.sha if entry and entry.is_dir else None
                if sha is None:
                    break
            self._dirs[directory] = [e.name for e in self.git.tree_entries(sha)] if sha else []
        return self._dirs[directory]

    def next_number(self, directory: str, taken: set[int] | None = None) -> int:
        """One more than the highest version under versioned ``directory`` (and ``taken``)."""
        buckets = [int(b) for b in self.names(directory) if b.isdigit()]
        names = self.names(f"{directory}/{max(buckets)}") if buckets else []
        numbers = {int(n[:-5]) for n in names if n[:-5].isdigit()}
        numbers |= taken or set()
        return max(numbers, default=0) + 1

    def read(self, path: str) -> bytes | None:
        """The blob at ``path`` in the tip's tree (walked through the cached tree reader, so
        the records mlx just wrote are read without a git process)."""
        *folders, name = path.split("/")
        sha = self.tree
        for part in folders:
            entry = self._entry(sha, part)
            sha = entry.sha if entry is not None and entry.is_dir else None
        entry = self._entry(sha, name)
        if entry is None or entry.is_dir:
            return None
        kind, data = self.git.read_object(entry.sha)
        return data if kind == "blob" else None

    def _entry(self, tree: str | None, name: str) -> TreeEntry | None:
        return next((e for e in self.git.tree_entries(tree) if e.name == name), None)


class RunsRef:
    """Append-only record store on one git ref."""

    def __init__(self, git: Git, ref: str = DEFAULT_RUNS_REF) -> None:
        self.git = git
        self.ref = ref

    def tip(self) -> str | None:
        return self.git.read_ref(self.ref)

    def view(self) -> TipView:
        tip = self.tip()
        return TipView(self.git, tip, self.git.commit_tree_of(tip) if tip else None)

    def read(self, path: str) -> bytes | None:
        return self.view().read(path)

    def maintain(self) -> None:
        """Let git pack loose objects when there are many (``gc --auto``, detached).

        Appends write loose objects through plumbing, which never triggers git's own
        housekeeping. ``gc --auto`` is started only when git's own estimate (loose objects in
        ``objects/17``, packs in ``objects/pack``) passes its default thresholds; git then
        decides with the user's ``gc.*`` settings. Most runs start no process here.
        """
        if _gc_warranted(self.git.objects_dir):
            self.git.run_ok("gc", "--auto", "--quiet")

    def commit(
        self,
        build: Callable[[TipView], Mapping[str, bytes]],
        message: str,
        *,
        attempts: int = 200,
    ) -> str:
        """Append one commit with the files ``build(tip_view)`` returns; return its id.

        ``build`` may be called several times (once per lost race) and must be pure apart
        from reading the view.
        """
        for attempt in range(attempts):
            view = self.view()
            files = build(view)
            if not files:  # nothing to add: no empty commit
                return view.tip or ""
            blobs = {path: self.git.write_object("blob", data) for path, data in files.items()}
            tree = self.git.update_tree(view.tree, blobs)
            parents = [view.tip] if view.tip else []
            commit = self.git.commit_tree(tree, parents, message)
            if self.git.update_ref(self.ref, commit, view.tip, message=f"mlx: {message}"):
                return commit
            time.sleep(random.uniform(0.001, 0.01) * min(attempt + 1, 10))
        raise RefConflictError(
            f"{self.ref} kept moving: could not append after {attempts} attempts; try again"
        )


# git's defaults: gc.auto = 6700 loose objects (estimated from objects/17, 1/256 of them) and
# gc.autoPackLimit = 50 packs.
_LOOSE_IN_17 = -(-6700 // 256)
_PACKS = 50


def _gc_warranted(objects: Path) -> bool:
    """Whether ``git gc --auto`` could find work, by git's own cheap estimate."""
    try:
        loose = sum(1 for name in os.listdir(objects / "17") if len(name) == 38)
    except OSError:
        loose = 0
    if loose > _LOOSE_IN_17:
        return True
    try:
        packs = sum(1 for name in os.listdir(objects / "pack") if name.endswith(".pack"))
    except OSError:
        packs = 0
    return packs > _PACKS
