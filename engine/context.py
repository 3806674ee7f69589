"""``get_step_context()`` and ``get_pipeline_context()``: what user code can ask at run time.

The step context exists while a step function runs (in whichever process runs it); the
pipeline context while a pipeline body is being compiled. The state itself lives in
:mod:`engine.runtime`, set by the executor and by :meth:`Pipeline.compile`.
"""

from __future__ import annotations

from engine.runtime import (
    PipelineContext,
    StepContext,
    current_pipeline_context,
    current_step_context,
)
from store.errors import MlxError

__all__ = ["PipelineContext", "StepContext", "get_pipeline_context", "get_step_context"]


def get_step_context() -> StepContext:
    """The context of the step running now; raises outside a step."""
    ctx = current_step_context()
    if ctx is None:
        raise MlxError("get_step_context() works only inside a step while a pipeline runs")
    return ctx


def get_pipeline_context() -> PipelineContext:
    """The context of the pipeline being compiled; raises outside a pipeline body."""
    ctx = current_pipeline_context()
    if ctx is None:
        raise MlxError("get_pipeline_context() works only inside a @pipeline function body")
    return ctx
