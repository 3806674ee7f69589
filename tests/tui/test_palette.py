"""The command palette: one Pilot test per command, typed as a user would (fuzzy queries)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from _tui_records import NOW, RUN_B
from textual.widgets import Input, OptionList

from store.recorder import commit_run
from store.records import RunRecord
from tests.support import (
    make_app,
    palette_command,
    palette_top_hit,
    pilot_wait,
    settle,
    write_pipeline,
)
from tui.screens.artifacts import ArtifactsScreen
from tui.screens.launch import LaunchModal
from tui.screens.models import ModelsScreen
from tui.screens.palette import PaletteScreen
from tui.screens.pipelines import PipelinesScreen
from tui.screens.promote import PromoteModal
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import RunsScreen
from tui.services import Services
from tui.widgets.runs_table import RunsTable
from tui.widgets.side_list import SideList


async def test_open_run_by_id_prefix(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await palette_command(pilot, app, "b2", "Open run b20000000000")
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
        await pilot_wait(
            pilot, lambda: "Open run 9f0000000000  etl  completed" in palette_top_hit(app)
        )
        await pilot.press("enter")
        await pilot_wait(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        assert app.screen.run_id == late


async def test_go_to_pipeline_model_and_artifact_by_name(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await palette_command(pilot, app, "go pipeline exa", "Go to pipeline example")
        await pilot_wait(pilot, lambda: isinstance(app.screen, PipelinesScreen))
        await palette_command(pilot, app, "go model iris", "Go to model iris")
        await pilot_wait(pilot, lambda: isinstance(app.screen, ModelsScreen))
        assert app.screen.model == "iris"
        await palette_command(pilot, app, "go art train_set", "Go to artifact train_set")
        await pilot_wait(pilot, lambda: isinstance(app.screen, ArtifactsScreen))
        side = app.screen.query_one(SideList)
        await pilot_wait(pilot, lambda: side.highlighted_id == "train_set")


async def test_launch_a_pipeline(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await palette_command(pilot, app, "launch exa", "Launch pipeline example")
        await pilot_wait(pilot, lambda: isinstance(app.screen, LaunchModal))


async def test_promote_finds_the_newest_version(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await palette_command(pilot, app, "promo", "Promote model iris v2")
        await pilot_wait(pilot, lambda: isinstance(app.screen, PromoteModal))
        assert (app.screen.model, app.screen.version) == ("iris", 2)


async def test_switch_stack(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await palette_command(pilot, app, "switch prod", "Switch stack to prod")
        await pilot_wait(pilot, lambda: services.project.active_stack_name() == "prod")


async def test_filter_presets(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await palette_command(pilot, app, "filter failed", "Filter: failed runs")
        table = app.screen.query_one(RunsTable)
        assert isinstance(app.screen, RunsScreen)
        await pilot_wait(pilot, lambda: table.query_text == "status:failed")
        assert [r.id for r in table.rows] == [RUN_B]
        await palette_command(pilot, app, "filter runs of train", "Filter: runs of train")
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
        await palette_command(pilot, app, "push", "Push runs to the remote")
        await pilot_wait(pilot, lambda: any("no git remote" in n for n in notes))
        await palette_command(pilot, app, "pull", "Pull runs from the remote")
        await pilot_wait(pilot, lambda: sum("no git remote" in n for n in notes) == 2)


async def test_keys_move_run_and_close(services: Services) -> None:
    """``down`` then ``enter`` runs the second hit; ``esc`` closes without running anything;
    a query that matches nothing says so and ``enter`` does nothing."""
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+p")
        await pilot_wait(pilot, lambda: isinstance(app.screen, PaletteScreen))
        await pilot.press(*"go to")
        await pilot_wait(pilot, lambda: palette_top_hit(app).startswith("Go to Runs"))
        await pilot.press("down")
        assert palette_top_hit(app).startswith("Go to Pipelines")
        await pilot.press("up", "up")
        assert palette_top_hit(app).startswith("Go to Runs")
        await pilot.press("down", "enter")
        await pilot_wait(pilot, lambda: app.current_mode == "pipelines")
        assert not isinstance(app.screen, PaletteScreen)

        await pilot.press("ctrl+p")
        await pilot_wait(pilot, lambda: isinstance(app.screen, PaletteScreen))
        await pilot.press(*"zzqx")
        options = app.screen.query_one(OptionList)
        await pilot_wait(pilot, lambda: app.screen.text == "zzqx")
        assert app.screen.hits == []
        assert "no matching command" in str(options.get_option_at_index(0).prompt)
        await pilot.press("enter")
        assert isinstance(app.screen, PaletteScreen)
        await pilot.press("escape")
        await pilot_wait(pilot, lambda: not isinstance(app.screen, PaletteScreen))
        assert app.current_mode == "pipelines"


async def test_system_commands_and_screen_keys_are_offered(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await palette_command(pilot, app, "theme", "Theme")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.press("escape")
        await pilot_wait(pilot, lambda: isinstance(app.screen, RunsScreen))
        await palette_command(pilot, app, "keys", "Keys")
        await pilot_wait(pilot, lambda: bool(app.screen.query("HelpPanel")))


async def test_names_are_read_again_on_each_opening(services: Services) -> None:
    """The palette shows the names of its last opening at once, then the current ones."""
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await palette_command(pilot, app, "go pipeline exa", "Go to pipeline example")
        write_pipeline(services.project.root, "later", LATER)
        await palette_command(pilot, app, "launch arrived", "Launch pipeline arrived_later")
        await pilot_wait(pilot, lambda: isinstance(app.screen, LaunchModal))


LATER = """
from engine import pipeline, step


@step
def one() -> int:
    return 1


@pipeline
def arrived_later() -> None:
    one()
"""
