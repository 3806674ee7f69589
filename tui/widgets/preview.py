"""The preview pane of the artifacts screen: one artifact version shown as what it is.

Markdown and HTML are rendered (Textual's ``Markdown``; HTML as its text, headings, lists and
tables), JSON is highlighted source, CSV and DataFrames are a scrollable ``DataTable`` (dtypes
under the column names), arrays and other text are plain text, and anything else is one line
saying what it is and that ``e`` exports it.
Under it, :class:`SeriesPlot` draws the artifact's numeric metadata across its versions.

The screen loads a :class:`~tui.previews.build.Preview` in a worker and calls :meth:`show`;
:meth:`start` shows the version's title at once and a loading indicator if the load takes
longer than :data:`tui.widgets.loading.LOADING_AFTER` seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from tui.format import format_size
from tui.previews.build import Preview
from tui.previews.series import Series, render_series
from tui.widgets.loading import loading_after

__all__ = ["PreviewPane", "SeriesPlot", "prepare"]

ROWS_PER_CHUNK = 100  # a table is filled 100 rows per refresh: keys are answered in between


def prepare(preview: Preview) -> Preview:
    """Off the UI thread: import what showing ``preview`` needs (Markdown's parser)."""
    if preview.kind == "markdown":
        import textual.widgets._markdown  # noqa: F401 - the import is the point
    return preview


class SeriesPlot(Static):
    """One line per metric across versions, fitted to the widget's width when drawn."""

    DEFAULT_CSS = "SeriesPlot { height: auto; max-height: 4; padding: 0 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.series: list[Series] = []
        self.selected: int | None = None

    def plot(self, series: Sequence[Series], selected: int | None) -> None:
        self.series, self.selected = list(series), selected
        self.display = bool(self.series)
        self.refresh(layout=True)

    def render(self) -> Text:
        return render_series(self.series, max(self.size.width, 20), self.selected)


class PreviewPane(Vertical):
    """Title in the border, a caption line, the value, the metric plot."""

    DEFAULT_CSS = """
    PreviewPane { height: 1fr; }
    PreviewPane #preview-caption { height: auto; max-height: 2; color: $text-muted; padding: 0 1; }
    PreviewPane #preview-caption.-error { color: $error; }
    PreviewPane #preview-scroll { height: 1fr; }
    PreviewPane #preview { padding: 0 1; }
    PreviewPane #preview-table { height: 1fr; display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.preview: Preview | None = None
        self._end_loading: Callable[[], None] | None = None  # set while a load runs
        self._pending: list[list[str]] = []  # table rows not added yet
        self._generation = 0  # bumped by show(): a stale fill stops

    def compose(self) -> ComposeResult:
        yield Static("", id="preview-caption", markup=False)
        with VerticalScroll(id="preview-scroll"):
            yield Static("", id="preview", markup=False)
        yield DataTable(id="preview-table", cursor_type="row", zebra_stripes=True)
        yield SeriesPlot(id="preview-series")

    def on_mount(self) -> None:
        self.query_one(SeriesPlot).display = False

    @property
    def busy(self) -> bool:
        """Loading, or still adding table rows."""
        return self._end_loading is not None or bool(self._pending)

    @property
    def caption(self) -> str:
        return str(self.query_one("#preview-caption", Static).content)

    def start(self, record: dict[str, Any]) -> None:
        """A version was chosen: show its title now, a loading indicator if it takes a while."""
        size = int((record.get("pointer") or {}).get("size") or 0)
        self.border_title = f"{record['name']}:{record['version']} · {record.get('type')} · " + (
            format_size(size)
        )
        self.query_one("#preview-caption", Static).update("loading…")
        self._stop_loading()
        self._end_loading = loading_after(self)

    def _stop_loading(self) -> None:
        if self._end_loading is not None:
            self._end_loading()
            self._end_loading = None

    def show(self, preview: Preview) -> None:
        """Replace what the pane shows with ``preview``."""
        self._stop_loading()
        self.preview = preview
        self._generation += 1
        self._pending = []
        caption = self.query_one("#preview-caption", Static)
        caption.update(preview.caption)
        caption.set_class(preview.error, "-error")
        table = self.query_one("#preview-table", DataTable)
        scroll = self.query_one("#preview-scroll", VerticalScroll)
        static = self.query_one("#preview", Static)
        is_table = preview.kind == "table"
        table.display, scroll.display = is_table, not is_table and preview.kind != "note"
        for old in self.query("#preview-markdown"):
            old.remove()
        static.display = preview.kind in ("text", "code")
        if is_table:
            self._fill_table(table, preview)
        elif preview.kind == "markdown":
            from textual.widgets import Markdown  # imported when a Markdown value is shown

            scroll.mount(Markdown(preview.body, id="preview-markdown"))
        elif preview.kind == "code":
            static.update(Syntax(preview.body, preview.language, theme="ansi_dark",
                                 word_wrap=True, background_color="default"))  # fmt: skip
        else:
            static.update(Text(preview.body))
        scroll.scroll_home(animate=False)

    def _fill_table(self, table: DataTable[Any], preview: Preview) -> None:
        table.clear(columns=True)
        table.header_height = 2 if preview.dtypes else 1
        for i, name in enumerate(preview.columns):
            dtype = preview.dtypes[i] if i < len(preview.dtypes) else ""
            label = Text(name, style="bold")
            if dtype:
                label.append(f"\n{dtype}", style="italic grey62")
            table.add_column(label, key=str(i))
        width = len(preview.columns)
        self._pending = [(row + [""] * width)[:width] for row in preview.rows]
        self._add_rows(self._generation)

    def _add_rows(self, generation: int) -> None:
        if generation != self._generation:
            return
        chunk, self._pending = self._pending[:ROWS_PER_CHUNK], self._pending[ROWS_PER_CHUNK:]
        self.query_one("#preview-table", DataTable).add_rows(chunk)
        if self._pending:
            self.call_after_refresh(self._add_rows, generation)

    def plot(self, series: Sequence[Series], selected: int | None) -> None:
        self.query_one(SeriesPlot).plot(series, selected)
