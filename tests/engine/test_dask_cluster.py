"""The dask orchestrator on a real cluster: a ``dask scheduler`` and two ``dask worker``
subprocesses, artifacts travelling through a local DVC remote directory (``artifacts = "remote"``).

Killing a worker mid-step (a real SIGKILL while the step waits on a go-file): with retries the
run completes on another attempt; without, the step fails naming the worker. Either way the runs
ref, the project's DVC cache and the remote stay consistent.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store.project import Project
from store.records import DvcPointer, RunRecord
from tests.engine._engine_helpers import step, write_module
from tests.engine._orchestrator_helpers import (
    DIAMOND,
    SubprocessCluster,
    subprocess_cluster,
    wait_until,
    write_stack,
)
from tests.support import fsck_problems

GO_FILE = """
import os
import time
from pathlib import Path
from typing import Annotated

from engine import StepRetryConfig, pipeline, step


@step
def prepare(n: int) -> Annotated[int, "prepared"]:
    return n * 2


@step(retry=StepRetryConfig(max_retries=2, delay=0))
def wait_for_go(value: int, marker_dir: str) -> Annotated[int, "went"]:
    from distributed import get_worker

    markers = Path(marker_dir)
    (markers / f"started-{os.getpid()}").write_text(get_worker().address)
    while not (markers / "go").exists():  # the test kills this worker, then says go
        time.sleep(0.05)
    print("went")
    return value + 1


@pipeline(enable_cache=False)
def patient(marker_dir: str) -> None:
    wait_for_go(prepare(1), marker_dir=marker_dir)


@pipeline(enable_cache=False)
def fragile(marker_dir: str) -> None:
    wait_for_go.with_options(retry=None)(prepare(1), marker_dir=marker_dir)
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SubprocessCluster]:
    with subprocess_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture
def remote_stack(project_dir: Path, cluster: SubprocessCluster, tmp_path: Path) -> Path:
    remote = tmp_path / "dvc-remote"
    remote.mkdir()
    with open(project_dir / ".dvc" / "config", "a", encoding="utf-8") as fh:
        fh.write(f"['remote \"storage\"']\n    url = {remote}\n")
    write_stack(project_dir, "cluster", f'flavor = "dask"\naddress = "{cluster.address}"\n',
                '[artifact_store]\nremote = "storage"\n')  # fmt: skip
    return remote


def _run(project: Project, pipe: Any, **params: Any) -> RunRecord:
    from engine.runner import run_pipeline

    return run_pipeline(project, pipe, pipe.bind((), params), stack="cluster")


def _assert_consistent(project: Project, record: RunRecord) -> None:
    """The record is on the ref; every output and log is in the local cache and the remote."""
    assert project.runs.read(f"runs/{record.id[:2]}/{record.id}.json") is not None
    assert fsck_problems(project.root) == []
    for s in record.steps:
        pointers = [
            DvcPointer.model_validate(project.index.artifact_by_id(ref.id)["pointer"])  # type: ignore[index]
            for ref in s.outputs.values()
        ] + ([s.log] if s.log else [])
        for pointer in pointers:
            assert project.artifacts.exists(pointer), f"{s.name}: {pointer.md5} not cached"
            assert project.artifacts.in_remote(pointer, remote="storage")
    assert not list((project.git.common_dir / "mlx" / "journal").glob("*")) or all(
        not p.read_text() for p in (project.git.common_dir / "mlx" / "journal").glob("*")
    )


def test_diamond_runs_on_a_cluster_through_the_dvc_remote(
    project_dir: Path, project: Project, remote_stack: Path
) -> None:
    mod = write_module(project_dir, "diamond_mod", DIAMOND)
    record = _run(project, mod.diamond, n=3)
    assert record.status == "completed", record.error
    assert record.orchestrator == "dask"
    _assert_consistent(project, record)
    assert project.artifacts.read_bytes(step(record, "source").log).decode() == "source 3\n"
    from engine.client import Client

    assert Client(project.root).get_artifact_version("joined").load() == [4, 30, 34]


def _kill_first_attempt(markers: Path, thread: threading.Thread) -> str:
    started = wait_until(lambda: sorted(markers.glob("started-*")), "the step to start")
    pid = int(started[0].name.split("-")[1])
    address = started[0].read_text()
    os.kill(pid, signal.SIGKILL)
    return address


def _start(
    project: Project, project_dir: Path, pipeline: str, markers: Path
) -> tuple[threading.Thread, list[Any]]:
    """Run ``pipeline`` of the go-file module in a thread; its steps mark their starts in
    ``markers`` (made here). The record lands in the returned list."""
    pipe = getattr(write_module(project_dir, "go_mod", GO_FILE), pipeline)
    markers.mkdir()
    box: list[Any] = []
    thread = threading.Thread(
        target=lambda: box.append(_run(project, pipe, marker_dir=str(markers)))
    )
    thread.start()
    return thread, box


def test_a_killed_worker_is_retried_and_the_run_completes(
    project_dir: Path, project: Project, remote_stack: Path, tmp_path: Path
) -> None:
    markers = tmp_path / "markers"
    thread, box = _start(project, project_dir, "patient", markers)
    killed = _kill_first_attempt(markers, thread)
    wait_until(lambda: len(list(markers.glob("started-*"))) >= 2, "the retry to start")
    (markers / "go").touch()
    thread.join(timeout=300)
    record = box[0]
    went = step(record, "wait_for_go")
    assert (record.status, went.status, went.attempts) == ("completed", "completed", 2)
    assert went.retried_error is not None and killed in went.retried_error.message
    assert "died while running step 'wait_for_go'" in went.retried_error.message
    _assert_consistent(project, record)


def test_a_killed_worker_without_retries_fails_the_step_naming_the_worker(
    project_dir: Path, project: Project, remote_stack: Path, tmp_path: Path
) -> None:
    markers = tmp_path / "markers"
    thread, box = _start(project, project_dir, "fragile", markers)
    killed = _kill_first_attempt(markers, thread)
    thread.join(timeout=300)
    record = box[0]
    went = step(record, "wait_for_go")
    assert (record.status, went.status, went.attempts) == ("failed", "failed", 1)
    assert went.error is not None
    assert f"Dask worker {killed} died while running step 'wait_for_go'" in went.error.message
    assert record.error is not None and killed in record.error.message
    _assert_consistent(project, record)
