"""The runs list: a Line-API table that draws only the rows on screen.

``DataTable`` measures every cell it is given and froze the UI for over 2 s at 10,000 rows,
so this widget is a ``ScrollView`` whose ``render_line`` formats the
visible rows on demand: the cost is O(viewport), whatever the number of runs. It keeps a sticky
header (click a column to sort by it), a cursor that follows its run id across refreshes, and
marks for comparing runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from store.index import RunSummary
from tui.format import GLYPHS, format_age, format_duration
from tui.layout import allocate, ellipsize, ideal_width
from tui.services import filter_runs, run_duration

__all__ = ["COLUMNS", "Column", "RunsTable", "forward_late_key", "measure_columns"]


@dataclass(frozen=True)
class Column:
    """A runs-table column: ``ideal`` 0 means measured from the rows' values."""

    key: str
    label: str
    minimum: int
    sort: Callable[[RunSummary], object]
    ideal: int = 0


COLUMNS = [
    Column("status", "", 3, lambda r: r.status, ideal=3),  # glyph, team mark, compare mark
    Column("pipeline", "Pipeline", 8, lambda r: r.pipeline),
    Column("id", "Run", 8, lambda r: r.id, ideal=12),
    Column("started", "Started", 7, lambda r: r.started_at, ideal=8),
    Column("duration", "Duration", 6, lambda r: 0.0, ideal=9),  # sorted with `now`
    Column("steps", "Steps", 5, lambda r: (r.steps_done, r.steps_total)),
    Column("stack", "Stack", 5, lambda r: r.stack),
    Column("commit", "Commit", 7, lambda r: r.code_commit or "", ideal=8),
]


def _steps_text(run: RunSummary) -> str:
    text = f"{run.steps_done}/{run.steps_total}"
    return text + f" ↺{run.steps_cached}" if run.steps_cached else text


def measure_columns(rows: list[RunSummary]) -> dict[str, int]:
    """Ideal width of every column for ``rows`` (header and sort arrow included)."""
    measured = {
        "pipeline": ideal_width({r.pipeline for r in rows}, cap=48),
        "stack": ideal_width({r.stack for r in rows}, cap=32),
        "steps": ideal_width({_steps_text(r) for r in rows}, cap=16),
    }
    return {c.key: max(c.ideal or measured[c.key], len(c.label) + 1) if c.label else c.ideal
            for c in COLUMNS}  # fmt: skip


class RunsTable(ScrollView, can_focus=True):
    """Virtual table of runs; posts :class:`RunsTable.Selected` on ``enter``."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Open", id="runs.open"),
        Binding("space", "mark", "Mark", id="runs.mark"),
        Binding("s", "sort_next", "Sort", id="runs.sort"),
        Binding("S", "sort_reverse", "Reverse", show=False, id="runs.sort_reverse"),
    ]
    COMPONENT_CLASSES = {"runs-table--header", "runs-table--cursor", "runs-table--marked"}
    DEFAULT_CSS = """
    RunsTable { overflow-y: scroll; overflow-x: hidden; }
    RunsTable > .runs-table--header { text-style: bold; background: $panel; }
    RunsTable > .runs-table--cursor { background: $block-cursor-blurred-background; }
    RunsTable:focus > .runs-table--cursor { background: $block-cursor-background;
        color: $block-cursor-foreground; }
    RunsTable > .runs-table--marked { text-style: bold; color: $accent; }
    """

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Selected(Message):
        def __init__(self, run_id: str) -> None:
            super().__init__()
            self.run_id = run_id

    class Highlighted(Message):
        def __init__(self, run_id: str | None) -> None:
            super().__init__()
            self.run_id = run_id

    def __init__(self, now: Callable[[], datetime] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.now = now or (lambda: datetime.now(UTC))
        self.all_rows: list[RunSummary] = []
        self.rows: list[RunSummary] = []
        self.query_text = ""
        self.sort_key = "started"
        self.sort_reverse = True
        self.marked: list[str] = []
        self.loaded = False
        self.open_filter: Callable[[], None] | None = None
        self.ideals = measure_columns([])
        self._widths: tuple[int, list[int]] = (-1, [])
        self.unpublished: frozenset[str] = frozenset()
        self.foreign: frozenset[str] = frozenset()

    # -- data ------------------------------------------------------------------------------
    @property
    def current(self) -> RunSummary | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def set_rows(self, rows: list[RunSummary]) -> None:
        """Replace the data; the cursor stays on the run it was on."""
        self.all_rows = rows
        self.loaded = True
        self.ideals = measure_columns(rows)
        self._widths = (-1, [])
        self._rebuild()

    def set_team(self, team: Any) -> None:
        """Mark unpublished runs ``*`` and runs pulled from others ``⇣``."""
        self.unpublished = frozenset(team.unpublished_runs)
        self.foreign = frozenset(team.foreign)
        self.refresh()

    def set_filter(self, query: str) -> None:
        self.query_text = query
        self._rebuild()

    def set_sort(self, key: str, reverse: bool | None = None) -> None:
        if reverse is None:
            reverse = not self.sort_reverse if key == self.sort_key else key == "started"
        self.sort_key, self.sort_reverse = key, reverse
        self._rebuild()

    def _rebuild(self) -> None:
        keep = self.current.id if self.current else None
        rows = filter_runs(self.all_rows, self.query_text)
        now = self.now()
        if self.sort_key == "duration":
            rows.sort(key=lambda r: run_duration(r, now) or 0.0, reverse=self.sort_reverse)
        elif not (self.sort_key == "started" and self.sort_reverse):  # already newest first
            column = next(c for c in COLUMNS if c.key == self.sort_key)
            rows.sort(key=column.sort, reverse=self.sort_reverse)  # type: ignore[arg-type]
        self.rows = rows
        index = next((i for i, r in enumerate(rows) if r.id == keep), None) if keep else None
        self.virtual_size = Size(self._width(), len(rows) + 1)
        self.cursor = index if index is not None else min(self.cursor, max(len(rows) - 1, 0))
        self.refresh()

    def _width(self) -> int:
        return max(self.scrollable_content_region.width, 1)

    def widths(self) -> list[int]:
        """Column widths for the current width: ideals when they fit, else shrunk."""
        width = self.scrollable_content_region.width
        if self._widths[0] != width:
            specs = [(self.ideals[c.key], c.minimum) for c in COLUMNS]
            self._widths = (width, allocate(specs, width, first=[2]))  # id prefix: 12 -> 8
        return self._widths[1]

    def on_resize(self) -> None:
        self.virtual_size = Size(self._width(), len(self.rows) + 1)

    # -- cursor ----------------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.Highlighted(self.current.id if self.current else None))

    def _scroll_cursor_into_view(self) -> None:
        visible = max(self.scrollable_content_region.height - 1, 1)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    def _move(self, index: int) -> None:
        if self.rows:
            self.cursor = max(0, min(index, len(self.rows) - 1))

    def action_cursor(self, delta: int) -> None:
        self._move(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move(self.cursor + direction * max(self.scrollable_content_region.height - 2, 1))

    def action_jump(self, where: int) -> None:
        self._move(0 if where == 0 else len(self.rows) - 1)

    def action_select(self) -> None:
        if self.current:
            self.post_message(self.Selected(self.current.id))

    def action_mark(self) -> None:
        if not self.current:
            return
        run_id = self.current.id
        if run_id in self.marked:
            self.marked.remove(run_id)
        else:
            self.marked = [*self.marked[-1:], run_id]
        self.refresh()

    def action_sort_next(self) -> None:
        keys = [c.key for c in COLUMNS]
        self.set_sort(keys[(keys.index(self.sort_key) + 1) % len(keys)], reverse=False)

    def action_sort_reverse(self) -> None:
        self.set_sort(self.sort_key, not self.sort_reverse)

    def on_key(self, event: events.Key) -> None:
        if forward_late_key(self, event):
            return
        if event.key == "slash" and self.open_filter is not None:
            # Open the filter here, synchronously: the screen's binding would only run after
            # this whole burst of keys has bubbled past, and the typed text would be lost.
            event.stop()
            event.prevent_default()
            self.open_filter()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = 0
            for column, width in zip(COLUMNS, self.widths(), strict=True):
                x += width + 1
                if offset.x < x:
                    self.set_sort(column.key)
                    return
            return
        index = int(self.scroll_offset.y) + offset.y - 1
        if index == self.cursor or event.chain > 1:
            self._move(index)
            self.action_select()
        else:
            self._move(index)

    # -- rendering -------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            style = self.get_component_rich_style("runs-table--header")
            return self._strip(self._header(), width, style)
        index = int(self.scroll_offset.y) + y - 1
        if index >= len(self.rows):
            if not self.rows and y == 1:
                message = "loading runs…" if not self.loaded else "no runs match"
                if self.loaded and not self.all_rows:
                    message = "no runs yet: launch a pipeline (2) or run `mlx run NAME`"
                return self._strip(Text(" " + message, style="italic"), width, self.rich_style)
            return Strip.blank(width, self.rich_style)
        row = self.rows[index]
        style = self.rich_style
        if index == self.cursor:
            style = style + self.get_component_rich_style("runs-table--cursor")
        elif row.id in self.marked:
            style = style + self.get_component_rich_style("runs-table--marked")
        return self._strip(self._row_text(row), width, style)

    def _strip(self, text: Text, width: int, style: Style) -> Strip:
        text.truncate(width, pad=True)
        segments = [Segment(s.text, style + s.style if s.style else style) for s in text.render(
            self.app.console)]  # fmt: skip
        return Strip(segments).crop_extend(0, width, style)

    def _header(self) -> Text:
        text = Text()
        for column, width in zip(COLUMNS, self.widths(), strict=True):
            label = column.label
            if column.key == self.sort_key and label:
                label += "▼" if self.sort_reverse else "▲"
            text.append(ellipsize(label, width) + " ")
        return text

    def _row_text(self, run: RunSummary) -> Text:
        now = self.now()
        glyph, color = GLYPHS.get(run.status, ("?", "white"))
        commit = (run.code_commit or "-")[:7] + ("*" if run.dirty else "")
        widths = self.widths()
        cells = [
            run.pipeline, run.id, format_age(run.started_at, now),
            format_duration(run_duration(run, now)), _steps_text(run), run.stack, commit,
        ]  # fmt: skip
        text = Text()
        text.append(glyph, style=color)
        if run.id in self.unpublished:
            text.append("*", style="bold yellow")
        elif run.id in self.foreign:
            text.append("⇣", style="cyan")
        else:
            text.append(" ")
        text.append("•" if run.id in self.marked else " ", style="bold")
        text.append(" ")
        for key, value, width in zip(("pipeline", "id"), cells[:2], widths[1:3], strict=True):
            # an id is a prefix: cut it clean; a name gets an ellipsis when it does not fit
            text.append(value[:width].ljust(width) if key == "id" else ellipsize(value, width))
            text.append(" ")
        for value, width in zip(cells[2:], widths[3:], strict=True):
            text.append(ellipsize(value, width) + " ")
        return text


def forward_late_key(widget: Widget, event: events.Key) -> bool:
    """Hand a key to the widget that has focus *now*.

    A burst like ``/etl`` arrives as several key events that are routed to the focused widget
    when they are read; the ``/`` binding then moves focus to a filter box, but the letters
    already sit in this widget's queue and would be lost. Re-post them.
    """
    focused = widget.screen.focused
    if focused is None or focused is widget:  # not has_focus: that flag lags behind
        return False
    event.stop()
    event.prevent_default()
    late = events.Key(event.key, event.character)
    late._set_forwarded()  # bubbling up, it reaches the app's bindings, not its key routing
    focused.post_message(late)
    return True
