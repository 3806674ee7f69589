"""Column and pane sizing from content: every table and side list of the app sizes itself here.

A column asks for its *ideal* width (its widest useful value, header included) and accepts a
*minimum*. When the ideals fit, every value shows in full; when they do not, the widest column
gives up one cell at a time until the row fits (so a long pipeline name shrinks before a short
stack name), and a value longer than its column ends with ``…``, never cut silently or wrapped
mid-word. Pure functions, no Textual: tested directly and reused by the Line-API runs table,
and the ``DataTable``s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from rich.text import Text

__all__ = ["ELLIPSIS", "allocate", "ellipsize", "ideal_width"]

ELLIPSIS = "…"


def ideal_width(values: Iterable[str], header: str = "", cap: int = 60) -> int:
    """The width that shows every value (and the header) in full, at most ``cap``."""
    widest = max((cell_len(v) for v in values), default=0)
    return min(max(widest, cell_len(header), 1), cap)


def allocate(
    specs: Sequence[tuple[int, int]], available: int, gap: int = 1, first: Sequence[int] = ()
) -> list[int]:
    """Widths for columns given as ``(ideal, minimum)`` that fit ``available`` cells.

    Columns are separated by ``gap`` cells. Ideals are granted when they fit; otherwise the
    columns listed in ``first`` (extras such as a longer id prefix) go down to their minimum,
    then the widest column above its minimum loses a cell until the row fits or every column is
    at its minimum (the caller then crops at the edge).
    """
    widths = [max(ideal, minimum) for ideal, minimum in specs]
    overflow = sum(widths) + gap * max(len(widths) - 1, 0) - available
    for index in first:
        give = min(max(overflow, 0), widths[index] - specs[index][1])
        widths[index] -= give
        overflow -= give
    while overflow > 0:
        candidates = [i for i, w in enumerate(widths) if w > specs[i][1]]
        if not candidates:
            break
        widths[max(candidates, key=lambda i: widths[i])] -= 1
        overflow -= 1
    return widths


def ellipsize(value: str, width: int) -> str:
    """``value`` padded to ``width`` cells, or cut to ``width - 1`` cells plus ``…``."""
    if width <= 0:
        return ""
    length = cell_len(value)
    if length <= width:
        return value + " " * (width - length)
    text = Text(value)
    text.truncate(width, overflow="ellipsis")
    out = text.plain
    return out + " " * (width - cell_len(out))
