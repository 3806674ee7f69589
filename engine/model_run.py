"""The model version a run is creating, as steps of that run see it.

``get_step_context().model`` inside a pipeline with ``model=Model(name=...)`` is the version
being made (ZenML semantics): it has a ``number`` (the next free one when the run started, or
the existing version a named or numbered ``Model`` adds to; the final number is assigned
when the run is committed and only differs if another run committed first), it finds the
artifacts that earlier steps of this run produced (``get_artifact``, ``load_artifact``),
takes metadata (``log_metadata``) and stage requests (``set_stage``, carried out when the
run is committed). It is plain data so process-pool workers can receive it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from store.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from engine.artifacts import ArtifactVersionView
    from store.project import Project

__all__ = ["InRunModelVersion", "log_run_model_metadata", "request_stage"]


def request_stage(project: Project, model: str, stage: Any, force: bool) -> None:
    """Ask for the version this run creates to take ``stage`` when the run is committed.

    The promotion lands as ``mlx model promote`` would (a branch, or a direct commit) and is
    refused (and reported) when the version fails its gates, unless ``force``.

    Raises:
        ValidationError: outside a step, or ``stage`` is not an allowed stage.
        NotFoundError: there is no ``models/<model>.toml`` (``mlx model register`` makes it).
    """
    from engine.runtime import current_step_context
    from store.errors import ValidationError
    from store.models import check_stage, load_model_config

    ctx = current_step_context()
    if ctx is None:
        raise ValidationError("set_stage() of the version a run creates works inside a step; "
                              "use `mlx model promote` for existing versions")  # fmt: skip
    name = str(getattr(stage, "value", stage))
    check_stage(project, name)
    load_model_config(project, model)  # no models/<model>.toml: say how to make it
    ctx.stage_requests.append((name, force))


def log_run_model_metadata(
    ctx: Any, metadata: dict[str, Any], name: str | None = None, version: Any = None,
    version_id: Any = None,
) -> None:  # fmt: skip
    """Add ``metadata`` to the model version of the running step's run (the version it creates
    or the one it uses), stored when the run is committed; the named target must be that one.

    ``ctx`` is the running step's context (None outside a step: refused)."""
    if ctx is None:
        raise ValidationError("log_metadata() of a model version works inside a step while a "
                              "pipeline runs: recorded model versions are immutable")  # fmt: skip
    _check_model(ctx, name, version, version_id)
    ctx.model_metadata.update(metadata)


def _check_model(ctx: Any, name: str | None, version: Any, version_id: Any) -> None:
    """The targeted model version must be the one of this run: the version it creates, or
    the one it uses (``Model(name, version="production")``: ZenML logs to that version)."""
    model = ctx.model
    if model is None:
        raise ValidationError("log_metadata(infer_model=True): the pipeline has no model=")
    if name is not None and name != getattr(model, "name", None):
        raise ValidationError(
            f"log_metadata(model_name={name!r}): this run's model is {model.name!r}; "
            "versions of other models are changed by the runs that make or use them"
        )
    labels = {str(getattr(model, "version", "")), str(getattr(model, "number", ""))}
    labels |= set(getattr(model, "stages", []) if hasattr(model, "record") else [])
    if version is not None and str(version) not in labels:
        raise ValidationError(
            f"log_metadata(model_version={version!r}): not this run's version of "
            f"{model.name!r} ({', '.join(sorted(labels - {''}))})"
        )
    known_id = getattr(model, "id", None)
    if version_id is not None and known_id and str(version_id).replace("-", "") != known_id:
        raise ValidationError(f"log_metadata(model_version_id={version_id!r}): not this run's "
                              "model version")  # fmt: skip


@dataclass
class InRunModelVersion:
    """The model version being created by the running pipeline."""

    root: str
    name: str
    number: int
    version_name: str | None = None
    description: str = ""
    tags: list[str] = field(default_factory=list)
    existing: dict[str, Any] | None = None  # the stored record when adding to a version

    @classmethod
    def plan(
        cls, project: Project, name: str, number: int | None, version_name: str | None,
        description: str = "", tags: list[str] | None = None,
    ) -> InRunModelVersion:  # fmt: skip
        """The version a run of model ``name`` makes (``number``: the one it adds to)."""
        existing = None
        if number is not None:
            existing = project.index.model_version_json(name, number)
        else:
            versions = project.index.model_versions(name)
            number = max((int(v["version"]) for v in versions), default=0) + 1
        return cls(str(project.root), name, number, version_name, description, list(tags or []),
                   existing)  # fmt: skip

    @property
    def version(self) -> str | int:
        return self.version_name or self.number

    @property
    def model_version_id(self) -> str | None:
        return self.existing.get("id") if self.existing else None

    id = model_version_id

    @property
    def run_metadata(self) -> dict[str, Any]:
        from engine.runtime import current_step_context

        ctx = current_step_context()
        stored = dict((self.existing or {}).get("metadata", {}))
        return {**stored, **(ctx.model_metadata if ctx is not None else {})}

    metadata = run_metadata

    def get_artifact(self, name: str, version: str | int | None = None) -> ArtifactVersionView:
        """An artifact of this version: made earlier in this run, else already linked."""
        from engine.artifacts import ArtifactVersionView
        from engine.runtime import current_step_context

        ctx = current_step_context()
        drafts = ctx.run_artifacts.get(name, []) if ctx is not None else []
        if drafts and version is None:
            return ArtifactVersionView(self._project(), drafts[-1])
        linked = {**(self.existing or {}).get("artifacts", {}),
                  **(self.existing or {}).get("model_artifacts", {})}  # fmt: skip
        record = (
            self._project().index.artifact_by_id(linked[name]["id"]) if name in linked else None
        )
        if record is not None:
            return ArtifactVersionView(self._project(), record)
        known = sorted(ctx.run_artifacts) if ctx is not None else []
        raise NotFoundError(f"artifact of model {self.name} (this run)", name, known)

    def get_model_artifact(self, name: str, version: str | int | None = None) -> Any:
        return self.get_artifact(name, version)

    def get_data_artifact(self, name: str, version: str | int | None = None) -> Any:
        return self.get_artifact(name, version)

    def load_artifact(self, name: str, version: str | int | None = None) -> Any:
        return self.get_artifact(name, version).load()

    def log_metadata(self, metadata: dict[str, Any]) -> None:
        """Attach metadata to this version (stored when the run is committed)."""
        from engine.runtime import current_step_context
        from store.errors import ValidationError

        ctx = current_step_context()
        if ctx is None:
            raise ValidationError("log_metadata() of the version a run creates works in a step")
        ctx.model_metadata.update(metadata)

    def set_stage(self, stage: Any, force: bool = False) -> None:
        """Promote this version to ``stage`` once the run is committed (:func:`request_stage`)."""
        request_stage(self._project(), self.name, stage, force)

    def _project(self) -> Any:
        from engine.executor import _project

        return _project(self.root)

    def __repr__(self) -> str:
        return f"<model {self.name}:{self.version} (this run)>"
