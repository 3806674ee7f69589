"""Pipelines screen: discovery, the launch form, a real launched run, cancelling one.

The launch tests start the real ``mlx run NAME --headless --events`` child process on the
project's example pipeline (``factor: int = 2``), so they need the engine.
"""

from __future__ import annotations

from typing import Any

from _tui_records import SLOW
from textual.widgets import Input, Static

from tests.support import make_app, pilot_wait, settle, wait_until
from tui.screens.launch import LaunchModal
from tui.screens.pipelines import PipelinesScreen
from tui.screens.run_detail import RunDetailScreen
from tui.services import ParamInfo, PipelineInfo, Services
from tui.widgets.run_monitor import RunMonitor, RunSession


async def _pipelines(app, pilot) -> PipelinesScreen:  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    await pilot.press("2")
    await settle(pilot, app)
    screen = app.screen
    assert isinstance(screen, PipelinesScreen)
    return screen


async def test_pipelines_are_listed_with_parameters(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _pipelines(app, pilot)
        assert list(screen.pipelines) == ["example"]
        info = str(screen.query_one("#pipeline-info", Static).render())
        assert "factor: int = 2" in info and "never run" in info


async def test_launch_form_is_prefilled_and_validated(services: Services) -> None:
    app = make_app(services)
    launched: list[tuple[str, dict[str, str]]] = []
    app.start_run = lambda name, params: launched.append((name, params))  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await _pipelines(app, pilot)
        await pilot.press("l")
        await settle(pilot, app)
        form = app.screen
        assert isinstance(form, LaunchModal)
        box = form.query_one("#param-factor", Input)
        assert box.value == "2"
        assert str(form.query_one("#launch-preview", Static).render()) == "mlx run example"
        await pilot.press("ctrl+u", "minus", "enter")  # "-" is not an int
        await settle(pilot, app)
        assert "parameter factor" in str(form.query_one("#launch-error", Static).render())
        assert isinstance(app.screen, LaunchModal) and not launched
        await pilot.press("ctrl+u", "5")
        assert "-p factor=5" in str(form.query_one("#launch-preview", Static).render())
        await pilot.press("ctrl+r")
        await settle(pilot, app)
        assert launched == [("example", {"factor": "5"})]


def test_launch_form_fields_follow_the_parameter_types() -> None:
    info = PipelineInfo("p", [ParamInfo("n", "int", 1, False), ParamInfo("x", "float", None, True),
                              ParamInfo("name", "str", "a", False)])  # fmt: skip
    modal = LaunchModal(info, {"name": "b"})
    assert [modal._initial(p) for p in info.params] == ["1", "", "b"]


async def test_launched_pipeline_runs_to_completion(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _pipelines(app, pilot)
        session = app.start_run("example", {"factor": "3"})
        await pilot_wait(pilot, lambda: session.finished)
        assert session.status == "completed", session.lines
        assert session.exit_code == 0 and session.run_id
        assert [s["status"] for s in session.steps.values()] == ["completed"] * 3
        await settle(pilot, app)
        monitor = screen.query_one(RunMonitor)
        assert "completed" in str(monitor.query_one("#monitor-status", Static).render())
        assert services.run(session.run_id)["parameters"] == {"factor": 3}
        await pilot.press("o")
        await settle(pilot, app)
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run_id == session.run_id


async def _slow_run_going(app, pilot, services: Services) -> RunSession:  # type: ignore[no-untyped-def]
    """Launch the ``slow`` pipeline (its step waits until cancelled) and wait until it runs."""
    (services.project.root / "pipelines" / "slow.py").write_text(SLOW)
    await _pipelines(app, pilot)
    session = app.start_run("slow", {})
    await pilot_wait(pilot, lambda: any(s["status"] == "running" for s in session.steps.values()))
    return session


async def test_a_launched_run_can_be_cancelled(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        session = await _slow_run_going(app, pilot, services)
        await pilot.press("x")
        await pilot_wait(pilot, lambda: session.finished)
        assert session.status == "cancelled"
        assert session.proc is not None and session.proc.returncode is not None
    record = services.project.index.run_json(session.run_id)  # recorded as cancelled, not crashed
    assert record["status"] == "cancelled"
    assert [s["status"] for s in record["steps"]] == ["cancelled"]
    assert record["error"]["type"] == "Cancelled"


async def test_usage_errors_of_the_child_are_reported(services: Services) -> None:
    notes: list[Any] = []
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await _pipelines(app, pilot)
        app.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
        session = app.start_run("nope", {})
        await pilot_wait(pilot, lambda: session.finished)
        assert session.exit_code == 2 and session.status == "failed"
        assert any("nope" in str(n) for n in notes)


def test_session_folds_events_into_step_states() -> None:
    session = RunSession(1, "p", {})
    session.apply({"event": "run_started", "run_id": "r1", "steps": [
        {"name": "a", "upstream": []}, {"name": "b", "upstream": ["a"]}]})  # fmt: skip
    session.apply({"event": "step_cached", "step": "a", "cached_from": "r0"})
    session.apply({"event": "step_started", "step": "b"})
    session.apply({"event": "step_failed", "step": "b", "error": "boom"})
    session.apply({"event": "run_finished", "status": "failed"})
    session.apply({"event": "exited", "code": 1, "stderr": ""})
    assert {k: v["status"] for k, v in session.steps.items()} == {"a": "cached", "b": "failed"}
    assert session.status == "failed" and session.finished and session.run_id == "r1"


async def test_quitting_with_a_launched_run_going_asks_first_and_stops_it(
    services: Services,
) -> None:
    from tui.screens.confirm import ConfirmModal

    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        session = await _slow_run_going(app, pilot, services)
        await pilot.press("q")
        await pilot_wait(pilot, lambda: isinstance(app.screen, ConfirmModal))
        assert "still going: slow" in str(app.screen.query_one("#confirm-body", Static).render())
        await pilot.press("n")  # keep going: the app and the run stay
        await pilot_wait(pilot, lambda: not isinstance(app.screen, ConfirmModal))
        assert app.is_running and not session.finished
        await pilot.press("q", "y")
        await pilot_wait(pilot, lambda: not app.is_running, what="the app to exit")
    assert session.proc is not None and session.run_id is not None
    wait_until(lambda: session.proc.returncode is not None, what="the child to be stopped")
    record = services.project.index.run_json(session.run_id)  # recorded, as the dialog says
    assert record["status"] == "cancelled"
