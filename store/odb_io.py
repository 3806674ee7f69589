"""dvc-data plumbing the artifact store needs to stay truthful and harmless.

* :func:`transfer_errors`: dvc-data swallows a failed copy (it logs the exception and reports it
  in the result); collect those errors quietly so the store can raise one clear error.
* :func:`tmp_files`: temporary files a failed copy left in the cache's prefix directories.
* :func:`passive_odb_class`: a local object database whose existence checks never hash or
  delete, for DVC remotes (dvc-data deletes objects it finds corrupt, and a remote directory
  is outside the repository and shared).

Everything imports dvc-data lazily, like :mod:`store.artifacts`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dvc_data.hashfile.db import HashFileDB
    from dvc_data.hashfile.db.local import LocalHashFileDB

__all__ = ["entry_oids", "passive_odb_class", "tmp_files", "transfer_errors"]


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
