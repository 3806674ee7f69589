"""App-wide messages: navigation requests that bubble up to the app, and run progress.

Screens do not know about each other. To go somewhere they post one of the ``Open*`` messages;
it bubbles to :class:`tui.app.MlxApp`, which owns the routing. The pipeline runner (a worker on
the app) turns each JSON line of the child process into a :class:`RunProgress`.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

__all__ = [
    "CompareRuns",
    "LaunchPipeline",
    "OpenLineage",
    "OpenRun",
    "RunProgress",
]


class OpenRun(Message):
    """Show the detail screen of a run."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id


class OpenLineage(Message):
    """Show the lineage of one artifact version (by artifact id)."""

    def __init__(self, artifact_id: str) -> None:
        super().__init__()
        self.artifact_id = artifact_id


class CompareRuns(Message):
    """Compare two runs side by side."""

    def __init__(self, left: str, right: str) -> None:
        super().__init__()
        self.left = left
        self.right = right


class LaunchPipeline(Message):
    """Open the launch form of a pipeline, optionally prefilled (a rerun)."""

    def __init__(
        self, pipeline: str, params: dict[str, Any] | None = None, immediate: bool = False
    ) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.params = params or {}
        self.immediate = immediate


class RunProgress(Message):
    """One event of a launched run (``event`` is the decoded JSON line), or its exit."""

    def __init__(self, session: int, event: dict[str, Any]) -> None:
        super().__init__()
        self.session = session
        self.event = event
