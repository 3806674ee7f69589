"""dvc-data plumbing the artifact store needs to stay truthful and harmless.

* :func:`transfer_errors`: dvc-data swallows a failed copy (it logs the exception and reports it
  in the result); collect those errors quietly so the store can raise one clear error.
* :func:`tmp_files`: temporary files a failed copy left in the cache's prefix directories.
* :func:`passive_odb_class`: a local object database whose existence checks never hash or
  delete, for DVC remotes (dvc-data deletes objects it finds corrupt, and a remote directory
  is outside the repository and shared); :func:`local_odb` opens a cache or a local remote.
* Object helpers: paths, times (:func:`touch_oids`, :func:`mtime`, for ``gc``), the entries
  of a ``.dir`` manifest read as plain JSON (:func:`manifest_oids`).

Everything imports dvc-data lazily, like :mod:`store.artifacts`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store.pointers import PointerLike

if TYPE_CHECKING:
    from dvc_data.hashfile.db import HashFileDB
    from dvc_data.hashfile.db.local import LocalHashFileDB
    from dvc_data.hashfile.hash_info import HashInfo

__all__ = [
    "entry_oids", "hash_info", "local_odb", "manifest_oids", "mtime", "object_path",
    "passive_odb_class", "tmp_files", "touch_oids", "transfer_errors",
]  # fmt: skip


def entry_oids(obj: Any) -> set[str]:
    """Object ids of the entries of a tree object (none for a file)."""
    from dvc_data.hashfile.tree import Tree

    if not isinstance(obj, Tree):
        return set()
    return {str(hi.value) for _key, _meta, hi in obj if hi is not None and hi.value}


def tmp_files(odb: HashFileDB, oids: Iterable[str]) -> set[Path]:
    """Temporary files in the prefix directories of ``oids`` (left behind by a failed copy)."""
    dirs = {Path(odb.oid_to_path(oid)).parent for oid in oids}
    return {p for d in dirs if d.is_dir() for p in d.glob("*.tmp")}


@contextmanager
def transfer_errors() -> Iterator[list[str]]:
    """Collect the errors dvc-data logs (and swallows) while copying objects, quietly.

    dvc-data reports a failed copy in its result and logs the exception with a traceback;
    the caller raises one clear error naming the OS error instead.
    """
    import logging

    errors: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            exc = record.exc_info[1] if record.exc_info else None
            errors.append(f"{type(exc).__name__}: {exc}" if exc else record.getMessage())

    handler = _Collect(level=logging.ERROR)
    loggers = [logging.getLogger(name) for name in ("dvc_data", "dvc_objects")]
    saved = [(lg, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.propagate = False
    try:
        yield errors
    finally:
        for lg, propagate in saved:
            lg.removeHandler(handler)
            lg.propagate = propagate


@functools.cache
def passive_odb_class() -> type[LocalHashFileDB]:
    from dvc_data.hashfile.db.local import LocalHashFileDB

    class PassiveLocalHashFileDB(LocalHashFileDB):
        """A local ODB whose existence checks never hash or delete anything."""

        def check(self, oid: str, check_hash: bool = True, _info: Any = None) -> Any:
            return super().check(oid, check_hash=False, _info=_info)

    return PassiveLocalHashFileDB


def manifest_oids(path: Path) -> set[str] | None:
    """The object ids of a ``.dir`` manifest's entries; None when it cannot be read."""
    try:
        entries = json.loads(path.read_bytes())
        return {str(entry["md5"]) for entry in entries}
    except (OSError, ValueError, TypeError, KeyError):
        return None


def touch_oids(cache: Any, oids: Iterable[str]) -> None:
    """Set the modification time of the cached objects ``oids`` (those present) to now."""
    now = time.time()
    for oid in oids:
        with contextlib.suppress(OSError):
            os.utime(object_path(cache, oid), (now, now))


def mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return float("inf")  # gone already: nothing to delete


def hash_info(pointer: PointerLike) -> HashInfo:
    from dvc_data.hashfile.hash_info import HashInfo

    return HashInfo("md5", pointer.md5)


def local_odb(root: Path, passive: bool = False, **config: Any) -> LocalHashFileDB:
    """The md5 object database of a local cache or remote directory (DVC 3 layout).

    ``passive``: never hash or delete objects in it. dvc-data's existence check hashes
    writable objects and *deletes* those whose bytes disagree with their name; in a DVC remote
    (a directory outside the repository, shared with others) mlx must not delete anything.
    Fetched bytes are checked in the local cache instead (:mod:`store.verify`).
    """
    from dvc_data.hashfile.db.local import LocalHashFileDB
    from dvc_objects.fs.local import LocalFileSystem

    _progress_lock_per_process()
    path = os.path.join(str(root), "files", "md5")
    cls = passive_odb_class() if passive else LocalHashFileDB
    odb: LocalHashFileDB = cls(
        LocalFileSystem(),  # type: ignore[no-untyped-call]
        path,
        hash_name="md5",
        **config,
    )
    return odb


def object_path(odb: HashFileDB, oid: str) -> str:
    path: str = odb.oid_to_path(oid)  # typed here; LocalHashFileDB's override is not
    return path


@functools.cache
def _progress_lock_per_process() -> None:
    """Give dvc-data's progress bars (tqdm) a thread lock instead of their default
    multiprocessing one, which forked children share: a child killed while holding it (a
    cancelled or retried parallel step) left this process waiting on it forever."""
    import threading

    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())
