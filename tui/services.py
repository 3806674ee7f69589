"""The TUI's only door to the store and the engine: blocking calls, run from thread workers.

Screens never import ``store`` or ``engine`` directly; they call a :class:`Services` object the
app was built with. That keeps three things in one place: the modules still being written by
others (pipeline discovery, artifact loading, promotion) sit behind lazy imports that fail with
a readable :class:`~store.errors.MlxError`; tests can hand the app a subclass with canned data;
and the clock (``now``) can be frozen for snapshots. Nothing here imports Textual.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from store.errors import MlxError, NotFoundError
from store.index import RunSummary
from store.journal import JournalState, read_journals
from store.models import metric_values
from store.paths import journal_dir, live_log_dir
from store.project import Project
from store.records import DvcPointer
from tui.format import parse_time

__all__ = [
    "ParamInfo",
    "PipelineInfo",
    "Services",
    "StackInfo",
    "filter_runs",
]

PREVIEW_LIMIT = 20 * 1024 * 1024  # bytes: larger artifacts are described, not loaded


@dataclass(frozen=True)
class ParamInfo:
    """One parameter of a pipeline, as the launch form needs it."""

    name: str
    annotation: str
    default: Any
    required: bool


@dataclass(frozen=True)
class PipelineInfo:
    """A discovered pipeline with its parameters and newest run."""

    name: str
    params: list[ParamInfo] = field(default_factory=list)
    last_run: RunSummary | None = None


@dataclass(frozen=True)
class StackInfo:
    """A stack file and whether it is the active one."""

    name: str
    active: bool
    description: str
    components: dict[str, dict[str, Any]]


class Services:
    """Blocking queries and actions over one project (call them from thread workers)."""

    def __init__(self, project: Project, now: Callable[[], datetime] | None = None) -> None:
        self.project = project
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))

    # -- runs ------------------------------------------------------------------------------
    def change_token(self) -> str:
        """Changes whenever a run is recorded or a live run makes progress (cheap to poll)."""
        git = self.project.git
        refs = git.run("for-each-ref", "--format=%(objectname) %(refname)", "refs/mlx/")
        parts = [refs]
        directory = journal_dir(git.common_dir)
        if directory.is_dir():
            for entry in sorted(os.scandir(directory), key=lambda e: e.name):
                st = entry.stat()
                parts.append(f"{entry.name}:{st.st_size}:{st.st_mtime_ns}")
        return "\n".join(parts)

    def _journals(self) -> list[JournalState]:
        return read_journals(journal_dir(self.project.git.common_dir))

    def list_runs(self) -> list[RunSummary]:
        """Every recorded run plus the live ones from journals, newest first."""
        return self.recent_runs(None)

    def recent_runs(self, limit: int | None) -> list[RunSummary]:
        """The ``limit`` newest recorded runs (all: ``None``) plus the live ones, newest first."""
        recorded = self.project.index.list_runs(limit=limit)
        return self._live_runs(recorded) + recorded

    def runs_with_prefix(self, prefix: str, limit: int) -> list[RunSummary]:
        """Up to ``limit`` runs (live ones first) whose id starts with ``prefix``."""
        recorded = self.project.index.runs_with_prefix(prefix, limit)
        return (self._live_runs(recorded, prefix) + recorded)[:limit]

    def _live_runs(self, recorded: list[RunSummary], prefix: str = "") -> list[RunSummary]:
        """Runs with a journal (still going, or not yet committed) that are not in
        ``recorded`` and whose id starts with ``prefix``, newest first."""
        known = {r.id for r in recorded}
        summaries = [_journal_summary(j) for j in self._journals()
                     if j.run_id.startswith(prefix) and j.run_id not in known]  # fmt: skip
        live = [r for r in summaries if r is not None]
        return sorted(live, key=lambda r: r.started_at, reverse=True)

    def run_pipelines(self) -> list[str]:
        """The pipelines that have recorded runs."""
        return self.project.index.pipelines()

    def run(self, run_id: str) -> dict[str, Any]:
        """The run record dict (a live run: assembled from its journal)."""
        try:
            return self.project.index.run_json(run_id)
        except NotFoundError:
            for state in self._journals():
                if state.run_id.startswith(run_id):
                    return _journal_run(state)
            raise

    def runs_of(self, pipeline: str, limit: int = 200) -> list[RunSummary]:
        return self.project.index.list_runs(pipeline=pipeline, limit=limit)

    def live_log_path(self, run_id: str, step: str) -> Path:
        return live_log_dir(self.project.git.common_dir, run_id) / f"{step}.log"

    def step_log(self, run_id: str, step: dict[str, Any]) -> str:
        """A step's log: the live file while it runs, else the stored DVC object."""
        live = self.live_log_path(run_id, step["name"])
        if live.is_file():
            return live.read_text(encoding="utf-8", errors="replace")
        pointer = step.get("log")
        if not pointer:
            return ""
        data = self.project.artifacts.read_bytes(DvcPointer(**pointer))
        return data.decode("utf-8", errors="replace")

    def read_log(self, run_id: str, step: dict[str, Any], offset: int) -> tuple[str, int, bool]:
        """``(text, new offset, live)``: a step's log from byte ``offset`` on.

        While the step runs this reads the live file from ``offset`` (a tail); once the live
        file is gone the stored log is returned whole when nothing was read yet.
        """
        path = self.live_log_path(run_id, step["name"])
        if path.is_file():
            with open(path, "rb") as fh:
                fh.seek(offset)
                data = fh.read()
            return data.decode("utf-8", errors="replace"), offset + len(data), True
        if offset:
            return "", offset, False
        text = self.step_log(run_id, step)
        return text, len(text.encode()), False

    def compare_runs(self, left: str, right: str) -> list[tuple[str, str, str, str]]:
        """Rows ``(section, key, left value, right value)`` of two runs side by side."""
        return compare_rows(run_facts(self.run(left)), run_facts(self.run(right)))

    def compare_model_versions(
        self, model: str, left: int, right: int
    ) -> list[tuple[str, str, str, str]]:
        versions = {v["version"]: v for v in self.model_versions(model)}
        return compare_rows(model_facts(versions[left]), model_facts(versions[right]))

    # -- artifacts and lineage -------------------------------------------------------------
    def artifact_names(self) -> list[tuple[str, int, int]]:
        return self.project.index.artifact_names()

    def artifact_versions(self, name: str) -> list[dict[str, Any]]:
        return self.project.index.artifact_versions(name)

    def artifact(self, name: str, version: int | None = None) -> dict[str, Any]:
        return self.project.index.artifact_json(name, version)

    def artifact_by_id(self, artifact_id: str) -> dict[str, Any] | None:
        return self.project.index.artifact_by_id(artifact_id)

    def producer(self, record: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """``(run_id, step dict)`` that produced an artifact version."""
        run_id, step = record.get("run_id"), record.get("step")
        if not (run_id and step):
            uses = self.project.index.artifact_uses(record["id"], "output")
            if not uses:
                return None
            run_id, step = uses[0]
        run = self.project.index.run_json(run_id)
        found = next((s for s in run.get("steps", []) if s["name"] == step), None)
        return (run_id, found) if found else None

    def consumers(self, artifact_id: str) -> list[tuple[str, str]]:
        """``(run_id, step)`` of every step that read an artifact version."""
        return self.project.index.artifact_uses(artifact_id, "input")

    def preview_data(self, record: dict[str, Any]) -> Any:
        """The :class:`tui.previews.build.Preview` of an artifact version (reads the cache)."""
        from tui.previews.load import load_preview

        return load_preview(self.project, record, PREVIEW_LIMIT)

    def export(self, record: dict[str, Any], dest: Path, allow_pickle: bool = False) -> str:
        """Write ``record``'s value to ``dest`` in its extension's format, as the CLI does."""
        from engine.exporting import export_artifact

        return export_artifact(self.project, record, dest, allow_pickle=allow_pickle)

    # -- models ----------------------------------------------------------------------------
    def model_names(self) -> list[str]:
        names = set(self.project.index.model_names())
        try:
            from store.models import model_config_names  # type: ignore[import-not-found,unused-ignore]

            names |= set(model_config_names(self.project))
        except ImportError:
            names |= {p.stem for p in self.project.models_dir.glob("*.toml")}
        return sorted(names)

    def model_stages(self, name: str) -> dict[str, int]:
        """Stage -> version from ``models/<name>.toml`` (empty when the file is absent)."""
        try:
            from store.models import load_model_config  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            path = self.project.models_dir / f"{name}.toml"
            if not path.is_file():
                return {}
            stages = tomllib.loads(path.read_text(encoding="utf-8")).get("stages", {})
            return {str(k): int(v) for k, v in stages.items()}
        if not (self.project.models_dir / f"{name}.toml").is_file():
            return {}
        return {str(k): int(v) for k, v in load_model_config(self.project, name).stages.items()}

    def stage_names(self) -> list[str]:
        """The stages a promotion may target: the built-in ones and mlx.toml's extra ones."""
        from store.models import allowed_stages

        return allowed_stages(self.project)

    def model_versions(self, name: str) -> list[dict[str, Any]]:
        return self.project.index.model_versions(name)

    def promotion_preview(self, model: str, version: int, stage: str, force: bool = False) -> Any:
        return _promotion().preview(self.project, model, version, stage, force=force)

    def promote(
        self, model: str, version: int, stage: str, force: bool = False,
        replace_branch_at: str | None = None,
    ) -> Any:  # fmt: skip
        """Promote; ``replace_branch_at``: first drop the earlier promotion branch at that commit.

        The branch is deleted only if it still points where the user saw it (compare-and-swap),
        and never while it is checked out.
        """
        promotion = _promotion()
        if replace_branch_at is not None:
            self.drop_promotion_branch(promotion.branch_name(model, version, stage),
                                       replace_branch_at)  # fmt: skip
        return promotion.promote(self.project, model, version, stage, force=force)

    def promotion_target(self, model: str, version: int, stage: str) -> tuple[str, str, str | None]:
        """``(mode, branch, commit of an existing branch or None)`` of a promotion.

        ``mode`` is ``pull-request`` (a branch ``mlx/promote/...``) or ``direct`` (a commit on
        the current branch), from ``[project] promotion`` in mlx.toml.
        """
        mode = str(self.project.config.project.promotion)
        if mode == "direct":
            return mode, self.project.git.current_branch() or "HEAD", None
        branch = _promotion().branch_name(model, version, stage)
        return mode, branch, self.project.git.rev_parse(f"refs/heads/{branch}")

    def drop_promotion_branch(self, branch: str, expected: str) -> None:
        """Delete an earlier promotion branch if it is still at ``expected``."""
        git = self.project.git
        if git.current_branch() == branch:
            raise MlxError(f"branch {branch!r} is checked out; switch to another branch first")
        if not git.run_ok("update-ref", "-d", f"refs/heads/{branch}", expected):
            raise MlxError(f"branch {branch!r} moved since it was shown; look at it again")

    # -- pipelines -------------------------------------------------------------------------
    def _discovery(self) -> Any:
        try:
            from engine import discovery  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise MlxError(f"pipeline discovery is not available: {exc}") from exc
        return discovery

    def pipeline_listing(self) -> tuple[list[PipelineInfo], list[str]]:
        """Every pipeline that imports, and warnings about modules that do not (as `mlx
        pipelines` shows them)."""
        catalog = self._discovery().list_pipelines(self.project)
        out = []
        for name, pipe in catalog.pipelines.items():
            params = [
                ParamInfo(p.name, str(p.annotation), p.default, bool(p.required))
                for p in pipe.parameter_specs()
            ]
            last = self.project.index.list_runs(pipeline=name, limit=1)
            out.append(PipelineInfo(name, params, last[0] if last else None))
        return out, list(catalog.warnings)

    def pipeline_names(self) -> list[str]:
        """Pipeline names found by reading the modules (nothing imported: fast)."""
        return sorted(self._discovery().scan_pipelines(self.project).sites)

    def pipelines(self) -> list[PipelineInfo]:
        return self.pipeline_listing()[0]

    def validate_parameters(self, pipeline: str, raw: dict[str, str]) -> dict[str, Any]:
        """Typed values, or :class:`store.errors.ValidationError` naming the bad one."""
        found = self._discovery().get_pipeline(self.project, pipeline)
        return dict(found.validate_parameters(raw))

    def launch_command(self, pipeline: str, params: dict[str, str]) -> list[str]:
        cmd = [sys.executable, "-m", "tui.cli", "run", pipeline, "--headless", "--events"]
        for key, value in params.items():
            cmd += ["-p", f"{key}={value}"]
        return cmd

    def launch_env(self) -> dict[str, str]:
        """The child's environment: make sure it imports this very ``tui`` package."""
        import tui

        env = dict(os.environ)
        roots = [str(Path(p).resolve().parent) for p in tui.__path__]
        env["PYTHONPATH"] = os.pathsep.join([*roots, env.get("PYTHONPATH", "")]).strip(os.pathsep)
        return env

    # -- team ------------------------------------------------------------------------------
    def team_state(self) -> Any:
        """:class:`tui.team.TeamState`: ahead/behind, unpublished and pulled runs."""
        from tui.team import team_state

        return team_state(self.project)

    def publication(self) -> Any:
        """:class:`store.publication.Publication`: which version numbers are provisional."""
        from store.publication import publication

        return publication(self.project)

    def push(self, progress: Callable[[str, int, int], None] | None = None) -> Any:
        from tui.team import push

        return push(self.project, progress)

    def pull(self, progress: Callable[[str, int, int], None] | None = None) -> Any:
        from tui.team import pull

        return pull(self.project, progress)

    # -- stacks ----------------------------------------------------------------------------
    def stacks(self) -> list[StackInfo]:
        active = self.project.active_stack_name()
        out = []
        for name in self.project.stack_names():
            cfg = self.project.load_stack(name)
            comps = {
                "orchestrator": cfg.orchestrator.model_dump(exclude_none=True),
                "artifact_store": cfg.artifact_store.model_dump(exclude_none=True),
            }
            out.append(StackInfo(name, name == active, cfg.description, comps))
        return out

    def set_active_stack(self, name: str) -> None:
        self.project.set_active_stack(name)

    def git_head(self) -> str | None:
        try:
            return subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=self.project.root,
                capture_output=True, text=True, check=False,
            ).stdout.strip() or None  # fmt: skip
        except OSError:
            return None


def _promotion() -> Any:
    try:
        import store.promotion as promotion  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise MlxError(f"model promotion is not available: {exc}") from exc
    return promotion


def _journal_run(state: JournalState) -> dict[str, Any]:
    run = state.live_run()
    run["live"] = True
    return run


def _journal_summary(state: JournalState) -> RunSummary | None:
    run = _journal_run(state)
    return RunSummary.from_run(run) if run.get("pipeline") else None


# -- pure helpers (shared by screens; no I/O) ----------------------------------------------
def run_duration(run: RunSummary, now: datetime) -> float | None:
    start = parse_time(run.started_at)
    end = parse_time(run.finished_at) or (now if run.status == "running" else None)
    return (end - start).total_seconds() if start and end else None


def filter_runs(rows: list[RunSummary], query: str) -> list[RunSummary]:
    """Rows matching ``pipeline:NAME status:STATUS stack:S id:PREFIX`` and free words."""
    fields: dict[str, list[str]] = {}
    words: list[str] = []
    for token in query.split():
        key, sep, value = token.partition(":")
        if sep and key in {"pipeline", "status", "stack", "id", "commit"}:
            fields.setdefault(key, []).append(value.lower())
        else:
            words.append(token.lower())

    def keep(r: RunSummary) -> bool:
        values = {
            "pipeline": r.pipeline.lower(), "status": r.status.lower(), "stack": r.stack.lower(),
            "id": r.id.lower(), "commit": (r.code_commit or "").lower(),
        }  # fmt: skip
        for key, wanted in fields.items():
            have = values[key]
            if key in ("id", "commit"):
                ok = any(have.startswith(w) for w in wanted)
            else:
                ok = any(have == w or (w.endswith("*") and have.startswith(w[:-1])) for w in wanted)
            if not ok:
                return False
        text = " ".join(values.values())
        return all(w in text for w in words)

    return [r for r in rows if keep(r)] if query.strip() else list(rows)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return value if isinstance(value, str) else json.dumps(value, default=str)


def run_facts(run: dict[str, Any]) -> dict[tuple[str, str], str]:
    """What a run comparison shows: run fields, parameters, metrics, outputs."""
    code = run.get("code") or {}
    facts = {
        ("run", "pipeline"): str(run.get("pipeline")), ("run", "status"): str(run.get("status")),
        ("run", "stack"): str(run.get("stack")),
        ("run", "code"): (code.get("commit") or "-")[:10] + (" +dirty" * bool(code.get("dirty"))),
    }  # fmt: skip
    for key, value in sorted((run.get("parameters") or {}).items()):
        facts[("param", key)] = _show(value)
    for step in run.get("steps") or []:
        for key, value in metric_values(step.get("metadata") or {}).items():
            facts[("metric", f"{step['name']}.{key}")] = _show(value)
        for key, ref in (step.get("outputs") or {}).items():
            facts[("output", f"{step['name']}.{key}")] = f"{ref['name']}:{ref.get('version')}"
    return facts


def model_facts(version: dict[str, Any]) -> dict[tuple[str, str], str]:
    facts = {("version", "run"): str(version.get("run_id") or "-")[:10]}
    for key, value in metric_values(version.get("metadata") or {}).items():
        facts[("metric", key)] = _show(value)
    for group in ("artifacts", "model_artifacts"):
        for key, ref in (version.get(group) or {}).items():
            facts[("artifact", key)] = f"{ref['name']}:{ref.get('version')}"
    return facts


def compare_rows(
    left: dict[tuple[str, str], str], right: dict[tuple[str, str], str]
) -> list[tuple[str, str, str, str]]:
    keys = list(left) + [k for k in right if k not in left]
    return [(s, k, left.get((s, k), "-"), right.get((s, k), "-")) for s, k in keys]
