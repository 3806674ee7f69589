"""Per-step status lanes of a live run: one row per DAG generation, parallel steps side by side.

Steps that can run at the same time (a topological generation, ``graphlib`` order) share a row,
so a fan-out reads as lanes next to each other, and each cell carries the step's status glyph,
name and duration (ticking while it runs). A summary line counts the states ("2 ✔ 1 ▶ 1 ○").
Cells are cut with ``…`` when the row is wider than the pane, never wrapped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from graphlib import CycleError, TopologicalSorter
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tui.format import GLYPHS, format_duration, parse_time

__all__ = ["StepLanes", "generations", "step_seconds"]

ORDER = ["completed", "cached", "running", "failed", "cancelled", "skipped", "pending"]


def generations(steps: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Step names grouped by DAG depth (steps of one group may run in parallel)."""
    names = [s["name"] for s in steps]
    graph = {s["name"]: [u for u in s.get("upstream") or [] if u in names] for s in steps}
    sorter = TopologicalSorter(graph)
    try:
        sorter.prepare()
    except CycleError:
        return [names]
    out: list[list[str]] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=names.index)
        out.append(ready)
        sorter.done(*ready)
    return out


def step_seconds(step: dict[str, Any], now: datetime) -> float | None:
    """Seconds a step took, or has been running."""
    if step.get("duration") is not None:
        return float(step["duration"])
    start = parse_time(step.get("started_at"))
    if start is None:
        return None
    end = parse_time(step.get("finished_at")) or (now if step.get("status") == "running" else None)
    return (end - start).total_seconds() if end else None


class StepLanes(Static):
    """Renders ``show(steps)``: step dicts with ``name``, ``upstream``, ``status``, times."""

    DEFAULT_CSS = "StepLanes { height: auto; padding: 0 1; }"

    def __init__(self, now: Callable[[], datetime] | None = None, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.now = now or (lambda: datetime.now(UTC))
        self.steps: list[dict[str, Any]] = []

    def show(self, steps: Sequence[dict[str, Any]]) -> None:
        self.steps = list(steps)
        self.update(self.lanes())

    def tick(self) -> None:
        """Redraw running durations."""
        if any(s.get("status") == "running" for s in self.steps):
            self.update(self.lanes())

    def lanes(self) -> RenderableType:
        if not self.steps:
            return Text("waiting for the run to start…", style="italic grey50")
        by_name = {s["name"]: s for s in self.steps}
        now = self.now()
        groups = generations(self.steps)
        width = max(len(g) for g in groups)
        table = Table.grid(padding=(0, 2))
        table.add_column(style="grey50", no_wrap=True)
        for _ in range(width):
            table.add_column(no_wrap=True, overflow="ellipsis")
        for depth, group in enumerate(groups, start=1):
            cells: list[RenderableType] = [Text(f"{depth}", style="grey50")]
            cells += [self._cell(by_name[name], now) for name in group]
            table.add_row(*cells)
        return Group(self._summary(), table)

    def _cell(self, step: dict[str, Any], now: datetime) -> Text:
        status = str(step.get("status", "pending"))
        glyph, color = GLYPHS.get(status, ("?", "white"))
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{glyph} ", style=color)
        text.append(step["name"], style="bold" if status == "running" else "")
        seconds = step_seconds(step, now)
        if seconds is not None:
            text.append(f" {format_duration(seconds)}", style="grey62")
        elif status == "cached":
            text.append(" cached", style="cyan")
        return text

    def _summary(self) -> Text:
        counts: dict[str, int] = {}
        for step in self.steps:
            status = str(step.get("status", "pending"))
            counts[status] = counts.get(status, 0) + 1
        text = Text()
        for status in sorted(counts, key=lambda s: ORDER.index(s) if s in ORDER else 99):
            glyph, color = GLYPHS.get(status, ("?", "white"))
            text.append(f"{counts[status]} {glyph} {status}  ", style=color)
        return text
