"""Bytes or failure: a step whose outputs cannot be stored fails, and cached bytes are checked
against their md5 before ``load()`` or the step cache uses them."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _engine_helpers import run, statuses
from _engine_helpers import step as step_of
from test_caching import chain

from engine import Client, save_artifact
from store.errors import ArtifactMissingError
from store.project import Project
from store.records import DvcPointer
from tests.support import REPO, cache_objects, commit_all, write_pipeline

BIG = """\
from typing import Annotated
from engine import pipeline, step

@step
def make() -> Annotated[bytes, "blob"]:
    return b"x" * 3_000_000

@step
def use(blob: bytes) -> Annotated[int, "n"]:
    return len(blob)

@pipeline
def big() -> None:
    use(make())
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, Callable[[], None] | None, str]]:
    """A 1 MB filesystem for the DVC cache: a tmpfs when mountable, else RLIMIT_FSIZE.

    Yields ``(directory, preexec_fn for the mlx subprocess, expected OS error text)``.
    """
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True
    ).returncode == 0  # fmt: skip
    if mounted:
        yield disk, None, "No space left on device"
        subprocess.run(["umount", "-l", str(disk)], check=False)
        return

    def limit() -> None:  # writes beyond 1 MB fail with EFBIG (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    yield disk, limit, "File too large"


def test_a_run_whose_outputs_cannot_be_stored_fails_with_the_os_error(
    project_dir: Path, small_disk: tuple[Path, Callable[[], None] | None, str]
) -> None:
    disk, preexec, error = small_disk
    cache = disk / "cache"
    with (project_dir / ".dvc" / "config").open("a") as config:
        config.write(f"[cache]\n    dir = {cache}\n")
    write_pipeline(project_dir, "big", BIG)
    commit_all(project_dir)

    proc = subprocess.run(
        [sys.executable, "-m", "tui.cli", "run", "big", "--headless"], cwd=project_dir,
        env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
        preexec_fn=preexec, timeout=120,
    )  # fmt: skip

    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert error in proc.stdout + proc.stderr
    (listed,) = json.loads(
        subprocess.run(
            [sys.executable, "-m", "tui.cli", "runs", "list", "--json"], cwd=project_dir,
            env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
        ).stdout
    )  # fmt: skip
    assert listed["status"] == "failed" and listed["steps_done"] == 0
    record = Project(project_dir).index.run_json(listed["id"])
    make = next(s for s in record["steps"] if s["name"] == "make")
    assert make["status"] == "failed" and error in make["error"]["message"]
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
    assert Project(project_dir).index.artifact_names() == []


def _corrupt(path: Path) -> None:
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))


def test_load_refuses_corrupted_cache_bytes_and_removes_them(project: Project) -> None:
    save_artifact({"a": 1}, "config", project=project)
    md5 = project.index.artifact_json("config")["pointer"]["md5"]
    view = Client(project).get_artifact_version("config")
    assert view.load() == {"a": 1}  # verified once, remembered
    _corrupt(cache_objects(project.root)[md5])

    with pytest.raises(ArtifactMissingError, match=f"{md5} did not match their md5"):
        view.load()
    assert md5 not in cache_objects(project.root)


def test_corrupted_bytes_are_fetched_again_from_the_dvc_remote(
    project: Project, tmp_path: Path
) -> None:
    (tmp_path / "remote").mkdir()
    subprocess.run(
        [sys.executable, "-m", "dvc", "remote", "add", "-d", "store", str(tmp_path / "remote")],
        cwd=project.root, check=True, capture_output=True,
    )  # fmt: skip
    project = Project(project.root)
    save_artifact(list(range(100)), "numbers", project=project)
    pointer = project.index.artifact_json("numbers")["pointer"]
    project.artifacts.push([DvcPointer(**pointer)])
    _corrupt(cache_objects(project.root)[pointer["md5"]])

    assert Client(project).get_artifact_version("numbers").load() == list(range(100))


def test_the_step_cache_never_serves_corrupted_bytes(project: Project) -> None:
    run(project, chain)
    pointer = project.index.artifact_json("zeros")["pointer"]
    _corrupt(cache_objects(project.root)[pointer["md5"]])

    second = run(project, chain)

    assert statuses(second)["zeros"] == "completed"
    assert step_of(second, "zeros").rerun_reasons == [
        "cached outputs are no longer in the DVC cache or remote"
    ]
    assert Client(project).get_artifact_version("zeros").load() == [0, 0, 0]
