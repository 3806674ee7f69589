"""What runs inside a Dask worker: the step itself, with logs streamed to the driver.

Imported by workers only (and by pickling). :class:`MlxWorkerPlugin` prepares each worker of a
run: the project root on ``sys.path`` (steps are pickled by reference to their module) and, in
``remote`` mode, an artifact store of the worker's own (a cache under the worker's local
directory whose default DVC remote is the stack's remote), so a worker on another host never
needs the driver's ``.dvc/cache``. :func:`run_on_worker` executes one step with
:func:`engine.executor.execute_step_after`, sends every log write to the driver as a Dask event,
and in ``remote`` mode pushes the outputs and the log to the remote before returning.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from pathlib import Path
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from engine.executor import StepResult, StepTask, execute_step_after

__all__ = ["MlxWorkerPlugin", "RemoteProject", "run_on_worker"]


class RemoteProject:
    """The part of a project a step needs on a worker: its root and an artifact store."""

    def __init__(self, root: str, artifacts: Any) -> None:
        self.root = Path(root)
        self.artifacts = artifacts


class MlxWorkerPlugin(WorkerPlugin):
    """Prepares every worker (also ones that join or restart later) for one project's runs."""

    def __init__(self, root: str, remote_url: str | None) -> None:
        self.root = root
        self.remote_url = remote_url

    def setup(self, worker: Any) -> None:
        from engine import executor

        if self.root not in sys.path:
            sys.path.insert(0, self.root)
        executor._PROJECTS.pop(self.root, None)
        if self.remote_url is not None:
            store = worker_store(Path(worker.local_directory), self.remote_url)
            executor._PROJECTS[self.root] = RemoteProject(self.root, store)

    def teardown(self, worker: Any) -> None:
        from engine import executor

        executor._PROJECTS.pop(self.root, None)


def worker_store(base: Path, remote_url: str) -> Any:
    """An artifact store with a cache under ``base`` whose default remote is ``remote_url``."""
    from store.artifacts import ArtifactStore

    root = base / f"mlx-store-{hashlib.sha1(remote_url.encode()).hexdigest()[:12]}"
    config = root / ".dvc" / "config"
    config.parent.mkdir(parents=True, exist_ok=True)
    text = f"[core]\n    remote = mlx\n['remote \"mlx\"']\n    url = {remote_url}\n"
    if not config.is_file() or config.read_text() != text:
        config.write_text(text)
    return ArtifactStore(root)


def run_on_worker(payload: bytes, delay: float, topic: str, key: str) -> bytes:
    """Execute a pickled :class:`StepTask`; log writes go to the driver under ``topic``.

    Task and result travel pickled: the scheduler (which deserializes task graphs) never needs
    the user's pipeline modules, only the workers do.
    """
    import pickle

    from distributed import get_worker

    from engine.executor import _project

    task: StepTask = pickle.loads(payload)
    worker = get_worker()
    worker.log_event(topic, {"key": key, "started_on": worker.address})

    def send(text: str) -> None:
        worker.log_event(topic, {"key": key, "text": text})

    logs = Path(worker.local_directory) / "mlx-logs" / task.run_id
    local = dataclasses.replace(
        task, log_path=str(logs / f"{task.name}.{task.attempt}.log"), log_sink=send
    )
    result = execute_step_after(local, delay)
    project = _project(task.root)
    if isinstance(project, RemoteProject):
        _push_results(project, result)
    return pickle.dumps(result)


def _push_results(project: RemoteProject, result: StepResult) -> None:
    from store.errors import MlxError
    from store.records import DvcPointer, ErrorInfo

    pointers = [DvcPointer.model_validate(d["pointer"]) for d in result.outputs.values()]
    if result.log is not None:
        pointers.append(DvcPointer.model_validate(result.log))
    try:
        project.artifacts.push(pointers)
    except MlxError as exc:  # outputs the driver cannot reach are a failed step
        result.status = "failed"
        result.outputs = {}
        message = f"pushing outputs to the DVC remote failed: {exc}"
        result.error = ErrorInfo(type=type(exc).__name__, message=message)
