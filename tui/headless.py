"""Progress of a headless run: a live table on a terminal, plain lines otherwise.

Both consume :mod:`engine.events`. With ``GITHUB_STEP_SUMMARY`` set, a markdown summary of the
finished run is appended to that file for the CI job page.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, TextIO

from tui.format import format_duration, glyph

__all__ = ["EventPrinter", "JsonEventPrinter", "LivePrinter", "write_step_summary"]


class EventPrinter:
    """Plain lines, one per event (logs of CI jobs, pipes)."""

    def __init__(self, out: TextIO = sys.stderr) -> None:
        self.out = out

    def __call__(self, event: Any) -> None:
        line = self.describe(event)
        if line:
            self.out.write(line + "\n")
            self.out.flush()

    @staticmethod
    def describe(event: Any) -> str:
        kind = event.kind
        if kind == "run_started":
            return f"run {event.run_id[:8]} of {event.pipeline} on stack {event.stack} " \
                   f"({len(event.steps)} steps)"  # fmt: skip
        if kind == "step_started":
            return f"  ▶ {event.step} started"
        if kind == "step_cached":
            return f"  {glyph('cached')} {event.step} cached (from run {event.cached_from[:8]})"
        if kind == "step_finished":
            why = f"  [{'; '.join(event.rerun_reasons)}]" if event.rerun_reasons else ""
            return f"  {glyph('completed')} {event.step} finished in " \
                   f"{format_duration(event.duration)}{why}"  # fmt: skip
        if kind == "step_failed":
            return f"  {glyph('failed')} {event.step} failed: {event.error}"
        if kind == "step_skipped":
            return f"  {glyph('skipped')} {event.step} skipped (an upstream step failed)"
        if kind == "step_retrying":
            return f"  ↻ {event.step} attempt {event.attempt} in {format_duration(event.delay)} " \
                   f"after: {event.error}"  # fmt: skip
        if kind == "run_finished":
            return f"run {event.run_id[:8]} {event.status} in {format_duration(event.duration)}"
        if kind == "model_promoted":
            return describe_promotion(event)
        return ""


class JsonEventPrinter:
    """``--events``: one JSON object per line on stdout (read by the TUI)."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out

    def __call__(self, event: Any) -> None:
        self.out.write(json.dumps(event.to_json(), default=str) + "\n")
        self.out.flush()


class LivePrinter:
    """A live rich table of the steps, for terminals."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(stderr=True)
        self.rows: dict[str, list[str]] = {}
        self.started: dict[str, float] = {}
        self.title = ""
        self.live = Live(self._render(), console=self.console, refresh_per_second=8,
                         transient=False, redirect_stdout=False, redirect_stderr=False)  # fmt: skip

    def _render(self) -> Any:
        from rich.table import Table

        table = Table(title=self.title, title_justify="left", expand=False, box=None)
        for col in ("", "step", "status", "time", "note"):
            table.add_column(col)
        now = time.monotonic()
        for name, (mark, status, took, note) in self.rows.items():
            if status == "running":
                took = format_duration(now - self.started[name])
            table.add_row(mark, name, status, took, note)
        return table

    def __call__(self, event: Any) -> None:
        kind = event.kind
        if kind == "run_started":
            self.title = f"{event.pipeline} · run {event.run_id[:8]} · stack {event.stack}"
            self.rows = {s["name"]: ["·", "pending", "", ""] for s in event.steps}
            self.live.start()
        elif kind == "step_started":
            self.started[event.step] = time.monotonic()
            self.rows[event.step] = [glyph("running"), "running", "", ""]
        elif kind == "step_cached":
            self.rows[event.step] = [glyph("cached"), "cached", "",
                                     f"from run {event.cached_from[:8]}"]  # fmt: skip
        elif kind == "step_finished":
            self.rows[event.step] = [
                glyph("completed"),
                "completed",
                format_duration(event.duration),
                "; ".join(event.rerun_reasons),
            ]
        elif kind == "step_failed":
            self.rows[event.step] = [glyph("failed"), "failed", "", event.error[:80]]
        elif kind == "step_skipped":
            self.rows[event.step] = [glyph("skipped"), "skipped", "", ""]
        if kind == "model_promoted":
            self.console.print(describe_promotion(event))
        self.live.update(self._render(), refresh=True)
        if kind == "run_finished":
            self.live.stop()
            self.console.print(f"run {event.run_id[:8]} {event.status} in "
                               f"{format_duration(event.duration)}")  # fmt: skip


def describe_promotion(event: Any) -> str:
    target = f"{event.model}:{event.version} -> {event.stage}"
    if event.error:
        return f"  promotion {target} refused: {event.error}"
    if event.mode == "pull-request":
        return f"  promotion {target} proposed on branch {event.branch} (open a pull request)"
    return f"  promotion {target} committed on branch {event.branch}"


def write_step_summary(run: dict[str, Any]) -> None:
    """Append a markdown summary of ``run`` (JSON form) to ``$GITHUB_STEP_SUMMARY``."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    lines = [
        f"### mlx run `{run['id'][:8]}` of `{run['pipeline']}`: {run['status']}",
        "",
        "| step | status | outputs | note |",
        "|---|---|---|---|",
    ]
    for s in run["steps"]:
        note = (f"cached from `{s['cached_from'][:8]}`" if s["cached_from"]
                else "; ".join(s["rerun_reasons"]))  # fmt: skip
        if s.get("error"):
            note = f"{s['error']['type']}: {s['error']['message']}"
        outputs = ", ".join(f"`{v}`" for v in s["outputs"].values())
        lines.append(f"| {s['name']} | {glyph(s['status'])} {s['status']} "
                     f"| {outputs} | {note.replace('|', '/')} |")  # fmt: skip
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n\n")
