"""``mlx ci init github`` and ``mlx ci check``: schedules and promotion review in GitHub Actions.

The workflow is generated from ``[schedules.<name>]`` of ``mlx.toml``: one job per schedule,
selected by its cron (or by hand through ``workflow_dispatch``), that pulls the runs ref, runs
the pipeline headless (the run writes its table to ``$GITHUB_STEP_SUMMARY``) and pushes runs
and artifact bytes; and a job that runs ``mlx promotion check`` on pull requests touching
``models/``. Every shell step is plain bash over environment variables GitHub sets, so the
same lines run in a local clone. ``mlx ci check`` reads the workflow back and compares it with
the project: schedules missing or changed, pipelines that no longer exist, remotes to push to.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from store.config import ScheduleConfig
    from store.project import Project

__all__ = ["cmd_check", "cmd_init", "render_github_workflow", "workflow_problems"]

WORKFLOW = Path(".github") / "workflows" / "mlx.yml"
DEFAULT_INSTALL = (
    "pip install mlx-gitops && if [ -f requirements.txt ]; then pip install -r requirements.txt; fi"  # noqa: E501
)


def _job_id(schedule: str) -> str:
    return f"schedule-{schedule}"


def _run_line(schedule: ScheduleConfig) -> str:
    words = ["mlx", "run", schedule.pipeline, "--headless"]
    if schedule.stack:
        words += ["--stack", schedule.stack]
    for key, value in schedule.parameters.items():
        text = value if isinstance(value, str) else json.dumps(value)
        words += ["-p", f"{key}={text}"]
    return " ".join(shlex.quote(w) for w in words)


def _setup(install: str) -> list[str]:
    return [
        "      - uses: actions/checkout@v4",
        "        with:",
        "          fetch-depth: 0",
        "      - uses: actions/setup-python@v5",
        "        with:",
        '          python-version: "3.11"',
        "      - name: Install",
        f"        run: {json.dumps(install)}",
        "      - name: Git identity for run records",
        "        run: |",
        '          git config user.name "${GITHUB_ACTOR:-mlx-ci}"',
        '          git config user.email "${GITHUB_ACTOR:-mlx-ci}@users.noreply.github.com"',
        "      - name: Fetch runs",
        "        run: mlx pull",
    ]


def render_github_workflow(schedules: dict[str, ScheduleConfig], install: str) -> str:
    """The text of ``.github/workflows/mlx.yml`` for these schedules."""
    crons = sorted({s.cron for s in schedules.values()})
    lines = [
        "# Written by `mlx ci init github` from [schedules.*] in mlx.toml; `mlx ci check` tells",
        "# when it no longer matches the project. DVC remotes that need credentials read them",
        "# from secrets: add them as env: entries of the steps that pull and push.",
        "name: mlx",
        "on:",
    ]
    if crons:
        lines += ["  schedule:"] + [f'    - cron: "{c}"' for c in crons]
    lines += [
        "  pull_request:",
        "    paths:",
        '      - "models/**"',
        "  workflow_dispatch:",
        "    inputs:",
        "      schedule:",
        "        description: name of the schedule to run now",
        "        required: true",
        "permissions:",
        "  contents: write",
        "jobs:",
    ]
    for name, schedule in schedules.items():
        on_cron = f"github.event.schedule == '{schedule.cron}'"
        by_hand = f"(github.event_name == 'workflow_dispatch' && inputs.schedule == '{name}')"
        lines += [
            f"  {_job_id(name)}:",
            f"    name: {json.dumps(f'schedule {name}: {schedule.pipeline}')}",
            f"    if: {json.dumps(f'{on_cron} || {by_hand}')}",
            "    runs-on: ubuntu-latest",
            "    steps:",
            *_setup(install),
            f"      - name: Run {schedule.pipeline}",
            f"        run: {_run_line(schedule)}",
            "      - name: Push runs and artifacts",
            "        if: always()",
            "        run: mlx push",
        ]
    lines += [
        "  promotion-check:",
        "    if: github.event_name == 'pull_request'",
        "    runs-on: ubuntu-latest",
        "    steps:",
        *_setup(install),
        "      - name: Check promotions",
        '        run: mlx promotion check --base "origin/${GITHUB_BASE_REF}"',
    ]
    return "\n".join(lines) + "\n"


def workflow_problems(project: Project, text: str, pipelines: list[str]) -> list[str]:
    """Everything that makes the workflow ``text`` disagree with the project (one line each)."""
    import yaml

    from store.schedules import load_schedules, push_problems, schedule_problems

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"{WORKFLOW}: not valid YAML: {exc}"]
    if not isinstance(data, dict):
        return [f"{WORKFLOW}: not a workflow (expected a mapping)"]
    triggers = data.get("on", data.get(True)) or {}  # YAML 1.1 reads the key `on` as True
    crons = {c.get("cron") for c in (triggers.get("schedule") or []) if isinstance(c, dict)}
    jobs: dict[str, Any] = data.get("jobs") or {}
    problems = schedule_problems(project, pipelines)
    schedules = load_schedules(project)
    for name, schedule in schedules.items():
        job = jobs.get(_job_id(name))
        if job is None:
            problems.append(f"schedule {name} has no job in {WORKFLOW}; rerun `mlx ci init github`")
            continue
        if schedule.cron not in crons or schedule.cron not in str(job.get("if", "")):
            problems.append(f"schedule {name}: cron {schedule.cron!r} is not what {WORKFLOW} "
                            "runs it on; rerun `mlx ci init github --force`")  # fmt: skip
        if _run_line(schedule) not in _scripts(job):
            problems.append(f"schedule {name}: {WORKFLOW} does not run `{_run_line(schedule)}`; "
                            "rerun `mlx ci init github --force`")  # fmt: skip
    for job_id, job in jobs.items():
        for script in _scripts(job):
            for pipeline in _mlx_run_pipelines(script):
                if pipeline not in pipelines:
                    problems.append(f"job {job_id} of {WORKFLOW} runs pipeline {pipeline!r}, "
                                    "which no longer exists")  # fmt: skip
    if "promotion-check" not in jobs:
        problems.append(f"{WORKFLOW} has no promotion-check job for pull requests on models/")
    return problems + push_problems(project)


def _scripts(job: Any) -> list[str]:
    steps = job.get("steps") or [] if isinstance(job, dict) else []
    return [str(s["run"]) for s in steps if isinstance(s, dict) and "run" in s]


def _mlx_run_pipelines(script: str) -> list[str]:
    found = []
    for line in script.splitlines():
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if words[:2] == ["mlx", "run"] and len(words) > 2:
            found.append(words[2])
    return found


def _pipeline_names(project: Project) -> list[str]:
    from engine.discovery import list_pipelines, scan_pipelines

    scan = scan_pipelines(project)
    if scan.dynamic:  # pipelines made at import time: only importing tells their names
        return sorted(list_pipelines(project).pipelines)
    return sorted(scan.sites)


def cmd_init(args: argparse.Namespace) -> int:
    from store.errors import MlxError
    from store.project import Project
    from store.schedules import load_schedules, schedule_problems

    project = Project.find()
    problems = schedule_problems(project, _pipeline_names(project))
    if problems:
        raise MlxError("cannot write the workflow:\n  " + "\n  ".join(problems))
    path = project.root / WORKFLOW
    if path.exists() and not args.force:
        raise MlxError(f"{path} exists; `mlx ci check` compares it with the project, "
                       "--force rewrites it")  # fmt: skip
    text = render_github_workflow(load_schedules(project), args.install or DEFAULT_INSTALL)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".yml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    print(f"wrote {WORKFLOW}: {len(load_schedules(project))} schedule(s) and the promotion "
          "check; commit it to enable it")  # fmt: skip
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from store.project import Project

    project = Project.find()
    path = project.root / (args.file or WORKFLOW)
    if not path.is_file():
        sys.stderr.write(f"no workflow at {path}; write one with `mlx ci init github`\n")
        return 1
    problems = workflow_problems(project, path.read_text(encoding="utf-8"),
                                 _pipeline_names(project))  # fmt: skip
    for problem in problems:
        sys.stderr.write(f"✗ {problem}\n")
    if not problems:
        print(f"✓ {path.relative_to(project.root)} matches the project")
    return 1 if problems else 0
