"""SVG snapshots of every screen and dialog at 80x24, 120x36 and 200x50.

The clock and every id are frozen (conftest), and the project holds a run with long names
(``feature_engineering_and_promotion`` on stack ``parallel_workers``, step ``evaluate_and_log``,
artifact ``predictions_from_context``): the wide baselines must show them in full, the narrow
ones end them with ``…``. Update the baselines after an intended change with
``pytest tests/tui/test_snapshots.py --snapshot-update`` and review the SVG diffs by eye.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from _tui_records import RUN_A, RUN_B, RUN_C

from tests.support import make_app, settle
from tui.screens.confirm import ConfirmModal
from tui.screens.lineage import LineageScreen
from tui.screens.run_detail import RunDetailScreen
from tui.services import Services
from tui.widgets.run_monitor import RunSession

SIZES = [(80, 24), (120, 36), (200, 50)]
SIZE_IDS = ["80x24", "120x36", "200x50"]

Before = Callable[[Any], Awaitable[None]]


def _keys(*keys: str, push: Callable[[], Any] | None = None) -> Before:
    async def run_before(pilot: Any) -> None:
        await settle(pilot, pilot.app)
        if push is not None:
            pilot.app.push_screen(push())
            await settle(pilot, pilot.app)
        for key in keys:
            await pilot.press(key)
            await settle(pilot, pilot.app)

    return run_before


def _step_tab(pilot: Any) -> Awaitable[None]:
    async def run_before() -> None:
        await _keys(push=lambda: RunDetailScreen(RUN_B))(pilot)
        pilot.app.screen.query_one("#step-tabs").active = "tab-step"
        await settle(pilot, pilot.app)

    return run_before()


def _live_run(services: Services) -> Before:
    """A launched fan-out run, mid-way: events applied with the frozen clock, a live log."""
    run_id = "e7" + "0" * 30
    log = services.live_log_path(run_id, "left_branch_with_a_long_name")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("".join(f"epoch {i}: loss {1 / i:.3f}\n" for i in range(1, 40)))

    async def run_before(pilot: Any) -> None:
        await _keys("2")(pilot)
        app = pilot.app
        session = RunSession(1, "fan", {"go": "x"}, now=services.now)
        steps = [
            {"name": "source"},
            {"name": "left_branch_with_a_long_name", "upstream": ["source"]},
            {"name": "right_branch", "upstream": ["source"]},
            {"name": "join", "upstream": ["left_branch_with_a_long_name", "right_branch"]},
        ]
        events = [
            {"event": "run_started", "run_id": run_id, "steps": steps},
            {"event": "step_cached", "step": "source", "cached_from": "a1"},
            {"event": "step_started", "step": "right_branch"},
            {"event": "step_finished", "step": "right_branch", "duration": 3.408748},
            {"event": "step_started", "step": "left_branch_with_a_long_name"},
        ]  # fmt: skip
        for event in events:
            session.apply(event)
        app.sessions.append(session)
        app.run_signal.publish(session)
        await settle(pilot, app)

    return run_before


def _lineage(services: Services) -> Before:
    artifact = services.run(RUN_A)["steps"][1]["outputs"]["train_set"]["id"]
    return _keys(push=lambda: LineageScreen(artifact))


CASES: dict[str, Callable[[Services], Before]] = {
    "runs": lambda s: _keys(),
    "runs_filtered": lambda s: _keys("slash", *"status:failed", "enter"),
    "pipelines": lambda s: _keys("2"),
    "launch_dialog": lambda s: _keys("2", "l"),
    "models": lambda s: _keys("3"),
    "promote_dialog": lambda s: _keys("3", "tab", "p"),
    "artifacts": lambda s: _keys("4"),
    "export_dialog": lambda s: _keys("4", "tab", "e"),
    "stacks": lambda s: _keys("5"),
    "run_detail_failed": lambda s: _keys("down", "down", push=lambda: RunDetailScreen(RUN_B)),
    "run_detail_step_tab": lambda s: _step_tab,
    "compare_runs": lambda s: _keys("space", "down", "c"),
    "pick_run_dialog": lambda s: _keys("c", push=lambda: RunDetailScreen(RUN_C)),
    "lineage": _lineage,
    "live_run": _live_run,
    "palette": lambda s: _keys("ctrl+p", *"go "),
    "confirm_dialog": lambda s: _keys(
        push=lambda: ConfirmModal(
            "Replace the promotion branch?",
            "Branch mlx/promote/iris-v2-production already exists at 4b825dc642, left by an "
            "earlier promotion that was not merged.\n\nReplacing it deletes that branch (only if "
            "it is still at that commit) and creates it again with this promotion.",
            yes="Replace (y)",
        )
    ),
}


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("case", list(CASES))
def test_screen(
    snap_compare: Any, wide_services: Services, case: str, size: tuple[int, int]
) -> None:
    before = CASES[case](wide_services)
    assert snap_compare(make_app(wide_services), terminal_size=size, run_before=before)
