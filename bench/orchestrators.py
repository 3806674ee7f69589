"""Benchmark of the orchestrators: parallel sleeps and Dask's per-step overhead.

Usage: ``python bench/orchestrators.py [--repeat N] [--no-write]``

Whole processes (``mlx run P --headless --no-cache --stack S``), median of ``--repeat`` runs
(3 by default; the machine is shared), in a fresh ``mlx init`` project with an isolated HOME:

- ``sleep8``: 8 independent steps that each sleep 1 s, on ``local``, ``local_parallel``
  (4 workers), ``dask`` with ``local_cluster = { n_workers = 4 }`` (the cluster is started and
  closed inside the timed process) and ``dask`` with the address of an already running 4-worker
  LocalCluster.
- per-step overhead on Dask: ``(t(chain of 101 trivial steps) - t(chain of 1)) / 100`` on the
  running cluster (each step waits for the previous one: scheduling latency, pickling, the
  worker storing its output in the shared DVC cache, the driver recording it).

The results replace the "## Orchestrators" section of bench/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import README, Bench, chain_pipeline, isolated_env, machine, mlx_command

SLEEPS = """
import time
from typing import Annotated

from engine import pipeline, step

{steps}

@pipeline
def sleep8() -> None:
{calls}
"""


def _sleep_module() -> str:
    steps = "\n".join(
        f"@step\ndef nap{i}() -> Annotated[int, 'nap{i}']:\n    time.sleep(1)\n    return {i}\n"
        for i in range(8)
    )
    return SLEEPS.format(steps=steps, calls="\n".join(f"    nap{i}()" for i in range(8)))


def _timed(bench: Bench, root: Path, pipeline: str, stack: str) -> float:
    times = []
    for _ in range(bench.repeat):
        start = time.perf_counter()
        bench.run(root, "run", pipeline, "--headless", "--no-cache", "--stack", stack)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    from distributed import LocalCluster

    tmp = Path(tempfile.mkdtemp(prefix="mlx-bench-orch-"))
    (tmp / "home").mkdir()
    bench = Bench(isolated_env(tmp / "home"), args.repeat, mlx_command())
    bench.run(tmp, "init", "proj")
    root = tmp / "proj"
    pipelines = root / "pipelines"
    (pipelines / "sleeps.py").write_text(_sleep_module())
    hundred_source = chain_pipeline("hundred", 101).split("\n", 4)[4]
    (pipelines / "chains.py").write_text(chain_pipeline("one", 1) + "\n\n" + hundred_source)
    stacks = root / "stacks"
    (stacks / "parallel.toml").write_text('[orchestrator]\nflavor = "local_parallel"\n'
                                          "max_workers = 4\n")  # fmt: skip
    cluster_line = "local_cluster = { n_workers = 4, threads_per_worker = 1 }"
    (stacks / "dask_local.toml").write_text(f'[orchestrator]\nflavor = "dask"\n{cluster_line}\n')
    log = lambda msg: print(f"[bench] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    rows = []
    with LocalCluster(n_workers=4, threads_per_worker=1, dashboard_address=None) as cluster:
        (stacks / "dask_running.toml").write_text(
            f'[orchestrator]\nflavor = "dask"\naddress = "{cluster.scheduler_address}"\n'
            'artifacts = "shared_cache"\n'
        )
        for stack, label, budget in (
            ("local", "local", "~8 s"),
            ("parallel", "local_parallel, 4 workers", "< 2.6 s"),
            ("dask_local", "dask, LocalCluster of 4 started for the run", "< 3 s"),
            ("dask_running", "dask, running 4-worker LocalCluster (address)", "< 3 s"),
        ):
            log(f"sleep8 on {stack}")
            bench.run(root, "run", "sleep8", "--headless", "--stack", stack)  # warm-up
            rows.append((f"8 independent 1 s steps, {label}", _timed(bench, root, "sleep8", stack),
                         budget))  # fmt: skip
        log("chains on dask_running")
        bench.run(root, "run", "hundred", "--headless", "--stack", "dask_running")
        one = _timed(bench, root, "one", "dask_running")
        hundred = _timed(bench, root, "hundred", "dask_running")
    info = machine()
    lines = [
        "\n## Orchestrators (`bench/orchestrators.py`)\n",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}. "
        f"Date: {info['date']}. Load average at the end: {info['load']}. "
        f"Median of {args.repeat} whole-process runs (`mlx run P --headless --no-cache`).",
        "",
        "| measure | mlx | budget |",
        "|---|---|---|",
        *[f"| {m} | {t:.2f} s | {b} |" for m, t, b in rows],
        f"| Dask (running cluster): 1-step run / 101-step chain | {one:.2f} s / {hundred:.2f} s "
        "| - |",
        f"| per-step overhead on Dask, `(t(101) - t(1)) / 100` | "
        f"{(hundred - one) / 100 * 1000:.0f} ms | - |",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if not args.no_write:
        old = README.read_text()
        start = old.find("\n## Orchestrators")
        if start >= 0:
            end = old.find("\n## ", start + 1)
            old = old[:start] + (old[end:] if end >= 0 else "")
        README.write_text(old.rstrip("\n") + "\n" + report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
