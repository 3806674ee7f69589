"""Plan and drive one pipeline run; the only writer of run records.

:func:`run_pipeline` compiles the pipeline, resolves the stack, then hands a
:class:`~engine.run_driver.RunDriver` to the stack's orchestrator. The driver decides for each
ready step whether the cache can serve it (and why not), journals progress, emits
:mod:`engine.events`, calls the hooks, and commits the run once, at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.cancellation import RunCancelled, interrupts_ignored, terminate_as_interrupt
from engine.compiler import PipelineSpec
from engine.orchestrators import orchestrator_for
from engine.run_driver import EventSink, PipelineDefinition, RunDriver
from engine.run_names import check_run_name
from store.errors import DirtyTreeError
from store.project import Project
from store.recorder import fold_crashed_runs
from store.records import RunRecord
from store.scratch import sweep as sweep_scratch

__all__ = ["PipelineDefinition", "RunCancelled", "RunDriver", "run_pipeline"]


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
    if driver.unique_name and reproduces:  # a reproduction is another run: its own name
        driver.run_name = f"{driver.run_name}-reproduced-{driver.run_id[:8]}"
    if driver.unique_name:
        check_run_name(project, driver.run_name, driver.run_id)
    driver.start()
    try:
        with terminate_as_interrupt():
            orchestrator.run(driver)
    except KeyboardInterrupt as exc:
        driver.abort(exc)
        with interrupts_ignored():  # a second Ctrl-C must not lose the record
            record = driver.finish()
        raise RunCancelled(record) from exc
    except BaseException as exc:  # an mlx failure: record it, then re-raise
        driver.abort(exc)
        driver.finish()
        raise
    return driver.finish()


def _step_stacks(spec: PipelineSpec) -> set[str]:
    """Stacks named by ``settings={"orchestrator": ...}`` of the pipeline's steps."""
    names = (inv.step.settings.get("orchestrator") for inv in spec.invocations.values())
    return {name for name in names if isinstance(name, str) and name}
