"""A run's step DAG drawn like ``git log --graph``: one step per row, edges in lanes.

The lane layout is our own (asciidag, the usual reference, is GPL): steps are placed in
topological order, roots first; each lane "expects" a downstream step. When a step is drawn, its
lane continues to its first consumer and forks new lanes for the others; lanes expecting the
next step merge into it. Between two rows a connector line is drawn only when an edge bends,
with box-drawing characters chosen from the directions each cell connects. The widget is an
``OptionList`` whose options are the steps (a multi-line prompt when a connector follows), so
keyboard and mouse navigation come for free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any

from rich.text import Text
from textual import events
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.format import GLYPHS, format_duration, parse_time
from tui.widgets.runs_table import forward_late_key

__all__ = ["DagList", "DagRow", "layout"]

_BOX = {
    frozenset("ud"): "│", frozenset("lr"): "─", frozenset("udr"): "├", frozenset("udl"): "┤",
    frozenset("dr"): "╭", frozenset("dl"): "╮", frozenset("ur"): "╰", frozenset("ul"): "╯",
    frozenset("udlr"): "┼", frozenset("lrd"): "┬", frozenset("lru"): "┴",
    frozenset("u"): "╵", frozenset("d"): "╷", frozenset("l"): "─", frozenset("r"): "─",
}  # fmt: skip


@dataclass(frozen=True)
class DagRow:
    """One step's row: the lane cells of its node line and of the connector below it."""

    name: str
    column: int
    node: str  # lane gutter with "@" where the node glyph goes
    connector: str  # "" when every edge goes straight down


def _order(steps: dict[str, list[str]]) -> list[str]:
    """Topological order, roots first, ties kept in the given order."""
    position = {name: i for i, name in enumerate(steps)}
    sorter = TopologicalSorter({n: [u for u in ups if u in steps] for n, ups in steps.items()})
    try:
        sorter.prepare()
    except CycleError:
        return list(steps)
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        order.extend(ready)
        sorter.done(*ready)
    return order


def layout(steps: dict[str, list[str]]) -> list[DagRow]:
    """Lay out ``{step: [upstream steps]}`` as git-log-graph rows."""
    order = _order(steps)
    rank = {name: i for i, name in enumerate(order)}
    children: dict[str, list[str]] = {name: [] for name in order}
    for name in order:
        for up in steps[name]:
            if up in children:
                children[up].append(name)
    lanes: list[str | None] = []
    rows: list[DagRow] = []
    for index, name in enumerate(order):
        if name in lanes:
            col = lanes.index(name)
        elif None in lanes:
            col = lanes.index(None)
            lanes[col] = name
        else:
            col = len(lanes)
            lanes.append(name)
        node = " ".join("@" if i == col else ("│" if lane else " ") for i, lane in enumerate(lanes))
        above = [lane is not None for lane in lanes]
        kids = sorted(children[name], key=rank.__getitem__)
        lanes[col] = kids[0] if kids else None
        segments: list[tuple[int, int]] = []
        for kid in kids[1:]:
            if kid in lanes:  # already expected: join that lane
                segments.append((col, lanes.index(kid)))
                continue
            free = [i for i in range(col + 1, len(lanes)) if lanes[i] is None]
            slot = free[0] if free else len(lanes)
            if slot == len(lanes):
                lanes.append(None)
            lanes[slot] = kid
            segments.append((col, slot))
        if index + 1 < len(order):
            where = [i for i, lane in enumerate(lanes) if lane == order[index + 1]]
            for other in where[1:]:
                segments.append((where[0], other))
                lanes[other] = None
        connector = _connector(above, [lane is not None for lane in lanes], segments)
        while lanes and lanes[-1] is None:
            lanes.pop()
        rows.append(DagRow(name, col, node, connector))
    return rows


def _connector(above: list[bool], below: list[bool], segments: list[tuple[int, int]]) -> str:
    def at(seq: list[bool], i: int) -> bool:
        return i < len(seq) and seq[i]

    width = max(len(above), len(below))
    cells: list[set[str]] = [set() for _ in range(max(2 * width - 1, 0))]
    for i in range(width):
        if at(below, i):
            cells[2 * i].add("d")
            if at(above, i):
                cells[2 * i].add("u")
    for a, b in segments:
        lo, hi = sorted((a, b))
        if lo == hi:
            continue
        cells[2 * lo].add("r")
        cells[2 * hi].add("l")
        for x in range(2 * lo + 1, 2 * hi):
            cells[x] |= {"l", "r"}
        for end in (a, b):  # a merge source comes from above; a fork target only goes down
            if at(above, end):
                cells[2 * end].add("u")
    text = "".join(_BOX.get(frozenset(c), " ") if c else " " for c in cells).rstrip()
    return "" if set(text) <= {"│", " "} else text


def _step_text(step: dict[str, Any], row: DagRow, now: Any) -> Text:
    status = str(step.get("status", "pending"))
    glyph, color = GLYPHS.get(status, GLYPHS["pending"])
    before, _, after = row.node.partition("@")
    text = Text(before, style="grey50")
    text.append(glyph, style=f"bold {color}")
    text.append(after, style="grey50")
    text.append(f" {step['name']}")
    start, end = parse_time(step.get("started_at")), parse_time(step.get("finished_at"))
    if status == "running" and start is not None and now is not None:
        end = now
    if status == "cached":
        text.append(" cached", style="cyan")
    elif start and end:
        text.append(f" {format_duration((end - start).total_seconds())}", style="grey62")
    elif step.get("duration") is not None:
        text.append(f" {format_duration(float(step['duration']))}", style="grey62")
    if row.connector:
        text.append("\n" + row.connector, style="grey50")
    return text


class DagList(OptionList):
    """The steps of one run as a navigable lane graph; option ids are step names."""

    DEFAULT_CSS = "DagList { width: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._signature: tuple[Any, ...] = ()
        self.open_search: Callable[[], None] | None = None

    def on_key(self, event: events.Key) -> None:
        if forward_late_key(self, event):
            return
        if event.key == "slash" and self.open_search is not None:  # see RunsTable.on_key
            event.stop()
            event.prevent_default()
            self.open_search()

    @property
    def selected_step(self) -> str | None:
        index = self.highlighted
        if index is None:
            return None
        return self.get_option_at_index(index).id

    def show_steps(self, steps: list[dict[str, Any]], now: Any = None) -> None:
        """Draw ``steps`` (dicts with name/status/upstream/...); keeps the highlighted step."""
        signature = tuple(
            (s["name"], s.get("status"), s.get("finished_at"), s.get("duration")) for s in steps
        )
        if signature == self._signature and now is None:
            return
        self._signature = signature
        keep = self.selected_step
        by_name = {s["name"]: s for s in steps}
        rows = layout({s["name"]: list(s.get("upstream") or []) for s in steps})
        self.clear_options()
        self.add_options(Option(_step_text(by_name[r.name], r, now), id=r.name) for r in rows)
        names = [r.name for r in rows]
        if names:
            self.highlighted = names.index(keep) if keep in names else 0
