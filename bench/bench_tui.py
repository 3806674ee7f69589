"""TUI responsiveness at 10,000 runs: first paint and the latency of every main key.

Builds a project with ``N`` runs (bench.py's helpers), then starts the app in-process
(``run_test``, 120x36) in a child and measures, with ``time.perf_counter``:

- the index catch-up: the first read after the runs ref was written (not the app's cost);
- first paint: from ``App`` construction until the runs table shows runs (the newest ones
  are read first) and until it holds all ``N`` runs;
- each key, pressed in sequences that end where they started (so every press changes the
  screen: the cursor moves, the mode switches, the palette opens), from ``pilot.press``:
  the first frame the app hands to the terminal (the key's answer is on screen), the last frame
  before the app is idle again with no store worker running (the screen has settled), and the
  round trip until Pilot sees it idle (which includes Pilot's own idle wait: the no-op key gives
  that floor, and no frame).

Medians of ``--repeat`` rounds of each sequence (of every press, for a label pressed more than
once in a sequence). Run: ``PYTHONPATH=. python bench/bench_tui.py [--runs N]``.
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

# Each sequence ends where it started, so every press of every repeat changes the screen.
SEQUENCES = [
    [("down", "down"), ("pagedown", "pagedown"), ("end", "end"), ("home", "home")],
    [("sort (s)", "s")],
    [("filter: open the box (/)", "slash"),
     *[("filter: a keystroke (refilters 10,000 rows)", c) for c in "status:failed"],
     ("filter: apply (enter)", "enter"), ("filter: clear (esc, esc)", "escape"),
     ("filter: clear (esc, esc)", "escape")],
    [("open run (enter)", "enter"), ("back (esc)", "escape")],
    [("pipelines (2)", "2"), ("models (3)", "3"), ("artifacts (4)", "4"), ("stacks (5)", "5"),
     ("runs (1)", "1")],
    [("palette: open (ctrl+p)", "ctrl+p"),
     *[("palette: a keystroke (promo)", c) for c in "promo"], ("palette: close (esc)", "escape")],
    [("no-op key (F12)", "f12")],
]
FRAMES = []

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
    display = app._display

    def record(screen, update):  # each frame the app hands to the terminal
        if update is not None:
            FRAMES.append(time.perf_counter())
        return display(screen, update)

    app._display = record
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
        times = {}
        for sequence in SEQUENCES:
            for _ in range(repeat):
                for label, key in sequence:
                    FRAMES.clear()
                    t0 = time.perf_counter()
                    await pilot.press(key)
                    await idle(pilot, app)
                    trip = time.perf_counter() - t0
                    first, last = (FRAMES[0] - t0, FRAMES[-1] - t0) if FRAMES else (0.0, 0.0)
                    times.setdefault(label, []).append((first, last, trip))
        for label, rows in times.items():
            out[label] = [statistics.median(row[i] for row in rows) for i in range(3)]
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
        print(
            f"| TUI at {args.runs:,} runs (in-process, 120x36), medians of {args.repeat} "
            "| first frame | last frame | Pilot round trip |"
        )
        print("|---|---|---|---|")
        for label, value in results.items():
            cells = [f"{v * 1000:.0f} ms" for v in (value if isinstance(value, list) else [value])]
            print(f"| {label} | " + " | ".join(cells) + " |")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
