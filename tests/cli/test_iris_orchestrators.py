"""The iris sample on every orchestrator: the same records (timings and the orchestrator's name
aside) and cache hits across them. Real `mlx run` processes; Dask is a LocalCluster started
for each run (``local_cluster``), reading and writing the project's DVC cache.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import mlx_ok

STACKS = {
    "local": 'flavor = "local"',
    "parallel": 'flavor = "local_parallel"\nmax_workers = 2',
    "cluster": 'flavor = "dask"\nlocal_cluster = { n_workers = 2, threads_per_worker = 1 }',
}


@pytest.fixture
def iris(demo_copy: Path) -> Path:
    for name, body in STACKS.items():
        (demo_copy / "stacks" / f"{name}.toml").write_text(f"[orchestrator]\n{body}\n")
    return demo_copy


def _run(root: Path, pipeline: str, stack: str, *extra: str) -> dict[str, Any]:
    proc = mlx_ok(root, "run", pipeline, "--headless", "--json", "--stack", stack, *extra)
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def _steps(root: Path, run: dict[str, Any]) -> list[dict[str, Any]]:
    """Steps without timings; outputs by artifact name and content hash."""
    from store.project import Project

    project = Project(root)
    record = project.index.run_json(run["id"])
    steps = []
    for step in record["steps"]:
        data = {k: v for k, v in step.items() if k not in ("started_at", "finished_at")}
        for side in ("inputs", "outputs"):
            data[side] = {k: (ref["name"], project.index.artifact_by_id(ref["id"])["pointer"])
                          for k, ref in step[side].items()}  # fmt: skip
        steps.append(data)
    return steps


def test_iris_records_are_identical_on_every_orchestrator(iris: Path) -> None:
    runs = {stack: _run(iris, "feature_engineering", stack, "--no-cache") for stack in STACKS}
    assert {s: r["status"] for s, r in runs.items()} == dict.fromkeys(STACKS, "completed")
    assert {s: r["orchestrator"] for s, r in runs.items()} == {
        "local": "local", "parallel": "local_parallel", "cluster": "dask"}  # fmt: skip
    reference = _steps(iris, runs["local"])
    assert _steps(iris, runs["parallel"]) == reference
    assert _steps(iris, runs["cluster"]) == reference

    # the trained model is byte-reproducible, so the evaluator's cache key is equal too
    trained = {stack: _run(iris, "training", stack, "--no-cache") for stack in STACKS}
    reference = _steps(iris, trained["local"])
    assert {s: r["status"] for s, r in trained.items()} == dict.fromkeys(STACKS, "completed")
    assert _steps(iris, trained["parallel"]) == reference
    assert _steps(iris, trained["cluster"]) == reference


@pytest.mark.parametrize("pipeline", ["feature_engineering", "training"])
def test_iris_cache_hits_carry_across_orchestrators(iris: Path, pipeline: str) -> None:
    if pipeline == "training":
        _run(iris, "feature_engineering", "local")
    first = _run(iris, pipeline, "cluster", "--no-cache")
    for stack in STACKS:
        again = _run(iris, pipeline, stack)
        assert {s["status"] for s in again["steps"]} == {"cached"}, stack
        assert {s["cached_from"] for s in again["steps"]} == {first["id"]}
