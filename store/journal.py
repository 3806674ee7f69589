"""The live-run journal: one append-only JSON-lines file per running pipeline.

While a run is live, its progress goes here (flushed per event) instead of to the runs ref, so
a step costs an ``fwrite`` and not a git commit. The TUI and ``mlx runs list`` read journals to
show ``running`` runs. A journal whose process is gone is a crashed run: the next mlx command
folds it into a ``crashed`` record (see :mod:`store.recorder`) and deletes the file.

Event lines are plain dicts with an ``event`` key; the first is always ``run_started`` and
carries the writer's ``pid`` and ``host``.
"""

from __future__ import annotations

import json
import os
import socket
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from store.errors import MlxWarning

__all__ = ["Journal", "JournalState", "process_alive", "read_journals", "set_aside"]


def process_alive(pid: int, host: str) -> bool:
    """Whether process ``pid`` on ``host`` is still running (other hosts: assume yes)."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not running
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


class Journal:
    """Writer side: append events for one run."""

    def __init__(self, directory: Path, run_id: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{run_id}.jsonl"
        self._fh: IO[str] | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def append(self, event: dict[str, Any]) -> None:
        if self._fh is None:
            return
        self._fh.write(json.dumps(event, default=str, separators=(",", ":")) + "\n")
        self._fh.flush()

    def close(self, remove: bool = True) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if remove:
            self.path.unlink(missing_ok=True)


@dataclass
class JournalState:
    """What a journal says about one run so far."""

    path: Path
    run_id: str
    header: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        try:
            pid = int(self.header.get("pid", 0))
        except (TypeError, ValueError):
            return False
        return process_alive(pid, str(self.header.get("host", "")))

    def steps(self) -> dict[str, dict[str, Any]]:
        """Latest known state of each step: ``name -> step record dict``."""
        out: dict[str, dict[str, Any]] = {}
        for event in self.events:
            step = event.get("step")
            if isinstance(step, dict) and "name" in step:
                out[step["name"]] = step
        return out

    def live_run(self) -> dict[str, Any]:
        """The run as known so far (RunRecord layout): steps not started yet are ``pending``."""
        run = dict(self.header.get("run") or {})
        run.setdefault("id", self.run_id)
        run.setdefault("started_at", self.header.get("started_at"))
        run["status"] = "running" if self.alive else "crashed"
        steps = {s["name"]: s for s in run.get("steps") or []}
        for planned in self.header.get("plan") or []:
            steps.setdefault(planned["name"], {**planned, "status": "pending"})
        steps.update(self.steps())
        run["steps"] = list(steps.values())
        return run

    def artifacts(self) -> list[dict[str, Any]]:
        """Artifact-version drafts produced by finished steps."""
        return [a for e in self.events for a in e.get("artifacts", [])]


def has_dead_journals(directory: Path) -> bool:
    """Whether a journal of a process that is gone waits to be folded (cheap check)."""
    return any(not state.alive for state in read_journals(directory))


def read_journals(directory: Path) -> list[JournalState]:
    """Every journal in ``directory``.

    Journals are derived state and heal themselves: a torn last line (a killed writer) is
    ignored; any other unreadable line (not UTF-8, not a JSON object) is skipped with one
    warning; a journal without a readable header is set aside as ``<id>.jsonl.bad``.
    """
    states = []
    for path in sorted(directory.glob("*.jsonl")) if directory.is_dir() else []:
        try:
            lines = path.read_bytes().splitlines()
        except OSError:
            continue
        events: list[dict[str, Any]] = []
        skipped = 0
        for number, line in enumerate(lines):
            try:
                event = json.loads(line.decode("utf-8"))
            except ValueError:  # UnicodeDecodeError and JSONDecodeError both are
                event = None
            if isinstance(event, dict):
                events.append(event)
            elif number < len(lines) - 1:  # the last line may be a torn write: not news
                skipped += 1
        if not events or events[0].get("event") != "run_started":
            set_aside(path, "it has no readable run_started line")
            continue
        if skipped:
            warnings.warn(
                f"skipped {skipped} unreadable line(s) of the run journal {path}",
                MlxWarning,
                stacklevel=1,  # one location: shown once per process however often it is read
            )
        states.append(JournalState(path, path.stem, events[0], events[1:]))
    return states


def set_aside(path: Path, reason: str) -> None:
    """Rename a journal that cannot be used to ``<name>.bad`` (kept to inspect), with a warning."""
    bad = path.with_name(path.name + ".bad")
    try:
        os.replace(path, bad)
    except OSError:
        return  # another process set it aside first
    warnings.warn(
        f"set aside the run journal {path} ({reason}) as {bad.name}", MlxWarning, stacklevel=3
    )
