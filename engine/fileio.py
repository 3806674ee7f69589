"""``fileio``: ZenML's file helpers (``zenml.io.fileio``) over the local filesystem.

mlx artifacts live in the DVC cache and materializers get local paths, so every function here
is the plain local operation under ZenML's name (``open``, ``exists``, ``makedirs``, ...).
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterator
from typing import IO, Any

__all__ = [
    "copy", "exists", "glob", "isdir", "listdir", "makedirs", "mkdir", "open", "remove",
    "rename", "rmtree", "size", "stat", "walk",
]  # fmt: skip

PathType = str | os.PathLike[str]


def open(path: PathType, mode: str = "r", **kwargs: Any) -> IO[Any]:  # noqa: A001
    """Open a file (``builtins.open``)."""
    return builtins.open(path, mode, **kwargs)


def exists(path: PathType) -> bool:
    return os.path.exists(path)


def isdir(path: PathType) -> bool:
    return os.path.isdir(path)


def listdir(path: PathType) -> list[str]:
    return os.listdir(path)


def makedirs(path: PathType) -> None:
    os.makedirs(path, exist_ok=True)


def mkdir(path: PathType) -> None:
    os.mkdir(path)


def copy(src: PathType, dst: PathType, overwrite: bool = False) -> None:
    """Copy a file; refuses to replace ``dst`` unless ``overwrite``."""
    if not overwrite and os.path.exists(dst):
        raise FileExistsError(f"{dst} exists; pass overwrite=True to replace it")
    import shutil

    shutil.copyfile(src, dst)


def rename(src: PathType, dst: PathType, overwrite: bool = False) -> None:
    if not overwrite and os.path.exists(dst):
        raise FileExistsError(f"{dst} exists; pass overwrite=True to replace it")
    os.replace(src, dst)


def remove(path: PathType) -> None:
    os.remove(path)


def rmtree(path: PathType) -> None:
    import shutil

    shutil.rmtree(path)


def glob(pattern: PathType) -> list[str]:
    import glob as _glob

    return _glob.glob(os.fspath(pattern))


def size(path: PathType) -> int:
    return os.path.getsize(path)


def stat(path: PathType) -> os.stat_result:
    return os.stat(path)


def walk(top: PathType, topdown: bool = True) -> Iterator[tuple[str, list[str], list[str]]]:
    yield from os.walk(top, topdown=topdown)


class LocalArtifactStore:
    """What a ZenML-style materializer's ``self.artifact_store`` offers, on local paths.

    ZenML hands materializers the active artifact store (``open``, ``exists``, ``makedirs``,
    ``copyfile``, ...); mlx artifacts are local files until they enter the DVC cache, so each
    method is the plain local operation of this module.
    """

    path = ""
    open = staticmethod(open)
    exists = staticmethod(exists)
    isdir = staticmethod(isdir)
    listdir = staticmethod(listdir)
    makedirs = staticmethod(makedirs)
    mkdir = staticmethod(mkdir)
    copyfile = staticmethod(copy)
    rename = staticmethod(rename)
    remove = staticmethod(remove)
    rmtree = staticmethod(rmtree)
    glob = staticmethod(glob)
    size = staticmethod(size)
    stat = staticmethod(stat)
    walk = staticmethod(walk)


LOCAL_ARTIFACT_STORE = LocalArtifactStore()
