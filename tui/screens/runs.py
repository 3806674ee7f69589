"""Home screen: every run, newest first, live.

The table is the virtual :class:`~tui.widgets.runs_table.RunsTable`, so 10,000 runs open as fast
as 10; the first load reads the :data:`HEAD` newest runs first and shows them while the rest
is read (at 10,000 runs, building every row took most of the first paint). A timer polls a
cheap change token (the ``refs/mlx/`` tips and the journal directory) in a thread; only when it
changes is the list re-read, and the cursor stays on its run. Polling pauses while another
screen covers this one.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from store.index import RunSummary
from tui.messages import CompareRuns, LaunchPipeline, OpenRun
from tui.screens.base import MlxScreen
from tui.widgets.footer import MlxFooter
from tui.widgets.runs_table import RunsTable, forward_late_key
from tui.widgets.team_bar import TeamBar

__all__ = ["HEAD", "FilterBox", "RunsScreen"]

HEAD = 200  # runs shown before the whole list is read: more than a screenful


class FilterBox(Input):
    """The filter input: ``enter`` closes it at once, whatever else is queued.

    ``enter`` is handled here, synchronously, rather than by ``Input``'s submit binding: a
    binding runs only once the key has bubbled up to the app, and keys typed in the same burst
    (``/status:failed⏎⏎``) would meanwhile be routed to this box instead of the table. Keys
    that were queued here before the box closed are handed on to the table.
    """

    def __init__(self, entered: Callable[[], None], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._entered = entered

    def on_key(self, event: events.Key) -> None:
        if forward_late_key(self, event):
            return
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self._entered()


class RunsScreen(MlxScreen):
    """The runs list with filter, sort, marks and live refresh."""

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="runs.filter"),
        Binding("c", "compare", "Compare", id="runs.compare"),
        Binding("R", "rerun", "Rerun", id="runs.rerun"),
        Binding("r", "refresh", "Refresh", id="runs.refresh"),
        Binding("l", "launch", "Launch", id="runs.launch"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._token: str | None = None
        self._polling = False
        self._partial = False  # the table holds only the newest HEAD runs so far

    def compose(self) -> ComposeResult:
        with Horizontal(id="runs-top"):
            yield Static("Runs", id="runs-title", classes="title")
            yield TeamBar(id="team-bar")
        hint = "filter: pipeline:NAME status:failed stack:S id:PREFIX text"
        yield FilterBox(self.close_filter, id="runs-filter", placeholder=hint)
        yield RunsTable(now=self.services.now, id="runs-table")
        yield MlxFooter()

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    def on_mount(self) -> None:
        self.query_one("#runs-filter", Input).display = False
        self.table.open_filter = self.action_filter
        self.set_focus(self.table)
        self.action_refresh()
        interval = getattr(self.app, "poll_interval", 1.0)
        if interval:
            self.set_interval(interval, self._poll)
        signal = getattr(self.app, "team_signal", None)
        if signal is not None:
            signal.subscribe(self, self._team)

    # -- loading ---------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self._token = None
        self._poll(force=True)

    def _poll(self, force: bool = False) -> None:
        if not force and (self._polling or self.app.screen is not self):
            return
        if not force and any(r.status == "running" for r in self.table.rows[:50]):
            self.table.refresh()  # durations of running runs tick
        self._polling = True
        self.background(self._load, self._token, done=self._loaded, group="poll")

    def _load(self, token: str | None) -> tuple[str, list[RunSummary]] | None:
        fresh = self.services.change_token()
        if fresh == token:
            return None
        if not self.table.loaded:  # paint the newest runs first, then read them all
            self.app.call_from_thread(self._head, self.services.recent_runs(HEAD))
        return fresh, self.services.list_runs()

    def _head(self, rows: list[RunSummary]) -> None:
        if self.table.loaded:
            return
        self._partial = True
        self.table.set_rows(rows)
        self._update_title()

    def _loaded(self, result: tuple[str, list[RunSummary]] | None) -> None:
        self._polling = False
        if result is None:
            return
        first = (self._token is None and not self.table.loaded) or self._partial
        self._partial = False
        self._token, rows = result
        before = {r.id for r in self.table.all_rows}
        self.table.set_rows(rows)
        self.background(self.services.team_state, done=self._team, group="team")
        if not first and len(rows) > len(before):
            new = len([r for r in rows if r.id not in before])
            if new:
                self.notify(f"{new} new run{'s' * (new > 1)}", timeout=2)
        self._update_title()

    def _team(self, update: object) -> None:
        self.query_one(TeamBar).show(update)
        if not isinstance(update, str):
            self.table.set_team(update)

    def on_background_error(self, error: BaseException | None) -> None:
        self._polling = False
        super().on_background_error(error)

    def _update_title(self) -> None:
        table = self.table
        total, shown = len(table.all_rows), len(table.rows)
        text = f"Runs  {total:,}" if shown == total else f"Runs  {shown:,} of {total:,}"
        if self._partial:
            text += "+  reading the rest…"
        if table.query_text:
            text += f"  filter: {table.query_text}"
        direction = "▼" if table.sort_reverse else "▲"
        text += f"  sort: {table.sort_key} {direction}"
        if table.marked:
            text += f"  marked: {', '.join(m[:8] for m in table.marked)}"
        self.query_one("#runs-title", Static).update(text)

    # -- filter ----------------------------------------------------------------------------
    def action_filter(self) -> None:
        box = self.query_one("#runs-filter", Input)
        box.display = True  # first: a hidden widget refuses focus
        # Focus now, not via focus() (which defers): keys typed in the same burst as "/" are
        # already queued and must land in the box, not trigger the table's bindings.
        self.set_focus(box)

    def apply_filter(self, query: str) -> None:
        """Filter by ``query`` (palette presets): the title shows it, ``/`` edits it."""
        box = self.query_one("#runs-filter", Input)
        box.value = query
        box.display = False
        self.table.set_filter(query)
        self._update_title()
        self.set_focus(self.table)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "runs-filter":
            self.table.set_filter(event.value)
            self._update_title()

    def close_filter(self) -> None:
        """Apply what the box holds, hide it and focus the table (the title shows the filter)."""
        box = self.query_one("#runs-filter", Input)
        if self.table.query_text != box.value:
            self.table.set_filter(box.value)
        box.display = False
        self.set_focus(self.table)
        self._update_title()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":  # esc leaves, then clears, the filter
            boxes = self.query("#runs-filter").results(Input)
            return any(box.display or box.value for box in boxes)
        return True

    def action_back(self) -> None:
        """``esc``: leave the filter box, then clear the filter."""
        box = self.query_one("#runs-filter", Input)
        if box.has_focus and box.value:
            box.value = ""
        elif box.has_focus or box.value:
            box.value = ""
            box.display = False
            self.set_focus(self.table)

    # -- actions ---------------------------------------------------------------------------
    def on_runs_table_selected(self, event: RunsTable.Selected) -> None:
        self.post_message(OpenRun(event.run_id))

    def on_runs_table_highlighted(self, event: RunsTable.Highlighted) -> None:
        if self.is_mounted:
            self._update_title()

    def action_compare(self) -> None:
        table = self.table
        marked = list(table.marked)
        current = table.current.id if table.current else None
        if len(marked) < 2 and current and current not in marked:
            marked.append(current)
        if len(marked) < 2:
            self.notify("mark a run with space, then press c on another", timeout=4)
            return
        self.post_message(CompareRuns(marked[-2], marked[-1]))

    def action_launch(self) -> None:
        self.app.switch_mode("pipelines")

    def action_rerun(self) -> None:
        run = self.table.current
        if run is None:
            return
        self.background(self.services.run, run.id, done=self._rerun)

    def _rerun(self, record: dict[str, object]) -> None:
        params = record.get("parameters") or {}
        assert isinstance(params, dict)
        self.post_message(LaunchPipeline(str(record["pipeline"]), params, immediate=True))
