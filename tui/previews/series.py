"""Metric series across the versions of one artifact, drawn as one-line plots.

A numeric metadata value (``log_metadata(..., infer_artifact=True)``, or what a materializer
records, such as a frame's ``rows``) that two or more versions carry is a series, and so is a
metric of the model versions a model's artifact versions belong to. Each one is
drawn as a line of eighth-blocks, one per version (the newest that fit), with its min, max and
last value; the version under the cursor is highlighted. Pure: no Textual, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text

from store.models import metric_values

__all__ = ["MAX_SERIES", "Series", "metric_series", "model_series", "render_series"]

MAX_SERIES = 4
_LEVELS = "▁▂▃▄▅▆▇█"

Series = tuple[str, list[tuple[int, float]]]


def metric_series(versions: Sequence[dict[str, Any]], limit: int = MAX_SERIES) -> list[Series]:
    """``(metric, [(version, value), ...])`` oldest first, for metrics of 2+ versions, by name.

    Metrics that never change (a frame's column count) are left out when some metric changes.
    """
    points: dict[str, list[tuple[int, float]]] = {}
    for record in sorted(versions, key=lambda r: int(r.get("version") or 0)):
        if record.get("version") is None:
            continue
        for key, value in metric_values(record.get("metadata") or {}).items():
            points.setdefault(key, []).append((int(record["version"]), value))
    found = [(k, v) for k, v in points.items() if len(v) >= 2]
    changing = [(k, v) for k, v in found if len({value for _, value in v}) > 1]
    return sorted(changing or found)[:limit]


def model_series(
    versions: Sequence[dict[str, Any]], model_versions: Sequence[dict[str, Any]]
) -> list[Series]:
    """The metrics of the model versions these artifact versions belong to, by artifact version.

    A model's artifact (``{"model": {"name": "iris", "version": 3}}`` on its record) carries no
    metrics itself; its model version does. Named ``<model> <metric>``; 2+ points each.
    """
    metrics = {int(v["version"]): metric_values(v.get("metadata") or {}) for v in model_versions
               if v.get("version") is not None}  # fmt: skip
    points: dict[str, list[tuple[int, float]]] = {}
    for record in sorted(versions, key=lambda r: int(r.get("version") or 0)):
        link = record.get("model") or {}
        if record.get("version") is None or link.get("version") is None:
            continue
        for key, value in metrics.get(int(link["version"]), {}).items():
            name = f"{link.get('name')} {key}"
            points.setdefault(name, []).append((int(record["version"]), value))
    return sorted((k, v) for k, v in points.items() if len(v) >= 2)


def _number(value: float) -> str:
    return f"{value:.4g}"


def _labels(points: list[tuple[int, float]], low: float, high: float, room: int) -> str:
    """The longest of the label forms that leaves ``room`` columns for 2+ points."""
    last = _number(points[-1][1])
    forms = [
        f"  min {_number(low)}  max {_number(high)}  last {last} (v{points[-1][0]})",
        f"  min {_number(low)}  max {_number(high)}  last {last}",
        f"  {_number(low)}..{_number(high)}  last {last}",
        f"  last {last}",
    ]
    return next((form for form in forms if room - len(form) >= min(len(points), 8)), forms[-1])


def render_series(series: Sequence[Series], width: int, selected: int | None = None) -> Text:
    """One line per metric: ``name  ▁▃▅█  min 0.5  max 0.9  last 0.9 (v4)``, within ``width``.

    Narrow widths drop the version, then the words, then min and max; lines never wrap.
    """
    text = Text(no_wrap=True, overflow="ellipsis")
    if not series:
        return text
    label_width = min(max(len(name) for name, _ in series), 24, max(width // 3 - 1, 4))
    for row, (name, points) in enumerate(series):
        values = [v for _, v in points]
        low, high = min(values), max(values)
        room = width - label_width - 2
        labels = _labels(points, low, high, room)
        shown = points[-max(room - len(labels), 2) :]
        span = high - low
        if row:
            text.append("\n")
        title = name if len(name) <= label_width else name[: label_width - 1] + "…"
        text.append(title.ljust(label_width) + "  ", style="bold")
        for version, value in shown:
            level = round((value - low) / span * (len(_LEVELS) - 1)) if span else 3
            style = "reverse cyan" if version == selected else "cyan"
            text.append(_LEVELS[level], style=style)
        text.append(labels, style="grey62")
    return text
