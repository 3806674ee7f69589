"""``mlx init``: turn a directory into an mlx project (git + DVC + config files).

Idempotent: existing files are never overwritten, and a second run changes nothing. The TOML
files are written with tomli-w (mlx owns their layout; later edits of files users also edit go
through tomlkit). This and
promotion commits are the only places mlx writes to the user's work tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.errors import GitError, MlxError
from store.project import CONFIG_FILE, find_root

__all__ = [
    "InitResult",
    "config_text",
    "ensure_git_dvc",
    "init_project",
    "stack_local_text",
    "write_new",
]

EXAMPLE_PIPELINE = '''"""Example pipeline: `mlx run example -p factor=3`."""

from typing import Annotated

from engine import pipeline, step


@step
def load_numbers() -> Annotated[list[int], "numbers"]:
    return [1, 2, 3, 4]


@step
def scale(numbers: list[int], factor: int) -> Annotated[list[int], "scaled"]:
    print(f"scaling {len(numbers)} numbers by {factor}")
    return [n * factor for n in numbers]


@step
def total(scaled: list[int]) -> Annotated[int, "total"]:
    return sum(scaled)


@pipeline
def example(factor: int = 2) -> None:
    total(scale(load_numbers(), factor=factor))
'''


def _toml(header: str, data: dict[str, Any]) -> str:
    """A TOML file mlx creates: a comment header, then ``data`` written by tomli-w."""
    import tomli_w

    comments = "".join(f"# {line}".rstrip() + "\n" for line in header.strip().splitlines())
    return comments + tomli_w.dumps(data)


def stack_local_text() -> str:
    """``stacks/local.toml``: the default stack."""
    return _toml(
        """
The default stack: steps run in this process; artifacts in the local DVC cache.
artifact_store.remote: the DVC remote to push artifacts to (`dvc remote add -d NAME URL`);
empty = DVC's default remote.
""",
        {
            "description": "Run steps in-process; artifacts in the local DVC cache",
            "orchestrator": {"flavor": "local"},
            "artifact_store": {"remote": ""},
        },
    )


def config_text(name: str) -> str:
    """``mlx.toml`` of a new project called ``name``."""
    return _toml(
        """
mlx project configuration: `mlx --help`, README of mlx-gitops.
pipelines: modules or packages holding @pipeline functions (every module of a package is
searched). promotion: how `mlx model promote` lands a stage change, "pull-request" (a branch
to review) or "direct".
""",
        {
            "project": {
                "name": name,
                "default_stack": "local",
                "pipelines": ["pipelines"],
                "runs_ref": "refs/mlx/runs",
                "promotion": "pull-request",
            }
        },
    )


@dataclass
class InitResult:
    root: Path
    created: list[str] = field(default_factory=list)
    already: bool = False


def _run(args: list[str], cwd: Path) -> None:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise GitError(f"{' '.join(args[:3])} failed in {cwd}: {proc.stderr.strip()}")


def _git_root(path: Path) -> Path | None:
    proc = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=path,
                          capture_output=True, text=True)  # fmt: skip
    return Path(proc.stdout.strip()).resolve() if proc.returncode == 0 else None


def write_new(path: Path, text: str, created: list[str], root: Path) -> None:
    """Write ``path`` atomically unless it exists; note it (relative to ``root``) in ``created``."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".mlx-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    created.append(str(path.relative_to(root)))


def ensure_git_dvc(root: Path) -> list[str]:
    """``git init`` and ``dvc init`` in ``root`` where missing; return what was created."""
    created = []
    git_root = _git_root(root)
    if git_root is None:
        _run(["git", "init", "-q"], root)
        created.append(".git/")
        git_root = root
    if not (root / ".dvc").is_dir():
        args = [sys.executable, "-m", "dvc", "init", "-q"]
        _run(args + ([] if git_root == root else ["--subdir"]), root)
        created.append(".dvc/")
    return created


def init_project(directory: Path, name: str | None = None) -> InitResult:
    """Create (or complete) an mlx project in ``directory``."""
    root = directory.resolve()
    if root.exists() and not root.is_dir():
        raise MlxError(f"{root} exists and is not a directory")
    outer = find_root(root.parent) if root.parent != root else None
    if (root / CONFIG_FILE).is_file():
        return InitResult(root, already=True)
    if outer is not None:
        raise MlxError(f"{root} is inside the mlx project at {outer}; run mlx commands there, "
                       "or choose a directory outside it")  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    result = InitResult(root)
    result.created += ensure_git_dvc(root)
    write_new(root / CONFIG_FILE, config_text(name or root.name), result.created, root)
    write_new(root / "stacks" / "local.toml", stack_local_text(), result.created, root)
    write_new(root / "models" / "README.md",
               "# Models\n\nOne `<name>.toml` per model: description, `[gates]`, `[stages]`.\n",
               result.created, root)  # fmt: skip
    write_new(root / "pipelines" / "__init__.py", EXAMPLE_PIPELINE, result.created, root)
    return result
