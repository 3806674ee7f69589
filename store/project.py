"""A user project: the directory holding ``mlx.toml``, its git repository and derived state.

``Project.find()`` walks up from the working directory like git does. Everything heavy (the
artifact store, which imports dvc-data; the SQLite index) is created on first use, so commands
that only read the runs list stay fast.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from store.config import ProjectConfig, StackConfig, load_toml_model
from store.errors import GitError, NotFoundError, ProjectNotFoundError
from store.gitobj import Git
from store.paths import mlx_state_dir
from store.runs_ref import RunsRef

if TYPE_CHECKING:
    from store.artifacts import ArtifactStore
    from store.index import Index

__all__ = ["CONFIG_FILE", "Project"]

CONFIG_FILE = "mlx.toml"


class Project:
    """One mlx project rooted at ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.config_path = self.root / CONFIG_FILE
        self.config: ProjectConfig = load_toml_model(self.config_path, ProjectConfig)

    @classmethod
    def find(cls, start: Path | str | None = None) -> Project:
        """The project containing ``start`` (default: the working directory)."""
        root = find_root(Path(start) if start else Path.cwd())
        if root is None:
            raise ProjectNotFoundError(
                f"no {CONFIG_FILE} found in {Path(start or Path.cwd()).resolve()} or any parent; "
                "run `mlx init` to start a project here, or `mlx demo` to try the sample project"
            )
        return cls(root)

    @property
    def name(self) -> str:
        return self.config.project.name

    @cached_property
    def git(self) -> Git:
        try:
            return Git(self.root)
        except GitError as exc:
            raise GitError(
                f"{self.root} has {CONFIG_FILE} but is not inside a git repository; "
                "run `mlx init` (it runs `git init` and `dvc init`)"
            ) from exc

    @cached_property
    def runs(self) -> RunsRef:
        return RunsRef(self.git, self.config.project.runs_ref)

    @cached_property
    def state_dir(self) -> Path:
        path = mlx_state_dir(self.git.common_dir)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @cached_property
    def index(self) -> Index:
        from store.index import Index

        return Index(self.state_dir / "index.sqlite", self.runs)

    @cached_property
    def artifacts(self) -> ArtifactStore:
        from store.artifacts import ArtifactStore

        return ArtifactStore(self.root)

    # -- stacks ----------------------------------------------------------------------------
    @property
    def stacks_dir(self) -> Path:
        return self.root / "stacks"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    def stack_names(self) -> list[str]:
        return sorted(p.stem for p in self.stacks_dir.glob("*.toml"))

    def load_stack(self, name: str) -> StackConfig:
        path = self.stacks_dir / f"{name}.toml"
        if not path.is_file():
            raise NotFoundError(
                "stack", name, self.stack_names(), hint=f"(stacks live in {self.stacks_dir}/NAME.toml)"
            )
        return load_toml_model(path, StackConfig)

    def active_stack_name(self) -> str:
        """The stack chosen with ``mlx stack use`` in this clone, else mlx.toml's default."""
        marker = self.state_dir / "active_stack"
        if marker.is_file():
            name = marker.read_text().strip()
            if name in self.stack_names():
                return name
        return self.config.project.default_stack

    def set_active_stack(self, name: str) -> None:
        self.load_stack(name)  # validates
        marker = self.state_dir / "active_stack"
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(name + "\n")
        os.replace(tmp, marker)


def find_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds ``mlx.toml``."""
    current = start.resolve()
    for candidate in (current, *current.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    return None
