"""Live progress of a pipeline launched from the TUI.

A launched run is a child process (``mlx run NAME --headless --events``) whose stdout is JSON
lines; the app's runner worker folds each event into a :class:`RunSession` and publishes it on
``app.run_signal``. This widget subscribes and draws the session: status line, the step DAG as
the events arrive, and the raw event feed. The session outlives the widget, so switching modes
and coming back shows the same run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log, Static

from tui.widgets.dag_list import DagList

__all__ = ["RunMonitor", "RunSession"]


@dataclass
class RunSession:
    """Everything known about one launched run, updated from its events."""

    number: int
    pipeline: str
    params: dict[str, str]
    status: str = "starting"
    run_id: str | None = None
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    stderr: str = ""
    exit_code: int | None = None
    proc: asyncio.subprocess.Process | None = None

    @property
    def finished(self) -> bool:
        return self.exit_code is not None

    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        now = datetime.now(UTC).isoformat()
        step = self.steps.get(str(event.get("step")))
        if kind == "run_started":
            self.run_id = event.get("run_id")
            self.status = "running"
            for spec in event.get("steps") or []:
                self.steps[spec["name"]] = {
                    "name": spec["name"], "upstream": spec.get("upstream", []), "status": "pending"
                }  # fmt: skip
        elif kind == "step_started" and step is not None:
            step.update(status="running", started_at=now)
        elif kind == "step_cached" and step is not None:
            step.update(status="cached", cached_from=event.get("cached_from"))
        elif kind == "step_finished" and step is not None:
            step.update(status="completed", duration=event.get("duration"), finished_at=None)
        elif kind == "step_failed" and step is not None:
            step.update(status="failed", error={"type": "Error", "message": event.get("error")})
        elif kind == "step_skipped" and step is not None:
            step.update(status="skipped")
        elif kind == "run_finished":
            self.status = str(event.get("status", "finished"))
        elif kind == "exited":
            self.exit_code = int(event.get("code", -1))
            self.stderr = str(event.get("stderr", ""))
            if event.get("cancelled"):
                self.status = "cancelled"
            elif self.status in {"starting", "running"}:
                self.status = "completed" if self.exit_code == 0 else "failed"
        self.lines.append(_describe(event))

    def cancel(self) -> bool:
        """Terminate the child (SIGTERM); ``False`` when it is not running."""
        if self.proc is None or self.finished or self.proc.returncode is not None:
            return False
        self.status = "cancelling"
        self.proc.terminate()
        return True


def _describe(event: dict[str, Any]) -> str:
    kind = str(event.get("event"))
    if kind == "exited":
        tail = str(event.get("stderr", "")).strip().splitlines()[-3:]
        return f"process exited with code {event.get('code')}" + "".join(f"\n  {t}" for t in tail)
    details = {k: v for k, v in event.items() if k not in {"event", "run_id", "steps"}}
    return f"{kind} " + " ".join(f"{k}={v}" for k, v in details.items())


class RunMonitor(Vertical):
    """Shows the newest session (or the one given to :meth:`watch`)."""

    DEFAULT_CSS = """
    RunMonitor { height: 1fr; }
    RunMonitor #monitor-body { height: 1fr; }
    RunMonitor DagList { width: 1fr; }
    RunMonitor Log { width: 2fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session: RunSession | None = None
        self._shown = 0

    def compose(self) -> ComposeResult:
        from textual.containers import Horizontal

        yield Static("no run launched yet: choose a pipeline and press l", id="monitor-status")
        with Horizontal(id="monitor-body"):
            yield DagList(id="monitor-dag")
            yield Log(id="monitor-log")

    def on_mount(self) -> None:
        self.query_one("#monitor-body").display = False
        signal = getattr(self.app, "run_signal", None)
        if signal is not None:
            signal.subscribe(self, self.update_session)
        sessions = getattr(self.app, "sessions", [])
        if sessions:
            self.update_session(sessions[-1])

    def update_session(self, session: RunSession) -> None:
        if session is not self.session:
            self.query_one("#monitor-body").display = True
            self.session = session
            self._shown = 0
            self.query_one(Log).clear()
        status = Text()
        status.append(f"#{session.number} {session.pipeline}", style="bold")
        status.append(f"  run {session.run_id[:8] if session.run_id else '…'}")
        style = {"completed": "green", "failed": "red", "cancelled": "magenta"}.get(
            session.status, "yellow"
        )
        status.append(f"  {session.status}", style=f"bold {style}")
        done = sum(s["status"] in {"completed", "cached"} for s in session.steps.values())
        status.append(f"  {done}/{len(session.steps)} steps")
        if not session.finished:
            status.append("   x: cancel", style="grey50")
        elif session.run_id:
            status.append("   o: open run", style="grey50")
        self.query_one("#monitor-status", Static).update(status)
        self.query_one(DagList).show_steps(list(session.steps.values()))
        log = self.query_one(Log)
        log.write_lines(session.lines[self._shown :])
        self._shown = len(session.lines)
