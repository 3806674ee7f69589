"""A user project: the directory holding ``mlx.toml``, its git repository and derived state.

``Project.find()`` walks up from the working directory like git does. Everything heavy (the
artifact store, which imports dvc-data; the SQLite index) is created on first use, so commands
that only read the runs list stay fast.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store.config_text import read_config_text
from store.errors import ConfigError, GitError, NotFoundError, ProjectNotFoundError, did_you_mean
from store.gitobj import Git
from store.names import check_name
from store.paths import mlx_state_dir
from store.runs_ref import RunsRef

if TYPE_CHECKING:
    from store.artifacts import ArtifactStore
    from store.config import StackConfig
    from store.index import Index

__all__ = ["CONFIG_FILE", "Project", "ProjectFile", "ProjectSettings"]

CONFIG_FILE = "mlx.toml"
_SETTINGS_SALT = b"settings-2\0"


class Project:
    """One mlx project rooted at ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.config_path = self.root / CONFIG_FILE
        self.config = self._load_config()

    def _load_config(self) -> ProjectFile:
        """``mlx.toml``, validated once per content (pydantic is slow to import).

        The validated settings are cached in ``.git/mlx`` under the file's content hash, so
        read-only commands such as ``mlx runs list`` skip pydantic entirely.
        """
        text = read_config_text(self.config_path)
        # Salted with the settings' layout: a cache written before a rule was added is stale.
        digest = hashlib.sha1(_SETTINGS_SALT + text.encode()).hexdigest()
        try:
            cache: Path | None = self.state_dir / "config-cache.json"
        except GitError:  # not (yet) a git repository: validate without a cache
            cache = None
        cached = _read_json(cache) if cache else {}
        if cached.get("digest") == digest:
            try:
                fields = dict(cached["project"])
                fields["pipelines"] = tuple(fields["pipelines"])
                fields["allow_pickle_from"] = tuple(fields["allow_pickle_from"])
                return ProjectFile(ProjectSettings(**fields), tuple(cached["model_stages"]))
            except (TypeError, KeyError):
                pass  # a cache from another version of mlx: validate again
        from store.config import ProjectConfig, load_toml_model

        config = load_toml_model(self.config_path, ProjectConfig)
        section, security = config.project, config.security
        settings = ProjectSettings(
            name=section.name, default_stack=section.default_stack,
            pipelines=tuple(section.pipelines), runs_ref=section.runs_ref,
            promotion=section.promotion, allow_pickle_from=tuple(security.allow_pickle_from),
        )  # fmt: skip
        if cache is not None:
            tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            stages = list(config.models.stages)
            tmp.write_text(json.dumps({"digest": digest, "project": asdict(settings),
                                       "model_stages": stages}))  # fmt: skip
            os.replace(tmp, cache)
        return ProjectFile(settings, tuple(config.models.stages))

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

    def close(self) -> None:
        """Release what this project holds open (git's ``cat-file`` process, the index file).

        The project stays usable: both reopen on next use. ``with Project(root) as p:`` calls it.
        """
        if "git" in self.__dict__:
            self.git.close()
        if "index" in self.__dict__:
            self.index.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
    def repo_prefix(self) -> str:
        """Path of the project root relative to the git top level (``""`` or ``"sub/"``)."""
        return self.git.run("rev-parse", "--show-prefix").strip()

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
        """The validated ``stacks/<name>.toml``; its DVC remote, if named, must be configured.

        Raises:
            ValidationError: ``name`` breaks the name rule (it could leave ``stacks/``).
            NotFoundError: no such stack.
            ConfigError: the file is malformed or names a DVC remote that does not exist.
        """
        from store.config import StackConfig, load_toml_model, locate_key

        check_name("stack name", name)
        path = self.stacks_dir / f"{name}.toml"
        if not path.is_file() or path.resolve().parent != self.stacks_dir.resolve():
            raise NotFoundError(
                "stack",
                name,
                self.stack_names(),
                hint=f"(stacks live in {self.stacks_dir}/NAME.toml)",
            )
        stack = load_toml_model(path, StackConfig)
        remote = stack.artifact_store.remote
        if remote and remote not in (known := self.artifacts.remotes()):
            line = locate_key(path.read_text(encoding="utf-8"), ["artifact_store", "remote"])
            raise ConfigError(
                str(path),
                f"DVC remote {remote!r} is not configured"
                + did_you_mean(remote, known)
                + "; add it with `dvc remote add NAME URL` or fix the name",
                key="artifact_store.remote",
                line=line,
            )
        return stack

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


@dataclass(frozen=True)
class ProjectSettings:
    """The validated ``[project]`` table of ``mlx.toml`` (see store.config.ProjectSection)."""

    name: str
    default_stack: str
    pipelines: tuple[str, ...]
    runs_ref: str
    promotion: str
    allow_pickle_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectFile:
    """The validated ``mlx.toml``."""

    project: ProjectSettings
    model_stages: tuple[str, ...] = ()  # [models] stages: names allowed besides the built-in ones


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def find_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds ``mlx.toml``."""
    current = start.resolve()
    for candidate in (current, *current.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    return None
