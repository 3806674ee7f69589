"""The ``dask`` orchestrator: steps are tasks on a ``dask.distributed`` cluster.

``[orchestrator] flavor = "dask"`` with ``address = "tcp://host:8786"`` (a running cluster) or
``local_cluster = { n_workers = 2, threads_per_worker = 1 }`` (started for the run, closed
after; the default). Steps are submitted as soon as their inputs exist (the shared ready loop
of :mod:`engine.orchestrators.pool`), so independent branches run at once. The driver, in this
process, stays the only writer of records; workers run :func:`.dask_worker.run_on_worker`.

Artifact bytes reach workers one of two ways (``artifacts``): ``shared_cache`` (workers open the
project's DVC cache by path: same host or a shared filesystem; the default for a local cluster)
or ``remote`` (the default with an address): the driver pushes a step's inputs to the stack's
DVC remote, the worker fetches them into a cache of its own, pushes the outputs back, and the
driver fetches them into the project's cache before recording the step.

Log writes of a step travel back as Dask events and are appended to the driver's live log file.
A worker that dies fails its step naming the worker (mlx's retries then apply). mlx counts
attempts itself, so the local cluster's scheduler gets ``allowed-failures = 0``; a scheduler
you start should too (``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0``), or Dask silently
reruns a task whose worker died.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.orchestrators.base import failed_result
from engine.orchestrators.pool import PoolOrchestrator
from store.errors import ConfigError, MlxError

if TYPE_CHECKING:
    from engine.executor import StepResult, StepTask
    from store.config import LocalClusterConfig

__all__ = ["DaskOrchestrator"]

_ADDRESS = re.compile(r"(tcp|tls|inproc|ucx|ws|wss)://\S+")


class DaskOrchestrator(PoolOrchestrator):
    flavor = "dask"

    def __init__(
        self,
        *,
        root: Path,
        address: str | None = None,
        local_cluster: LocalClusterConfig | None = None,
        artifacts: str | None = None,
        remote_url: str | None = None,
        remote: str | None = None,
        max_workers: int | None = None,
    ) -> None:
        super().__init__(max_workers)
        self.root = str(root)
        self.address = address
        self.local_cluster = local_cluster
        self.remote_mode = (artifacts or ("remote" if address else "shared_cache")) == "remote"
        self.remote_url = remote_url
        self.remote = remote
        self.topic = f"mlx-{uuid.uuid4().hex[:12]}"
        self._client: Any = None
        self._logs: dict[str, Path] = {}  # dask key -> the driver's live log file
        self._workers: dict[str, str] = {}  # dask key -> address of the worker running it
        self._keys: dict[tuple[str, int], str] = {}  # (step, attempt) -> dask key

    # -- session ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        with self._cluster() as client:
            from engine.orchestrators.dask_worker import MlxWorkerPlugin

            plugin_name = f"mlx-{uuid.uuid5(uuid.NAMESPACE_URL, self.root).hex[:12]}"
            url = self.remote_url if self.remote_mode else None
            client.register_plugin(MlxWorkerPlugin(self.root, url), name=plugin_name)
            client.subscribe_topic(self.topic, self._on_event)
            self._client = client
            try:
                yield
            finally:
                self._client = None
                client.unsubscribe_topic(self.topic)

    @contextlib.contextmanager
    def _cluster(self) -> Iterator[Any]:
        import dask
        from distributed import Client, LocalCluster

        if self.address:
            try:
                client = Client(self.address, timeout="10s")  # type: ignore[no-untyped-call]
            except OSError as exc:
                raise MlxError(
                    f"cannot reach the Dask scheduler at {self.address}: {exc}; start one "
                    "(`dask scheduler` and `dask worker ADDRESS`) or fix [orchestrator] address"
                ) from exc
            with client:
                yield client
            return
        config = self.local_cluster
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=config.n_workers if config else 2,
                threads_per_worker=config.threads_per_worker if config else 1,
                resources=dict(config.resources) if config and config.resources else None,
                processes=True, dashboard_address=None, silence_logs=logging.ERROR,
                # No dashboard, and its HTTP endpoint on a free port: two runs at once would
                # both ask for 8787, and Dask leaks a socket when it falls back.
                scheduler_kwargs={"dashboard_address": ":0"},
            )  # fmt: skip
        with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
            yield client

    # -- steps -----------------------------------------------------------------------------
    def submit(self, task: StepTask, delay: float) -> Any:
        from engine.orchestrators.dask_worker import run_on_worker

        assert self._client is not None, "submit() outside session()"
        self._check_resources(task)
        if self.remote_mode:
            self._push_inputs(task)
        key = f"mlx-{task.name}-{task.attempt}-{uuid.uuid4().hex[:8]}"
        self._logs[key] = Path(task.log_path)
        self._keys[(task.name, task.attempt)] = key
        return self._client.submit(
            run_on_worker, pickle.dumps(task), delay, self.topic, key,
            key=key, pure=False, resources=task.resources or None,
        )  # fmt: skip

    def outcome(self, future: Any, task: StepTask) -> StepResult:
        key = self._keys.get((task.name, task.attempt), "")
        from distributed import KilledWorker

        try:
            result: StepResult = pickle.loads(future.result())
        except KilledWorker as exc:
            worker = self._workers.get(key) or _address_in(str(exc)) or "(unknown)"
            return failed_result(task, exc, f"Dask worker {worker} died while running step "
                                            f"{task.name!r}")  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the task was lost or could not be run
            return failed_result(task, exc, f"Dask could not run step {task.name!r}: "
                                            f"{type(exc).__name__}: {exc}")  # fmt: skip
        finally:
            future.release()
        if self.remote_mode and result.status != "failed":
            result = self._fetch_outputs(task, result)
        return result

    def _on_event(self, event: tuple[float, Any]) -> None:
        message = event[1]
        key = message.get("key", "") if isinstance(message, dict) else ""
        if "started_on" in message:
            self._workers[key] = str(message["started_on"])
        elif "text" in message and key in self._logs:
            path = self._logs[key]
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(str(message["text"]))

    def _check_resources(self, task: StepTask) -> None:
        if not task.resources:
            return
        workers = self._client.scheduler_info(n_workers=-1).get("workers", {})
        offered = [w.get("resources", {}) for w in workers.values()]
        if not any(all(r.get(k, 0) >= v for k, v in task.resources.items()) for r in offered):
            wanted = ", ".join(f"{k}={_number(v)}" for k, v in task.resources.items())
            raise MlxError(
                f"step {task.name!r} asks for {wanted} but no Dask worker offers that; start "
                f'workers with `dask worker --resources "{wanted.replace(", ", " ")}"` or set '
                "local_cluster.resources in the stack"
            )

    def _push_inputs(self, task: StepTask) -> None:
        from engine.executor import _project
        from store.records import DvcPointer

        pointers = [DvcPointer.model_validate(r["pointer"]) for r in task.inputs.values()]
        _project(self.root).artifacts.push(pointers, remote=self.remote)

    def _fetch_outputs(self, task: StepTask, result: StepResult) -> StepResult:
        from engine.executor import _project
        from store.records import DvcPointer

        pointers = [DvcPointer.model_validate(d["pointer"]) for d in result.outputs.values()]
        if result.log is not None:
            pointers.append(DvcPointer.model_validate(result.log))
        try:
            _project(self.root).artifacts.fetch(pointers, remote=self.remote)
        except MlxError as exc:
            return failed_result(task, exc, f"fetching the outputs of step {task.name!r}: {exc}")
        return result


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _address_in(text: str) -> str | None:
    match = _ADDRESS.search(text)
    return match.group(0).rstrip(".,)") if match else None


def remote_url_of(project: Any, remote: str | None, stack_name: str) -> str:
    """Absolute URL of the stack's DVC remote (workers in ``remote`` mode use it directly)."""
    store = project.artifacts
    name = remote or store.default_remote()
    urls = store.remotes()
    if not name or name not in urls:
        raise ConfigError(
            f"stacks/{stack_name}.toml",
            f"the dask orchestrator moves artifacts through a DVC remote, but "
            f"{'remote ' + repr(name) + ' is not configured' if name else 'none is set'}; "
            'add one (`dvc remote add -d NAME URL`) or set artifacts = "shared_cache"',
            key="artifact_store.remote",
        )
    return str(urls[name])
