"""TUI responsiveness at 10,000 runs: first paint and the latency of every main key.

Builds a project with ``N`` runs (bench.py's helpers), then starts the app in-process
(``run_test``, 120x36) in a child and measures, with ``time.perf_counter``:

- the index catch-up: the first read after the runs ref was written (not the app's cost);
- first paint: from ``App`` construction until the runs table shows runs (the newest ones
  are read first) and until it holds all ``N`` runs;
- each key: from ``pilot.press`` until the app is idle again and no store worker runs
  (Pilot's own idle wait is included, so a no-op key gives the floor).

Medians of ``--repeat`` presses. Run: ``PYTHONPATH=. python bench/bench_tui.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import Bench, grow_history, isolated_env, mlx_command, new_project  # noqa: E402

CHILD = r"""
import asyncio, json, statistics, sys, time
from textual.worker import WorkerState
from store.project import Project
from tui.app import MlxApp
from tui.services import Services
from tui.widgets.runs_table import RunsTable

KEYS = [("down", ["down"]), ("pagedown", ["pagedown"]), ("end", ["end"]), ("home", ["home"]),
        ("sort (s)", ["s"]), ("filter /status:failed", ["slash", *"status:failed", "enter"]),
        ("clear filter (esc esc)", ["escape", "escape"]), ("open run (enter)", ["enter"]),
        ("back (esc)", ["escape"]), ("pipelines (2)", ["2"]), ("models (3)", ["3"]),
        ("artifacts (4)", ["4"]), ("stacks (5)", ["5"]), ("runs (1)", ["1"]),
        ("palette (ctrl+p, esc)", ["ctrl+p", "escape"]), ("noop (F12)", ["f12"])]

async def idle(pilot, app):
    while True:
        await pilot.pause()
        busy = [w for w in app.workers if w.group not in ("runner",) and
                w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
        if not busy:
            return
        await asyncio.sleep(0.002)

async def main(rows, repeat):
    t0 = time.perf_counter()
    Services(Project.find()).list_runs()  # the index catches up with the runs ref once
    out0 = time.perf_counter() - t0
    start = time.perf_counter()
    app = MlxApp(Services(Project.find()), poll_interval=0)
    out = {"index catch-up (first read after the history was written)": out0}
    async with app.run_test(size=(120, 36)) as pilot:
        while True:
            tables = app.screen.query(RunsTable)
            shown = len(tables.first().rows) if tables else 0
            if shown and "first paint (newest runs shown)" not in out:
                out["first paint (newest runs shown)"] = time.perf_counter() - start
            if shown >= rows:
                break
            await pilot.pause(0.002)
        out["all runs listed"] = time.perf_counter() - start
        await idle(pilot, app)
        for label, keys in KEYS:
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                await pilot.press(*keys)
                await idle(pilot, app)
                times.append(time.perf_counter() - t0)
            out[label] = statistics.median(times)
    sys.__stdout__.write("RESULT " + json.dumps(out) + "\n")

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mlx-bench-tui-"))
    (tmp / "home").mkdir()
    bench = Bench(isolated_env(tmp / "home"), 1, mlx_command())
    try:
        root = new_project(bench, tmp, "proj")
        bench.run(root, "run", "tri3", "--headless")
        grow_history(bench, root, args.runs)
        proc = subprocess.run([sys.executable, "-c", CHILD, str(args.runs), str(args.repeat)],
                              cwd=root, env=bench.env, capture_output=True, text=True)  # fmt: skip
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            raise SystemExit(f"TUI bench failed:\n{proc.stdout}{proc.stderr}")
        results = json.loads(line[len("RESULT ") :])
        print(f"| TUI at {args.runs:,} runs (in-process, 120x36) | median of {args.repeat} |")
        print("|---|---|")
        for label, seconds in results.items():
            print(f"| {label} | {seconds * 1000:.0f} ms |")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
