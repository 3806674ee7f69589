"""Two steps running at once in one Dask worker process (a LocalCluster with one worker of two
threads) each get their own log: prints and logging records of one never land in the other's.

The steps wait for each other to start and to finish writing, so they write while both run.
"""

from __future__ import annotations

from pathlib import Path

from store.project import Project
from tests.engine._engine_helpers import step, write_module
from tests.engine._orchestrator_helpers import write_stack

TALKERS = """
import logging
import os
import time
from pathlib import Path
from typing import Annotated

from engine import pipeline, step


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 180  # generous: only a broken run waits this long
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path.name} never came")
        time.sleep(0.01)


@step
def talk(me: str, other: str, marker_dir: str) -> Annotated[int, "pid"]:
    markers = Path(marker_dir)
    (markers / f"started-{me}").write_text(str(os.getpid()))
    _wait_for(markers / f"started-{other}")
    for n in range(20):
        print(f"{me} prints {n}")
        logging.getLogger("talkers").warning("%s logs %s", me, n)
    (markers / f"done-{me}").touch()
    _wait_for(markers / f"done-{other}")
    return os.getpid()


@pipeline(enable_cache=False)
def pair(marker_dir: str) -> None:
    talk.with_options(name="talk_a")(me="a", other="b", marker_dir=marker_dir)
    talk.with_options(name="talk_b")(me="b", other="a", marker_dir=marker_dir)
"""


def test_concurrent_steps_in_one_worker_process_keep_their_own_logs(
    project_dir: Path, project: Project, tmp_path: Path
) -> None:
    from engine.runner import run_pipeline

    cluster = "local_cluster = { n_workers = 1, threads_per_worker = 2 }"
    write_stack(project_dir, "threads", f'flavor = "dask"\n{cluster}')
    markers = tmp_path / "markers"
    markers.mkdir()
    mod = write_module(project_dir, "talkers_mod", TALKERS)

    record = run_pipeline(project, mod.pair, mod.pair.bind((), {"marker_dir": str(markers)}),
                          stack="threads")  # fmt: skip

    assert record.status == "completed", record.error
    pids = {(markers / f"started-{me}").read_text() for me in "ab"}
    assert len(pids) == 1  # both steps ran in the same worker process, at the same time
    for me, other in (("a", "b"), ("b", "a")):
        log = project.artifacts.read_bytes(step(record, f"talk_{me}").log).decode()
        assert [f"{me} prints {n}" in log for n in range(20)] == [True] * 20, log
        assert [f"talkers: {me} logs {n}" in log for n in range(20)] == [True] * 20, log
        assert f"{other} prints" not in log and f"{other} logs" not in log, log
        live = project.git.common_dir / "mlx" / "logs" / record.id / f"talk_{me}.log"
        assert f"{other} prints" not in live.read_text()
