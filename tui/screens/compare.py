"""Two runs (or two model versions) side by side: run fields, parameters, metrics, outputs.

Differences only is the default (the most requested comparison feature of MLflow users);
``d`` toggles it. Changed values are highlighted. The rows come from a loader in
:mod:`tui.services`, so the same screen compares runs and model versions.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui.screens.base import MlxScreen
from tui.widgets.fit_table import FitColumn, FitTable
from tui.widgets.footer import MlxFooter

__all__ = ["CompareScreen"]

Row = tuple[str, str, str, str]


class CompareScreen(MlxScreen):
    """A table of ``(section, key, left, right)`` rows with a differences-only toggle."""

    BINDINGS = [Binding("d", "toggle_diff", "Differences only", id="compare.diff")]

    def __init__(self, title: str, left: str, right: str, loader: Callable[[], list[Row]]) -> None:
        super().__init__()
        self.title_text = title
        self.left, self.right = left, right
        self.loader = loader
        self.rows: list[Row] = []
        self.diff_only = True

    def compose(self) -> ComposeResult:
        yield Static(self.title_text, id="compare-title", classes="title")
        yield FitTable(id="compare-table")
        yield MlxFooter()

    def on_mount(self) -> None:
        table = self.query_one(FitTable)
        table.zebra_stripes = True
        self.set_focus(table)
        self.background(self.loader, done=self._loaded)

    def _loaded(self, rows: list[Row]) -> None:
        self.rows = rows
        self._fill()

    def _fill(self) -> None:
        columns = [
            FitColumn("section", "", 6),
            FitColumn("key", "key", 8),
            FitColumn("left", self.left, 8),
            FitColumn("right", self.right, 8),
        ]
        rows: list[tuple[str, list[str | Text]]] = []
        for index, (section, key, left, right) in enumerate(self.rows):
            differs = left != right
            if self.diff_only and not differs:
                continue
            style = "bold yellow" if differs else ""
            rows.append((str(index), [section, key, Text(left, style=style),
                                      Text(right, style=style)]))  # fmt: skip
        shown = len(rows)
        same = len(self.rows) - sum(r[2] != r[3] for r in self.rows)
        mode = "differences only" if self.diff_only else "all rows"
        title = f"{self.title_text}   {mode}: {shown} shown, {same} equal"
        self.query_one("#compare-title", Static).update(title)
        if not shown:
            rows.append(("none", ["", "(no differences)" if self.diff_only else "(nothing)",
                                  "", ""]))  # fmt: skip
        self.query_one(FitTable).show(columns, rows)

    def action_toggle_diff(self) -> None:
        self.diff_only = not self.diff_only
        self._fill()
