"""The command palette: one Pilot test per command, typed as a user would (fuzzy queries)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from _tui_records import NOW, RUN_B
from textual.command import CommandPalette
from textual.widgets import Input, OptionList

from store.recorder import commit_run
from store.records import RunRecord
from tests.support import make_app, pilot_wait, settle
from tui.screens.artifacts import ArtifactsScreen
from tui.screens.launch import LaunchModal
from tui.screens.models import ModelsScreen
from tui.screens.pipelines import PipelinesScreen
from tui.screens.promote import PromoteModal
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import RunsScreen
from tui.services import Services
from tui.widgets.runs_table import RunsTable
from tui.widgets.side_list import SideList


def _first_hit(app: Any) -> str:
    palette = app.screen
    if not isinstance(palette, CommandPalette):
        return ""
    options = palette.query_one(OptionList)
    if not options.option_count or options.highlighted is None:
        return ""
    return str(options.get_option_at_index(options.highlighted).prompt)


async def run_command(pilot: Any, app: Any, query: str, expect: str) -> None:
    """Open the palette, type ``query``, wait until ``expect`` is the top hit, run it."""
    await settle(pilot, app)
    await pilot.press("ctrl+p")
    await pilot_wait(pilot, lambda: isinstance(app.screen, CommandPalette))
    await pilot_wait(pilot, lambda: isinstance(app.screen.focused, Input))  # keys land in the box
    await pilot.press(*query)
    try:
        await pilot_wait(pilot, lambda: expect in _first_hit(app))
    except AssertionError as exc:
        typed = (
            app.screen.query_one(Input).value if isinstance(app.screen, CommandPalette) else None
        )
        raise AssertionError(
            f"top hit for {query!r}: {_first_hit(app)!r}, typed {typed!r}"
        ) from exc
    await pilot.press("enter")
    await settle(pilot, app)


async def test_open_run_by_id_prefix(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await run_command(pilot, app, "b2", "Open run b20000000000")
        await pilot_wait(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        assert app.screen.run_id == RUN_B


async def test_run_ids_are_looked_up_as_typed_not_read_on_opening(services: Services) -> None:
    """A run recorded after the palette opened is found: its id comes from the index then."""
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+p")
        await pilot_wait(pilot, lambda: isinstance(app.screen.focused, Input))
        late = "9f" + "0" * 30
        commit_run(services.project.runs, RunRecord(
            id=late, pipeline="etl", status="completed", started_at=NOW - timedelta(minutes=1),
            finished_at=NOW,
        ), [])  # fmt: skip
        await pilot.press(*"9f")
        await pilot_wait(pilot, lambda: "Open run 9f0000000000  etl  completed" in _first_hit(app))
        await pilot.press("enter")
        await pilot_wait(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        assert app.screen.run_id == late


async def test_go_to_pipeline_model_and_artifact_by_name(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await run_command(pilot, app, "go pipeline exa", "Go to pipeline example")
        await pilot_wait(pilot, lambda: isinstance(app.screen, PipelinesScreen))
        await run_command(pilot, app, "go model iris", "Go to model iris")
        await pilot_wait(pilot, lambda: isinstance(app.screen, ModelsScreen))
        assert app.screen.model == "iris"
        await run_command(pilot, app, "go art train_set", "Go to artifact train_set")
        await pilot_wait(pilot, lambda: isinstance(app.screen, ArtifactsScreen))
        side = app.screen.query_one(SideList)
        await pilot_wait(pilot, lambda: side.highlighted_id == "train_set")


async def test_launch_a_pipeline(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await run_command(pilot, app, "launch exa", "Launch pipeline example")
        await pilot_wait(pilot, lambda: isinstance(app.screen, LaunchModal))


async def test_promote_finds_the_newest_version(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await run_command(pilot, app, "promo", "Promote model iris v2")
        await pilot_wait(pilot, lambda: isinstance(app.screen, PromoteModal))
        assert (app.screen.model, app.screen.version) == ("iris", 2)


async def test_switch_stack(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await run_command(pilot, app, "switch prod", "Switch stack to prod")
        await pilot_wait(pilot, lambda: services.project.active_stack_name() == "prod")


async def test_filter_presets(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await run_command(pilot, app, "filter failed", "Filter: failed runs")
        table = app.screen.query_one(RunsTable)
        assert isinstance(app.screen, RunsScreen)
        await pilot_wait(pilot, lambda: table.query_text == "status:failed")
        assert [r.id for r in table.rows] == [RUN_B]
        await run_command(pilot, app, "filter runs of train", "Filter: runs of train")
        await pilot_wait(pilot, lambda: table.query_text == "pipeline:train")
        assert len(table.rows) == 3


async def test_push_and_pull_entries_report_a_missing_remote(services: Services) -> None:
    notes: list[str] = []
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        real_notify = app.notify

        def notify(message: str, **kw: Any) -> None:
            notes.append(str(message))
            real_notify(message, **kw)

        app.notify = notify  # type: ignore[method-assign]
        await run_command(pilot, app, "push", "Push runs to the remote")
        await pilot_wait(pilot, lambda: any("no git remote" in n for n in notes))
        await run_command(pilot, app, "pull", "Pull runs from the remote")
        await pilot_wait(pilot, lambda: sum("no git remote" in n for n in notes) == 2)
