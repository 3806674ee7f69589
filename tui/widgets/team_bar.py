"""The team state at a glance: the runs ref against the remote, and push/pull progress.

Shows ``origin ↑2 ↓1 · 3 runs unpublished (*)`` from a :class:`tui.team.TeamState`, or the
progress line of a running push or pull (``push: uploading 3/10``). ``P`` pushes and ``U``
pulls (app bindings); the bar only presents.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

__all__ = ["TeamBar"]


class TeamBar(Static):
    """One line: team summary, or the current push/pull progress."""

    DEFAULT_CSS = """
    TeamBar { width: auto; height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.state: Any = None

    def show(self, update: Any) -> None:
        """A :class:`~tui.team.TeamState`, or a progress string."""
        if isinstance(update, str):
            self.update(Text(update, style="bold yellow"))
            return
        self.state = update
        text = Text()
        if update.remote is None:
            text.append("no remote", style="grey50")
        else:
            text.append(f"{update.remote} ", style="bold")
            text.append(f"↑{update.ahead}", style="yellow" if update.ahead else "grey50")
            text.append(" ")
            text.append(f"↓{update.behind}", style="cyan" if update.behind else "grey50")
            count = len(update.unpublished_runs)
            if count:
                text.append(f" · {count} unpublished *", style="yellow")
            text.append("  P push  U pull", style="grey50")
        self.update(text)
