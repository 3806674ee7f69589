"""Object pointers read from records only for their hashes, without pydantic.

Pushing one new run on a 10,000-run ref must not pay for importing pydantic and building the
record models just to learn which DVC objects the new records name. :class:`ObjectRef` holds
the fields of a :class:`store.records.DvcPointer` (md5, size, nfiles) after the same checks
the model makes on them, and :class:`PointerLike` is what the artifact store needs of either.
:func:`dvc_file` renders the canonical ``.dvc`` file of a pointer (the same bytes in every
clone, so merges agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from store.names import md5_problem

__all__ = ["ObjectRef", "PointerLike", "dvc_file", "object_ref"]


class PointerLike(Protocol):
    """What is needed of a pointer to find, move or describe its objects."""

    @property
    def md5(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def nfiles(self) -> int | None: ...
    @property
    def is_dir(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """A validated DVC pointer (md5, size, nfiles), as a plain dataclass."""

    md5: str
    size: int
    nfiles: int | None = None

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")

    def model_dump(self) -> dict[str, Any]:
        """The pointer as a record stores it (what ``DvcPointer.model_dump()`` gives)."""
        return {"md5": self.md5, "size": self.size, "nfiles": self.nfiles, "hash": "md5"}


def object_ref(item: object) -> ObjectRef | None:
    """The pointer in a record's ``pointer``/``log``/``patch`` value; None when it is not one
    (the checks of :class:`store.records.DvcPointer`: md5 form, sizes non-negative ints)."""
    if not isinstance(item, dict) or md5_problem(item.get("md5")) is not None:
        return None
    size, nfiles = item.get("size"), item.get("nfiles")
    if type(size) is not int or size < 0:
        return None
    if nfiles is not None and (type(nfiles) is not int or nfiles < 0):
        return None
    if item.get("hash", "md5") != "md5" or set(item) - {"md5", "size", "nfiles", "hash"}:
        return None
    return ObjectRef(str(item["md5"]), size, nfiles)


def dvc_file(pointer: PointerLike) -> bytes:
    """The canonical ``.dvc`` file of one object (same bytes in every clone: merges agree)."""
    lines = ["outs:", f"- md5: {pointer.md5}", f"  size: {pointer.size}"]
    if pointer.nfiles is not None:
        lines.append(f"  nfiles: {pointer.nfiles}")
    lines += ["  hash: md5", f"  path: {pointer.md5.removesuffix('.dir')}", ""]
    return "\n".join(lines).encode()
