"""Live progress of a pipeline launched from the TUI: status lanes, durations, the log tail.

A launched run is a child process (``mlx run NAME --headless --events``) whose stdout is JSON
lines; the app's runner worker folds each event into a :class:`RunSession` and publishes it on
``app.run_signal``. This widget subscribes and draws what a user wants while a run goes: a
status line, the steps as lanes (:class:`~tui.widgets.step_lanes.StepLanes`, parallel steps
side by side, durations ticking) and the tail of the running step's log, read from its live file
every half second in a thread. Events themselves are never printed. The session outlives the
widget, so switching modes and coming back shows the same run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log, Static

from tui.screens.base import Background
from tui.widgets.step_lanes import StepLanes

__all__ = ["RunMonitor", "RunSession"]

TAIL_LINES = 500  # what the log pane keeps of a long log


@dataclass
class RunSession:
    """Everything known about one launched run, updated from its events."""

    number: int
    pipeline: str
    params: dict[str, str]
    status: str = "starting"
    run_id: str | None = None
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # what went wrong, for people (not events)
    stderr: str = ""
    exit_code: int | None = None
    proc: asyncio.subprocess.Process | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), repr=False)

    @property
    def finished(self) -> bool:
        return self.exit_code is not None

    @property
    def log_step(self) -> str | None:
        """The step whose log to follow: the newest running one, else the last that ran."""
        started = [s for s in self.steps.values() if s.get("started_at")]
        running = [s for s in started if s.get("status") == "running"]
        pool = running or started
        return max(pool, key=lambda s: s["started_at"])["name"] if pool else None

    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        now = self.now().isoformat()
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
            step.update(status="completed", duration=event.get("duration"), finished_at=now)
        elif kind == "step_failed" and step is not None:
            step.update(status="failed", finished_at=now,
                        error={"type": "Error", "message": event.get("error")})  # fmt: skip
            self.lines.append(f"✘ {step['name']}: {event.get('error')}")
        elif kind == "step_skipped" and step is not None:
            step.update(status="skipped")
        elif kind == "run_finished":
            self.status = str(event.get("status", "finished"))
            for other in self.steps.values():  # a cancelled run leaves its running steps so
                if other.get("status") == "running" and self.status != "running":
                    other.update(status=self.status, finished_at=now)
        elif kind == "output":
            self.lines.append(str(event.get("line")))
        elif kind == "exited":
            self.exit_code = int(event.get("code", -1))
            self.stderr = str(event.get("stderr", ""))
            if event.get("cancelled"):
                self.status = "cancelled"
            elif self.status in {"starting", "running"}:
                self.status = "completed" if self.exit_code == 0 else "failed"
            if self.exit_code:
                tail = self.stderr.strip().splitlines()[-3:]
                self.lines += [f"process exited with code {self.exit_code}", *tail]

    def cancel(self) -> bool:
        """Terminate the child (SIGTERM); ``False`` when it is not running."""
        if self.proc is None or self.finished or self.proc.returncode is not None:
            return False
        self.status = "cancelling"
        self.proc.terminate()
        return True


class RunMonitor(Background, Vertical):
    """Shows the newest session (or the one given to :meth:`update_session`)."""

    DEFAULT_CSS = """
    RunMonitor { height: 1fr; }
    RunMonitor #monitor-body { height: 1fr; }
    RunMonitor StepLanes { height: auto; max-height: 50%; }
    RunMonitor #monitor-log-title { height: 1; padding: 0 1; color: $text-muted; }
    RunMonitor #monitor-notes { height: auto; max-height: 6; padding: 0 1; color: $error; }
    RunMonitor Log { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session: RunSession | None = None
        self._tailing: tuple[str | None, str | None] = (None, None)  # (run id, step)
        self._offset = 0
        self._reading = False
        self._final_read = False

    def compose(self) -> ComposeResult:
        yield Static("no run launched yet: choose a pipeline and press l", id="monitor-status")
        with Vertical(id="monitor-body"):
            yield StepLanes(now=self._now, id="monitor-lanes")
            yield Static("", id="monitor-notes")
            yield Static("", id="monitor-log-title")
            yield Log(id="monitor-log", max_lines=TAIL_LINES)

    def _now(self) -> datetime:
        return self.session.now() if self.session else datetime.now(UTC)

    def on_mount(self) -> None:
        self.query_one("#monitor-body").display = False
        signal = getattr(self.app, "run_signal", None)
        if signal is not None:
            signal.subscribe(self, self.update_session)
        sessions = getattr(self.app, "sessions", [])
        if sessions:
            self.update_session(sessions[-1])
        self.set_interval(0.5, self._tick)

    def update_session(self, session: RunSession) -> None:
        if session is not self.session:
            self.query_one("#monitor-body").display = True
            self.session = session
            self._final_read = False
        self.query_one("#monitor-status", Static).update(_status_line(session))
        self.query_one(StepLanes).show(list(session.steps.values()))
        notes = self.query_one("#monitor-notes", Static)
        notes.update("\n".join(session.lines[-6:]))
        notes.display = bool(session.lines)
        self._follow_log()

    def _tick(self) -> None:
        if self.session is None:
            return
        self.query_one(StepLanes).tick()
        self._follow_log()

    # -- log tail --------------------------------------------------------------------------
    def _follow_log(self) -> None:
        session = self.session
        if session is None or session.run_id is None or self._reading:
            return
        step = session.log_step
        if (session.run_id, step) != self._tailing:
            self._tailing, self._offset = (session.run_id, step), 0
            self._final_read = False
            self.query_one(Log).clear()
            title = f"log of {step}" if step else "no step has started yet"
            self.query_one("#monitor-log-title", Static).update(title)
        if step is None or self._final_read:
            return
        spec = session.steps[step]
        if spec.get("status") != "running":
            self._final_read = True  # one last read: what the step wrote before it ended
        self._reading = True
        self.background(self._read, session.run_id, spec, self._offset, done=self._read_done,
                        group="monitor-tail")  # fmt: skip

    def _read(self, run_id: str, step: dict[str, Any], offset: int) -> tuple[Any, str, int]:
        text, offset, _live = self.services.read_log(run_id, step, offset)
        return (run_id, step["name"]), text, offset

    def _read_done(self, result: tuple[Any, str, int]) -> None:
        self._reading = False
        key, text, offset = result
        if key != self._tailing:
            return
        self._offset = offset
        if text:
            self.query_one(Log).write(text)

    def on_background_error(self, error: BaseException | None) -> None:
        self._reading = False  # a log that cannot be read yet is tried again on the next tick


def _status_line(session: RunSession) -> Text:
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
    return status
