"""The live panel of a launched run: lanes (parallel steps side by side), durations, log tail.

A real child process runs a fan-out pipeline whose middle step prints a line and then waits for
a go-file, so the test can look at the panel while that step is running, then let it finish.
"""

from __future__ import annotations

import io
from pathlib import Path

from _tui_records import NOW
from rich.console import Console
from textual.widgets import Log, Static

from tests.support import make_app, pilot_wait, settle
from tui.services import Services
from tui.widgets.run_monitor import RunMonitor, RunSession
from tui.widgets.step_lanes import StepLanes, generations

FAN = """
import os
import time
import io
from pathlib import Path
from engine import pipeline, step


@step
def source() -> int:
    return 1


@step
def left_branch(x: int, go: str) -> int:
    print("left is waiting for the go-file", flush=True)
    while not Path(go).exists():
        time.sleep(0.02)
    print("left got going", flush=True)
    return x + 1


@step
def right_branch(x: int) -> int:
    return x + 2


@step
def join(a: int, b: int) -> int:
    return a + b


@pipeline
def fan(go: str = "") -> None:
    x = source()
    join(left_branch(x, go=go), right_branch(x))
"""


def _lanes_text(monitor: RunMonitor) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(monitor.query_one(StepLanes).lanes())
    return console.export_text()


async def test_lanes_and_log_tail_follow_a_launched_run(services: Services, tmp_path: Path) -> None:
    (services.project.root / "pipelines" / "fan.py").write_text(FAN)
    go = tmp_path / "go"
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        session = app.start_run("fan", {"go": str(go)})
        await settle(pilot, app)
        monitor = app.screen.query_one(RunMonitor)
        log = monitor.query_one(Log)
        try:
            await pilot_wait(pilot, lambda: "waiting for the go-file" in "\n".join(log.lines))
            _look_while_running(monitor, session)
        finally:
            go.write_text("go")
        await pilot_wait(pilot, lambda: session.finished)
        assert session.status == "completed", session.lines
        await pilot_wait(pilot, lambda: "✔ join" in _lanes_text(monitor))


def _look_while_running(monitor: RunMonitor, session: RunSession) -> None:
    assert session.steps["left_branch"]["status"] == "running"
    title = str(monitor.query_one("#monitor-log-title", Static).render())
    assert title == "log of left_branch"
    rows = [line for line in _lanes_text(monitor).splitlines() if "branch" in line]
    assert len(rows) == 1  # the two branches share a lane row: they may run side by side
    assert "▶ left_branch" in rows[0] and "right_branch" in rows[0]
    assert "step_started" not in _lanes_text(monitor)  # no raw events


def test_generations_group_parallel_steps() -> None:
    steps = [{"name": "a"}, {"name": "b", "upstream": ["a"]}, {"name": "c", "upstream": ["a"]},
             {"name": "d", "upstream": ["b", "c"]}]  # fmt: skip
    assert generations(steps) == [["a"], ["b", "c"], ["d"]]


def test_session_keeps_durations_and_no_raw_events() -> None:
    clock = [NOW]
    session = RunSession(1, "p", {}, now=lambda: clock[0])
    session.apply({"event": "run_started", "run_id": "r1", "steps": [{"name": "a"}]})
    session.apply({"event": "step_started", "step": "a"})
    assert session.log_step == "a"
    session.apply({"event": "step_finished", "step": "a", "duration": 3.25,
                   "outputs": {"x": "x:?"}})  # fmt: skip
    assert session.steps["a"]["duration"] == 3.25
    assert session.lines == []  # events are state, not text
