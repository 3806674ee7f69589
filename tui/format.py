"""How mlx shows times, durations, sizes and statuses: one home for the CLI and the app.

Everything here is pure text (no rich, no textual, no pydantic), so the headless commands can
import it without paying for the app. Conventions, the same on every screen and command:

* ages: the largest whole unit, ``42s ago``, ``5m ago``, ``3h ago``, ``6d ago``, ``2w ago``;
* durations: ``350ms`` under a second, ``4.2s`` under a minute, ``3m07s``, then ``2h05m``;
* sizes: binary units, ``512B``, ``3.4K``, ``12M``, ``1.1G``;
* statuses: one glyph and colour each (:data:`GLYPHS`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "GLYPHS",
    "format_age",
    "format_duration",
    "format_size",
    "glyph",
    "parse_time",
    "print_json",
    "span",
    "table",
]

GLYPHS: dict[str, tuple[str, str]] = {
    "completed": ("✔", "green"),
    "failed": ("✘", "red"),
    "crashed": ("✖", "magenta"),
    "cancelled": ("⊗", "magenta"),
    "running": ("▶", "yellow"),
    "cached": ("↺", "cyan"),
    "skipped": ("⊘", "grey50"),
    "pending": ("○", "grey50"),
}
"""Status -> (glyph, colour name) for runs and steps."""


def glyph(status: str) -> str:
    """The glyph of a run or step status (``?`` for an unknown one)."""
    return GLYPHS.get(status, ("?", ""))[0]


def parse_time(value: str | None) -> datetime | None:
    """An ISO-8601 timestamp as an aware datetime (naive means UTC); ``None`` when unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_age(value: str | None, now: datetime | None = None) -> str:
    """How long ago an ISO timestamp was: ``5m ago``; ``-`` when there is none."""
    when = parse_time(value)
    if when is None:
        return "-"
    seconds = max(0, int(((now or datetime.now(UTC)) - when).total_seconds()))
    for size, unit in ((86400 * 7, "w"), (86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def format_duration(seconds: float | None) -> str:
    """A duration in seconds as ``350ms``, ``4.2s``, ``3m07s`` or ``2h05m``; ``-`` for none."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{max(seconds, 0) * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def span(start: str | None, end: str | None) -> float | None:
    """Seconds between two ISO timestamps; ``None`` when either is missing."""
    a, b = parse_time(start), parse_time(end)
    return (b - a).total_seconds() if a is not None and b is not None else None


def format_size(size: int | None) -> str:
    """A byte count in binary units: ``512B``, ``3.4K``, ``12M``; ``-`` for none."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            break
        value /= 1024
    if unit == "B":
        return f"{int(value)}B"
    return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells
    )


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (what ``--json`` prints)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
