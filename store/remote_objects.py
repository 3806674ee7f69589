"""A complete DVC remote for a runs ref: every object its records point at, checked incrementally.

A pushed record must always have its bytes. Before the runs ref goes to a git remote,
:func:`complete_remote` makes sure every DVC object referenced by the records at that tip
(artifact pointers, step logs) is on the DVC remote: what the remote lacks is uploaded from
the local cache, including objects of records that were published earlier without them.
Objects that are in neither place are reported, so the push can be refused.

Checking 10,000 runs' objects on every push would be slow, so a note under
``.git/mlx/remote-objects/`` remembers, per DVC remote URL, the last tip whose objects were all
verified there and the pointers that were missing then. The next push only checks the records
that changed since that tip (one ``git diff-tree``) plus those pending pointers.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store.gitobj import Git
from store.paths import ARTIFACTS_DIR, RUNS_DIR
from store.pointers import ObjectRef, object_ref

if TYPE_CHECKING:
    from store.project import Project

__all__ = [
    "Completion", "Progress", "changed_blobs", "complete_remote", "pointers_in",
    "transfer_callback", "usable_since",
]  # fmt: skip

#: ``progress(what, done, total)``: told as objects are checked and moved (for a progress bar).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Completion:
    """What :func:`complete_remote` found and did."""

    checked: int  # pointers looked at
    uploaded: int  # objects sent to the DVC remote
    missing: tuple[ObjectRef, ...]  # neither in the local cache nor on the DVC remote
    blocking: tuple[str, ...]  # md5s of ``missing`` referenced by records not yet published
    uploaded_bytes: int = 0


def complete_remote(
    project: Project,
    tip: str,
    published: str | None,
    dvc_remote: str | None = None,
    progress: Progress | None = None,
) -> Completion:
    """Upload what the DVC remote lacks of the objects records at ``tip`` reference.

    Args:
        tip: the runs ref commit about to be (or already) on the git remote.
        published: the git remote's runs ref tip; objects only its records reference are not
            ``blocking`` (refusing would not un-publish them).
        dvc_remote: DVC remote name (default: DVC's default remote).
    """
    git, store = project.git, project.artifacts
    note_path = _note_path(project, dvc_remote)
    note = _read(note_path)
    since = usable_since(git, note.get("tip"), tip)
    wanted = {p.md5: p for p in pointers_in(git, changed_blobs(git, since, tip))}
    for item in note.get("pending", []):
        if (pointer := object_ref(item)) is not None:
            wanted.setdefault(pointer.md5, pointer)
    pointers = list(wanted.values())
    if progress:
        progress("checking", 0, len(pointers))
    absent = store.absent_from_remote(pointers, dvc_remote) if pointers else []
    if progress:
        progress("checking", len(pointers), len(pointers))
    have = [p for p in absent if store.exists(p)]
    missing = tuple(p for p in absent if p.md5 not in {h.md5 for h in have})
    uploaded = 0
    if have:
        size = sum(p.size for p in have)
        callback = transfer_callback(progress, "uploading", len(have), size)
        uploaded = store.push(have, dvc_remote, callback)
        if progress:
            progress("uploading", len(have), len(have))
            progress("uploading bytes", size, size)
    blocking: tuple[str, ...] = ()
    if missing:
        new = {p.md5 for p in pointers_in(git, changed_blobs(git, published, tip))}
        blocking = tuple(sorted(p.md5 for p in missing if p.md5 in new))
    _write(note_path, {"tip": tip, "pending": [p.model_dump() for p in missing]})
    return Completion(len(pointers), uploaded, missing, blocking, sum(p.size for p in have))


# -- DVC pointers of records -----------------------------------------------------------------
# Commits never change, so both answers below are kept for the process: a push asks them
# twice for the same tips (pointer files, then the DVC remote) and pays for one git call each.
_CHANGED: dict[tuple[str, str | None, str], list[str]] = {}
_ANCESTOR: dict[tuple[str, str, str], bool] = {}


def usable_since(git: Git, since: object, tip: str) -> str | None:
    """``since`` when it is a commit ``tip`` descends from (a note still valid), else None."""
    if not isinstance(since, str) or not since:
        return None
    key = (str(git.common_dir), since, tip)
    if key not in _ANCESTOR:
        _ANCESTOR[key] = git.run_ok("merge-base", "--is-ancestor", since, tip)
    return since if _ANCESTOR[key] else None


def changed_blobs(git: Git, old: str | None, new: str) -> list[str]:
    """Blob ids of artifact and run records in ``new`` that are not the same in ``old``."""
    key = (str(git.common_dir), old, new)
    if key in _CHANGED:
        return list(_CHANGED[key])
    if old is None:
        rows = [(p, b) for p, b in git.ls_tree(new)]
    else:
        rows = [(p, b) for s, p, b in git.diff_tree(old, new) if s != "D"]
    prefixes = (f"{ARTIFACTS_DIR}/", f"{RUNS_DIR}/")
    _CHANGED[key] = [b for p, b in rows if p.startswith(prefixes) and p.endswith(".json")]
    return list(_CHANGED[key])


def pointers_in(git: Git, blobs: Iterable[str]) -> list[ObjectRef]:
    """Pointers of artifact records, step logs and code patches in those record blobs
    (deduplicated; plain JSON, no record models: see :mod:`store.pointers`)."""
    found: dict[str, ObjectRef] = {}
    for raw in git.read_blobs(sorted(set(blobs))).values():
        try:  # records already on the ref that are invalid are skipped, never trusted
            data = json.loads(raw)
            steps = data.get("steps") or []
            candidates = [data.get("pointer"), (data.get("code") or {}).get("patch")]
            candidates += [s.get("log") for s in steps]
        except (ValueError, AttributeError, TypeError):
            continue
        for item in candidates:
            if (pointer := object_ref(item)) is not None:
                found.setdefault(pointer.md5, pointer)
    return list(found.values())


# -- the note --------------------------------------------------------------------------------
def _note_path(project: Project, dvc_remote: str | None) -> Path:
    store = project.artifacts
    name = dvc_remote or store.default_remote() or ""
    url = store.remotes().get(name, name)
    key = hashlib.sha1(f"{project.runs.ref}\0{url}".encode()).hexdigest()[:16]
    return project.state_dir / "remote-objects" / f"{key}.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def transfer_callback(progress: Progress | None, what: str, total: int, size: int = 0) -> Any:
    """An fsspec callback that forwards DVC's transfer progress to ``progress`` (or None).

    Objects are reported as ``what``; bytes as ``"<what> bytes"`` out of ``size``: DVC counts
    objects, so the bytes moved so far are estimated from the objects moved (exact at the end).
    """
    if progress is None:
        return None
    from fsspec.callbacks import Callback

    report: Progress = progress

    class Forward(Callback):  # type: ignore[misc]
        def call(self, *args: Any, **kwargs: Any) -> None:
            done = min(int(self.value), total)
            report(what, done, total)
            if size:
                report(f"{what} bytes", size * done // max(total, 1), size)

    report(what, 0, total)
    if size:
        report(f"{what} bytes", 0, size)
    return Forward(size=total)
