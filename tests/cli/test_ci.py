"""``mlx ci init github`` / ``mlx ci check`` and ``[schedules.*]`` of mlx.toml.

The workflow is parsed as YAML, and the shell steps of its jobs run for real in a fresh clone
(every ``run:`` except the environment-specific Install): the scheduled pipeline runs headless,
the runs ref reaches the git origin, the bytes reach the DVC remote, the step summary is
written, and the promotion check passes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO, RUNS_REF, commit_all, git, mlx_cli, mlx_ok

PIPELINE = """
from typing import Annotated

from engine import pipeline, step


@step
def double(n: int) -> Annotated[int, "doubled"]:
    print(f"doubling {n}")
    return 2 * n


@pipeline
def hello(n: int = 1) -> None:
    double(n)
"""

SCHEDULE = """
[schedules.nightly]
pipeline = "hello"
cron = "0 3 * * *"
parameters = { n = 21 }
"""


@pytest.fixture
def shared(project_dir: Path, tmp_path: Path) -> Path:
    """The project with a pipeline, a schedule, a DVC remote and a bare git origin, pushed."""
    (project_dir / "pipelines" / "hello.py").write_text(PIPELINE)
    with open(project_dir / "mlx.toml", "a", encoding="utf-8") as fh:
        fh.write(SCHEDULE)
    storage = tmp_path / "dvc-storage"
    storage.mkdir()
    subprocess.run([sys.executable, "-m", "dvc", "remote", "add", "-d", "storage", str(storage)],
                   cwd=project_dir, check=True, capture_output=True)  # fmt: skip
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    git(project_dir, "remote", "add", "origin", str(origin))
    return project_dir


def _workflow(root: Path) -> dict[str, Any]:
    data = yaml.safe_load((root / ".github" / "workflows" / "mlx.yml").read_text())
    assert isinstance(data, dict)
    return data


def _run_job(job: dict[str, Any], cwd: Path, env: dict[str, str]) -> None:
    """Run the job's shell steps (not Install: it depends on where CI runs) with bash."""
    for step in job["steps"]:
        if "run" not in step or step.get("name") == "Install":
            continue
        proc = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert proc.returncode == 0, f"{step.get('name')}: {proc.stdout}\n{proc.stderr}"


def _ci_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    shim = tmp_path / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "mlx").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tui.cli "$@"\n')
    (shim / "mlx").chmod(0o755)
    return {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(REPO), "GITHUB_ACTOR": "ci-bot", **extra}  # fmt: skip


def test_init_writes_a_workflow_that_runs_in_a_fresh_clone(shared: Path, tmp_path: Path) -> None:
    mlx_ok(shared, "ci", "init", "github")
    flow = _workflow(shared)
    assert flow[True]["schedule"] == [{"cron": "0 3 * * *"}]  # YAML 1.1 reads `on` as True
    assert flow[True]["pull_request"]["paths"] == ["models/**"]
    nightly = flow["jobs"]["schedule-nightly"]
    assert "github.event.schedule == '0 3 * * *'" in nightly["if"]
    runs = [s["run"] for s in nightly["steps"] if "run" in s]
    assert "mlx run hello --headless -p n=21" in runs and "mlx push" in runs
    assert mlx_ok(shared, "ci", "check").stdout.startswith("✓")
    commit_all(shared, "project with a schedule")
    git(shared, "push", "-q", "origin", "HEAD:main")

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(tmp_path / "origin.git"), str(clone)], check=True)
    summary = tmp_path / "summary.md"
    env = _ci_env(tmp_path, GITHUB_STEP_SUMMARY=str(summary))
    _run_job(nightly, clone, env)
    assert "| double | " in summary.read_text() and "completed" in summary.read_text()
    pushed = git(tmp_path / "origin.git", "for-each-ref", RUNS_REF)
    assert pushed.strip(), "the runs ref did not reach the origin"
    assert any((tmp_path / "dvc-storage").rglob("*")), "no bytes reached the DVC remote"
    listed = mlx_ok(shared, "pull").stdout + mlx_ok(shared, "runs", "list").stdout
    assert "hello" in listed

    _run_job(flow["jobs"]["promotion-check"], clone, {**env, "GITHUB_BASE_REF": "main"})


def test_check_reports_stale_pipelines_schedules_and_missing_remotes(shared: Path) -> None:
    mlx_ok(shared, "ci", "init", "github")
    path = shared / ".github" / "workflows" / "mlx.yml"
    path.write_text(path.read_text().replace("mlx run hello", "mlx run goodbye"))
    text = (shared / "mlx.toml").read_text()
    (shared / "mlx.toml").write_text(text.replace('pipeline = "hello"', 'pipeline = "helo"') +
                                     '\n[schedules.weekly]\npipeline = "hello"\n'
                                     'cron = "0 4 * * MON"\n')  # fmt: skip
    subprocess.run([sys.executable, "-m", "dvc", "remote", "remove", "storage"], cwd=shared,
                   check=True, capture_output=True)  # fmt: skip
    proc = mlx_cli(shared, "ci", "check")
    assert proc.returncode == 1
    err = proc.stderr
    assert "schedule nightly: pipeline 'helo' does not exist (did you mean 'hello'?)" in err
    assert "runs pipeline 'goodbye', which no longer exists" in err
    assert "schedule weekly has no job" in err
    assert "no DVC remote" in err


@pytest.mark.parametrize(
    ("cron", "message"),
    [("0 3 * *", "has 4 fields"), ("0 24 * * *", "hour '24': 24 is outside 0-23"),
     ("0 3 * * FUNDAY", "day of week 'FUNDAY'")],
)  # fmt: skip
def test_a_bad_cron_is_a_config_error_with_its_line(shared: Path, cron: str, message: str) -> None:
    text = (shared / "mlx.toml").read_text().replace('"0 3 * * *"', f'"{cron}"')
    (shared / "mlx.toml").write_text(text)
    line = text.splitlines().index(f'cron = "{cron}"') + 1
    proc = mlx_cli(shared, "ci", "init", "github")
    assert proc.returncode == 2
    assert f"mlx.toml:{line} [schedules.nightly.cron]" in proc.stderr and message in proc.stderr


def test_init_refuses_to_overwrite_without_force(shared: Path) -> None:
    mlx_ok(shared, "ci", "init", "github")
    proc = mlx_cli(shared, "ci", "init", "github")
    assert proc.returncode == 2 and "--force" in proc.stderr
    mlx_ok(shared, "ci", "init", "github", "--force")
