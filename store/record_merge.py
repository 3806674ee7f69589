"""Merging two clones' additions to one existing model-version record.

Model-version records are the one record kind a later run may change: a run that uses a
version (``Model(name, version="production")``) adds the metadata its steps logged and links
the artifacts it produced, and a run of a named version (``Model(version="sgd")``) adds its
artifacts. When two clones both changed the same version before syncing, the merge keeps both
sides' additions key by key (three-way, against the common base). A metadata key both sides
changed takes the remote's value, as every other clash in :mod:`store.sync` keeps the remote's
side; an artifact name both sides linked keeps the newer artifact version (the higher number,
ours renumbered after the remote's by then), as a later run's link replaces an earlier one.
"""

from __future__ import annotations

import json
from typing import Any

from store.gitobj import Git
from store.paths import parse_record_path

__all__ = ["ADDITIVE_KEYS", "mergeable", "merge_additions"]

ADDITIVE_KEYS = ("metadata", "artifacts", "model_artifacts")
_MISSING = object()

Conflict = tuple[str, str | None, str | None, str | None]  # path, base, ours, theirs blobs


def mergeable(conflict: Conflict) -> bool:
    """True for an existing model-version record that both sides changed."""
    path, base, ours, theirs = conflict
    parsed = parse_record_path(path)
    return parsed is not None and parsed[0] == "model" and None not in (base, ours, theirs)


def merge_additions(git: Git, tree: str, conflicts: list[Conflict]) -> str:
    """``tree`` with each conflicting model-version record replaced by the merge of both sides.

    The tree may already hold a rewritten copy of ours at the path (references renumbered by
    the merge): that copy stands for our side then.
    """
    from store.records import ModelVersionRecord, dump_record  # pydantic: only for a clash

    changes: dict[str, str | None] = {}
    for path, base, ours, theirs in conflicts:
        assert base is not None and ours is not None and theirs is not None
        current = dict(git.ls_tree(tree, path)).get(path)
        mine = current if current not in (None, theirs) else ours
        blobs = git.read_blobs(sorted({base, mine, theirs}))
        merged = _merge(*(json.loads(blobs[b]) for b in (base, mine, theirs)))
        record = ModelVersionRecord.model_validate(merged)
        changes[path] = git.write_object("blob", dump_record(record))
    return git.update_tree(tree, changes)


def _merge(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    merged = dict(theirs)
    for key in ADDITIVE_KEYS:
        b, o, t = (dict(side.get(key) or {}) for side in (base, ours, theirs))
        out: dict[str, Any] = {}
        for name in {**b, **o, **t}:
            vb, vo, vt = (side.get(name, _MISSING) for side in (b, o, t))
            value = vo if vt == vb else vt  # ours only when the remote kept the base's
            if key != "metadata" and vo != vb and _newer(vo, vt):
                value = vo  # both linked a version of this artifact: the later one
            if value is not _MISSING:
                out[name] = value
        merged[key] = out
    return merged


def _newer(ours: Any, theirs: Any) -> bool:
    """True when our artifact link names a later version than the remote's."""
    if not isinstance(ours, dict):
        return False
    if not isinstance(theirs, dict):
        return theirs is _MISSING
    return int(ours.get("version") or 0) > int(theirs.get("version") or 0)
