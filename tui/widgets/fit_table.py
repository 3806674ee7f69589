"""A small ``DataTable`` whose columns are sized from content to the width it has.

For tables of tens of rows (a model's versions, an artifact's versions): every value shows in
full when the columns fit; otherwise :func:`tui.layout.allocate` shrinks the widest columns and
their values end with ``…``. The table keeps its data and lays it out again when resized, and the
cursor stays on the same row key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from tui.layout import allocate, ellipsize, ideal_width

__all__ = ["FitColumn", "FitTable"]


@dataclass(frozen=True)
class FitColumn:
    key: str
    label: str
    minimum: int = 3


Cell = str | Text


class FitTable(DataTable[Cell]):
    """``show(columns, rows)`` replaces the content; ``rows`` are ``(key, cells)``."""

    DEFAULT_CSS = "FitTable { overflow-x: hidden; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self._columns: list[FitColumn] = []
        self._rows: list[tuple[str, list[Cell]]] = []
        self._laid_out_for = -1

    def show(
        self, columns: Sequence[FitColumn], rows: Sequence[tuple[str, Sequence[Cell]]]
    ) -> None:
        self._columns = list(columns)
        self._rows = [(key, list(cells)) for key, cells in rows]
        self._layout()

    def _layout(self) -> None:
        available = self.scrollable_content_region.width or self.size.width or 80
        self._laid_out_for = available
        keep = self.cursor_row
        specs = []
        for index, column in enumerate(self._columns):
            values = [_plain(cells[index]) for _, cells in self._rows]
            specs.append((ideal_width(values, column.label), column.minimum))
        # DataTable pads each cell by one on both sides: two cells of gap per column.
        widths = allocate(specs, available - 2 * len(specs), gap=0)
        self.clear(columns=True)
        for column, width in zip(self._columns, widths, strict=True):
            self.add_column(ellipsize(column.label, width).rstrip(), key=column.key, width=width)
        for key, cells in self._rows:
            fitted = [_fit(cell, width) for cell, width in zip(cells, widths, strict=True)]
            self.add_row(*fitted, key=key)
        if self.row_count:
            self.move_cursor(row=min(keep, self.row_count - 1))

    def on_resize(self, event: events.Resize) -> None:
        if self._columns and self.scrollable_content_region.width != self._laid_out_for:
            self._layout()


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def _fit(cell: Cell, width: int) -> Cell:
    if isinstance(cell, Text):
        if cell.cell_len <= width:
            return cell
        cut = cell.copy()
        cut.truncate(width, overflow="ellipsis")
        return cut
    return ellipsize(cell, width).rstrip()
