"""``save_artifact``, ``load_artifact`` and ``log_metadata``: artifact helpers for user code.

Inside a step they attach to the running step (an extra output, metadata on the step, an
output or the run's model version); outside a pipeline ``save_artifact`` records a standalone
artifact version on the runs ref.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.artifacts import ArtifactVersionView, store_value
from engine.runtime import current_step_context
from store.errors import MlxError, ValidationError
from store.names import check_name

__all__ = ["load_artifact", "log_metadata", "save_artifact"]


def save_artifact(data: Any, name: str, *, materializer: type | None = None,
                  metadata: dict[str, Any] | None = None, is_model_artifact: bool | None = None,
                  project: Any = None) -> Any:  # fmt: skip
    """Store ``data`` as a new version of artifact ``name``.

    Inside a step the version becomes an extra output of that step (committed with the run)
    and None is returned; outside, it is committed now and its view is returned.
    """
    check_name("artifact name", name)
    ctx = current_step_context()
    if ctx is not None:
        if name in ctx.output_names:
            raise ValidationError(f"save_artifact({name!r}): the step already has that output")
        ctx.extra_outputs[name] = data
        if metadata:
            ctx.output_metadata.setdefault(name, {}).update(metadata)
        return None
    from store.project import Project
    from store.recorder import commit_run
    from store.records import RunRecord

    project = project or Project.find()
    draft = store_value(project, data, name, materializer=materializer, metadata=metadata,
                        is_model=is_model_artifact)  # fmt: skip
    now = datetime.now(UTC)
    run = RunRecord(id=draft["id"], pipeline="save_artifact", status="completed",
                    started_at=now, finished_at=now)  # fmt: skip
    committed = commit_run(project.runs, run, [draft])
    return ArtifactVersionView(
        project, committed.artifacts[0].model_dump(mode="json", by_alias=True)
    )


def load_artifact(name: str, version: int | str | None = None) -> Any:
    """Load the value of an artifact version (latest when ``version`` is None)."""
    from engine.client import Client

    return Client().get_artifact_version(name, version).load()


def log_metadata(
    metadata: dict[str, Any],
    *,
    artifact_name: str | None = None,
    infer_artifact: bool = False,
    infer_model: bool = False,
    step_name: str | None = None,
) -> None:
    """Attach metadata from inside a step.

    Args:
        metadata: JSON-able values.
        artifact_name: attach to this output artifact of the running step.
        infer_artifact: attach to the step's only output.
        infer_model: attach to the model version the run creates (e.g. accuracy).
        step_name: accepted for ZenML compatibility; must be the running step.
    """
    ctx = current_step_context()
    if ctx is None:
        raise MlxError("log_metadata() works inside a step while a pipeline runs")
    if step_name not in (None, ctx.step_name):
        raise ValidationError(f"log_metadata(step_name={step_name!r}) inside {ctx.step_name!r}")
    if infer_model:
        ctx.model_metadata.update(metadata)
    elif artifact_name is not None or infer_artifact:
        ctx.add_output_metadata(metadata, artifact_name)
    else:
        ctx.metadata.update(metadata)
