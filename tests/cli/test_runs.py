"""`mlx runs list|show|logs`: filters, JSON forms, cache notes, logs, live and crashed runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from _helpers import copy_project, step_by_name

from tests.support import (
    CRASHING_PIPELINE,
    FAILING_PIPELINE,
    mlx_cli,
    mlx_env,
    mlx_json,
    mlx_ok,
    mlx_run_json,
    wait_until,
    write_pipeline,
)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, template_project: Path) -> dict[str, Any]:
    """One project with four runs: fresh, fully cached, parameter changed, failed."""
    root = copy_project(template_project, tmp_path_factory.mktemp("runs") / "proj")
    write_pipeline(root, "boom", FAILING_PIPELINE)
    runs = {
        "fresh": mlx_run_json(root, "example", "-p", "factor=3"),
        "cached": mlx_run_json(root, "example", "-p", "factor=3"),
        "changed": mlx_run_json(root, "example", "-p", "factor=4"),
        "failed": mlx_run_json(root, "boom", expect=1),
    }
    return {"root": root, **runs}


# -- list ------------------------------------------------------------------------------------
def test_list_json_gives_every_run_newest_first_with_iso_times(history: dict[str, Any]) -> None:
    runs = mlx_json(history["root"], "runs", "list", "--json")

    expected = [history[k]["id"] for k in ("failed", "changed", "cached", "fresh")]
    assert [r["id"] for r in runs] == expected
    for run in runs:
        assert {"id", "pipeline", "status", "started_at", "finished_at"} <= set(run)
        started = datetime.fromisoformat(run["started_at"])
        finished = datetime.fromisoformat(run["finished_at"])
        assert started.tzinfo is not None and finished >= started
    assert [r["status"] for r in runs] == ["failed", "completed", "completed", "completed"]
    assert [r["pipeline"] for r in runs] == ["boom", "example", "example", "example"]
    assert runs[2]["steps_cached"] == 3 and runs[2]["steps_done"] == 3


def test_list_filters_by_pipeline_status_and_limit(history: dict[str, Any]) -> None:
    root = history["root"]

    by_pipeline = mlx_json(root, "runs", "list", "--pipeline", "example", "--json")
    failed = mlx_json(root, "runs", "list", "--status", "failed", "--json")
    limited = mlx_json(root, "runs", "list", "--limit", "2", "--json")
    nothing = mlx_json(root, "runs", "list", "--pipeline", "nope", "--json")

    assert [r["id"] for r in by_pipeline] == [
        history[k]["id"] for k in ("changed", "cached", "fresh")
    ]
    assert [r["id"] for r in failed] == [history["failed"]["id"]]
    assert [r["id"] for r in limited] == [history["failed"]["id"], history["changed"]["id"]]
    assert nothing == []


# Regression (found by this suite, fixed since): Index.list_runs (store/index.py) tests `if
# limit:`, so --limit 0 means 'no limit' and prints every run instead of at most 0
def test_list_limit_zero_lists_no_run(history: dict[str, Any]) -> None:
    assert mlx_json(history["root"], "runs", "list", "--limit", "0", "--json") == []


def test_list_table_shows_status_id_pipeline_and_cached_steps(history: dict[str, Any]) -> None:
    out = mlx_ok(history["root"], "runs", "list").stdout

    lines = out.splitlines()
    assert lines[0].split() == ["STATUS", "ID", "PIPELINE", "STARTED", "DURATION", "STEPS",
                                "STACK", "COMMIT"]  # fmt: skip
    assert len(lines) == 5
    assert re.search(rf"✘ failed\s+{history['failed']['id'][:8]}\s+boom", lines[1])
    assert re.search(rf"{history['cached']['id'][:8]}\s+example.*3/3 \(3 cached\)\s+local", out)


def test_list_rejects_an_unknown_status_with_exit_2(history: dict[str, Any]) -> None:
    proc = mlx_cli(history["root"], "runs", "list", "--status", "exploded")

    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_list_in_a_project_without_runs_says_how_to_start(project_dir: Path) -> None:
    assert mlx_ok(project_dir, "runs", "list").stdout.startswith("no runs yet")
    assert mlx_json(project_dir, "runs", "list", "--json") == []


# -- show ------------------------------------------------------------------------------------
def test_show_by_prefix_explains_cache_hits_and_reruns(history: dict[str, Any]) -> None:
    fresh, changed = history["fresh"]["id"], history["changed"]["id"]

    out = mlx_ok(history["root"], "runs", "show", changed[:6]).stdout

    assert f"run       {changed}" in out
    assert "params    factor=4" in out
    assert re.search(rf"↺\s+load_numbers\s+cached.*cached from run {fresh[:8]}", out)
    assert re.search(r"✔\s+scale\s+completed.*scaled=scaled:2\s+re-ran: parameter factor changed",
                     out)  # fmt: skip
    assert re.search(r"total\s+completed.*re-ran: input scaled changed", out)


def test_show_json_is_the_same_stable_form_as_run_json(history: dict[str, Any]) -> None:
    cached = history["cached"]

    shown = mlx_json(history["root"], "runs", "show", cached["id"][:10], "--json")

    assert shown == cached
    assert all(s["cached_from"] == history["fresh"]["id"] for s in shown["steps"])
    assert step_by_name(shown, "scale")["parameters"] == {"factor": 3}


def test_show_of_an_unknown_run_exits_2_listing_recent_ids(history: dict[str, Any]) -> None:
    proc = mlx_cli(history["root"], "runs", "show", "zzzz")

    assert proc.returncode == 2
    assert "unknown run 'zzzz'" in proc.stderr
    assert history["failed"]["id"][:8] in proc.stderr
    assert "Traceback" not in proc.stderr


def test_show_of_an_ambiguous_prefix_exits_2(project: Any) -> None:
    from datetime import UTC

    from store.recorder import commit_run
    from store.records import RunRecord

    now = datetime.now(UTC)
    for run_id in ("abc1" + "0" * 28, "abc2" + "0" * 28):
        commit_run(project.runs, RunRecord(id=run_id, pipeline="p", status="completed",
                                           started_at=now, finished_at=now), [])  # fmt: skip

    ambiguous = mlx_cli(project.root, "runs", "show", "abc")
    exact = mlx_json(project.root, "runs", "show", "abc2", "--json")

    assert ambiguous.returncode == 2
    assert "ambiguous" in ambiguous.stderr and "abc1" in ambiguous.stderr
    assert exact["id"].startswith("abc2")


# -- logs ------------------------------------------------------------------------------------
def test_logs_of_a_step_show_what_it_printed(history: dict[str, Any]) -> None:
    out = mlx_ok(history["root"], "runs", "logs", history["fresh"]["id"][:8], "scale").stdout

    assert out == "scaling 4 numbers by 3\n"


def test_logs_of_a_whole_run_have_one_section_per_step(history: dict[str, Any]) -> None:
    out = mlx_ok(history["root"], "runs", "logs", history["changed"]["id"]).stdout

    assert "==> load_numbers <==" in out and "==> scale <==" in out and "==> total <==" in out
    assert f"(cached from run {history['fresh']['id'][:8]}" in out
    assert "scaling 4 numbers by 4" in out


def test_logs_of_a_cached_step_point_at_the_run_that_made_it(history: dict[str, Any]) -> None:
    fresh = history["fresh"]["id"][:8]

    out = mlx_ok(history["root"], "runs", "logs", history["cached"]["id"], "scale").stdout

    assert f"mlx runs logs {fresh} scale" in out


def test_logs_of_an_unknown_step_or_run_exit_2(history: dict[str, Any]) -> None:
    root, run_id = history["root"], history["fresh"]["id"][:8]

    step = mlx_cli(root, "runs", "logs", run_id, "scal")
    run = mlx_cli(root, "runs", "logs", "ffffffff", "scale")

    assert step.returncode == 2 and "did you mean 'scale'?" in step.stderr
    assert run.returncode == 2 and "unknown run 'ffffffff'" in run.stderr


# -- live and crashed runs -------------------------------------------------------------------
WAITING_PIPELINE = """
import os
import time
from pathlib import Path
from typing import Annotated

from engine import pipeline, step


@step
def ready() -> Annotated[int, "ready_value"]:
    return 1


@step
def wait_for_go(ready_value: int) -> Annotated[int, "went"]:
    go = Path(os.environ["MLX_TEST_GO"])
    deadline = time.monotonic() + 600  # a hang guard: the test writes the file
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return ready_value


@step
def after_go(went: int) -> Annotated[int, "after_go"]:
    return went


@pipeline
def waiting() -> None:
    after_go(wait_for_go(ready()))
"""


def test_a_live_run_is_listed_and_shown_as_running(project_dir: Path) -> None:
    write_pipeline(project_dir, "waiting", WAITING_PIPELINE)
    go = project_dir.parent / "go"
    env = mlx_env({"MLX_TEST_GO": str(go)})
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "run", "waiting", "--headless"],
                            cwd=project_dir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:

        def one_step_done() -> list[dict[str, Any]]:
            live = mlx_json(project_dir, "runs", "list", "--status", "running", "--json")
            return live if live and live[0]["steps_done"] == 1 else []

        live = wait_until(one_step_done)
        assert len(live) == 1 and live[0]["pipeline"] == "waiting"
        assert live[0]["finished_at"] is None
        shown = mlx_ok(project_dir, "runs", "show", live[0]["id"][:8]).stdout
        assert "status    ▶ running" in shown
        assert re.search(r"▶\s+wait_for_go\s+running", shown)
        assert re.search(r"○\s+after_go\s+pending", shown)  # planned, not started yet
        assert live[0]["steps_total"] == 3
    finally:
        go.write_text("go")
        proc.communicate(timeout=60)
    assert proc.returncode == 0
    final = mlx_json(project_dir, "runs", "list", "--json")
    assert [(r["id"], r["status"]) for r in final] == [(live[0]["id"], "completed")]


def test_a_killed_run_becomes_crashed_and_a_rerun_resumes_from_its_steps(
    project_dir: Path,
) -> None:
    write_pipeline(project_dir, "crash", CRASHING_PIPELINE)
    killed = mlx_cli(project_dir, "run", "crash", "--headless")
    assert killed.returncode == -9

    runs = mlx_json(project_dir, "runs", "list", "--json")
    crashed = mlx_json(project_dir, "runs", "show", runs[0]["id"], "--json")
    rerun = mlx_run_json(project_dir, "crash", "-p", "really=false")

    assert [r["status"] for r in runs] == ["crashed"]
    assert crashed["error"]["type"] == "Crashed"
    assert step_by_name(crashed, "make")["status"] == "completed"
    assert step_by_name(crashed, "die")["status"] == "failed"
    assert step_by_name(rerun, "make")["cached_from"] == crashed["id"]
    assert not list((project_dir / ".git" / "mlx" / "journal").glob("*.jsonl"))


def test_run_json_started_and_finished_at_round_trip(history: dict[str, Any]) -> None:
    run = history["failed"]
    for step in run["steps"]:
        for key in ("started_at", "finished_at"):
            if step[key] is not None:
                assert datetime.fromisoformat(step[key]).tzinfo is not None
    assert json.loads(json.dumps(run)) == run
