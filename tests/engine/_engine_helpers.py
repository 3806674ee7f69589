"""Helpers of the engine tests: run a pipeline in-process, inspect the ref, the DVC cache, git.

The helpers every package shares are in ``tests/support.py``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

from engine.pipeline import Pipeline
from store.project import Project
from store.records import RunRecord


def run(project: Project, pipe: Pipeline, enable_cache: bool | None = None,
        **params: Any) -> RunRecord:  # fmt: skip
    """Run ``pipe`` in this process the way the CLI does; return the committed record."""
    from engine.runner import run_pipeline

    return run_pipeline(project, pipe, pipe.bind((), params), enable_cache=enable_cache)


def statuses(record: RunRecord) -> dict[str, str]:
    return {s.name: s.status for s in record.steps}


def step(record: RunRecord, name: str) -> Any:
    found = record.step(name)
    assert found is not None, f"no step {name!r} in {[s.name for s in record.steps]}"
    return found


def write_module(project_dir: Path, name: str, source: str) -> ModuleType:
    """Write ``<project>/<name>.py`` and (re)import it fresh; the project dir joins sys.path."""
    path = project_dir / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))  # removed again by the project_dir fixture
    sys.modules.pop(name, None)
    importlib.invalidate_caches()
    return importlib.import_module(name)


def artifact_records(project: Project, name: str) -> list[dict[str, Any]]:
    return project.index.artifact_versions(name)


def read_run(project: Project, run_id: str) -> dict[str, Any]:
    data = project.runs.read(f"runs/{run_id[:2]}/{run_id}.json")
    assert data is not None, f"run {run_id} is not on the ref"
    return dict(json.loads(data))
