"""``mlx init`` and ``mlx stack list|show|use``."""

from __future__ import annotations

import argparse
from pathlib import Path

from tui.format import table

__all__ = ["cmd_init", "cmd_stack_list", "cmd_stack_show", "cmd_stack_use"]


def cmd_init(args: argparse.Namespace) -> int:
    from store.scaffold import init_project

    result = init_project(Path(args.dir), args.name)
    if result.already:
        print(f"{result.root} is already an mlx project (mlx.toml exists); nothing changed")
        return 0
    print(f"initialised mlx project in {result.root}")
    for path in result.created:
        print(f"  created {path}")
    print("next: mlx run example   (then `mlx runs list`, or `mlx` for the full-screen app)")
    return 0


def cmd_stack_list(args: argparse.Namespace) -> int:
    from store.project import Project

    project = Project.find()
    active = project.active_stack_name()
    rows = []
    for name in project.stack_names():
        stack = project.load_stack(name)
        rows.append(
            (
                "*" if name == active else " ",
                name,
                stack.orchestrator.flavor,
                stack.artifact_store.remote or "(dvc default)",
                stack.description,
            )
        )
    print(table(["", "STACK", "ORCHESTRATOR", "REMOTE", "DESCRIPTION"], rows))
    return 0


def cmd_stack_show(args: argparse.Namespace) -> int:
    from store.project import Project

    project = Project.find()
    name = args.name or project.active_stack_name()
    stack = project.load_stack(name)
    active = " (active)" if name == project.active_stack_name() else ""
    print(f"stack {name}{active}: {stack.description}")
    print(
        f"  orchestrator   flavor={stack.orchestrator.flavor}"
        + (
            f" max_workers={stack.orchestrator.max_workers}"
            if stack.orchestrator.max_workers
            else ""
        )
    )
    remote = stack.artifact_store.remote or project.artifacts.default_remote() or "(none)"
    print(f"  artifact store DVC cache {project.artifacts.cache_dir}, remote {remote}")
    return 0


def cmd_stack_use(args: argparse.Namespace) -> int:
    from store.project import Project

    project = Project.find()
    project.set_active_stack(args.name)
    print(f"active stack: {args.name} (this clone only; mlx.toml's default is "
          f"{project.config.project.default_stack})")  # fmt: skip
    return 0
