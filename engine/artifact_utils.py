"""``save_artifact``, ``load_artifact`` and ``log_metadata``: artifact helpers for user code.

Inside a step they attach to the running step (an extra output, metadata on the step, an
output or the run's model version); outside a pipeline ``save_artifact`` records a standalone
artifact version on the runs ref.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.artifacts import ArtifactVersionView, store_value
from engine.model_run import log_run_model_metadata
from engine.runtime import current_step_context
from store.errors import MlxError, ValidationError
from store.names import check_name

__all__ = [
    "add_tags",
    "load_artifact",
    "log_artifact_metadata",
    "log_metadata",
    "log_model_metadata",
    "log_step_metadata",
    "save_artifact",
]


def save_artifact(data: Any, name: str, version: int | str | None = None, *,
                  materializer: type | None = None, metadata: dict[str, Any] | None = None,
                  is_model_artifact: bool | None = None, project: Any = None,
                  tags: list[str] | None = None) -> Any:  # fmt: skip
    """Store ``data`` as a new version of artifact ``name``.

    Inside a step the version becomes an extra output of that step (committed with the run)
    and None is returned; outside, it is committed now and its view is returned. ``version``
    names the version (``"raw_2023"``); its number is assigned as always.
    """
    check_name("artifact name", name)
    ctx = current_step_context()
    if ctx is not None:
        if name in ctx.output_names:
            raise ValidationError(f"save_artifact({name!r}): the step already has that output")
        ctx.extra_outputs[name] = data
        if version is not None:
            ctx.extra_output_versions[name] = str(version)
        if metadata:
            ctx.output_metadata.setdefault(name, {}).update(metadata)
        if tags:
            ctx.output_tags.setdefault(name, []).extend(tags)
        return None
    from store.project import Project
    from store.recorder import commit_run
    from store.records import RunRecord

    project = project or Project.find()
    if version is not None:
        from engine.artifacts import check_version_name

        check_version_name(project, name, str(version))
    draft = store_value(project, data, name, materializer=materializer, metadata=metadata,
                        is_model=is_model_artifact)  # fmt: skip
    if version is not None:
        draft["version_name"] = str(version)
    if tags:
        draft["tags"] = list(tags)
    now = datetime.now(UTC)
    run = RunRecord(id=draft["id"], pipeline="save_artifact", status="completed",
                    started_at=now, finished_at=now)  # fmt: skip
    committed = commit_run(project.runs, run, [draft])
    if committed.run.error is not None:  # another process took the version name meanwhile
        from store.errors import EntityExistsError

        raise EntityExistsError(committed.run.error.message)
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
    artifact_version_id: Any = None,
    artifact_version: str | int | None = None,
    model_name: str | None = None,
    model_version: str | int | None = None,
    model_version_id: Any = None,
    step_id: Any = None,
    run_id_name_or_prefix: Any = None,
) -> None:
    """Attach metadata from inside a step (ZenML's targets, as far as a run can change them).

    Args:
        metadata: JSON-able values.
        artifact_name: attach to this output artifact of the running step.
        infer_artifact: attach to the step's only output.
        infer_model: attach to the model version of the run: the one it creates, or the one
            it uses (``Model(name, version="production")``); stored when the run is committed.
        step_name: accepted for ZenML compatibility; must be the running step.
        artifact_version_id: attach to an artifact version made earlier in this run (or an
            output of this step), e.g. ``Client().get_artifact_version("model").id``.
        model_name, model_version, model_version_id: attach to the model version this run
            creates (named or numbered as the pipeline's ``Model``).
        step_id, run_id_name_or_prefix: the running step / run (records of earlier runs are
            immutable).
    """
    ctx = current_step_context()
    if ctx is None:
        raise MlxError(
            "log_metadata() works inside a step while a pipeline runs: recorded runs, "
            "artifacts and model versions are immutable"
        )
    if step_name not in (None, ctx.step_name):
        raise ValidationError(f"log_metadata(step_name={step_name!r}) inside {ctx.step_name!r}")
    if run_id_name_or_prefix is not None and str(run_id_name_or_prefix) not in (
        ctx.run_id,
        ctx.run_name,
    ):
        raise ValidationError("log_metadata(run_id_name_or_prefix=...) must be the running run; "
                              "records of finished runs are immutable")  # fmt: skip
    if artifact_version_id is not None:
        _artifact_metadata(ctx, str(artifact_version_id), metadata)
    elif infer_model or model_name is not None or model_version_id is not None:
        log_run_model_metadata(ctx, metadata, model_name, model_version, model_version_id)
    elif artifact_name is not None and artifact_name not in ctx.output_names and (
            artifact_name in ctx.run_artifacts):  # fmt: skip
        _artifact_metadata(ctx, ctx.run_artifacts[artifact_name][-1]["id"], metadata)
    elif artifact_name is not None or infer_artifact:
        ctx.add_output_metadata(metadata, artifact_name)
    else:
        ctx.metadata.update(metadata)


def _artifact_metadata(ctx: Any, artifact_id: str, metadata: dict[str, Any]) -> None:
    artifact_id = artifact_id.replace("-", "")
    made = {
        d["id"] for drafts in ctx.run_artifacts.values() for d in drafts if not d.get("version")
    }
    if artifact_id not in made:
        raise ValidationError(
            f"log_metadata(artifact_version_id={artifact_id!r}): not an artifact version made "
            "earlier in this run; versions of finished runs are immutable (log metadata from "
            "the step that makes the artifact)"
        )
    ctx.artifact_metadata.setdefault(artifact_id, {}).update(metadata)


def log_artifact_metadata(
    metadata: dict[str, Any], artifact_name: str | None = None, artifact_version: Any = None
) -> None:
    """ZenML < 0.70: metadata on an output of the running step (the only one if not named)."""
    log_metadata(metadata, artifact_name=artifact_name, infer_artifact=artifact_name is None)


def log_model_metadata(
    metadata: dict[str, Any], model_name: str | None = None, model_version: Any = None
) -> None:
    """ZenML < 0.70: metadata on the model version the run creates."""
    log_metadata(metadata, infer_model=True, model_name=model_name, model_version=model_version)


def log_step_metadata(metadata: dict[str, Any], step_name: str | None = None, **_: Any) -> None:
    """ZenML < 0.70: metadata on the running step."""
    log_metadata(metadata, step_name=step_name)


def add_tags(
    tags: list[str],
    *,
    artifact_name: str | None = None,
    infer_artifact: bool = False,
    **target: Any,
) -> None:
    """Tag an output of the running step (``artifact_name`` or the only one).

    Other targets of ZenML's ``add_tags`` (runs, pipelines, models) are refused: their records
    are written once; use ``@pipeline(tags=[...])`` for runs.
    """
    ctx = current_step_context()
    if ctx is None or any(v is not None for v in target.values()):
        raise ValidationError(
            "add_tags() tags outputs of the running step (artifact_name= or infer_artifact=True);"
            " tag runs with @pipeline(tags=[...])"
        )
    ctx.add_output_tags(list(tags), artifact_name)
