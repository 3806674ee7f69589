"""The state of one run while its orchestrator executes it; the only writer of run records.

The orchestrator asks the :class:`RunDriver` for each ready step: :meth:`RunDriver.prepare`
resolves inputs and the cache (a hit is recorded at once, a miss says why), and
:meth:`RunDriver.complete` records what a step made. Progress is journaled per event under
``.git/mlx/journal`` for live views and emitted as :mod:`engine.events`; the run is committed
once, by :meth:`RunDriver.finish`. Cache look-ups live in :mod:`engine.cache_lookup`, the model
version in :mod:`engine.model_linking`, stopping early in :mod:`engine.cancellation`, pipeline
hooks in :mod:`engine.run_hooks`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from engine import events as ev
from engine.artifacts import ArtifactInput, store_value
from engine.cache_lookup import CacheLookup
from engine.caching import CachePolicy, KeyInputs, cache_key, compute_components
from engine.cancellation import stop_error
from engine.compiler import ExternalArtifact, OutputHandle, PipelineSpec
from engine.executor import StepResult, StepTask
from engine.model_linking import ModelLink
from engine.run_hooks import call_hook, first_exception, hook_step
from engine.run_names import run_name
from engine.settings import dask_resources, effective_settings
from store.errors import MlxError
from store.journal import Journal
from store.paths import journal_dir, live_log_dir
from store.project import Project
from store.recorder import commit_run
from store.records import ArtifactRef, CodeRef, ErrorInfo, RunRecord, StepRecord

__all__ = ["EventSink", "PipelineDefinition", "RunDriver", "result_draft"]

EventSink = Callable[[ev.Event], None]


class PipelineDefinition(Protocol):
    """What a run needs of a pipeline (:class:`engine.pipeline.Pipeline` provides it).

    Named here so the run machinery never imports the user API above it.
    """

    @property
    def name(self) -> str: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def enable_cache(self) -> bool | None: ...
    @property
    def cache_policy(self) -> CachePolicy | None: ...
    @property
    def model(self) -> Any: ...
    @property
    def on_failure(self) -> Callable[..., Any] | None: ...
    @property
    def on_success(self) -> Callable[..., Any] | None: ...
    @property
    def on_cleanup(self) -> Callable[..., Any] | None: ...
    def compile(self, parameters: Mapping[str, Any]) -> PipelineSpec: ...


class RunDriver:
    """State of one run while its orchestrator executes it."""

    def __init__(
        self,
        project: Project,
        pipeline: PipelineDefinition,
        spec: PipelineSpec,
        parameters: dict[str, Any],
        stack: str,
        enable_cache: bool | None,
    ) -> None:
        self.project = project
        self.pipeline = pipeline
        self.spec = spec
        self.parameters = parameters
        self.stack = stack
        self.enable_cache = enable_cache
        self.orchestrator = "local"
        self.run_id = uuid.uuid4().hex
        self.started = datetime.now(UTC)
        template = getattr(pipeline, "run_name", None)
        self.run_name = run_name(template, pipeline.name, self.started,
                                 getattr(pipeline, "substitutions", None))  # fmt: skip
        self.unique_name = bool(template)  # see engine.run_names
        self.sinks: list[EventSink] = []
        self.steps: dict[str, StepRecord] = {}
        self.drafts: dict[str, dict[str, Any]] = {}  # artifact id -> new version draft
        self.outputs: dict[tuple[str, str], tuple[ArtifactRef, dict[str, Any]]] = {}
        self.externals: dict[int, tuple[ArtifactRef, dict[str, Any]]] = {}  # by id(source)
        self.model_metadata: dict[str, Any] = {}
        self.error: ErrorInfo | None = None
        self.cancelled = False
        self.reproduces: str | None = None
        self.code = CodeRef()
        self._code_files: set[Any] = set()
        self.exception: BaseException | None = None  # first failure, for on_failure
        self.journal: Journal | None = None
        self.logs = live_log_dir(project.git.common_dir, self.run_id)
        self.stack_settings: Any = None  # store.config.SettingsConfig of the stack
        self.routes: dict[str, str] = {}  # step -> stack whose orchestrator runs it
        self.retried_errors: dict[str, ErrorInfo] = {}
        self.cache = CacheLookup(project)
        self.models = ModelLink(project, pipeline, self.run_id, self.emit)

    @property
    def remote(self) -> str | None:
        """The stack's DVC remote, where cached outputs may also be found."""
        return self.cache.remote

    @remote.setter
    def remote(self, value: str | None) -> None:
        self.cache.remote = value

    # -- lifecycle -------------------------------------------------------------------------
    def emit(self, event: ev.Event) -> None:
        for sink in self.sinks:
            sink(event)

    def read_code(self) -> Any:
        """Commit and local changes of the code this run imports; kept for the record."""
        import sys

        from store.code_state import code_state, project_module_files

        self._code_files = project_module_files(self.project, list(sys.modules.values()))
        state = code_state(self.project, self._code_files)
        self.code = CodeRef(
            commit=state.commit, dirty=state.dirty, branch=state.branch,
            dirty_files=list(state.dirty_files), patch=self._save_patch(state.patch),
        )  # fmt: skip
        return state

    def _refresh_code(self) -> None:
        """Steps may import more project modules; take them into account (rarely needed)."""
        import sys

        from store.code_state import project_module_files

        if project_module_files(self.project, list(sys.modules.values())) - self._code_files:
            self.read_code()

    def _save_patch(self, patch: bytes) -> Any:
        if not patch:
            return None
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory(prefix="mlx-patch-") as tmp:
            path = Path(tmp) / "code.patch"
            path.write_bytes(patch)
            return self.project.artifacts.save(path)

    def start(self) -> None:
        self.journal = Journal(journal_dir(self.project.git.common_dir), self.run_id)
        self.journal.append(
            {
                "event": "run_started", "pid": os.getpid(), "host": socket.gethostname(),
                "started_at": self.started.isoformat(),
                "run": self._record("running").model_dump(mode="json", by_alias=True),
                "plan": [{"name": n, "upstream": self.upstream(n)} for n in self.order()],
            }
        )  # fmt: skip
        steps = [{"name": n, "upstream": self.upstream(n)} for n in self.order()]
        self.emit(ev.RunStarted(run_id=self.run_id, pipeline=self.pipeline.name, steps=steps,
                                parameters=self.parameters, stack=self.stack))  # fmt: skip
        for inv in self.spec.invocations.values():
            self.store_externals(inv)

    def store_externals(self, inv: Any) -> None:
        """Store the ``ExternalArtifact`` inputs of one invocation (once each)."""
        for name, source in inv.inputs.items():
            if isinstance(source, ExternalArtifact) and id(source) not in self.externals:
                draft = store_value(self.project, source.value,
                                    source.name or f"external_{inv.name}_{name}",
                                    materializer=source.materializer,
                                    run_id=self.run_id)  # fmt: skip
                self.drafts[draft["id"]] = draft
                self.externals[id(source)] = (
                    ArtifactRef(id=draft["id"], name=draft["name"]),
                    draft,
                )

    def abort(self, exc: BaseException) -> None:
        """Record why the run stopped early: running steps end, unstarted ones are skipped."""
        self.cancelled = isinstance(exc, KeyboardInterrupt)
        running = [n for n, s in self.steps.items() if s.status == "running"]
        self.error = stop_error(exc, running)
        now = datetime.now(UTC)
        for name in self.order():
            step = self.steps.get(name)
            if step is None:
                self.skip(name)
            elif step.status == "running":  # interrupted mid-step
                status = "cancelled" if self.cancelled else "failed"
                self.steps[name] = step.model_copy(
                    update={"status": status, "finished_at": now, "error": self.error}
                )
                self._journal_step(self.steps[name])

    def finish(self) -> RunRecord:
        failed = self.error is not None or any(s.status == "failed" for s in self.steps.values())
        status = "cancelled" if self.cancelled else "failed" if failed else "completed"
        if not self.cancelled:
            hook = self.pipeline.on_failure if failed else self.pipeline.on_success
            steps = list(self.steps.values())
            self._hook(hook, first_exception(self.exception, self.error, steps) if failed else None)
        self._hook(self.pipeline.on_cleanup, None)
        failed_step = next((s for s in self.steps.values() if s.error), None)
        if self.error is None and failed_step is not None and failed_step.error is not None:
            self.error = failed_step.error.model_copy(
                update={"message": f"step {failed_step.name} failed: {failed_step.error.message}"}
            )
        self._refresh_code()
        record = self._record(status, finished=datetime.now(UTC))
        making = not (self.cancelled or self.reproduces)  # no half-made or duplicate versions
        model_draft = self._model_draft() if making else None
        taken = self.project.index.runs_named if self.unique_name else None
        committed = commit_run(self.project.runs, record, list(self.drafts.values()),
                               model_draft, names_taken=taken)  # fmt: skip
        # what was just committed goes to the index as written: never read or validated again
        self.project.index.record_commit(committed.parent, committed.commit, committed.files)
        if self.journal:
            self.journal.close(remove=True)
        self.project.runs.maintain()
        if committed.model_version is not None and status == "completed":
            self.models.promote(committed.model_version.name, committed.model_version.version)
        duration = (committed.run.finished_at or self.started) - self.started
        self.emit(ev.RunFinished(run_id=self.run_id, status=status,
                                 duration=duration.total_seconds(),
                                 error=self.error.message if self.error else None))  # fmt: skip
        return committed.run

    def _record(self, status: str, finished: datetime | None = None) -> RunRecord:
        config: dict[str, Any] = {"enable_cache": self._pipeline_cache_enabled()}
        if self.reproduces:
            config["reproduces"] = self.reproduces
        return RunRecord.model_validate({
            "id": self.run_id, "pipeline": self.pipeline.name, "status": status,
            "name": self.run_name,
            "started_at": self.started, "finished_at": finished, "code": self.code,
            "parameters": _jsonable(self.parameters), "stack": self.stack,
            "orchestrator": self.orchestrator, "tags": self.pipeline.tags,
            "config": config,
            "steps": [self.steps[n] for n in self.order() if n in self.steps],
            "model": self.models.ref(),
            "error": self.error, "host": socket.gethostname(), "user": _user(),
        })  # fmt: skip

    def _model_draft(self) -> dict[str, Any] | None:
        cached = [s for n in self.order() if (s := self.steps.get(n)) and s.status == "cached"]
        return self.models.draft(self.pipeline.name, self.model_metadata, cached, self.outputs)

    def _hook(self, hook: Callable[..., Any] | None, exc: BaseException | None) -> None:
        failure = call_hook(hook, exc, lambda: self._hook_context(exc is not None))
        self.error = self.error or failure

    def _hook_context(self, failure: bool) -> Any:
        """Pipeline hooks see a step context, as in ZenML: the failed step's, else the last."""
        from engine.runtime import StepContext, step_context

        chosen = hook_step([self.steps[n] for n in self.order() if n in self.steps], failure)
        if chosen is None:
            return contextlib.nullcontext()
        try:
            model = self.models.step_model()
        except MlxError:
            model = None
        ctx = StepContext(step_name=chosen.name, run_id=self.run_id,
                          pipeline_name=self.pipeline.name, parameters=dict(chosen.parameters),
                          model=model, run_name=self.run_name,
                          run_parameters=_jsonable(self.parameters))  # fmt: skip
        return step_context(ctx)

    # -- Driver protocol -------------------------------------------------------------------
    def order(self) -> list[str]:
        return list(self.spec.order)

    def upstream(self, name: str) -> list[str]:
        return self.spec.invocations[name].upstream

    def blocked(self, name: str) -> bool:
        """True when an upstream step did not produce its outputs."""
        return any(
            self.steps.get(u) is None or self.steps[u].status in ("failed", "skipped")
            for u in self.upstream(name)
        )

    def skip(self, name: str) -> None:
        self.steps[name] = StepRecord(name=name, status="skipped", upstream=self.upstream(name))
        self._journal_step(self.steps[name])
        self.emit(ev.StepSkipped(run_id=self.run_id, step=name))

    def prepare(self, name: str) -> StepTask | None:
        """Resolve inputs and the cache; return the task to run, or None when served."""
        inv = self.spec.invocations[name]
        inputs = {k: self._resolve(src) for k, src in inv.inputs.items()}
        step = inv.step
        policy = step.cache_policy or self.pipeline.cache_policy or CachePolicy()
        components = compute_components(KeyInputs(
            func=step.entrypoint, parameters=_jsonable(inv.parameters),
            input_hashes={k: rec["pointer"]["md5"] for k, (_, rec) in inputs.items()},
            outputs={o.name: f"{o.annotation!r}|{step.output_materializers.get(o.name)!r}"
                     for o in step.outputs},
            config={"settings": _result_settings(step.settings)}, policy=policy,
            root=self.project.root,
        ))  # fmt: skip
        key = cache_key(components)
        base = {
            "name": name, "upstream": inv.upstream, "parameters": _jsonable(inv.parameters),
            "inputs": {k: ref for k, (ref, _) in inputs.items()}, "cache_key": key,
            "cache_components": components,
        }  # fmt: skip
        enabled = self._cache_enabled(step.enable_cache)
        if enabled:
            hit = self.cache.find(key, policy)
            if hit is not None:
                run_id, source = hit
                outputs = dict(source.outputs)
                # what the cached execution logged counts for this run (and its model version)
                self.model_metadata.update(source.model_metadata)
                self.steps[name] = StepRecord.model_validate(
                    {
                        **base,
                        "status": "cached",
                        "cached_from": run_id,
                        "outputs": outputs,
                        "metadata": source.metadata,
                        "model_metadata": source.model_metadata,
                        "started_at": datetime.now(UTC),
                        "finished_at": datetime.now(UTC),
                    }
                )
                self._remember_outputs(name, outputs)
                self._journal_step(self.steps[name])
                self.emit(ev.StepCached(run_id=self.run_id, step=name, cached_from=run_id))
                return None
        reasons = (
            self.cache.explain(self.pipeline.name, name, components)
            if enabled
            else ["caching disabled"]
        )
        note = self.cache.miss_note
        if enabled and note and reasons == ["earlier outputs are no longer available"]:
            reasons = [note]
        self.steps[name] = StepRecord.model_validate({
            **base, "status": "running", "started_at": datetime.now(UTC),
            "rerun_reasons": reasons})  # fmt: skip
        self._journal_step(self.steps[name])
        self.emit(ev.StepStarted(run_id=self.run_id, step=name))
        settings = self._settings(step.settings)
        if settings.orchestrator:
            self.routes[name] = settings.orchestrator
        return StepTask(
            root=str(self.project.root), run_id=self.run_id, pipeline=self.pipeline.name,
            name=name, step=step, parameters=dict(inv.parameters),
            inputs={k: rec for k, (_, rec) in inputs.items()},
            log_path=str(self.logs / f"{name}.log"), model=self.models.step_model(),
            run_name=self.run_name, run_parameters=_jsonable(self.parameters),
            run_artifacts=self._run_artifacts(),
            run_steps=self._run_steps(),
            environment=dict(settings.environment), resources=dask_resources(settings),
        )  # fmt: skip

    def _run_steps(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Outputs of the steps finished so far: step -> output -> artifact record."""
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for (step_name, output), (_, record) in self.outputs.items():
            found.setdefault(step_name, {})[output] = record
        return found

    def _run_artifacts(self) -> dict[str, list[dict[str, Any]]]:
        """Artifact versions made so far in this run, by name (``Client`` finds them)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for _, record in self.outputs.values():  # made or taken from the cache, in order
            found.setdefault(record["name"], []).append(record)
        return found

    def _settings(self, step_settings: Mapping[str, Any]) -> Any:
        from store.config import SettingsConfig

        return effective_settings(self.stack_settings or SettingsConfig(), step_settings)

    def route(self, name: str) -> str | None:
        """The stack whose orchestrator runs ``name`` when the step asks for one."""
        return self.routes.get(name)

    def retry(self, task: StepTask, result: StepResult) -> tuple[StepTask, float] | None:
        """The next attempt of a failed step and its back-off, or None when it is final."""
        policy = task.step.retry
        if result.status != "failed" or policy is None or task.attempt > policy.max_retries:
            return None
        if result.error is not None:
            self.retried_errors[task.name] = result.error
        again = dataclasses.replace(task, attempt=task.attempt + 1)
        delay = policy.delay_before(again.attempt)
        error = f"{result.error.type}: {result.error.message}" if result.error else "failed"
        self.emit(ev.StepRetrying(run_id=self.run_id, step=task.name, attempt=again.attempt,
                                  error=error, delay=delay))  # fmt: skip
        return again, delay

    def complete(self, result: StepResult) -> None:
        self.model_metadata.update(result.model_metadata)
        for artifact_id, metadata in result.artifact_metadata.items():
            draft = self.drafts.get(artifact_id) or result_draft(result, artifact_id)
            if draft is not None:
                draft["metadata"] = {**draft.get("metadata", {}), **_jsonable(metadata)}
        if result.exception is not None and self.exception is None:
            self.exception = result.exception
        self.models.stage_requests += result.stage_requests
        outputs = {}
        for out_name, draft in result.outputs.items():
            self.drafts[draft["id"]] = draft
            outputs[out_name] = ArtifactRef(id=draft["id"], name=draft["name"])
        record = StepRecord.model_validate({
            **self.steps[result.name].model_dump(), "status": result.status,
            "started_at": result.started_at, "finished_at": result.finished_at,
            "outputs": outputs, "error": result.error, "metadata": _jsonable(result.metadata),
            "model_metadata": _jsonable(result.model_metadata), "log": result.log,
            "attempts": result.attempt, "retried_error": self.retried_errors.get(result.name),
        })  # fmt: skip
        self.steps[result.name] = record
        self._remember_outputs(result.name, outputs)
        self._journal_step(record, [result.outputs[k] for k in outputs])
        if result.status == "failed" and result.error:
            self.emit(ev.StepFailed(run_id=self.run_id, step=result.name,
                                    error=f"{result.error.type}: {result.error.message}",
                                    traceback=result.error.traceback))  # fmt: skip
        else:
            duration = (result.finished_at - result.started_at).total_seconds()
            self.emit(ev.StepFinished(run_id=self.run_id, step=result.name, duration=duration,
                                      outputs={k: f"{v.name}:?" for k, v in outputs.items()},
                                      rerun_reasons=record.rerun_reasons))  # fmt: skip

    # -- helpers ---------------------------------------------------------------------------
    def _resolve(
        self, source: OutputHandle | ArtifactInput | ExternalArtifact
    ) -> tuple[ArtifactRef, dict[str, Any]]:
        if isinstance(source, OutputHandle):
            return self.outputs[(source.step, source.output)]
        if isinstance(source, ExternalArtifact):
            return self.externals[id(source)]
        record = self.project.index.artifact_by_id(source.id)
        if record is None:
            raise MlxError(f"artifact {source.name}:{source.version} is not on the runs ref")
        return ArtifactRef(id=source.id, name=source.name, version=source.version), record

    def _remember_outputs(self, step: str, outputs: Mapping[str, ArtifactRef]) -> None:
        for out_name, ref in outputs.items():
            record = self.drafts.get(ref.id) or self.project.index.artifact_by_id(ref.id)
            if record is not None:
                self.outputs[(step, out_name)] = (ref, record)

    def _pipeline_cache_enabled(self) -> bool:
        if self.enable_cache is not None:
            return self.enable_cache
        return self.pipeline.enable_cache is not False

    def _cache_enabled(self, step_setting: bool | None) -> bool:
        if self.enable_cache is False:  # --no-cache wins over everything
            return False
        if step_setting is not None:
            return step_setting
        return self._pipeline_cache_enabled()

    def _journal_step(
        self, step: StepRecord, artifacts: list[dict[str, Any]] | None = None
    ) -> None:
        if self.journal:
            self.journal.append({
                "event": "step", "time": datetime.now(UTC).isoformat(),
                "step": step.model_dump(mode="json", by_alias=True),
                "artifacts": artifacts or []})  # fmt: skip


def result_draft(result: StepResult, artifact_id: str) -> dict[str, Any] | None:
    """The draft of ``artifact_id`` among the outputs ``result`` brings."""
    return next((d for d in result.outputs.values() if d["id"] == artifact_id), None)


def _result_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings that can change a step's result (where it runs and on what do not, nor ZenML's
    ``docker`` settings, which have no effect on a local run)."""
    return {k: v for k, v in settings.items() if k not in ("resources", "orchestrator", "docker")}


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=repr))


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
