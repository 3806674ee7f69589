"""`mlx run PIPELINE --headless`: progress, caching, JSON and event output, CI summary, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _helpers import step_by_name

from tests.support import (
    FAILING_PIPELINE,
    assert_fsck_clean,
    commit_all,
    git,
    mlx_cli,
    mlx_json,
    mlx_ok,
    mlx_run_json,
    runs_tip,
    write_pipeline,
)

STEPS = ["load_numbers", "scale", "total"]
LABEL = re.compile(r"^[A-Za-z0-9_.\-]+:\d+$")

PARAMS_PIPELINE = """
from typing import Annotated

from engine import pipeline, step


@step
def echo(n: int, flag: bool, ratio: float, names: list[str]) -> Annotated[str, "echoed"]:
    return repr((n, flag, ratio, names))


@pipeline
def needs(n: int, flag: bool = True, ratio: float = 0.5, names: list[str] = ["a"]) -> None:
    echo(n=n, flag=flag, ratio=ratio, names=names)
"""


def _nothing_recorded(root: Path) -> None:
    assert runs_tip(root) is None
    journal = root / ".git" / "mlx" / "journal"
    assert not journal.is_dir() or not list(journal.iterdir())


# -- a good run ------------------------------------------------------------------------------
def test_run_prints_plain_progress_lines_on_stderr_when_not_a_tty(project_dir: Path) -> None:
    proc = mlx_ok(project_dir, "run", "example", "-p", "factor=3", "--headless")

    err = proc.stderr
    assert re.search(r"run [0-9a-f]{8} of example on stack local \(3 steps\)", err)
    for name in STEPS:
        assert f"{name} started" in err
        assert re.search(rf"✔ {name} finished in \d+(ms|\.\ds)", err)
    assert re.search(r"run [0-9a-f]{8} completed in", err)
    assert "\x1b[" not in err  # no live table / colour codes in a pipe
    assert "scaling 4 numbers by 3" not in proc.stdout + err  # step output goes to its log
    assert proc.stdout == ""


def test_second_identical_run_serves_every_step_from_the_cache(project_dir: Path) -> None:
    first = mlx_run_json(project_dir, "example", "-p", "factor=3")
    proc = mlx_ok(project_dir, "run", "example", "-p", "factor=3", "--headless")

    for name in STEPS:
        assert f"↺ {name} cached (from run {first['id'][:8]})" in proc.stderr
    second = mlx_json(project_dir, "runs", "list", "--json", "--limit", "1")[0]
    assert second["steps_cached"] == 3 and second["status"] == "completed"


def test_no_cache_reruns_every_step_and_says_why(project_dir: Path) -> None:
    mlx_run_json(project_dir, "example", "-p", "factor=3")

    run = mlx_run_json(project_dir, "example", "-p", "factor=3", "--no-cache")

    assert [s["status"] for s in run["steps"]] == ["completed"] * 3
    assert all(s["rerun_reasons"] == ["caching disabled"] for s in run["steps"])
    assert all(s["cached_from"] is None for s in run["steps"])


def test_changed_parameter_reruns_only_the_affected_steps(project_dir: Path) -> None:
    first = mlx_run_json(project_dir, "example", "-p", "factor=3")

    run = mlx_run_json(project_dir, "example", "-p", "factor=4")

    assert step_by_name(run, "load_numbers")["cached_from"] == first["id"]
    assert step_by_name(run, "scale")["rerun_reasons"] == ["parameter factor changed"]
    assert step_by_name(run, "scale")["outputs"] == {"scaled": "scaled:2"}


def test_json_prints_the_run_with_steps_and_versioned_outputs(project_dir: Path) -> None:
    proc = mlx_cli(project_dir, "run", "example", "-p", "factor=3", "--headless", "--json")

    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)  # the step's print() must not leak into stdout
    assert re.fullmatch(r"[0-9a-f]{32}", run["id"])
    assert run["pipeline"] == "example" and run["status"] == "completed"
    assert run["parameters"] == {"factor": 3}
    assert run["stack"] == "local"
    assert [s["name"] for s in run["steps"]] == STEPS
    assert [s["status"] for s in run["steps"]] == ["completed"] * 3
    outputs = {s["name"]: s["outputs"] for s in run["steps"]}
    assert outputs == {"load_numbers": {"numbers": "numbers:1"}, "scale": {"scaled": "scaled:1"},
                       "total": {"total": "total:1"}}  # fmt: skip
    assert step_by_name(run, "total")["inputs"] == {"scaled": "scaled:1"}
    assert all(LABEL.match(v) for s in run["steps"] for v in s["outputs"].values())
    assert run["id"][:8] in proc.stderr  # progress still goes to stderr


def test_events_prints_one_json_object_per_line_from_start_to_finish(project_dir: Path) -> None:
    proc = mlx_ok(project_dir, "run", "example", "-p", "factor=3", "--headless", "--events")

    events = [json.loads(line) for line in proc.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("step_started") == 3 and kinds.count("step_finished") == 3
    assert len({e["run_id"] for e in events}) == 1
    assert events[0]["pipeline"] == "example" and events[0]["parameters"] == {"factor": 3}
    assert [s["name"] for s in events[0]["steps"]] == STEPS
    assert events[-1]["status"] == "completed"


def test_events_of_a_cached_run_report_step_cached(project_dir: Path) -> None:
    mlx_ok(project_dir, "run", "example", "--headless")

    proc = mlx_ok(project_dir, "run", "example", "--headless", "--events")

    kinds = [json.loads(line)["event"] for line in proc.stdout.splitlines()]
    assert kinds == ["run_started"] + ["step_cached"] * 3 + ["run_finished"]


def test_github_step_summary_gets_a_markdown_table_appended(project_dir: Path) -> None:
    summary = project_dir.parent / "summary.md"
    summary.write_text("# earlier job output\n")
    env = {"GITHUB_STEP_SUMMARY": str(summary)}

    first = json.loads(
        mlx_ok(project_dir, "run", "example", "--headless", "--json", env=env).stdout
    )
    mlx_ok(project_dir, "run", "example", "--headless", env=env)

    text = summary.read_text()
    assert text.startswith("# earlier job output\n")
    assert f"### mlx run `{first['id'][:8]}` of `example`: completed" in text
    assert text.count("| step | status | outputs | note |") == 2
    assert "| load_numbers | ✔ completed | `numbers:1` |" in text
    assert f"| total | ↺ cached | `total:1` | cached from `{first['id'][:8]}` |" in text


def test_github_step_summary_of_a_failed_run_names_the_error(project_dir: Path) -> None:
    write_pipeline(project_dir, "boom", FAILING_PIPELINE)
    summary = project_dir.parent / "summary.md"

    proc = mlx_cli(
        project_dir, "run", "boom", "--headless", env={"GITHUB_STEP_SUMMARY": str(summary)}
    )

    assert proc.returncode == 1
    text = summary.read_text()
    assert "of `boom`: failed" in text
    assert "| explode | ✘ failed |  | RuntimeError: kaboom in explode |" in text
    assert "| after | ⊘ skipped |" in text


def test_a_pipeline_dropped_into_the_pipelines_package_is_found_by_name(project_dir: Path) -> None:
    write_pipeline(
        project_dir,
        "foo",
        """
        from typing import Annotated

        from engine import pipeline, step


        @step
        def hello(who: str) -> Annotated[str, "greeting"]:
            return f"hello {who}"


        @pipeline(tags=["demo"])
        def foo(who: str = "world") -> None:
            hello(who=who)
    """,
    )

    listed = mlx_ok(project_dir, "pipelines").stdout
    run = mlx_run_json(project_dir, "foo", "-p", "who=mlx")

    assert re.search(r"^foo\s+who: .*str.* = 'world'\s+demo$", listed, re.M), listed
    assert re.search(r"^example\s+factor", listed, re.M)
    assert run["pipeline"] == "foo" and run["parameters"] == {"who": "mlx"}
    assert step_by_name(run, "hello")["outputs"] == {"greeting": "greeting:1"}


def test_parameters_are_parsed_by_their_declared_type(project_dir: Path) -> None:
    write_pipeline(project_dir, "needs", PARAMS_PIPELINE)

    run = mlx_run_json(project_dir, "needs", "-p", "n=3", "-p", "flag=false", "-p", "ratio=2",
                       "-p", 'names=["x","y"]')  # fmt: skip

    assert run["parameters"] == {"n": 3, "flag": False, "ratio": 2.0, "names": ["x", "y"]}


# -- refused before anything runs ------------------------------------------------------------
def test_a_parameter_of_the_wrong_type_exits_2_naming_it_and_records_nothing(
    project_dir: Path,
) -> None:
    proc = mlx_cli(project_dir, "run", "example", "-p", "factor=abc", "--headless")

    assert proc.returncode == 2
    assert "parameter factor" in proc.stderr and "int" in proc.stderr
    assert "Traceback" not in proc.stderr
    _nothing_recorded(project_dir)


def test_a_wrong_parameter_leaves_the_runs_ref_where_it_was(project_dir: Path) -> None:
    mlx_ok(project_dir, "run", "example", "--headless")
    tip = runs_tip(project_dir)

    proc = mlx_cli(project_dir, "run", "example", "-p", "factor=1.5", "--headless")

    assert proc.returncode == 2 and "parameter factor" in proc.stderr
    assert runs_tip(project_dir) == tip


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-p", "fator=3"], "has no parameter 'fator'; did you mean 'factor'?"),
        (["-p", "factor"], "expected KEY=VALUE"),
        (["-p", "=3"], "expected KEY=VALUE"),
    ],
)
def test_malformed_or_unknown_parameters_exit_2(
    project_dir: Path, args: list[str], expected: str
) -> None:
    proc = mlx_cli(project_dir, "run", "example", *args, "--headless")

    assert proc.returncode == 2
    assert expected in proc.stderr
    _nothing_recorded(project_dir)


def test_a_missing_required_parameter_exits_2_naming_it(project_dir: Path) -> None:
    write_pipeline(project_dir, "needs", PARAMS_PIPELINE)

    proc = mlx_cli(project_dir, "run", "needs", "--headless")

    assert proc.returncode == 2
    assert "'n'" in proc.stderr and "missing" in proc.stderr
    _nothing_recorded(project_dir)


def test_an_unknown_pipeline_exits_2_with_did_you_mean(project_dir: Path) -> None:
    proc = mlx_cli(project_dir, "run", "exampel", "--headless")

    assert proc.returncode == 2
    assert "unknown pipeline 'exampel'; did you mean 'example'?" in proc.stderr
    _nothing_recorded(project_dir)


def test_an_unknown_stack_exits_2_with_did_you_mean(project_dir: Path) -> None:
    proc = mlx_cli(project_dir, "run", "example", "--stack", "locl", "--headless")

    assert proc.returncode == 2
    assert "unknown stack 'locl'; did you mean 'local'?" in proc.stderr
    _nothing_recorded(project_dir)


def test_an_unknown_pipeline_names_modules_that_could_not_be_read(project_dir: Path) -> None:
    broken = "from engine import pipeline\n\n@pipeline\ndef broken(:\n"
    (project_dir / "pipelines" / "broken.py").write_text(broken)

    proc = mlx_cli(project_dir, "run", "exampel", "--headless")

    assert proc.returncode == 2
    assert "unknown pipeline 'exampel'" in proc.stderr
    assert "pipelines/broken.py:4: SyntaxError" in proc.stderr
    _nothing_recorded(project_dir)


# -- a failing step --------------------------------------------------------------------------
def test_a_failing_step_exits_1_and_names_the_step_and_its_traceback(project_dir: Path) -> None:
    write_pipeline(project_dir, "boom", FAILING_PIPELINE)

    proc = mlx_cli(project_dir, "run", "boom", "--headless")

    assert proc.returncode == 1
    err = proc.stderr
    assert "✘ explode failed: RuntimeError: kaboom in explode" in err
    assert "⊘ after skipped (an upstream step failed)" in err
    assert "step explode failed:" in err and "Traceback (most recent call last)" in err
    assert 'raise RuntimeError("kaboom in explode")' in err
    assert re.search(r"full log: mlx runs logs [0-9a-f]{8} explode", err)
    assert re.search(r"run [0-9a-f]{8} failed in", err)


def test_a_failed_run_shows_failed_and_skipped_steps_in_runs_show(project_dir: Path) -> None:
    write_pipeline(project_dir, "boom", FAILING_PIPELINE)
    run = mlx_run_json(project_dir, "boom", expect=1)

    shown = mlx_ok(project_dir, "runs", "show", run["id"][:8]).stdout
    data = mlx_json(project_dir, "runs", "show", run["id"], "--json")
    logs = mlx_ok(project_dir, "runs", "logs", run["id"][:8], "explode").stdout

    assert run["status"] == "failed"
    assert [s["status"] for s in run["steps"]] == ["completed", "failed", "skipped"]
    assert re.search(r"status\s+✘ failed", shown)
    assert re.search(r"✘\s+explode\s+failed.*RuntimeError: kaboom in explode", shown)
    assert re.search(r"⊘\s+after\s+skipped", shown)
    assert "traceback of step explode:" in shown
    assert data["status"] == "failed"
    assert step_by_name(data, "explode")["error"]["type"] == "RuntimeError"
    assert "about to explode" in logs and "kaboom in explode" in logs


def test_events_of_a_failing_run_report_failure_and_skip(project_dir: Path) -> None:
    write_pipeline(project_dir, "boom", FAILING_PIPELINE)

    proc = mlx_cli(project_dir, "run", "boom", "--headless", "--events")

    assert proc.returncode == 1
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    failed = next(e for e in events if e["event"] == "step_failed")
    assert failed["step"] == "explode" and "kaboom" in failed["error"]
    assert any(e["event"] == "step_skipped" and e["step"] == "after" for e in events)
    assert events[-1]["event"] == "run_finished" and events[-1]["status"] == "failed"


# -- git hygiene ----------------------------------------------------------------------------
def _runs_leave_the_work_tree_alone(root: Path, env: dict[str, str]) -> None:
    write_pipeline(root, "boom", FAILING_PIPELINE)
    head = commit_all(root, "project")
    index_before = (root / ".git" / "index").read_bytes()

    mlx_ok(root, "run", "example", "-p", "factor=3", "--headless", env=env)
    mlx_ok(root, "run", "example", "-p", "factor=3", "--headless", env=env)
    mlx_ok(root, "run", "example", "--no-cache", "--headless", env=env)
    assert mlx_cli(root, "run", "boom", "--headless", env=env).returncode == 1

    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(root, "rev-parse", "HEAD").strip() == head
    assert (root / ".git" / "index").read_bytes() == index_before
    assert len(git(root, "rev-list", "refs/mlx/runs").split()) == 4
    assert_fsck_clean(root)


def test_runs_leave_git_status_head_and_index_unchanged_and_fsck_clean(project_dir: Path) -> None:
    _runs_leave_the_work_tree_alone(project_dir, {"PYTHONDONTWRITEBYTECODE": "1"})


# Regression (found by this suite, fixed since): importing the user's pipeline modules writes
# pipelines/__pycache__/, which `git status` shows as untracked: discovery does not set
# sys.dont_write_bytecode and `mlx init` writes no .gitignore for __pycache__/
def test_runs_leave_git_status_unchanged_when_python_writes_bytecode(project_dir: Path) -> None:
    _runs_leave_the_work_tree_alone(project_dir, {"PYTHONDONTWRITEBYTECODE": ""})


def test_a_run_records_the_commit_and_dirtiness_of_the_code(project_dir: Path) -> None:
    head = commit_all(project_dir, "project")
    clean = mlx_run_json(project_dir, "example")
    (project_dir / "notes.txt").write_text("not code: the run stays clean\n")
    git(project_dir, "add", "notes.txt")
    assert mlx_run_json(project_dir, "example")["code"]["dirty"] is False
    (project_dir / "pipelines" / "scratch.py").write_text("# an untracked module\n")
    dirty = mlx_run_json(project_dir, "example")

    assert clean["code"]["commit"] == head and clean["code"]["dirty"] is False
    assert dirty["code"]["commit"] == head and dirty["code"]["dirty"] is True
    assert dirty["code"]["dirty_files"] == ["pipelines/scratch.py"]


INTERRUPTED_PIPELINE = """
import os
import signal
from typing import Annotated

from engine import pipeline, step


@step
def first() -> Annotated[int, "a"]:
    return 1


@step
def interrupted(a: int) -> Annotated[int, "b"]:
    os.kill(os.getpid(), signal.SIGINT)
    return a


@step
def last(b: int) -> Annotated[int, "c"]:
    return b


@pipeline
def intr() -> None:
    last(interrupted(first()))
"""


def test_an_interrupted_run_exits_130_and_is_recorded_as_cancelled(project_dir: Path) -> None:
    write_pipeline(project_dir, "intr", INTERRUPTED_PIPELINE)

    proc = mlx_cli(project_dir, "run", "intr", "--headless")

    assert proc.returncode == 130
    assert "cancelled; its finished steps are kept for the cache" in proc.stderr
    run = mlx_json(project_dir, "runs", "list", "--json")[0]
    assert run["status"] == "cancelled"


# Regression (found by this suite, fixed since): RunDriver.abort() (engine/runner.py) only skips
# steps that never started; the step that was executing when the run was interrupted is committed
# with status 'running' inside a finished run record
def test_an_interrupted_run_leaves_no_step_marked_running(project_dir: Path) -> None:
    write_pipeline(project_dir, "intr", INTERRUPTED_PIPELINE)
    assert mlx_cli(project_dir, "run", "intr", "--headless").returncode == 130
    run_id = mlx_json(project_dir, "runs", "list", "--json")[0]["id"]

    run = mlx_json(project_dir, "runs", "show", run_id, "--json")

    assert step_by_name(run, "interrupted")["status"] == "cancelled"
    assert step_by_name(run, "last")["status"] == "skipped"
    assert "running" not in [s["status"] for s in run["steps"]]


def test_a_run_puts_no_bytecode_of_libraries_into_the_project(project_dir: Path) -> None:
    mlx_ok(project_dir, "run", "example", "--headless", env={"PYTHONDONTWRITEBYTECODE": ""})

    foreign = [
        str(p.relative_to(project_dir))
        for p in project_dir.rglob("*.pyc")
        if "site-packages" in str(p) or "/engine/" in str(p) or "/store/" in str(p)
    ]
    assert foreign == []
