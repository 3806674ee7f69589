"""A small text bar chart of one metric across model versions.

plotext is not a dependency, and a model has tens of versions, not thousands, so a column of
eighth-blocks per version (height ``rows`` lines) says enough: trend, best, and the values of
the first and last version. Stage holders are marked under their bar.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

__all__ = ["MetricChart", "render_chart"]

_BLOCKS = " ▁▂▃▄▅▆▇█"


def render_chart(
    metric: str,
    points: list[tuple[int, float]],
    marks: dict[int, str] | None = None,
    rows: int = 5,
    width: int = 60,
) -> Text:
    """Bars of ``points`` (version, value), newest last, scaled between min and max."""
    text = Text()
    if not points:
        text.append(f"{metric or 'metric'}: no values", style="italic")
        return text
    points = points[-max(width // 2, 1) :]
    values = [v for _, v in points]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    levels = [
        max(1, round((v - low) / span * (rows * 8 - 1)) + 1) if high != low else rows * 4
        for v in values
    ]
    text.append(f"{metric}  min {low:.4g}  max {high:.4g}  last {values[-1]:.4g}\n", style="bold")
    for line in range(rows - 1, -1, -1):
        for level in levels:
            fill = max(0, min(8, level - line * 8))
            text.append(_BLOCKS[fill] + " ", style="cyan")
        text.append("\n")
    marks = marks or {}
    for version, _ in points:
        label = marks.get(version, "")[:1].upper() or "·"
        text.append(label + " ", style="yellow" if label != "·" else "grey50")
    text.append("\n")
    text.append(f"v{points[0][0]} … v{points[-1][0]}", style="grey50")
    return text


class MetricChart(Static):
    """Shows :func:`render_chart` for the metric chosen on the models screen."""

    DEFAULT_CSS = "MetricChart { height: auto; padding: 0 1; }"

    def show(
        self, metric: str, points: list[tuple[int, float]], marks: dict[int, str] | None = None
    ) -> None:
        self.update(render_chart(metric, points, marks))
