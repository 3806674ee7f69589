"""Run names: ``run_name=`` with ZenML's placeholders, or ``<pipeline>-<date>-<time>``.

ZenML substitutes ``{date}`` and ``{time}`` (UTC, when the run starts) in a run name template;
without one a run is called after its pipeline and start time. A name is a label shown next to
the run id; the id stays the key.
"""

from __future__ import annotations

from datetime import datetime

__all__ = ["run_name"]


def run_name(template: str | None, pipeline: str, started: datetime) -> str:
    """The name of a run of ``pipeline`` started at ``started``."""
    values = {
        "date": started.strftime("%Y_%m_%d"),
        "time": started.strftime("%H_%M_%S_%f"),
        "pipeline_name": pipeline,
    }
    if not template:
        return f"{pipeline}-{values['date']}-{values['time']}"
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template  # placeholders mlx does not know stay as written
