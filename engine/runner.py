"""Plan and drive one pipeline run; the only writer of run records.

:func:`run_pipeline` compiles the pipeline, resolves the stack, then hands a :class:`RunDriver`
to the stack's orchestrator. The driver decides for each ready step whether the cache can serve
it (and why not), journals progress per event under ``.git/mlx/journal`` for live views, emits
:mod:`engine.events`, calls the hooks, and commits the run once, at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import os
import signal
import socket
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from engine import events as ev
from engine.artifacts import ArtifactInput, store_value
from engine.caching import CachePolicy, KeyInputs, cache_key, compute_components, explain_miss
from engine.compiler import ExternalArtifact, OutputHandle, PipelineSpec
from engine.executor import StepResult, StepTask
from engine.orchestrators import orchestrator_for
from engine.run_names import run_name
from engine.settings import dask_resources, effective_settings
from store.errors import DirtyTreeError, MlxError
from store.journal import Journal
from store.paths import journal_dir, live_log_dir
from store.project import Project
from store.recorder import commit_run, fold_crashed_runs
from store.records import ArtifactRef, CodeRef, ErrorInfo, ModelRef, RunRecord, StepRecord
from store.scratch import sweep as sweep_scratch

__all__ = ["PipelineDefinition", "RunCancelled", "RunDriver", "run_pipeline"]

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


class RunCancelled(KeyboardInterrupt):
    """The run was interrupted (Ctrl-C / SIGINT, or SIGTERM as the app's cancel sends it).

    Raised by :func:`run_pipeline` after the ``cancelled`` record is committed; ``record`` holds
    it. A ``KeyboardInterrupt``, so scripts stop as they would on any Ctrl-C.
    """

    def __init__(self, record: RunRecord) -> None:
        super().__init__(f"run {record.id} cancelled")
        self.record = record


def run_pipeline(
    project: Project,
    pipeline: PipelineDefinition,
    parameters: Mapping[str, Any],
    *,
    stack: str | None = None,
    enable_cache: bool | None = None,
    on_event: EventSink | None = None,
    require_clean: bool = False,
    reproduces: str | None = None,
) -> RunRecord:
    """Run ``pipeline`` with validated ``parameters``; return the committed run record.

    A failing step does not raise: the returned record has ``status == "failed"``. Problems
    found before anything runs (bad parameters, unknown stack) raise :class:`MlxError`.
    An interrupt (SIGINT, or SIGTERM while steps run) stops the running steps, commits a
    ``cancelled`` record (finished steps stay reusable by the cache, the rest are ``skipped``)
    and raises :class:`RunCancelled`.

    Args:
        require_clean: refuse (:class:`DirtyTreeError`) when the code has local changes.
        reproduces: the id of the run this one reproduces (``mlx runs reproduce``): recorded
            in ``config``; no model version is made and no stage is set.
    """
    fold_crashed_runs(project.runs)
    sweep_scratch()  # temp dirs of killed runs
    stack_name = stack or project.active_stack_name()
    stack_config = project.load_stack(stack_name)
    spec = pipeline.compile(parameters)
    orchestrator = orchestrator_for(stack_config, stack_name, project)
    if getattr(pipeline, "dynamic", False):  # the body runs during the run, step by step
        from engine.orchestrators.dynamic import DynamicOrchestrator

        orchestrator = DynamicOrchestrator()
    for name in _step_stacks(spec) - {stack_name}:
        orchestrator.delegates[name] = orchestrator_for(project.load_stack(name), name, project)
    driver = RunDriver(project, pipeline, spec, dict(parameters), stack_name, enable_cache)
    driver.stack_settings = stack_config.settings
    driver.sinks.append(on_event or (lambda e: None))
    driver.orchestrator = orchestrator.flavor
    driver.remote = stack_config.artifact_store.remote or None
    driver.reproduces = reproduces
    state = driver.read_code()
    if require_clean and state.dirty:
        raise DirtyTreeError(
            f"--require-clean: the run's code has local changes: {', '.join(state.dirty_files)}; "
            "commit them (or stash them) first"
        )
    driver.start()
    try:
        with _terminate_as_interrupt():
            orchestrator.run(driver)
    except KeyboardInterrupt as exc:
        driver.abort(exc)
        with _interrupts_ignored():  # a second Ctrl-C must not lose the record
            record = driver.finish()
        raise RunCancelled(record) from exc
    except BaseException as exc:  # an mlx failure: record it, then re-raise
        driver.abort(exc)
        driver.finish()
        raise
    return driver.finish()


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (the app's cancel, a CI timeout) stops the run the way Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _interrupts_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _step_stacks(spec: PipelineSpec) -> set[str]:
    """Stacks named by ``settings={"orchestrator": ...}`` of the pipeline's steps."""
    names = (inv.step.settings.get("orchestrator") for inv in spec.invocations.values())
    return {name for name in names if isinstance(name, str) and name}


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
        self.remote: str | None = None
        self.run_id = uuid.uuid4().hex
        self.started = datetime.now(UTC)
        self.run_name = run_name(getattr(pipeline, "run_name", None), pipeline.name, self.started)
        self.sinks: list[EventSink] = []
        self.steps: dict[str, StepRecord] = {}
        self.drafts: dict[str, dict[str, Any]] = {}  # artifact id -> new version draft
        self.outputs: dict[tuple[str, str], tuple[ArtifactRef, dict[str, Any]]] = {}
        self.externals: dict[int, tuple[ArtifactRef, dict[str, Any]]] = {}  # by id(source)
        self.model_metadata: dict[str, Any] = {}
        self.stage_requests: list[tuple[str, bool]] = []
        self.miss_note = ""
        self._consumed_version: int | None = None
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
        if self.cancelled:
            during = f" during step {', '.join(running)}" if running else ""
            self.error = ErrorInfo(
                type="Cancelled",
                message=f"cancelled ({exc or 'interrupted'}){during}; finished steps are kept "
                "for the cache",
            )
        else:
            self.error = ErrorInfo(type=type(exc).__name__, message=str(exc) or type(exc).__name__,
                                   traceback=traceback.format_exc())  # fmt: skip
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
            self._hook(hook, self._first_exception() if failed else None)
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
        committed = commit_run(self.project.runs, record, list(self.drafts.values()),
                               model_draft)  # fmt: skip
        if self.journal:
            self.journal.close(remove=True)
        self.project.runs.maintain()
        if committed.model_version is not None and status == "completed":
            self._promote(committed.model_version.name, committed.model_version.version)
        duration = (committed.run.finished_at or self.started) - self.started
        self.emit(ev.RunFinished(run_id=self.run_id, status=status,
                                 duration=duration.total_seconds(),
                                 error=self.error.message if self.error else None))  # fmt: skip
        return committed.run

    def _promote(self, model: str, version: int) -> None:
        """Carry out ``Model.set_stage`` requests of the steps, now that the number exists."""
        from store.promotion import promote

        for stage, force in self.stage_requests:
            try:
                result = promote(self.project, model, version, stage, force=force)
            except MlxError as exc:
                self.emit(ev.ModelPromoted(run_id=self.run_id, model=model, version=version,
                                           stage=stage, mode="", error=str(exc)))  # fmt: skip
                import logging  # a script calling the pipeline sees it too, not only the CLI

                logging.getLogger("mlx").warning("set_stage(%r) of %s v%s refused: %s",
                                                 stage, model, version, exc)  # fmt: skip
                continue
            self.emit(
                ev.ModelPromoted(
                    run_id=self.run_id,
                    model=model,
                    version=version,
                    stage=stage,
                    mode=result.mode,
                    branch=result.branch,
                )
            )

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
            "model": self._model_ref(),
            "error": self.error, "host": socket.gethostname(), "user": _user(),
        })  # fmt: skip

    def _model_ref(self) -> ModelRef | None:
        """The model this run creates (numbered at commit) or uses (resolved now)."""
        model = self.pipeline.model
        if model is None:
            return None
        if getattr(model, "creates_version", True):
            version = model.version if isinstance(getattr(model, "version", None), int) else None
            return ModelRef(name=model.name, version=version)
        if self._consumed_version is None:
            self._consumed_version = model.resolve_number(self.project)
        return ModelRef(name=model.name, version=self._consumed_version)

    def _model_draft(self) -> dict[str, Any] | None:
        make = getattr(self.pipeline.model, "_version_draft", None)
        if not callable(make):
            return None
        draft = make(self.project, self.run_id, self.pipeline.name, self.model_metadata)
        if not isinstance(draft, dict):
            return None
        # outputs taken from the cache belong to this version too (new ones are linked at commit)
        for name in self.order():
            step = self.steps.get(name)
            if step is None or step.status != "cached":
                continue
            for out_name, ref in step.outputs.items():
                record = self.outputs.get((name, out_name), (ref, {}))[1]
                kind = "model_artifacts" if record.get("is_model_artifact") else "artifacts"
                draft.setdefault(kind, {})[ref.name] = ref.model_dump()
        return draft

    def _first_exception(self) -> BaseException:
        if self.exception is not None:
            return self.exception
        failed = next((s for s in self.steps.values() if s.error), None)
        info = self.error or (failed.error if failed else None)
        return RuntimeError(f"{info.type}: {info.message}" if info else "run failed")

    def _hook(self, hook: Callable[..., Any] | None, exc: BaseException | None) -> None:
        if hook is None:
            return
        import inspect

        try:
            takes = bool(inspect.signature(hook).parameters)
            with self._hook_context(exc is not None):
                hook(exc) if takes and exc is not None else hook()
        except Exception as hook_exc:  # noqa: BLE001 - hooks must not lose the run record
            self.error = self.error or ErrorInfo(
                type=type(hook_exc).__name__, message=f"hook {hook.__name__} failed: {hook_exc}",
                traceback=traceback.format_exc())  # fmt: skip

    def _hook_context(self, failure: bool) -> Any:
        """Pipeline hooks see a step context, as in ZenML: the failed step's, else the last."""
        from engine.runtime import StepContext, step_context

        steps = [self.steps[n] for n in self.order() if n in self.steps]
        chosen = next((s for s in steps if s.status == "failed"), None) if failure else None
        chosen = chosen or next((s for s in reversed(steps) if s.status != "skipped"), None)
        if chosen is None:
            return contextlib.nullcontext()
        try:
            model = self._step_model()
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
            hit = self._lookup(key, policy)
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
        reasons = ["caching disabled"] if not enabled else self._explain(name, components)
        if enabled and self.miss_note and reasons == ["earlier outputs are no longer available"]:
            reasons = [self.miss_note]
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
            log_path=str(self.logs / f"{name}.log"), model=self._step_model(),
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
        self.stage_requests += result.stage_requests
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

    def _lookup(self, key: str, policy: CachePolicy) -> tuple[str, StepRecord] | None:
        self.miss_note = ""
        index = self.project.index
        for run_id, step_name in index.steps_with_key(key)[:5]:
            steps = index.run_json(run_id)["steps"]
            step = StepRecord.model_validate(next(s for s in steps if s["name"] == step_name))
            if _expired(step.finished_at, policy.max_age_days):
                self.miss_note = f"cached result older than max_age_days={policy.max_age_days:g}"
                continue
            self.miss_note = "cached outputs are no longer in the DVC cache or remote"
            if all(self._available(ref) for ref in step.outputs.values()):
                return run_id, step
        return None

    def _available(self, ref: ArtifactRef) -> bool:
        from store.records import DvcPointer

        record = self.project.index.artifact_by_id(ref.id)
        if record is None:
            return False
        pointer = DvcPointer.model_validate(record["pointer"])
        if self.project.artifacts.verified(pointer):  # md5-checked bytes (corrupt: removed)
            return True
        try:
            return bool(self.project.artifacts.in_remote(pointer, remote=self.remote))
        except MlxError:
            return False

    def _explain(self, name: str, components: Any) -> list[str]:
        previous = self.project.index.last_step_run(self.pipeline.name, name)
        if previous is None:
            return explain_miss(components, None)
        steps = self.project.index.run_json(previous)["steps"]
        step: dict[str, Any] = next((s for s in steps if s["name"] == name), {})
        old = step.get("cache_components")
        from store.records import CacheComponents

        return explain_miss(components, CacheComponents.model_validate(old) if old else None)

    def _step_model(self) -> Any:
        model = self.pipeline.model
        prepare = getattr(model, "_for_step", None)
        return prepare(self.project, self.run_id) if callable(prepare) else model

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
    """Settings that can change a step's result (where it runs and on what do not)."""
    return {k: v for k, v in settings.items() if k not in ("resources", "orchestrator")}


def _expired(finished: datetime | None, max_age_days: float | None) -> bool:
    if max_age_days is None or finished is None:
        return False
    return datetime.now(UTC) - finished > timedelta(days=max_age_days)


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=repr))


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
