"""Execute one step anywhere: load inputs, call the function, store outputs, return records.

This is the only code that runs user step functions. It is a plain function over picklable
data (:class:`StepTask` in, :class:`StepResult` out) so every orchestrator — in-process, a
process pool, a dask worker — runs steps the same way; only the driver writes to the runs ref.
Output and logging of the step go to its own log file, which is stored in the DVC cache too.
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from engine.artifacts import (
    ArtifactVersionView,
    UnmaterializedArtifact,
    check_version_name,
    load_artifact_value,
    store_value,
    wants_unmaterialized,
)
from engine.compiler import StepDefinition
from engine.runtime import StepContext, step_context
from engine.step_logs import captured
from store.errors import MlxError
from store.names import check_name
from store.records import ErrorInfo

__all__ = ["StepResult", "StepTask", "execute_step", "execute_step_after"]


@dataclass(frozen=True)
class StepTask:
    """Everything needed to run one step (picklable)."""

    root: str
    run_id: str
    pipeline: str
    name: str
    step: StepDefinition
    parameters: dict[str, Any]
    inputs: dict[str, dict[str, Any]]  # input name -> artifact version record (JSON form)
    log_path: str
    model: Any = None
    run_name: str = ""
    run_parameters: dict[str, Any] = field(default_factory=dict)
    run_artifacts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    run_steps: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)  # set while the step runs
    resources: dict[str, float] = field(default_factory=dict)  # Dask worker resources
    attempt: int = 1
    log_sink: Callable[[str], None] | None = None  # also receives every log line (workers)


@dataclass
class StepResult:
    """What one execution produced."""

    name: str
    status: str
    started_at: datetime
    finished_at: datetime
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> artifact draft
    metadata: dict[str, Any] = field(default_factory=dict)
    model_metadata: dict[str, Any] = field(default_factory=dict)
    stage_requests: list[tuple[str, bool]] = field(default_factory=list)
    artifact_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)  # by artifact id
    error: ErrorInfo | None = None
    exception: BaseException | None = None  # the step's own exception, for on_failure hooks
    log: dict[str, Any] | None = None
    attempt: int = 1


_PROJECTS: dict[str, Any] = {}


def _project(root: str) -> Any:
    from store.project import Project

    if root not in _PROJECTS:
        _PROJECTS[root] = Project(Path(root))
    return _PROJECTS[root]


def execute_step_after(task: StepTask, delay: float) -> StepResult:
    """:func:`execute_step` after ``delay`` seconds (a retry's back-off, spent in the worker)."""
    if delay > 0:
        time.sleep(delay)
    return execute_step(task)


def execute_step(task: StepTask) -> StepResult:
    """Run ``task`` and return its result; never raises for a failure of user code."""
    project = _project(task.root)
    started = datetime.now(UTC)
    ctx = StepContext(
        step_name=task.name,
        run_id=task.run_id,
        pipeline_name=task.pipeline,
        inputs={k: ArtifactVersionView(project, v) for k, v in task.inputs.items()},
        parameters=dict(task.parameters),
        model=task.model,
        output_names=[o.name for o in task.step.outputs],
        run_name=task.run_name,
        run_parameters=dict(task.run_parameters),
        run_artifacts=task.run_artifacts,
        run_steps=task.run_steps,
    )
    result = StepResult(task.name, "completed", started, started, attempt=task.attempt)
    with captured(Path(task.log_path), task.log_sink) as log, step_context(ctx):
        if task.attempt > 1:
            log.write(f"--- attempt {task.attempt} ---\n")
        try:
            args = _grouped({k: _input_value(project, task, k, v) for k, v in task.inputs.items()})
            with _environment(task.environment):
                value = task.step.entrypoint(**task.parameters, **args)
            result.outputs = _store_outputs(project, task, ctx, value)
            result.metadata = dict(ctx.metadata)
            result.model_metadata = dict(ctx.model_metadata)
            result.stage_requests = list(ctx.stage_requests)
            result.artifact_metadata = dict(ctx.artifact_metadata)
            _call_hook(task.step.on_success, log)
        except Exception as exc:  # noqa: BLE001 - user code failed: record it, fail the step
            trace = traceback.format_exc()
            log.write(trace)
            result.status = "failed"
            result.error = ErrorInfo(type=type(exc).__name__, message=str(exc), traceback=trace)
            result.exception = _picklable(exc)
            _call_hook(task.step.on_failure, log, exc)
    result.finished_at = datetime.now(UTC)
    result.log = _store_log(project, Path(task.log_path))
    return result


def _input_value(project: Any, task: StepTask, key: str, record: dict[str, Any]) -> Any:
    """The value of input ``key``: loaded, or the version itself when the parameter is
    annotated ``UnmaterializedArtifact`` (nothing is read then)."""
    base, dot, index = key.rpartition(".")
    name = base if dot and index.isdigit() else key
    annotation = task.step.param_types.get(name)
    if annotation is not None and wants_unmaterialized(annotation):
        return UnmaterializedArtifact(project, record)
    return load_artifact_value(project, record)


def _grouped(values: dict[str, Any]) -> dict[str, Any]:
    """Inputs named ``name.0``, ``name.1``... (a list of outputs as one input) as one list."""
    out: dict[str, Any] = {}
    lists: dict[str, dict[int, Any]] = {}
    for key, value in values.items():
        base, dot, index = key.rpartition(".")
        if dot and index.isdigit():
            lists.setdefault(base, {})[int(index)] = value
        else:
            out[key] = value
    for base, items in lists.items():
        out[base] = [items[i] for i in sorted(items)]
    return out


def _store_outputs(
    project: Any, task: StepTask, ctx: StepContext, value: Any
) -> dict[str, dict[str, Any]]:
    specs = task.step.outputs
    if not specs:
        values: dict[str, Any] = {}
    elif len(specs) == 1:
        values = {specs[0].name: value}
    else:
        if not isinstance(value, tuple | list) or len(value) != len(specs):
            got = (
                f"{len(value)} values" if isinstance(value, tuple | list) else type(value).__name__
            )
            raise MlxError(
                f"step {task.name!r} declares {len(specs)} outputs "
                f"({', '.join(s.name for s in specs)}) but returned {got}"
            )
        values = {s.name: v for s, v in zip(specs, value, strict=True)}
    names = {s.name: s.artifact_name(task.pipeline, task.name) for s in specs}
    for artifact in names.values():  # <pipeline>.<step>.<output> can outgrow the name rule
        check_name("artifact name", artifact)
    values.update(ctx.extra_outputs)
    drafts = {}
    declared = {s.name: s for s in specs}
    labels = {s.name: s.version_name for s in specs if s.version_name is not None}
    labels.update(ctx.extra_output_versions)  # save_artifact(..., version=) in the step
    for output, label in labels.items():  # explicit version names are unique (ZenML refuses)
        check_version_name(project, names.get(output, output), label)
    for name, data in values.items():
        materializer = task.step.output_materializers.get(name)
        spec = declared.get(name)
        metadata = {**((spec.metadata or {}) if spec else {}), **ctx.output_metadata.get(name, {})}
        drafts[name] = store_value(
            project, data, names.get(name, name), materializer=materializer,
            run_id=task.run_id, step=task.name, output=name, metadata=metadata,
            is_model=_is_model_output(task.step, name),
        )  # fmt: skip
        tags = [*(spec.tags if spec else ()), *ctx.output_tags.get(name, [])]
        if tags:
            drafts[name]["tags"] = list(dict.fromkeys(tags))
        if name in labels:
            drafts[name]["version_name"] = labels[name]
    return drafts


def _is_model_output(step: StepDefinition, name: str) -> bool | None:
    spec = next((o for o in step.outputs if o.name == name), None)
    return getattr(spec, "is_model_artifact", None)


def _picklable(exc: BaseException) -> BaseException | None:
    """The exception itself when it can travel back from a worker process, else None."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - exotic exceptions: the hook gets a summary instead
        return None
    return exc


def _store_log(project: Any, path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        pointer = project.artifacts.save(path)
    except MlxError:
        return None  # the run record must still be written; the live log file stays
    return dict(pointer.model_dump())


def _call_hook(hook: Any, log: IO[str], *args: Any) -> None:
    if hook is None:
        return
    try:
        hook(*args) if _takes_args(hook) else hook()
    except Exception:  # noqa: BLE001 - a broken hook must not hide the step's own outcome
        log.write("hook failed:\n" + traceback.format_exc())


def _takes_args(hook: Any) -> bool:
    import inspect

    try:
        return bool(inspect.signature(hook).parameters)
    except (TypeError, ValueError):
        return False


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the step; restore the previous values after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
