"""Scratch directories: gone when the process exits, and after a kill, at the next mlx run.

Every temporary directory mlx makes (a value being saved or loaded, the copy a ``Path``
artifact is loaded as) lives under one directory per process, ``<tmp>/mlx-<uid>/<pid>-<rand>``.
``try/finally`` removes each one on the normal and the exception path; the process directory
goes at interpreter exit. A process killed with SIGKILL runs neither, so :func:`sweep` (called
when a process makes its own directory and when a run starts) removes the directories of
processes that no longer exist. Nothing here imports more than the standard library.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

__all__ = ["make_temp_dir", "process_dir", "scratch_root", "sweep"]

_lock = threading.Lock()
_mine: tuple[int, Path] | None = None  # (pid, directory): a forked child makes its own


def scratch_root() -> Path:
    """``<tmp>/mlx-<uid>``: private to this user (created with mode 0700)."""
    root = Path(tempfile.gettempdir()) / f"mlx-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    if root.is_symlink() or root.stat().st_uid != os.getuid():
        raise PermissionError(f"{root} is not a directory owned by this user; remove it")
    return root


def process_dir() -> Path:
    """This process's scratch directory (made on first use, removed at exit)."""
    global _mine
    with _lock:
        if _mine is not None and _mine[0] == os.getpid() and _mine[1].is_dir():
            return _mine[1]
        root = scratch_root()
        sweep(root)
        path = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))
        _mine = (os.getpid(), path)
        atexit.register(_remove, os.getpid(), path)
        return path


def make_temp_dir(prefix: str) -> Path:
    """A new directory inside :func:`process_dir` (the caller removes it when done)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=process_dir()))


def sweep(root: Path | None = None) -> list[Path]:
    """Remove the scratch directories of processes that are gone; return what was removed."""
    if root is None:
        try:
            root = scratch_root()
        except OSError:
            return []
    removed = []
    with contextlib.suppress(OSError):
        for entry in root.iterdir():
            pid = entry.name.partition("-")[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def _remove(pid: int, path: Path) -> None:
    if os.getpid() == pid:  # not in a forked child that inherited the hook
        shutil.rmtree(path, ignore_errors=True)
