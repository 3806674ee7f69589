"""One contract, every orchestrator: local, local_parallel and dask (a real LocalCluster).

The same pipeline code runs unchanged on each; records are identical apart from timings and
the orchestrator's name, and a step cached by one orchestrator is a hit for the others.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store.project import Project
from store.records import RunRecord, StepRecord
from tests.engine._engine_helpers import statuses, step, write_module
from tests.engine._orchestrator_helpers import DIAMOND, wait_until, write_stack

FLAVORS = ["local", "local_parallel", "dask"]


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    """One small LocalCluster for the module (its workers are real processes)."""
    import dask
    from distributed import LocalCluster

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"},  # a free port: no clash, no leak
        ) as cluster,
    ):
        yield cluster.scheduler_address


@pytest.fixture
def stacks(project_dir: Path, dask_address: str) -> Path:
    write_stack(project_dir, "local", 'flavor = "local"')
    write_stack(project_dir, "local_parallel", 'flavor = "local_parallel"\nmax_workers = 2')
    write_stack(project_dir, "dask", f'flavor = "dask"\naddress = "{dask_address}"\n'
                                     'artifacts = "shared_cache"')  # fmt: skip
    return project_dir


def _run(project: Project, pipe: Any, stack: str, enable_cache: bool | None = None,
         **params: Any) -> Any:  # fmt: skip
    from engine.runner import run_pipeline

    return run_pipeline(project, pipe, pipe.bind((), params), stack=stack,
                        enable_cache=enable_cache)  # fmt: skip


def _comparable(project: Project, record: Any) -> list[dict[str, Any]]:
    """Steps without timings; artifacts by name and content hash instead of random ids."""
    steps = []
    for s in record.steps:
        data = s.model_dump(mode="json", exclude={"started_at", "finished_at"})
        for side in ("inputs", "outputs"):
            data[side] = {k: (v["name"], _md5(project, v["id"])) for k, v in data[side].items()}
        steps.append(data)
    return steps


def _md5(project: Project, artifact_id: str) -> str:
    record = project.index.artifact_by_id(artifact_id)
    assert record is not None
    return str(record["pointer"]["md5"])


@pytest.mark.parametrize("flavor", FLAVORS)
def test_diamond_runs_with_the_same_records_on_every_orchestrator(
    stacks: Path, project: Project, flavor: str
) -> None:
    mod = write_module(stacks, "diamond_mod", DIAMOND)
    reference = _run(project, mod.diamond, "local", enable_cache=False, n=3)
    other = _run(project, mod.diamond, flavor, enable_cache=False, n=3)
    assert other.status == "completed", other.error
    assert (reference.orchestrator, other.orchestrator) == ("local", flavor)
    assert _comparable(project, other) == _comparable(project, reference)
    from engine.client import Client

    assert Client(project.root).get_artifact_version("joined").load() == [4, 30, 34]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_cache_hits_carry_across_orchestrators(stacks: Path, project: Project, flavor: str) -> None:
    mod = write_module(stacks, "diamond_mod", DIAMOND)
    first = _run(project, mod.diamond, flavor, n=5)
    assert statuses(first) == dict.fromkeys(["source", "left", "right", "join"], "completed")
    for other in FLAVORS:
        again = _run(project, mod.diamond, other, n=5)
        assert statuses(again) == dict.fromkeys(["source", "left", "right", "join"], "cached")
        assert {s.cached_from for s in again.steps} == {first.id}


FLAKY = """
import os
from pathlib import Path
from typing import Annotated

from engine import StepRetryConfig, pipeline, step


@step(retry=StepRetryConfig(max_retries=3, delay=0, backoff=2))
def flaky(counter: str, fail_times: int) -> Annotated[int, "tries"]:
    path = Path(counter)
    tries = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(tries))
    print(f"attempt {tries}")
    if tries <= fail_times:
        raise RuntimeError(f"failure {tries}")
    return tries


@step(settings={"environment": {"GREETING": "from the step"}})
def env_reader() -> Annotated[str, "env"]:
    return os.environ.get("GREETING", "") + "|" + os.environ.get("STACK_ONLY", "")


@pipeline(enable_cache=False)
def retried(counter: str, fail_times: int = 2) -> None:
    flaky(counter=counter, fail_times=fail_times)


@pipeline(enable_cache=False)
def environment() -> None:
    env_reader()
"""


def _flaky_run(
    stacks: Path, project: Project, flavor: str, fail_times: int
) -> tuple[RunRecord, StepRecord]:
    """A run of ``retried`` whose step fails ``fail_times`` times; the record and the step."""
    mod = write_module(stacks, "flaky_mod", FLAKY)
    record = _run(
        project, mod.retried, flavor, counter=str(stacks / "count"), fail_times=fail_times
    )
    return record, step(record, "flaky")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_failing_step_is_retried_and_its_attempts_are_recorded(
    stacks: Path, project: Project, flavor: str
) -> None:
    record, flaky = _flaky_run(stacks, project, flavor, fail_times=2)
    assert (record.status, flaky.status, flaky.attempts) == ("completed", "completed", 3)
    assert flaky.retried_error is not None and flaky.retried_error.message == "failure 2"
    assert flaky.error is None
    log = project.artifacts.read_bytes(flaky.log).decode()
    assert "attempt 3" in log and "--- attempt 3 ---" in log
    # the live log holds every attempt (on Dask: streamed back from the workers as events)
    live = project.git.common_dir / "mlx" / "logs" / record.id / "flaky.log"
    wait_until(lambda: live.exists() and "attempt 3\n" in live.read_text(), "the live log")
    assert all(f"attempt {n}\n" in live.read_text() for n in (1, 2, 3))


@pytest.mark.parametrize("flavor", FLAVORS)
def test_retries_run_out_with_the_last_error_kept(
    stacks: Path, project: Project, flavor: str
) -> None:
    record, flaky = _flaky_run(stacks, project, flavor, fail_times=9)
    assert (record.status, flaky.status, flaky.attempts) == ("failed", "failed", 4)
    assert flaky.error is not None and flaky.error.message == "failure 4"
    assert flaky.retried_error is not None and flaky.retried_error.message == "failure 3"


@pytest.mark.parametrize("flavor", FLAVORS)
def test_environment_comes_from_the_stack_and_the_step(
    stacks: Path, project: Project, flavor: str
) -> None:
    path = stacks / "stacks" / f"{flavor}.toml"
    path.write_text(path.read_text() + "\n[settings.environment]\n"
                    'GREETING = "from the stack"\nSTACK_ONLY = "yes"\n')  # fmt: skip
    mod = write_module(stacks, "flaky_mod", FLAKY)
    record = _run(project, mod.environment, flavor)
    from engine.client import Client

    assert record.status == "completed", record.error
    assert Client(project.root).get_artifact_version("env").load() == "from the step|yes"
    assert "GREETING" not in os.environ


PLACED = """
import os
from typing import Annotated

from engine import pipeline, step


@step
def here() -> Annotated[int, "here_pid"]:
    return os.getpid()


@step(settings={"orchestrator": "dask"})
def there(pid: int) -> Annotated[list[int], "pids"]:
    return [pid, os.getpid()]


@step(settings={"resources": {"gpu": 1, "memory": "1MB"}})
def on_gpu() -> Annotated[str, "gpu_worker"]:
    from distributed import get_worker

    return str(get_worker().address)


@pipeline(enable_cache=False)
def mixed() -> None:
    there(here())


@pipeline(enable_cache=False)
def needs_gpu() -> None:
    on_gpu()
"""


def test_one_step_runs_on_another_stacks_orchestrator(stacks: Path, project: Project) -> None:
    mod = write_module(stacks, "placed_mod", PLACED)
    record = _run(project, mod.mixed, "local")
    assert record.status == "completed", record.error
    from engine.client import Client

    local_pid, remote_pid = Client(project.root).get_artifact_version("pids").load()
    assert local_pid == os.getpid() and remote_pid != os.getpid()  # on a Dask worker


def test_resources_are_matched_against_dask_workers(stacks: Path, project: Project) -> None:
    mod = write_module(stacks, "placed_mod", PLACED)
    refused = _run(project, mod.needs_gpu, "dask")
    on_gpu = step(refused, "on_gpu")
    assert on_gpu.status == "failed" and on_gpu.error is not None
    assert "asks for MEMORY=1000000, GPU=1 but no Dask worker offers that" in on_gpu.error.message
    cluster = "local_cluster = { n_workers = 1, resources = { GPU = 1, MEMORY = 2e9 } }"
    write_stack(stacks, "gpu", f'flavor = "dask"\n{cluster}')
    record = _run(project, mod.needs_gpu, "gpu")  # a LocalCluster started for this run
    assert record.status == "completed", record.error
    assert record.orchestrator == "dask"
