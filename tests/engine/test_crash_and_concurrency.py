"""A killed run becomes a `crashed` record whose finished steps a rerun takes from the cache;
several processes running pipelines in one repository never collide on the runs ref; temp
directories go on every exit path, those of a killed run at the next run."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _engine_helpers import read_run

from store.paths import journal_dir
from store.project import Project
from tests.support import (
    CRASHING_PIPELINE,
    FAILING_PIPELINE,
    fsck_problems,
    mlx_cli,
    mlx_env,
    wait_until,
    write_pipeline,
)

FANOUT = """
from typing import Annotated

from engine import pipeline, step


@step
def seed(n: int) -> Annotated[int, "seed"]:
    return n


@step
def left(x: int) -> Annotated[int, "left"]:
    return x + 1


@step
def right(x: int) -> Annotated[int, "right"]:
    return x + 2


@step
def join(a: int, b: int) -> Annotated[int, "joined"]:
    return a + b


@pipeline
def fanout(n: int = 1) -> None:
    s = seed(n)
    join(left(s), right(s))
"""


def _journal_events(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for path in directory.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):  # a line being written right now
                events.append((path.stem, json.loads(line)))
    return events


def _finished_step(directory: Path, step: str, proc: subprocess.Popen[bytes]) -> str | None:
    """The run id once the journal shows ``step`` completed (None: not yet)."""
    for run_id, event in _journal_events(directory):
        record = event.get("step") or {}
        if record.get("name") == step and record.get("status") == "completed":
            return run_id
    assert proc.poll() is None, "the pipeline process exited before it could be killed"
    return None


def test_killed_run_is_listed_as_crashed_and_a_rerun_resumes_from_the_cache(
    project_dir: Path,
) -> None:
    write_pipeline(project_dir, "crash", CRASHING_PIPELINE)
    journals = journal_dir(Project(project_dir).git.common_dir)
    env = mlx_env({"MLX_TEST_HANG": "1"})
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "run", "crash", "--headless"],
                            cwd=project_dir, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        run_id = wait_until(lambda: _finished_step(journals, "make", proc))
        listed = mlx_cli(project_dir, "runs", "list", "--json")
        assert [(r["id"], r["status"]) for r in json.loads(listed.stdout)] == [(run_id, "running")]
    finally:
        proc.kill()
        proc.wait(timeout=30)

    listed = mlx_cli(project_dir, "runs", "list", "--json")

    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["status"]) for r in rows] == [(run_id, "crashed")]
    crashed = read_run(Project(project_dir), run_id)
    steps = {s["name"]: s for s in crashed["steps"]}
    assert steps["make"]["status"] == "completed"
    assert steps["die"]["status"] == "failed" and steps["die"]["error"]["type"] == "Crashed"
    assert crashed["error"]["type"] == "Crashed"
    assert list(journals.glob("*.jsonl")) == []

    rerun = mlx_cli(project_dir, "run", "crash", "-p", "really=false", "--headless", "--json")

    assert rerun.returncode == 0, rerun.stderr
    data = json.loads(rerun.stdout)
    by_name = {s["name"]: s for s in data["steps"]}
    assert by_name["make"]["status"] == "cached"
    assert by_name["make"]["cached_from"] == run_id
    assert by_name["make"]["outputs"] == {"made": "made:1"}
    assert by_name["die"]["status"] == "completed"
    assert data["status"] == "completed"
    assert fsck_problems(project_dir) == []


def test_four_processes_running_at_once_record_four_runs_with_unique_versions(
    project_dir: Path,
) -> None:
    write_pipeline(project_dir, "fanout", FANOUT)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(
            lambda n: mlx_cli(project_dir, "run", "fanout", "--headless", "--no-cache", "--json",
                              "-p", f"n={n}"),
            range(4),
        ))  # fmt: skip

    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr for r in results]
    runs = [json.loads(r.stdout) for r in results]
    assert len({r["id"] for r in runs}) == 4
    listed = json.loads(mlx_cli(project_dir, "runs", "list", "--json").stdout)
    assert sorted((r["id"], r["status"]) for r in listed) == sorted(
        (r["id"], "completed") for r in runs)  # fmt: skip
    project = Project(project_dir)
    for name in ("seed", "left", "right", "joined"):
        versions = project.index.artifact_versions(name)
        assert sorted(v["version"] for v in versions) == [1, 2, 3, 4]
        assert len({v["id"] for v in versions}) == 4
        assert len({v["run_id"] for v in versions}) == 4
    for r in runs:  # every run's labels point at its own versions
        joined = next(s for s in r["steps"] if s["name"] == "join")["outputs"]["joined"]
        version = int(joined.split(":")[1])
        record = project.index.artifact_json("joined", version)
        assert record["run_id"] == r["id"]
        assert Project(project_dir).index.run_json(r["id"])["parameters"]["n"] == (
            r["parameters"]["n"])  # fmt: skip
    assert fsck_problems(project_dir) == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _write_dead_journal(project: Project) -> tuple[str, str, Path]:
    """A journal of a run whose process died after its first step stored one artifact."""
    import socket
    import uuid
    from datetime import UTC, datetime

    from store.records import ArtifactRef, RunRecord, StepRecord

    run_id, art_id, now = uuid.uuid4().hex, uuid.uuid4().hex, datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        value = Path(tmp) / "v.json"
        value.write_text("7")
        pointer = project.artifacts.save(value).model_dump()
    draft = {
        "id": art_id, "name": "first_out", "type": "builtins.int",
        "materializer": "engine.materializers.builtin.JsonMaterializer", "pointer": pointer,
        "run_id": run_id, "step": "first", "output": "first_out", "created_at": now.isoformat(),
    }  # fmt: skip
    header = RunRecord(id=run_id, pipeline="crashy", status="running", started_at=now)
    step = StepRecord(name="first", status="completed", started_at=now, finished_at=now,
                      outputs={"first_out": ArtifactRef(id=art_id, name="first_out")})  # fmt: skip
    lines = [
        {"event": "run_started", "pid": _dead_pid(), "host": socket.gethostname(),
         "started_at": now.isoformat(), "run": header.model_dump(mode="json", by_alias=True)},
        {"event": "step", "time": now.isoformat(), "step": step.model_dump(mode="json"),
         "artifacts": [draft]},
    ]  # fmt: skip
    directory = journal_dir(project.git.common_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{run_id}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return run_id, art_id, path


def test_dead_journal_is_folded_into_one_crashed_run(project_dir: Path) -> None:
    from store.recorder import fold_crashed_runs

    project = Project(project_dir)
    run_id, art_id, path = _write_dead_journal(project)

    assert fold_crashed_runs(project.runs) == [run_id]

    assert not path.exists()
    assert project.index.run_json(run_id)["status"] == "crashed"
    assert [v["id"] for v in project.index.artifact_versions("first_out")] == [art_id]
    assert fold_crashed_runs(project.runs) == []


def test_dead_journal_folded_by_two_processes_records_its_artifacts_once(
    project_dir: Path,
) -> None:
    from store.recorder import fold_crashed_runs

    project = Project(project_dir)
    run_id, art_id, path = _write_dead_journal(project)
    seen_by_second = path.read_bytes()  # the second process read it before the first unlinked it

    fold_crashed_runs(project.runs)
    path.write_bytes(seen_by_second)
    fold_crashed_runs(Project(project_dir).runs)

    assert [v["id"] for v in project.index.artifact_versions("first_out")] == [art_id]


def test_temp_dirs_go_on_every_exit_and_a_killed_runs_go_at_the_next_run(
    project_dir: Path, tmp_path: Path
) -> None:
    write_pipeline(project_dir, "crash", CRASHING_PIPELINE)
    write_pipeline(project_dir, "boom", FAILING_PIPELINE)
    env = {"TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    scratch = tmp_path / "tmp" / f"mlx-{os.getuid()}"

    failed = mlx_cli(project_dir, "run", "boom", "--headless", env=env)
    assert failed.returncode == 1, failed.stderr
    assert list(scratch.iterdir()) == []  # a failed run cleans up after itself

    killed = mlx_cli(project_dir, "run", "crash", "--headless", env=env)
    assert killed.returncode == -9
    left = list(scratch.iterdir())
    assert len(left) == 1 and left[0].name.split("-")[0].isdigit()  # <pid>-<random>

    rerun = mlx_cli(project_dir, "run", "crash", "-p", "really=false", "--headless", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert list(scratch.iterdir()) == []
