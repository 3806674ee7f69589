"""The derived SQLite index under ``.git/mlx/``: fast queries over the runs ref.

The ref is the truth; this file is a cache of it. It stores the ref tip it has ingested and,
per record path, the blob id it parsed, so catching up is one ``git diff-tree`` between the old
and new tips plus one ``cat-file --batch`` for the changed blobs. Deleting the file loses
nothing: the next query rebuilds it. Records are kept as raw JSON with a few denormalised columns
for listing, so ``mlx runs list`` stays fast at 10,000 runs (the tables and the rows of each
record: :mod:`store.index_schema`).

Every record is validated once, when its blob is ingested, by the schema that wrote it
(:func:`store.records.record_at`): one that does not validate is left out of every query, noted
in the ``invalid`` table (:meth:`Index.invalid_records`, which ``mlx doctor`` reports) and
announced by one :class:`~store.errors.MlxWarning`, so a bad record never breaks a command.
The file heals itself: an SQLite error that says the file is damaged (a corrupted page, a
truncated file, a missing table) drops it and rebuilds it from the ref, with a warning; a busy
database is waited for, never dropped. Threads of one process (the app's workers) share one
connection, one call at a time.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from store.errors import InvalidRecordError, MlxWarning, NotFoundError, ValidationError
from store.index_schema import DDL, SCHEMA_VERSION, SUMMARY_COLUMNS, Rows, RunSummary, record_rows
from store.paths import parse_record_path
from store.runs_ref import RunsRef

__all__ = ["Index", "InvalidRecord", "RunSummary"]

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class InvalidRecord:
    """A record on the runs ref that failed validation and is left out of every query."""

    path: str
    blob: str
    reason: str


def _healing(method: Callable[P, T]) -> Callable[P, T]:
    """One caller at a time per index (threads of one process share its connection); retry
    ``method`` once on a rebuilt index when SQLite says the file is damaged."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        index = args[0]
        assert isinstance(index, Index)
        with index._lock:
            try:
                return method(*args, **kwargs)
            except sqlite3.Error as exc:
                if not _damaged(exc):
                    raise
                index.rebuild(f"{type(exc).__name__}: {exc}")
                return method(*args, **kwargs)

    return wrapper


def _damaged(exc: sqlite3.Error) -> bool:
    """An error that says the file is not a sound index (rebuild it), as opposed to a busy
    database (another process writes: wait, never delete) or a misuse of the connection."""
    if isinstance(exc, sqlite3.ProgrammingError | sqlite3.InterfaceError):
        return False
    text = str(exc).lower()
    return not any(word in text for word in ("locked", "busy", "within a transaction"))


class Index:
    """Queries over the runs ref, caught up before every read."""

    def __init__(self, path: Path, runs: RunsRef) -> None:
        self.path = path
        self.runs = runs
        self._db: sqlite3.Connection | None = None
        self._synced_tip: str | None = None
        self._lock = threading.RLock()  # the app's worker threads share this connection

    # -- connection and catch-up -----------------------------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = self._connect()
        except sqlite3.Error as exc:  # corrupt cache: it is derived, rebuild it
            if not _damaged(exc):
                raise
            self._drop_files()
            warnings.warn(_rebuilt(self.path, exc), MlxWarning, stacklevel=2)
            db = self._connect()
        return db

    def close(self) -> None:
        """Close the database connection (the next query opens it again); waits for a query
        another thread is running."""
        with self._lock:
            db, self._db = self._db, None
            self._synced_tip = None
            if db is not None:
                with contextlib.suppress(sqlite3.Error):
                    db.close()

    def rebuild(self, reason: str) -> None:
        """Delete the index file (it is derived) so the next query rebuilds it; warn once."""
        with self._lock:
            self._drop_connection()
        warnings.warn(
            f"the run index {self.path} was unreadable ({reason}); rebuilt it from the runs ref",
            MlxWarning,
            stacklevel=3,
        )

    def _drop_connection(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):  # a broken connection may not close
                self._db.close()
        self._db = None
        self._synced_tip = None
        self._drop_files()

    def _drop_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        version = None
        if db.execute("SELECT name FROM sqlite_master WHERE name='meta'").fetchone():
            row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            version = row[0] if row else None
        if version != SCHEMA_VERSION:
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'"
            ).fetchall():
                db.execute(f"DROP TABLE IF EXISTS {name}")
            db.executescript(DDL)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        return db

    @_healing
    def sync(self, validated: Mapping[tuple[str, str], bytes] | None = None) -> None:
        """Catch up with the runs ref (cheap when nothing changed).

        Args:
            validated: records the caller already read and validated at their paths with
                :func:`store.records.record_at` (``(path, blob id) -> bytes``; a pull validates
                every incoming record): stored without being read or validated again.
        """
        tip = self.runs.tip()
        if tip is not None and tip == self._synced_tip:
            return
        fresh_invalid: list[tuple[str, str]] = []
        with self._write() as db:
            row = db.execute("SELECT value FROM meta WHERE key='tip'").fetchone()
            old = row[0] if row else None
            if old == tip:
                self._synced_tip = tip
                return
            if tip is None:  # ref deleted: forget everything
                self._clear(db)
            elif old is None or not self._has_commit(old):
                self._clear(db)
                rows = self.runs.git.ls_tree(tip)
                fresh_invalid = self._ingest(db, rows, fresh=True, validated=validated)
            else:
                changes = self.runs.git.diff_tree(old, tip)
                for status, path, _ in changes:
                    if status == "D":
                        self._forget(db, path)
                changed = [(p, b) for s, p, b in changes if s != "D"]
                fresh_invalid = self._ingest(db, changed, validated=validated)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('tip', ?)", (tip,))
        self._synced_tip = tip
        if fresh_invalid:
            path, reason = fresh_invalid[0]
            more = f" and {len(fresh_invalid) - 1} more" if len(fresh_invalid) > 1 else ""
            warnings.warn(
                f"skipped invalid record {path} ({reason}){more} on {self.runs.ref}; "
                "they are left out of every listing (`mlx doctor` lists them)",
                MlxWarning,
                stacklevel=2,
            )

    @_healing
    def record_commit(self, parent: str | None, commit: str, files: Mapping[str, bytes]) -> None:
        """Take in ``commit``, which this process just added on top of ``parent`` with
        ``files`` (records built from validated models): stored as written, with no git
        process and no validation. When the index is not at ``parent`` (another commit came
        in between), nothing is done: the next :meth:`sync` reads the ref as usual.
        """
        if not commit:
            return
        from store.gitobj import object_id

        validated = {(path, object_id("blob", data)): data for path, data in files.items()}
        with self._write() as db:
            row = db.execute("SELECT value FROM meta WHERE key='tip'").fetchone()
            if (row[0] if row else None) != parent:
                return
            self._ingest(db, list(validated), validated=validated)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('tip', ?)", (commit,))
        self._synced_tip = commit

    def _has_commit(self, sha: str) -> bool:
        git = self.runs.git
        if (git.objects_dir / sha[:2] / sha[2:]).is_file():  # loose: no fork (mlx writes loose)
            return True
        return git.rev_parse(sha + "^{commit}") is not None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _clear(self, db: sqlite3.Connection) -> None:
        for table in ("blobs", "runs", "artifacts", "models", "steps", "uses", "invalid"):
            db.execute(f"DELETE FROM {table}")

    def _forget(self, db: sqlite3.Connection, path: str) -> None:
        parsed = parse_record_path(path)
        db.execute("DELETE FROM blobs WHERE path=?", (path,))
        db.execute("DELETE FROM invalid WHERE path=?", (path,))
        if parsed is None:
            return
        kind, key, sub = parsed
        if kind == "run":
            db.execute("DELETE FROM runs WHERE id=?", (key,))
            db.execute("DELETE FROM steps WHERE run_id=?", (key,))
            db.execute("DELETE FROM uses WHERE run_id=?", (key,))
        elif kind == "artifact":
            db.execute("DELETE FROM artifacts WHERE name=? AND version=?", (key, int(sub)))
        elif kind == "model":
            db.execute("DELETE FROM models WHERE name=? AND version=?", (key, int(sub)))

    def _ingest(
        self, db: sqlite3.Connection, rows: list[tuple[str, str]], fresh: bool = False,
        validated: Mapping[tuple[str, str], bytes] | None = None,
    ) -> list[tuple[str, str]]:  # fmt: skip
        """Parse and store new blobs; return ``(path, reason)`` of those that are invalid.

        Rows are inserted in batches (one ``executemany`` per table): a fresh index of 10,000
        runs is some 160,000 rows.
        """
        known = dict(db.execute("SELECT path, blob FROM blobs").fetchall()) if rows else {}
        todo = []
        for path, blob in rows:
            parsed = parse_record_path(path) if known.get(path) != blob else None
            if parsed is not None:
                todo.append((path, blob, parsed[0]))
        if not todo:
            return []
        checked = validated or {}
        unread = sorted({b for p, b, _ in todo if (p, b) not in checked})
        blobs = self.runs.git.read_blobs(unread) if unread else {}
        invalid: list[tuple[str, str]] = []
        batch = Rows()
        for path, blob, kind in todo:
            raw = checked.get((path, blob)) or blobs.get(blob)
            if raw is None:
                continue
            if not fresh:
                self._forget(db, path)
            batch.add("blobs", (path, blob))
            try:
                if (path, blob) not in checked:
                    from store.records import record_at  # pydantic: only for unchecked records

                    record_at(path, raw)
            except InvalidRecordError as exc:
                batch.add("invalid", (path, blob, exc.reason))
                invalid.append((path, exc.reason))
                continue
            record_rows(batch, kind, json.loads(raw), raw.decode())
        batch.write(db)
        return invalid

    @_healing
    def invalid_records(self) -> list[InvalidRecord]:
        """Records on the ref that failed validation (skipped by every query), by path."""
        self.sync()
        rows = self.db.execute("SELECT path, blob, reason FROM invalid ORDER BY path")
        return [InvalidRecord(r[0], r[1], r[2]) for r in rows]

    # -- runs ------------------------------------------------------------------------------
    @_healing
    def list_runs(
        self, pipeline: str | None = None, status: str | None = None, limit: int | None = None
    ) -> list[RunSummary]:
        """Runs, newest first."""
        self.sync()
        sql = f"SELECT {SUMMARY_COLUMNS} FROM runs"
        where, args = _where(pipeline=pipeline, status=status)
        sql += where + " ORDER BY started_at DESC, id"
        if limit is not None:
            sql += f" LIMIT {max(int(limit), 0)}"
        return [RunSummary.from_row(r) for r in self.db.execute(sql, args)]

    @_healing
    def runs_with_prefix(self, prefix: str, limit: int = 20) -> list[RunSummary]:
        """Runs whose id starts with ``prefix``, by id (a range scan of the id key)."""
        self.sync()
        sql = f"SELECT {SUMMARY_COLUMNS} FROM runs WHERE id >= ? AND id < ? "
        sql += f"ORDER BY id LIMIT {max(int(limit), 0)}"
        rows = self.db.execute(sql, (prefix, prefix + "\uffff"))
        return [RunSummary.from_row(r) for r in rows]

    @_healing
    def count_runs(self) -> int:
        self.sync()
        return int(self.db.execute("SELECT count(*) FROM runs").fetchone()[0])

    @_healing
    def resolve_run_id(self, prefix: str) -> str:
        """The full id of the run whose id starts with ``prefix``."""
        self.sync()
        rows = self.db.execute(
            "SELECT id FROM runs WHERE id >= ? AND id < ? LIMIT 5", (prefix, prefix + "\uffff")
        ).fetchall()
        if not rows:
            recent = [r.id[:8] for r in self.list_runs(limit=20)]
            raise NotFoundError("run", prefix, recent, hint="(see `mlx runs list`)")
        if len(rows) > 1 and not any(r[0] == prefix for r in rows):
            ids = ", ".join(r[0][:12] for r in rows)
            raise ValidationError(f"run id prefix {prefix!r} is ambiguous ({ids}); type more of it")
        return str(rows[0][0])

    @_healing
    def runs_named(self, name: str) -> list[str]:
        """Ids of the recorded runs called ``name`` (``run_name=``), oldest first."""
        self.sync()
        rows = self.db.execute(
            "SELECT id FROM runs WHERE json_extract(json, '$.name') = ? ORDER BY started_at",
            (name,),
        )
        return [str(r[0]) for r in rows]

    @_healing
    def run_json(self, run_id: str) -> dict[str, Any]:
        full = self.resolve_run_id(run_id)
        row = self.db.execute("SELECT json FROM runs WHERE id=?", (full,)).fetchone()
        return dict(json.loads(row[0]))

    @_healing
    def pipelines(self) -> list[str]:
        self.sync()
        return [r[0] for r in self.db.execute("SELECT DISTINCT pipeline FROM runs ORDER BY 1")]

    # -- steps and cache -------------------------------------------------------------------
    @_healing
    def steps_with_key(self, cache_key: str) -> list[tuple[str, str]]:
        """``(run_id, step)`` of completed steps with this cache key, newest first."""
        self.sync()
        rows = self.db.execute(
            "SELECT run_id, name FROM steps WHERE cache_key=? AND status='completed' "
            "ORDER BY finished_at DESC",
            (cache_key,),
        )
        return [(r[0], r[1]) for r in rows]

    @_healing
    def last_step_run(self, pipeline: str, step: str) -> str | None:
        """The newest run of ``pipeline`` in which ``step`` completed or was cached."""
        self.sync()
        row = self.db.execute(
            "SELECT run_id FROM steps WHERE pipeline=? AND name=? "
            "AND status IN ('completed','cached') ORDER BY finished_at DESC LIMIT 1",
            (pipeline, step),
        ).fetchone()
        return str(row[0]) if row else None

    @_healing
    def artifact_uses(self, artifact_id: str, role: str) -> list[tuple[str, str]]:
        """``(run_id, step)`` that consumed (``role='input'``) or produced an artifact."""
        self.sync()
        rows = self.db.execute(
            "SELECT DISTINCT run_id, step FROM uses WHERE artifact_id=? AND role=?",
            (artifact_id, role),
        )
        return [(r[0], r[1]) for r in rows]

    # -- artifacts -------------------------------------------------------------------------
    @_healing
    def artifact_names(self) -> list[tuple[str, int, int]]:
        """``(name, number of versions, latest version)`` for every artifact."""
        self.sync()
        rows = self.db.execute(
            "SELECT name, count(*), max(version) FROM artifacts GROUP BY name ORDER BY name"
        )
        return [(r[0], r[1], r[2]) for r in rows]

    @_healing
    def artifact_versions(self, name: str) -> list[dict[str, Any]]:
        self.sync()
        rows = self.db.execute(
            "SELECT json FROM artifacts WHERE name=? ORDER BY version", (name,)
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    @_healing
    def artifact_json(self, name: str, version: int | None = None) -> dict[str, Any]:
        """One artifact version (the latest when ``version`` is None)."""
        self.sync()
        if version is None:
            row = self.db.execute(
                "SELECT json FROM artifacts WHERE name=? ORDER BY version DESC LIMIT 1", (name,)
            ).fetchone()
        else:
            row = self.db.execute(
                "SELECT json FROM artifacts WHERE name=? AND version=?", (name, version)
            ).fetchone()
        if row is None:
            if version is not None and self.artifact_versions(name):
                known = [str(a["version"]) for a in self.artifact_versions(name)]
                raise NotFoundError(f"version of artifact {name!r}", str(version), known)
            names = [n for n, _, _ in self.artifact_names()]
            raise NotFoundError("artifact", name, names, hint="(see `mlx artifacts list`)")
        return dict(json.loads(row[0]))

    @_healing
    def artifact_by_id(self, artifact_id: str) -> dict[str, Any] | None:
        self.sync()
        row = self.db.execute("SELECT json FROM artifacts WHERE id=?", (artifact_id,)).fetchone()
        return dict(json.loads(row[0])) if row else None

    # -- models ----------------------------------------------------------------------------
    @_healing
    def model_names(self) -> list[str]:
        self.sync()
        return [r[0] for r in self.db.execute("SELECT DISTINCT name FROM models ORDER BY 1")]

    @_healing
    def model_versions(self, name: str) -> list[dict[str, Any]]:
        self.sync()
        rows = self.db.execute("SELECT json FROM models WHERE name=? ORDER BY version", (name,))
        return [json.loads(r[0]) for r in rows]

    @_healing
    def model_version_json(self, name: str, version: int) -> dict[str, Any] | None:
        self.sync()
        row = self.db.execute(
            "SELECT json FROM models WHERE name=? AND version=?", (name, version)
        ).fetchone()
        return dict(json.loads(row[0])) if row else None


def _rebuilt(path: Path, exc: BaseException) -> str:
    return f"the run index {path} was unreadable ({type(exc).__name__}: {exc}); rebuilt it"


def _where(**filters: str | None) -> tuple[str, list[str]]:
    clauses, args = [], []
    for column, value in filters.items():
        if value:
            clauses.append(f"{column}=?")
            args.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args
