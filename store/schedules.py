"""Named schedules of ``mlx.toml`` (``[schedules.<name>]``) and their checks against the project.

Cron syntax and keys are validated when ``mlx.toml`` is read (:class:`store.config.ScheduleConfig`,
errors name the file and line). What needs the rest of the project is checked here: the
pipeline exists (its names come from the caller, which reads the pipeline modules), the stack
exists, and pushing from CI has somewhere to go (a git remote and a DVC remote).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.config import ScheduleConfig
    from store.project import Project

__all__ = ["load_schedules", "push_problems", "schedule_problems"]


def load_schedules(project: Project) -> dict[str, ScheduleConfig]:
    """The schedules of ``mlx.toml`` (validated; a bad one raises ConfigError with its line)."""
    from store.config import ProjectConfig, load_toml_model

    return dict(load_toml_model(project.config_path, ProjectConfig).schedules)


def schedule_problems(project: Project, pipelines: Iterable[str]) -> list[str]:
    """What is wrong with the schedules: unknown pipelines or stacks (one line each)."""
    known = sorted(pipelines)
    stacks = project.stack_names()
    problems = []
    for name, schedule in load_schedules(project).items():
        if schedule.pipeline not in known:
            problems.append(f"schedule {name}: pipeline {schedule.pipeline!r} does not exist"
                            + _did_you_mean(schedule.pipeline, known))  # fmt: skip
        if schedule.stack is not None and schedule.stack not in stacks:
            problems.append(f"schedule {name}: stack {schedule.stack!r} does not exist"
                            + _did_you_mean(schedule.stack, stacks))  # fmt: skip
    return problems


def push_problems(project: Project) -> list[str]:
    """Why runs and artifacts could not be pushed from a CI job of this project."""
    problems = []
    if not project.git.run("remote").split():
        problems.append("no git remote: CI pushes the runs ref to one (git remote add origin URL)")
    artifacts = project.artifacts
    remotes = artifacts.remotes()
    wanted = {project.load_stack(s).artifact_store.remote or None for s in project.stack_names()}
    for name in sorted(wanted, key=str):
        target = name or artifacts.default_remote()
        if target is None:
            problems.append("no DVC remote: CI pushes artifact bytes to one "
                            "(dvc remote add -d storage URL, then commit .dvc/config)")  # fmt: skip
        elif target not in remotes:
            problems.append(f"DVC remote {target!r} (named by a stack) is not configured "
                            "in .dvc/config")  # fmt: skip
    return sorted(set(problems))


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (known: {', '.join(known)})" if known else ""
