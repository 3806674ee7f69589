"""``Model`` and ``ModelStages``: the model-control-plane API of pipelines and steps.

A pipeline with ``model=Model(name=...)`` (no version) creates the next model version on each
run and links every artifact the run produces to it. ``Model(name, version="production")``
(or a number, or ``"latest"``) *consumes* an existing version: stage names resolve through
``models/<name>.toml`` at the checked-out commit, so a merged promotion changes what an
inference pipeline uses without anyone copying an artifact id.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from engine.artifacts import ArtifactVersionView
from store.errors import MlxError, NotFoundError, ValidationError, did_you_mean

if TYPE_CHECKING:
    from store.project import Project

__all__ = ["Model", "ModelStages", "ModelVersionView"]


class ModelStages(StrEnum):
    """The recommended stage names (stages are free-form; ``latest`` is virtual)."""

    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"
    LATEST = "latest"


class Model:
    """A model, optionally pinned to a version number or stage.

    Args:
        name: the model name (``models/<name>.toml`` holds its stages).
        version: None to create a new version per run; a number, a stage name or ``latest``
            to use an existing one.
        description, tags, license: stored on new versions.
    """

    def __init__(
        self,
        name: str,
        version: int | str | ModelStages | None = None,
        *,
        description: str | None = "",
        tags: list[str] | None = None,
        license: str | None = "",
        **details: Any,
    ) -> None:
        from store.names import check_name

        self.name = check_name("model name", name)
        unknown = set(details) - _ZENML_DETAILS
        if unknown:
            raise ValidationError(
                f"Model({name!r}): unknown argument {sorted(unknown)[0]!r}"
                f"{did_you_mean(sorted(unknown)[0], _ZENML_DETAILS)}"
            )
        self.version = version.value if isinstance(version, ModelStages) else version
        if isinstance(self.version, str) and self.version.isdigit():
            self.version = int(self.version)
        self.description = description or ""
        self.tags = list(tags or [])
        self.license = license or ""
        self.details = {k: v for k, v in details.items() if v is not None}

    @property
    def creates_version(self) -> bool:
        """True when runs make (or add to) a version: no version, a number or a version name.

        A stage (``production``, ``staging``, ``archived``, ``latest``, or a stage listed in
        ``models/<name>.toml``) means the run *uses* the version holding it instead.
        """
        if self.version is None or isinstance(self.version, int):
            return True
        return not self._is_stage(str(self.version))

    def _is_stage(self, label: str) -> bool:
        if label in {s.value for s in ModelStages}:
            return True
        from store.models import load_model_config
        from store.project import Project

        try:
            return label in load_model_config(Project.find(), self.name).stages
        except MlxError:
            return False

    @property
    def version_name(self) -> str | None:
        """The version's name when ``version`` is a name (``Model(version="sgd")``)."""
        return self.version if isinstance(self.version, str) and self.creates_version else None

    def __repr__(self) -> str:
        return f"Model(name={self.name!r}, version={self.version!r})"

    # -- resolution ------------------------------------------------------------------------
    def resolve_number(self, project: Project) -> int:
        """The version number this model refers to (stage names through the TOML)."""
        versions = project.index.model_versions(self.name)
        if not versions and self.version is None:
            raise NotFoundError("model", self.name, project.index.model_names(),
                                hint="(no version has been recorded yet)")  # fmt: skip
        if self.version is None or self.version == ModelStages.LATEST:
            if not versions:
                raise NotFoundError("model", self.name, project.index.model_names())
            return int(versions[-1]["version"])
        if isinstance(self.version, int) or str(self.version).isdigit():
            return int(self.version)
        named = _named_version(versions, str(self.version))
        if named is not None:
            return named
        from store.models import load_model_config

        config = load_model_config(project, self.name)
        number = config.stages.get(str(self.version))
        if number is None:
            raise NotFoundError(
                f"stage of model {self.name!r}",
                str(self.version),
                list(config.stages) + ["latest"],
                hint=f"(stages live in models/{self.name}.toml [stages])",
            )
        return int(number)

    def resolve(self, project: Project) -> ModelVersionView:
        number = self.resolve_number(project)
        record = project.index.model_version_json(self.name, number)
        if record is None:
            known = [str(v["version"]) for v in project.index.model_versions(self.name)]
            raise NotFoundError(f"version of model {self.name!r}", str(number), known)
        return ModelVersionView(project, record)

    # -- hooks used by the runner ----------------------------------------------------------
    def _bind_for_compile(self) -> Any:
        """What ``get_pipeline_context().model`` returns while the body compiles."""
        if self.creates_version:
            return self
        from store.project import Project

        return self.resolve(Project.find())

    def _for_step(self, project: Project, run_id: str) -> Any:
        """What ``get_step_context().model`` returns inside a step."""
        if self.creates_version:
            from engine.model_run import InRunModelVersion

            number = self._existing_number(project)
            return InRunModelVersion.plan(
                project, self.name, number, self.version_name, self.description, self.tags
            )
        return self.resolve(project)

    def _existing_number(self, project: Project) -> int | None:
        """The number of the version this run adds to, when it exists already."""
        if isinstance(self.version, int):
            return self.version
        if self.version_name is None:
            return None
        return _named_version(project.index.model_versions(self.name), self.version_name)

    def _version_draft(
        self, project: Project, run_id: str, pipeline: str, metadata: dict[str, Any]
    ) -> dict[str, Any] | None:
        if not self.creates_version:  # a used version: the run's artifacts and metadata
            return {
                "id": uuid.uuid4().hex, "name": self.name, "attach": True,
                "version": None, "run_id": run_id, "pipeline": pipeline,  # the runner sets it
                "created_at": datetime.now(UTC).isoformat(), "metadata": metadata,
            }  # fmt: skip
        return {
            "id": uuid.uuid4().hex, "name": self.name,
            "version": self._existing_number(project), "version_name": self.version_name,
            "run_id": run_id, "pipeline": pipeline,
            "created_at": datetime.now(UTC).isoformat(), "description": self.description,
            "metadata": metadata, "tags": self.tags,
        }  # fmt: skip

    def set_stage(self, stage: str | ModelStages, force: bool = False) -> None:
        """Propose this run's new version for ``stage`` (done when the run is committed).

        The promotion lands as ``mlx model promote`` would: a pull-request branch, or a direct
        commit when ``mlx.toml`` says ``promotion = "direct"``; it is refused (and reported)
        when the version fails its gates, unless ``force``.

        Raises:
            ValidationError: outside a step, or ``stage`` is not an allowed stage.
            NotFoundError: there is no ``models/<name>.toml`` (``mlx model register`` makes it).
        """
        from engine.model_run import request_stage
        from store.project import Project

        request_stage(Project.find(), self.name, stage, force)

    # ZenML calls these on the step-context model of a producing run
    def get_model_artifact(self, name: str) -> Any:
        raise ValidationError(
            f"model {self.name!r} is being created by this run; load artifacts of an existing "
            "version with Model(name, version='production' | N | 'latest')"
        )


_ZENML_DETAILS = frozenset({
    "audience", "use_cases", "limitations", "trade_offs", "ethics", "save_models_to_registry",
    "suppress_class_validation_warnings", "model_version_id", "was_created_in_this_run",
})  # fmt: skip


def _named_version(versions: list[dict[str, Any]], label: str) -> int | None:
    found = [int(v["version"]) for v in versions if v.get("version_name") == label]
    return found[-1] if found else None


class ModelVersionView:
    """One recorded model version."""

    def __init__(self, project: Project, record: dict[str, Any]) -> None:
        self._project = project
        self.record = record
        self.name: str = record["name"]
        self.number: int = int(record["version"])
        self.version: int | str = record.get("version_name") or self.number
        self.id: str = record.get("id", "")
        self.model_version_id = self.id
        self.metadata: dict[str, Any] = dict(record.get("metadata", {}))
        self.run_metadata = self.metadata
        self.run_id: str | None = record.get("run_id")

    @property
    def stages(self) -> list[str]:
        from store.models import load_model_config

        try:
            config = load_model_config(self._project, self.name)
        except NotFoundError:
            return []
        return sorted(s for s, v in config.stages.items() if v == self.number)

    def get_artifact(self, name: str) -> ArtifactVersionView:
        refs = {**self.record.get("artifacts", {}), **self.record.get("model_artifacts", {})}
        return self._in_run(name, None) or self._view(name, refs)

    def get_model_artifact(self, name: str) -> ArtifactVersionView:
        return self._in_run(name, True) or self._view(name, self.record.get("model_artifacts", {}))

    def get_data_artifact(self, name: str) -> ArtifactVersionView:
        return self._in_run(name, False) or self._view(name, self.record.get("artifacts", {}))

    def _in_run(self, name: str, model: bool | None) -> ArtifactVersionView | None:
        """``name`` made earlier in the running pipeline when that run uses this version: it
        is linked to this version as soon as it exists (ZenML), the record at commit."""
        from engine.runtime import current_step_context

        ctx = current_step_context()
        used = ctx.model if ctx is not None else None
        if ctx is None or not isinstance(used, ModelVersionView):
            return None
        if (used.name, used.number) != (self.name, self.number):
            return None
        drafts = [d for d in ctx.run_artifacts.get(name, [])
                  if model is None or bool(d.get("is_model_artifact")) == model]  # fmt: skip
        return ArtifactVersionView(self._project, drafts[-1]) if drafts else None

    def load_artifact(self, name: str) -> Any:
        return self.get_artifact(name).load()

    def log_metadata(self, metadata: dict[str, Any]) -> None:
        """Add metadata to this version from a step of a run that uses it (ZenML's
        ``Model.log_metadata``); stored when the run is committed."""
        from engine.model_run import log_run_model_metadata
        from engine.runtime import current_step_context

        log_run_model_metadata(current_step_context(), metadata, self.name, self.number)

    def set_stage(self, stage: str | ModelStages, force: bool = False) -> Any:
        """Promote this version now (branch or direct commit, per ``mlx.toml``)."""
        from store.promotion import promote

        return promote(self._project, self.name, self.number,
                       str(getattr(stage, "value", stage)), force=force)  # fmt: skip

    def _view(self, name: str, refs: dict[str, Any]) -> ArtifactVersionView:
        if name not in refs:
            raise NotFoundError(f"artifact of model {self.name}:{self.number}", name, list(refs))
        record = self._project.index.artifact_by_id(refs[name]["id"])
        if record is None:
            raise NotFoundError("artifact", name)
        return ArtifactVersionView(self._project, record)

    def __reduce__(self) -> tuple[Any, ...]:
        # process-pool workers rebuild the view on their own project handle
        return (_rebuild_view, (str(self._project.root), self.record))

    def __repr__(self) -> str:
        return f"<model {self.name}:{self.number}>"


def _rebuild_view(root: str, record: dict[str, Any]) -> ModelVersionView:
    from pathlib import Path

    from store.project import Project

    return ModelVersionView(Project(Path(root)), record)
