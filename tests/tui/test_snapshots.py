"""SVG snapshots of the main screens at 80x24, with the clock and every id frozen.

Update the baselines after an intended change with
``pytest tests/tui/test_snapshots.py --snapshot-update`` and review the SVG diffs.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import RUN_A, RUN_B, make_app, settle

from tui.screens.lineage import LineageScreen
from tui.screens.run_detail import RunDetailScreen
from tui.services import Services

SIZE = (80, 24)


def _keys(*keys: str) -> Any:
    async def run_before(pilot: Any) -> None:
        await settle(pilot, pilot.app)
        for key in keys:
            await pilot.press(key)
            await settle(pilot, pilot.app)

    return run_before


def _push(make_screen: Any, *keys: str) -> Any:
    async def run_before(pilot: Any) -> None:
        await settle(pilot, pilot.app)
        pilot.app.push_screen(make_screen())
        await settle(pilot, pilot.app)
        for key in keys:
            await pilot.press(key)
            await settle(pilot, pilot.app)

    return run_before


@pytest.mark.parametrize(
    ("name", "keys"),
    [("runs", ()), ("runs_filtered", ("slash", *"status:failed", "enter")),
     ("pipelines", ("2",)), ("models", ("3",)), ("artifacts", ("4",)), ("stacks", ("5",)),
     ("promote", ("3", "tab", "p"))],
)  # fmt: skip
def test_mode_screens(
    snap_compare: Any, services: Services, name: str, keys: tuple[str, ...]
) -> None:
    assert snap_compare(make_app(services), terminal_size=SIZE, run_before=_keys(*keys))


def test_run_detail_of_a_failed_run(snap_compare: Any, services: Services) -> None:
    before = _push(lambda: RunDetailScreen(RUN_B), "down", "down")
    assert snap_compare(make_app(services), terminal_size=SIZE, run_before=before)


def test_run_detail_step_tab(snap_compare: Any, services: Services) -> None:
    async def before(pilot: Any) -> None:
        await _push(lambda: RunDetailScreen(RUN_B))(pilot)
        pilot.app.screen.query_one("#step-tabs").active = "tab-step"
        await settle(pilot, pilot.app)

    assert snap_compare(make_app(services), terminal_size=SIZE, run_before=before)


def test_lineage(snap_compare: Any, services: Services) -> None:
    run = services.run(RUN_A)
    artifact = run["steps"][1]["outputs"]["train_set"]["id"]
    before = _push(lambda: LineageScreen(artifact))
    assert snap_compare(make_app(services), terminal_size=SIZE, run_before=before)
