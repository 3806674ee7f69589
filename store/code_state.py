"""The code a run executed: its commit, and the exact local changes on top of it.

A run is *dirty* when a project file it imported (or any module under the pipeline folders) is
modified or untracked. The changes are kept as one binary git patch against the run's commit
(tracked edits and the full contents of untracked files), built in a throw-away index
(``GIT_INDEX_FILE``) so the user's index is never touched; the patch bytes go to the DVC cache
like a step log and the run record points at them. ``git apply`` of that patch on a checkout
of the commit gives back the exact code (:mod:`engine.reproduce` does that).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from store.errors import GitError

if TYPE_CHECKING:
    from store.project import Project

__all__ = ["CodeState", "code_state", "project_module_files", "write_patch"]


@dataclass(frozen=True)
class CodeState:
    """What :func:`code_state` found: the commit and the relevant changed files."""

    commit: str | None
    branch: str | None
    dirty_files: tuple[str, ...]  # paths relative to the git top level
    patch: bytes  # empty when clean

    @property
    def dirty(self) -> bool:
        return bool(self.dirty_files)


def project_module_files(project: Project, modules: Iterable[object]) -> set[Path]:
    """Source files of ``modules`` that live in the project (installed packages excluded)."""
    root = project.root
    # a virtualenv inside the project is not project code
    envs = [Path(p).resolve() for p in {sys.prefix, sys.exec_prefix}]
    envs = [p for p in envs if p.is_relative_to(root) and p != root]
    found: set[Path] = set()
    for module in modules:
        name = getattr(module, "__file__", None)
        if not isinstance(name, str) or not name.endswith(".py"):
            continue
        path = Path(name).resolve()
        if not path.is_relative_to(root) or "site-packages" in path.parts:
            continue
        if not any(path.is_relative_to(p) for p in envs):
            found.add(path)
    return found


def _top(project: Project) -> Path:
    """The git top level (the project root, or a parent when mlx.toml sits in a subfolder)."""
    depth = project.repo_prefix.count("/")
    return project.root.parents[depth - 1] if depth else project.root


def _pipeline_paths(project: Project) -> list[str]:
    """Paths (from the project root) of the pipeline folders/modules named in mlx.toml."""
    specs = []
    for entry in project.config.project.pipelines:
        rel = entry.replace(".", "/")
        specs.append(rel if (project.root / rel).is_dir() else rel + ".py")
    return specs


def code_state(project: Project, files: Iterable[Path] = ()) -> CodeState:
    """Commit, branch and changes of the pipeline folders and ``files`` (imported modules).

    Untracked files count; ignored ones do not (git would not carry them either).
    """
    git = project.git
    commit = git.head_commit()
    branch = git.current_branch()
    specs = _pipeline_paths(project) + sorted(
        str(Path(f).resolve().relative_to(project.root)) for f in files
    )
    if not specs:
        return CodeState(commit, branch, (), b"")
    dirty = sorted(_changed(project, specs, commit))
    if not dirty or commit is None:  # no commit: nothing to reproduce against, no patch
        return CodeState(commit, branch, tuple(dirty), b"")
    return CodeState(commit, branch, tuple(dirty), _patch(_top(project), commit, dirty))


def _changed(project: Project, specs: list[str], commit: str | None) -> set[str]:
    """Untracked files and files whose content differs from ``commit`` (no index refresh).

    Two cheap plumbing calls (a run of an unchanged tree must stay fast): ``ls-files --others``
    and ``diff-index`` against HEAD, whose candidates (stat data may differ for unchanged
    content) are confirmed by a content diff only when there are any.
    """
    git = project.git
    out = git.run("ls-files", "-z", "--others", "--exclude-standard", "--full-name", "--",
                  *specs, check=False)  # fmt: skip
    changed = {p for p in out.split("\0") if p}
    if commit is None:
        tracked = git.run("ls-files", "-z", "--full-name", "--", *specs, check=False)
        return changed | {p for p in tracked.split("\0") if p}
    out = git.run("diff-index", "--name-only", "-z", commit, "--", *specs, check=False)
    candidates = [p for p in out.split("\0") if p]
    if candidates:
        # status, not diff: `git diff` refreshes (rewrites) the user's index even so
        paths = [f":(top,literal){p}" for p in candidates]
        out = git.run("--no-optional-locks", "status", "--porcelain", "--untracked-files=no",
                      "-z", "--", *paths, check=False)  # fmt: skip
        changed |= {e[3:] for e in out.split("\0") if len(e) > 3 and e[2] == " "}
    return changed


def _patch(top: Path, commit: str, paths: list[str]) -> bytes:
    """A binary patch from ``commit`` to the work-tree contents of ``paths``."""
    with tempfile.TemporaryDirectory(prefix="mlx-code-") as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}

        def run(*args: str) -> bytes:
            proc = subprocess.run(["git", *args], cwd=top, env=env, capture_output=True)
            if proc.returncode != 0:
                raise GitError(f"git {' '.join(args[:2])} failed: {proc.stderr.decode().strip()}")
            return proc.stdout

        run("read-tree", commit)
        existing = [p for p in paths if (top / p).exists()]
        if existing:
            run("update-index", "--add", "--", *existing)
        gone = [p for p in paths if p not in existing]
        if gone:
            run("update-index", "--force-remove", "--", *gone)
        tree = run("write-tree").decode().strip()
        return run("diff", "--binary", "--full-index", commit, tree, "--", *paths)


def write_patch(patch: bytes, directory: Path) -> Path:
    """Write ``patch`` as ``directory/code.patch`` (for the artifact store to take in)."""
    path = directory / "code.patch"
    path.write_bytes(patch)
    return path
