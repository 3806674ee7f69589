"""What the run index stores: its tables, and the rows each record on the runs ref gives.

:mod:`store.index` keeps the SQLite file in step with the ref; this module says what goes in
it. A run gives a ``runs`` row (its :class:`RunSummary` and JSON), a ``steps`` row per step and
a ``uses`` row per artifact a step read or wrote; an artifact or model version gives one row
with its JSON. :class:`Rows` collects them for one ``executemany`` per table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["DDL", "SCHEMA_VERSION", "SUMMARY_COLUMNS", "Rows", "RunSummary", "record_rows"]

SCHEMA_VERSION = "4"
DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS blobs (path TEXT PRIMARY KEY, blob TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, pipeline TEXT, status TEXT, started_at TEXT, finished_at TEXT,
    steps_total INT, steps_done INT, steps_cached INT, stack TEXT, code_commit TEXT,
    dirty INT, json TEXT);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at);
CREATE TABLE IF NOT EXISTS artifacts (
    id TEXT, name TEXT, version INT, run_id TEXT, step TEXT, created_at TEXT, json TEXT,
    PRIMARY KEY (name, version));
CREATE INDEX IF NOT EXISTS artifacts_id ON artifacts (id);
CREATE TABLE IF NOT EXISTS models (
    name TEXT, version INT, run_id TEXT, created_at TEXT, json TEXT, PRIMARY KEY (name, version));
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT, pipeline TEXT, name TEXT, status TEXT, cache_key TEXT, finished_at TEXT,
    PRIMARY KEY (run_id, name));
CREATE INDEX IF NOT EXISTS steps_key ON steps (cache_key);
CREATE TABLE IF NOT EXISTS uses (artifact_id TEXT, run_id TEXT, step TEXT, role TEXT);
CREATE INDEX IF NOT EXISTS uses_artifact ON uses (artifact_id);
CREATE TABLE IF NOT EXISTS invalid (path TEXT PRIMARY KEY, blob TEXT, reason TEXT);
"""

#: The ``runs`` columns :meth:`RunSummary.from_row` reads, in its order.
SUMMARY_COLUMNS = (
    "id, pipeline, status, started_at, finished_at, steps_total, steps_done, steps_cached, "
    "stack, code_commit, dirty"
)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The columns of the runs list."""

    id: str
    pipeline: str
    status: str
    started_at: str
    finished_at: str | None
    steps_total: int
    steps_done: int
    steps_cached: int
    stack: str
    code_commit: str | None
    dirty: bool

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> RunSummary:
        """The summary of a row selected as :data:`SUMMARY_COLUMNS`."""
        r = row
        return cls(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], bool(r[10]))

    @classmethod
    def from_run(cls, run: dict[str, Any]) -> RunSummary:
        """The summary of a run record in its JSON form (stored or live)."""
        steps = run.get("steps") or []
        code = run.get("code") or {}
        return cls(
            id=str(run["id"]), pipeline=str(run.get("pipeline") or ""),
            status=str(run.get("status")), started_at=str(run.get("started_at") or ""),
            finished_at=run.get("finished_at"), steps_total=len(steps),
            steps_done=sum(s.get("status") in ("completed", "cached") for s in steps),
            steps_cached=sum(s.get("status") == "cached" for s in steps),
            stack=str(run.get("stack") or ""), code_commit=code.get("commit"),
            dirty=bool(code.get("dirty")),
        )  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pipeline": self.pipeline,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "steps_total": self.steps_total,
            "steps_done": self.steps_done,
            "steps_cached": self.steps_cached,
            "stack": self.stack,
            "code_commit": self.code_commit,
            "dirty": self.dirty,
        }


class Rows:
    """Rows to insert, per table, written with one ``executemany`` each."""

    SQL = {
        "blobs": "INSERT OR REPLACE INTO blobs VALUES (?,?)",
        "invalid": "INSERT OR REPLACE INTO invalid VALUES (?,?,?)",
        "runs": "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        "steps": "INSERT OR REPLACE INTO steps VALUES (?,?,?,?,?,?)",
        "uses": "INSERT INTO uses VALUES (?,?,?,?)",
        "artifacts": "INSERT OR REPLACE INTO artifacts VALUES (?,?,?,?,?,?,?)",
        "models": "INSERT OR REPLACE INTO models VALUES (?,?,?,?,?)",
    }

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in self.SQL}

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows[table].append(row)

    def write(self, db: sqlite3.Connection) -> None:
        for table, rows in self.rows.items():
            if rows:
                db.executemany(self.SQL[table], rows)


def record_rows(batch: Rows, kind: str, data: dict[str, Any], raw: str) -> None:
    """The index rows of one valid record of ``kind`` (run, artifact or model)."""
    if kind == "run":
        row = RunSummary.from_run(data)
        batch.add("runs", (
            row.id, row.pipeline, row.status, row.started_at, row.finished_at, row.steps_total,
            row.steps_done, row.steps_cached, row.stack, row.code_commit, int(row.dirty), raw,
        ))  # fmt: skip
        for step in data.get("steps", []):
            batch.add("steps", (data["id"], data.get("pipeline"), step["name"],
                                step.get("status"), step.get("cache_key"),
                                step.get("finished_at")))  # fmt: skip
            for role in ("inputs", "outputs"):
                for ref in (step.get(role) or {}).values():
                    batch.add("uses", (ref["id"], data["id"], step["name"], role[:-1]))
    elif kind == "artifact":
        batch.add("artifacts", (data["id"], data["name"], data["version"], data.get("run_id"),
                                data.get("step"), data.get("created_at"), raw))  # fmt: skip
    elif kind == "model":
        batch.add("models", (data["name"], data["version"], data.get("run_id"),
                             data.get("created_at"), raw))  # fmt: skip
