"""Helpers of the orchestrator contract tests: stacks for every flavor, a real Dask cluster.

The subprocess cluster is a real ``dask scheduler`` and two ``dask worker`` processes (one
thread each). Its scheduler has ``allowed-failures = 0`` so a killed worker fails the task at
once and mlx's retry policy is the only one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import REPO, wait_until

DIAMOND = """
from typing import Annotated

from engine import pipeline, step


@step
def source(n: int) -> Annotated[int, "seed"]:
    print(f"source {n}")
    return n


@step
def left(value: int) -> Annotated[int, "left_value"]:
    print(f"left of {value}")
    return value + 1


@step
def right(value: int) -> Annotated[int, "right_value"]:
    return value * 10


@step
def join(a: int, b: int) -> Annotated[list[int], "joined"]:
    return [a, b, a + b]


@pipeline
def diamond(n: int = 1) -> None:
    seed = source(n)
    join(left(seed), right(seed))
"""


def write_stack(project_dir: Path, name: str, orchestrator: str, extra: str = "") -> None:
    """``stacks/<name>.toml`` with the ``[orchestrator]`` table body ``orchestrator``."""
    (project_dir / "stacks" / f"{name}.toml").write_text(f"[orchestrator]\n{orchestrator}\n{extra}")


@dataclass
class SubprocessCluster:
    """A ``dask scheduler`` and its ``dask worker`` processes."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)


@contextmanager
def subprocess_cluster(tmp: Path, n_workers: int = 2) -> Iterator[SubprocessCluster]:
    env = {**os.environ, "PYTHONPATH": str(REPO),
           "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}  # fmt: skip
    file = tmp / "scheduler.json"
    log = open(tmp / "cluster.log", "ab")  # noqa: SIM115 - closed below
    dask = [sys.executable, "-m", "dask"]
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(file)], env=env, stdout=log, stderr=log,
    )  # fmt: skip
    cluster = SubprocessCluster("", scheduler)
    try:
        cluster.address = wait_until(lambda: _read_address(file), "the scheduler address")
        for i in range(n_workers):
            cluster.workers.append(subprocess.Popen(
                [*dask, "worker", cluster.address, "--nworkers", "1", "--nthreads", "1",
                 "--no-dashboard", "--local-directory", str(tmp / f"worker{i}")],
                env=env, stdout=log, stderr=log,
            ))  # fmt: skip
        from distributed import Client

        with Client(cluster.address, timeout="60s") as client:
            client.wait_for_workers(n_workers, timeout=120)
        yield cluster
    finally:
        for proc in [*cluster.workers, scheduler]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*cluster.workers, scheduler]:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def _read_address(file: Path) -> str | None:
    import json

    try:
        return str(json.loads(file.read_text())["address"])
    except (OSError, ValueError, KeyError):  # not written (completely) yet
        return None
