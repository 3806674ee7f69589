"""Bytes or failure: cached objects are checked against their md5 before they are served.

A DVC cache object is named by the md5 of its content, but nothing stops a disk error, a
half-copied file or a hostile DVC remote from putting other bytes under that name. Before an
object is handed to ``load()``, an export or the step cache, its md5 is recomputed, once: the
result is remembered in a small SQLite note (``.dvc/tmp/mlx-verified.sqlite``) keyed by the
object's inode, size and mtime, so a later load of the same unchanged file costs one ``stat``
(DVC's own state db does the same for the work tree). An object whose bytes disagree with its
name is deleted from the cache (a fetch brings the right bytes back) and reported.

Objects are found by path (``files/md5/ab/cdef…``) and ``.dir`` manifests are read as JSON, so
this module needs no dvc-data import.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from pathlib import Path

from store.pointers import PointerLike

__all__ = ["Verifier"]

_CHUNK = 1 << 20


class Verifier:
    """Checks objects of one DVC cache directory, remembering what it already verified."""

    def __init__(self, cache_dir: Path, note: Path) -> None:
        self.cache_dir = cache_dir
        self.note = note
        self._db: sqlite3.Connection | None = None
        self.corrupt: list[str] = []  # oids found corrupt (and removed) by this verifier

    def path(self, oid: str) -> Path:
        return self.cache_dir / "files" / "md5" / oid[:2] / oid[2:]

    def pointer_ok(self, pointer: PointerLike) -> bool:
        """Whether every object of ``pointer`` is cached with the right bytes.

        Corrupt objects are deleted (so a fetch replaces them) and listed in :attr:`corrupt`.
        """
        try:
            return self._pointer_ok(pointer)
        finally:
            self.close()

    def _pointer_ok(self, pointer: PointerLike) -> bool:
        if not self.object_ok(pointer.md5):
            return False
        if not pointer.is_dir:
            return True
        try:
            entries = json.loads(self.path(pointer.md5).read_bytes())
            oids = [str(e["md5"]) for e in entries]
        except (OSError, ValueError, TypeError, KeyError):
            self._discard(pointer.md5)
            return False
        return all(self.object_ok(oid) for oid in oids)

    def object_ok(self, oid: str) -> bool:
        """Whether object ``oid`` is cached and its content hashes to ``oid``."""
        path = self.path(oid)
        try:
            st = path.stat()
        except OSError:
            return False
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self._known(oid) == key:
            return True
        if _md5(path) != oid.removesuffix(".dir"):
            self._discard(oid)
            return False
        self._remember(oid, key)
        return True

    def _discard(self, oid: str) -> None:
        self.corrupt.append(oid)
        path = self.path(oid)
        with contextlib.suppress(OSError):
            os.chmod(path, 0o644)  # cache objects are read-only
        with contextlib.suppress(OSError):
            path.unlink()
        self._forget(oid)

    # -- the note ------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection | None:
        if self._db is None:
            try:
                self.note.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.note, timeout=30, isolation_level=None)
                db.execute(
                    "CREATE TABLE IF NOT EXISTS verified "
                    "(oid TEXT PRIMARY KEY, ino INT, size INT, mtime INT)"
                )
            except (OSError, sqlite3.Error):
                self.note.unlink(missing_ok=True)  # derived: a broken note only costs hashing
                return None
            self._db = db
        return self._db

    def _known(self, oid: str) -> tuple[int, int, int] | None:
        db = self._conn()
        try:
            row = db.execute(
                "SELECT ino, size, mtime FROM verified WHERE oid=?", (oid,)
            ).fetchone() if db else None  # fmt: skip
        except sqlite3.Error:
            return None
        return (int(row[0]), int(row[1]), int(row[2])) if row else None

    def _remember(self, oid: str, key: tuple[int, int, int]) -> None:
        db = self._conn()
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.execute("INSERT OR REPLACE INTO verified VALUES (?,?,?,?)", (oid, *key))

    def _forget(self, oid: str) -> None:
        db = self._conn()
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.execute("DELETE FROM verified WHERE oid=?", (oid,))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
