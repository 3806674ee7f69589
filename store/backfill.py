"""DVC pointer files for records written before the runs ref carried them.

Plain ``dvc gc -w --rev refs/mlx/runs`` keeps only objects named by ``.dvc`` files on that
ref. Since the recorder writes one per object (``dvc/xx/<md5>.dvc``, see
:func:`store.paths.dvc_file_path`), new runs are safe; records written by older versions, or
objects the recorder never wrote a file for (code patches), are not. :func:`backfill_pointers`
appends one commit to the runs ref adding the missing files, and ``mlx push`` calls it before
it publishes, so the shared ref is complete too.

A note (``.git/mlx/pointer-backfill.json``) remembers the tip that was last complete, so a
later call only looks at records changed since (one ``git diff-tree``).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from store.paths import DVC_DIR, dvc_file_path
from store.pointers import dvc_file
from store.remote_objects import changed_blobs, pointers_in, usable_since

if TYPE_CHECKING:
    from pathlib import Path

    from store.gitobj import Git
    from store.project import Project
    from store.runs_ref import TipView

__all__ = ["backfill_pointers", "missing_pointer_files"]


def missing_pointer_files(git: Git, tip: str, since: str | None = None) -> dict[str, bytes]:
    """``{path: .dvc file}`` for objects referenced by records at ``tip`` (changed since
    ``since``, or all) that have no pointer file on the ref."""
    pointers = pointers_in(git, changed_blobs(git, since, tip))
    if not pointers:
        return {}
    wanted = {dvc_file_path(p.md5): p for p in pointers}
    few = sorted(wanted) if len(wanted) <= 200 else [DVC_DIR]  # one listing either way
    have = {path for path, _ in git.ls_tree(tip, *few)}
    return {path: dvc_file(p) for path, p in wanted.items() if path not in have}


def backfill_pointers(project: Project) -> int:
    """Add the missing pointer files to the runs ref in one commit; how many were added."""
    git = project.git
    note = project.state_dir / "pointer-backfill.json"
    tip = project.runs.tip()
    # gone, or the ref was replaced: look at every record again
    since = usable_since(git, _read(note), tip) if tip else None
    added: list[int] = [0]

    def build(view: TipView) -> dict[str, bytes]:
        files = missing_pointer_files(git, view.tip, since) if view.tip else {}
        added[0] = len(files)
        return files

    done = project.runs.commit(build, "add DVC pointer files of older records") or None
    if done:
        _write(note, done)
    return added[0]


def _read(path: Path) -> str | None:
    try:
        value = json.loads(path.read_text()).get("tip")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _write(path: Path, tip: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"tip": tip}))
    os.replace(tmp, path)
