"""The runs (home) screen: listing, filter, sort, marks, live refresh, and 10,000 runs."""

from __future__ import annotations

import threading
from datetime import timedelta

from _tui_records import LIVE, NOW, RUN_A, RUN_B, RUN_C, RUN_E
from textual import events
from textual.widgets import Input

from store.index import RunSummary
from store.recorder import commit_run
from store.records import RunRecord
from tests.support import DEADLINE, make_app, pilot_wait, settle
from tui.messages import CompareRuns, OpenRun
from tui.screens.compare import CompareScreen
from tui.screens.run_detail import RunDetailScreen
from tui.services import Services, filter_runs
from tui.widgets.runs_table import RunsTable


def _ids(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.id for r in app.screen.query_one(RunsTable).rows]


async def test_lists_every_run_newest_first_with_columns(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        assert _ids(app) == [RUN_E, RUN_C, RUN_B, RUN_A]
        table = app.screen.query_one(RunsTable)
        line = "".join(s.text for s in table.render_line(3))  # RUN_B: header is line 0
        assert line.split()[:2] == ["✘", "train"]
        assert "b2000000" in line and "5h ago" in line and "2/4 ↺1" in line
        assert "abc1234*" in line  # dirty code marker


async def test_filter_by_field_and_free_text(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"pipeline:train status:failed", "enter")
        assert _ids(app) == [RUN_B]
        assert app.screen.query_one(RunsTable).has_focus
        await pilot.press("slash", "ctrl+u", *"prod", "enter")
        assert _ids(app) == [RUN_E]
        await pilot.press("escape")  # leaves the table focused and clears the filter
        await pilot.press("escape")
        assert len(_ids(app)) == 4


async def test_a_typed_burst_closes_the_filter_and_the_next_enter_opens_the_run(
    services: Services,
) -> None:
    """A terminal delivers ``/status:failed⏎⏎`` as key events queued before any is handled."""
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        names = {"/": "slash", ":": "colon", "\r": "enter"}
        for char in "/status:failed\r\r":
            app.post_message(events.Key(names.get(char, char), char))
        screen = await pilot_wait(pilot, lambda: app.screen if app.screen_stack[1:] else None)
        assert isinstance(screen, RunDetailScreen) and screen.run_id == RUN_B
        await pilot.press("escape")
        runs = app.screen
        box = runs.query_one("#runs-filter", Input)
        assert not box.display and box.value == "status:failed" and _ids(app) == [RUN_B]
        assert runs.query_one(RunsTable).has_focus
        assert "1 of 4  filter: status:failed" in str(runs.query_one("#runs-title").render())
        await pilot.press("slash")  # reopens the box on the filter, for editing
        assert box.display and box.has_focus and box.value == "status:failed"


def test_filter_runs_grammar() -> None:
    rows = [
        RunSummary("abc", "train", "failed", "2026", None, 1, 0, 0, "local", "c0ffee", False),
        RunSummary("def", "etl", "completed", "2026", None, 1, 1, 0, "prod", None, False),
    ]
    assert [r.id for r in filter_runs(rows, "pipeline:tr*")] == ["abc"]
    assert [r.id for r in filter_runs(rows, "status:completed")] == ["def"]
    assert [r.id for r in filter_runs(rows, "id:de")] == ["def"]
    assert [r.id for r in filter_runs(rows, "commit:c0f")] == ["abc"]
    assert [r.id for r in filter_runs(rows, "PROD")] == ["def"]
    assert filter_runs(rows, "") == rows


async def test_sort_by_key_and_header_click_keeps_cursor(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one(RunsTable)
        await pilot.press("down")  # on RUN_C
        await pilot.press("s")  # sort by the next column (duration), ascending
        assert (table.sort_key, table.sort_reverse) == ("duration", False)
        assert _ids(app)[0] == RUN_B  # the shortest run
        assert table.current is not None and table.current.id == RUN_C
        await pilot.click(RunsTable, offset=(10, 0))  # the Pipeline header
        assert (table.sort_key, table.sort_reverse) == ("pipeline", False)
        assert _ids(app)[0] == RUN_E
        await pilot.click(RunsTable, offset=(10, 0))  # again: reversed
        assert table.sort_reverse and _ids(app)[-1] == RUN_E
        assert table.current is not None and table.current.id == RUN_C


async def test_enter_and_click_open_the_run(services: Services) -> None:
    messages: list[object] = []
    app = make_app(services)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await settle(pilot, app)
        await pilot.press("down", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, RunDetailScreen) and app.screen.run_id == RUN_C
        await pilot.press("escape")
        await pilot.click(RunsTable, offset=(5, 4))  # the 4th run: select, then open
        await pilot.click(RunsTable, offset=(5, 4))
        await settle(pilot, app)
        assert isinstance(app.screen, RunDetailScreen) and app.screen.run_id == RUN_A
        assert any(isinstance(m, OpenRun) and m.run_id == RUN_A for m in messages)


async def test_mark_two_runs_and_compare(services: Services) -> None:
    messages: list[object] = []
    app = make_app(services)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await settle(pilot, app)
        await pilot.press("down", "space", "down", "c")
        await settle(pilot, app)
        compare = [m for m in messages if isinstance(m, CompareRuns)]
        assert (compare[0].left, compare[0].right) == (RUN_C, RUN_B)
        assert isinstance(app.screen, CompareScreen)


async def test_runs_recorded_elsewhere_appear_without_a_keypress(services: Services) -> None:
    app = make_app(services, poll=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("down", "down")  # cursor on RUN_B
        record = RunRecord(id="d9" + "0" * 30, pipeline="etl", status="completed",
                           started_at=NOW - timedelta(minutes=1), finished_at=NOW)  # fmt: skip
        commit_run(services.project.runs, record, [])
        await pilot_wait(pilot, lambda: len(_ids(app)) >= 5)
        assert _ids(app)[0] == record.id
        table = app.screen.query_one(RunsTable)
        assert table.current is not None and table.current.id == RUN_B  # cursor kept its row


async def test_live_run_from_journal_shows_running(services: Services, live_run: str) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        rows = app.screen.query_one(RunsTable).rows
        assert rows[0].id == LIVE and rows[0].status == "running"
        assert "▶" in "".join(s.text for s in app.screen.query_one(RunsTable).render_line(1))


class _ManyRuns(Services):
    def __init__(self, base: Services, count: int) -> None:
        super().__init__(base.project, now=base.now)
        start = NOW - timedelta(days=30)
        self.rows = [
            RunSummary(
                f"{i:032x}",
                f"pipe{i % 7}",
                ("completed", "failed")[i % 5 == 0],
                (start + timedelta(minutes=i)).isoformat(),
                (start + timedelta(minutes=i, seconds=30)).isoformat(),
                4,
                4,
                i % 3,
                "local",
                "abc1234",
                False,
            )  # fmt: skip
            for i in reversed(range(count))
        ]

    def change_token(self) -> str:
        return "fixed"

    def list_runs(self) -> list[RunSummary]:
        return self.rows


async def test_ten_thousand_runs_open_fast_and_navigate(services: Services) -> None:
    app = make_app(_ManyRuns(services, 10_000))
    # Timings (first paint, per key) are measured in bench/, not asserted here.
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one(RunsTable)
        assert len(table.rows) == 10_000
        await pilot.press("end")
        assert table.cursor == 9_999
        assert int(table.scroll_offset.y) > 9_900
        await pilot.press("slash", *"status:failed", "enter")
        assert len(table.rows) == 2_000


class _SlowFullList(Services):
    """The whole list is read only once ``release`` is set (the newest runs are not held)."""

    def __init__(self, base: Services) -> None:
        super().__init__(base.project, now=base.now)
        self.release = threading.Event()
        self.older = _ManyRuns(base, 300).rows

    def list_runs(self) -> list[RunSummary]:
        assert self.release.wait(DEADLINE), "the test never released the full list"
        return [*super().list_runs(), *self.older]


async def test_the_newest_runs_show_before_the_whole_list_is_read(services: Services) -> None:
    slow = _SlowFullList(services)
    app = make_app(slow)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await pilot_wait(pilot, lambda: app.screen.query(RunsTable).first(None))
        await pilot_wait(pilot, lambda: len(table.rows) == 4)  # the index's newest runs
        title = app.screen.query_one("#runs-title")
        assert "Runs  4+  reading the rest…" in str(title.render())
        slow.release.set()
        await pilot_wait(pilot, lambda: len(table.rows) == 304)
        await settle(pilot, app)
        assert str(title.render()).startswith("Runs  304  sort")
        assert not [n.message for n in app._notifications if "new run" in n.message]


async def test_rerun_from_the_list_launches_with_the_same_parameters(services: Services) -> None:
    app = make_app(services)
    launched: list[tuple[str, dict[str, str]]] = []
    app.start_run = lambda name, params: launched.append((name, params))  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("down", "down", "R")  # RUN_B: lr=0.5
        await settle(pilot, app)
        assert launched == [("train", {"lr": "0.5", "epochs": "10"})]
