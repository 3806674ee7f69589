"""Run detail: header, the lane DAG, step log/artifacts/info, search, live tail, actions."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from _tui_records import GATED, LIVE, RUN_A, RUN_B, RUN_C
from textual.widgets import DataTable, Log, OptionList, Static, TabbedContent

from tests.support import DEADLINE, make_app, mlx_env, pilot_wait, settle
from tui.messages import LaunchPipeline, OpenLineage
from tui.screens.compare import CompareScreen
from tui.screens.lineage import LineageScreen
from tui.screens.pick_run import PickRunModal
from tui.screens.run_detail import RunDetailScreen
from tui.services import Services
from tui.widgets.dag_list import DagList, layout
from tui.widgets.runs_table import RunsTable


def _text(widget: Static) -> str:
    return str(widget.render())


def test_layout_draws_fan_out_and_fan_in_like_git_log_graph() -> None:
    rows = layout({
        "load": [], "split": ["load"], "rf": ["split"], "xgb": ["split"],
        "evaluate": ["rf", "xgb", "split"], "register": ["evaluate"],
    })  # fmt: skip
    drawn = []
    for row in rows:
        drawn.append(row.node.replace("@", "●") + " " + row.name)
        if row.connector:
            drawn.append(row.connector)
    assert drawn == [
        "● load",
        "● split",
        "├─┬─╮",
        "● │ │ rf",
        "│ ● │ xgb",
        "├─┴─╯",
        "● evaluate",
        "● register",
    ]


def test_layout_independent_roots_get_their_own_lanes() -> None:
    rows = layout({"a": [], "b": [], "c": ["a", "b"]})
    assert [r.name for r in rows] == ["a", "b", "c"]
    assert rows[1].node == "│ @"
    assert rows[1].connector == "├─╯"
    assert rows[2].node == "@"


def test_layout_survives_a_cycle_and_unknown_upstreams() -> None:
    rows = layout({"a": ["b"], "b": ["a"], "c": ["ghost"]})
    assert sorted(r.name for r in rows) == ["a", "b", "c"]


async def _open(app, pilot, run_id: str) -> RunDetailScreen:  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    app.push_screen(RunDetailScreen(run_id))
    await settle(pilot, app)
    screen = app.screen
    assert isinstance(screen, RunDetailScreen)
    return screen


async def test_header_shows_parameters_code_stack_and_model(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot, RUN_C)
        info = _text(screen.query_one("#run-info", Static))
        assert "lr=0.02" in info and "epochs=10" in info
        assert "abc1234def" in info and "stack local" in info and "iris:2" in info
        assert "completed" in _text(screen.query_one("#run-title", Static))


async def test_dag_navigation_loads_each_steps_log(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot, RUN_A)
        dag = screen.query_one(DagList)
        assert [dag.get_option_at_index(i).id for i in range(dag.option_count)] == [
            "load_data", "split", "train", "evaluate"]  # fmt: skip
        log = screen.query_one(Log)
        assert "[load_data] starting" in "\n".join(log.lines)
        await pilot.press("down", "down")
        await settle(pilot, app)
        assert dag.selected_step == "train"
        assert "[train] working hard" in "\n".join(log.lines)


async def test_step_tab_explains_cache_and_failure(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot, RUN_B)
        info = screen.query_one("#step-info", Static)
        assert f"cached from run {RUN_A}" in _text(info)
        await pilot.press("down")
        await settle(pilot, app)
        assert "parameter test_size changed" in _text(info)
        await pilot.press("down")
        await settle(pilot, app)
        assert "ValueError: learning rate too high" in _text(info)
        assert 'File "train.py"' in _text(info)


async def test_log_search_jumps_between_matches(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot, RUN_A)
        await pilot.press("slash", *"load_data", "enter")
        box = screen.query_one("#log-search")
        assert box.border_title == "match 1/3: line 1"
        log = screen.query_one(Log)
        styled = [s for s in log.render_line(0) if "load_data" in s.text]
        assert styled and styled[0].style is not None and styled[0].style.reverse  # highlighted
        await pilot.press("enter")
        assert box.border_title == "match 2/3: line 2"
        await pilot.press("escape")
        assert screen.query_one(DagList).has_focus


async def test_artifacts_tab_lists_inputs_and_outputs_and_opens_lineage(services: Services) -> None:
    messages: list[object] = []
    app = make_app(services)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        screen = await _open(app, pilot, RUN_A)
        await pilot.press("down", "down", "down")  # evaluate: two inputs, one output
        await settle(pilot, app)
        options = screen.query_one("#artifacts", OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert labels == ["→ in  model: model:1", "→ in  test_set: train_set:1",
                          "← out metrics: metrics:1"]  # fmt: skip
        await pilot.press("o")
        await settle(pilot, app)
        assert any(isinstance(m, OpenLineage) for m in messages)
        assert isinstance(app.screen, LineageScreen)


async def test_rerun_same_and_edited_parameters_post_launch_requests(services: Services) -> None:
    messages: list[object] = []
    app = make_app(services)
    launched: list[tuple[str, dict[str, str]]] = []
    app.start_run = lambda name, params: launched.append((name, params))  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await _open(app, pilot, RUN_C)
        await pilot.press("R")
        await settle(pilot, app)
        assert launched == [("train", {"lr": "0.02", "epochs": "10"})]
        await pilot.press("e")
        await settle(pilot, app)
        requests = [m for m in messages if isinstance(m, LaunchPipeline)]
        assert [r.immediate for r in requests] == [True, False]
        assert requests[1].params == {"lr": 0.02, "epochs": 10}


async def test_compare_with_a_picked_run_and_toggle_differences(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(app, pilot, RUN_C)
        await pilot.press("c")
        await settle(pilot, app)
        assert isinstance(app.screen, PickRunModal)
        await pilot.press("down", "enter")  # RUN_A (RUN_B is first: newer)
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        table = screen.query_one(DataTable)
        keys = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert "lr" in keys and "evaluate.accuracy" in keys and "pipeline" not in keys
        await pilot.press("d")
        keys = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert "pipeline" in keys and "epochs" in keys


async def test_live_run_tails_its_log(services: Services, live_run: str) -> None:
    app = make_app(services, poll=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot, LIVE)
        assert screen.live
        log = screen.query_one(Log)
        assert list(log.lines) == ["extracting rows"]
        path = services.live_log_path(LIVE, "extract")
        with open(path, "a") as fh:
            fh.write("row 1000\nrow 2000\n")
        await pilot_wait(pilot, lambda: len(log.lines) >= 3)
        assert list(log.lines) == ["extracting rows", "row 1000", "row 2000"]
        assert screen.query_one(TabbedContent).active == "tab-log"


async def test_a_run_started_elsewhere_is_followed_live_to_its_end(
    services: Services, tmp_path: Path
) -> None:
    root = services.project.root
    (root / "pipelines" / "slow.py").write_text(GATED)
    go = tmp_path / "go"  # the step waits for it: the run is live until the test says so
    child = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "run", "slow", "--headless", "-p", f"go={go}"],
        cwd=root, env=mlx_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    app = make_app(services, poll=0.2)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            table = app.screen.query_one(RunsTable)

            def running() -> bool:
                return any(r.pipeline == "slow" and r.status == "running" for r in table.rows)

            await pilot_wait(pilot, running)
            assert table.rows[0].pipeline == "slow"
            await pilot.press("home", "enter")
            await settle(pilot, app)
            screen = app.screen
            assert isinstance(screen, RunDetailScreen) and screen.live
            go.write_text("go")
            await pilot_wait(pilot, lambda: screen.record.get("status") != "running")
            assert screen.record["status"] == "completed"
            assert screen.query_one(DagList).selected_step == "nap"
    finally:
        go.write_text("go")
        assert child.wait(timeout=DEADLINE) == 0


class _SlowRun(Services):
    """Reads a run record, then a step's log, only once the test sets the matching event."""

    record_go = threading.Event()
    log_go = threading.Event()

    def run(self, run_id: str) -> dict[str, Any]:
        assert self.record_go.wait(120), "the test never released the record"
        return super().run(run_id)

    def read_log(self, run_id: str, step: dict[str, Any], offset: int = 0) -> Any:
        assert self.log_go.wait(120), "the test never released the log"
        return super().read_log(run_id, step, offset)


async def test_a_slow_run_and_a_slow_log_show_loading_indicators(services: Services) -> None:
    slow = _SlowRun(services.project, now=services.now)
    slow.record_go.clear()
    slow.log_go.clear()
    app = make_app(slow)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        app.push_screen(RunDetailScreen(RUN_A))
        await pilot_wait(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot_wait(pilot, lambda: app.screen.query(DagList) and app.screen.query(Log))
        dag, log = app.screen.query_one(DagList), app.screen.query_one(Log)
        info = app.screen.query_one("#run-info", Static)
        await pilot_wait(pilot, lambda: info.loading)
        assert dag.has_focus  # the indicator is on the header: the DAG keeps the keys
        slow.record_go.set()
        await pilot_wait(pilot, lambda: not info.loading and dag.option_count == 4)
        await pilot_wait(pilot, lambda: log.lines == ["loading the log…"])
        slow.log_go.set()
        await pilot_wait(pilot, lambda: "[load_data] starting" in "\n".join(log.lines))
        assert "loading the log…" not in log.lines and dag.has_focus
