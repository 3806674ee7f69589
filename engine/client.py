"""``Client``: read runs and artifact versions from Python, ZenML style.

Views returned here are frozen wrappers over stored records. An :class:`ArtifactVersionView`
(defined with the value loading it wraps, in :mod:`engine.artifacts`) is a *lazy reference*:
passing it into a step inside another pipeline wires that step to the stored version (nothing
is copied); ``.load()`` reads the value outside a pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any

from engine.artifacts import ArtifactVersionView
from store.errors import NotFoundError, ValidationError
from store.project import Project
from store.records import RunRecord, StepRecord

__all__ = ["ArtifactVersionView", "Client", "PipelineRunView", "StepRunView"]


class StepRunView:
    """One step of a run, with loadable outputs: ``run.steps["trainer"].outputs["model"]``."""

    def __init__(self, project: Project, record: StepRecord) -> None:
        self._project = project
        self.record = record
        self.name = record.name
        self.status = record.status

    @cached_property
    def outputs(self) -> dict[str, ArtifactVersionView]:
        return {k: _artifact_by_id(self._project, r.id) for k, r in self.record.outputs.items()}

    @cached_property
    def inputs(self) -> dict[str, ArtifactVersionView]:
        return {k: _artifact_by_id(self._project, r.id) for k, r in self.record.inputs.items()}

    @property
    def output(self) -> ArtifactVersionView:
        if len(self.outputs) != 1:
            raise ValidationError(f"step {self.name!r} has {len(self.outputs)} outputs; name one")
        return next(iter(self.outputs.values()))


class PipelineRunView:
    """A finished (or crashed) run."""

    def __init__(self, project: Project, record: RunRecord) -> None:
        self._project = project
        self.record = record

    id = property(lambda self: self.record.id)
    name = property(lambda self: self.record.pipeline)
    pipeline = property(lambda self: self.record.pipeline)
    status = property(lambda self: self.record.status)

    @cached_property
    def steps(self) -> dict[str, StepRunView]:
        return {s.name: StepRunView(self._project, s) for s in self.record.steps}

    def __repr__(self) -> str:
        return f"<run {self.id[:8]} {self.pipeline} {self.status}>"


def _artifact_by_id(project: Project, artifact_id: str) -> ArtifactVersionView:
    record = project.index.artifact_by_id(artifact_id)
    if record is None:
        raise NotFoundError("artifact id", artifact_id)
    return ArtifactVersionView(project, record)


class Client:
    """Entry point to a project's stored runs, artifacts and models.

    Args:
        project: the project; by default the one containing the working directory.
    """

    def __init__(self, project: Project | str | None = None) -> None:
        if isinstance(project, Project):
            self.project = project
        else:
            self.project = Project.find(project)

    # -- artifacts -------------------------------------------------------------------------
    def get_artifact_version(
        self, name_id_or_prefix: str, version: int | str | None = None
    ) -> ArtifactVersionView:
        """An artifact version by name (latest when ``version`` is None)."""
        name, number = _split_label(name_id_or_prefix, version)
        return ArtifactVersionView(self.project, self.project.index.artifact_json(name, number))

    def list_artifact_versions(self, name: str | None = None) -> list[ArtifactVersionView]:
        names = [name] if name else [n for n, _, _ in self.project.index.artifact_names()]
        return [
            ArtifactVersionView(self.project, rec)
            for n in names
            for rec in self.project.index.artifact_versions(n)
        ]

    def list_artifacts(self) -> list[str]:
        return [n for n, _, _ in self.project.index.artifact_names()]

    # -- runs ------------------------------------------------------------------------------
    def get_pipeline_run(self, run_id: str) -> PipelineRunView:
        record = RunRecord.model_validate(self.project.index.run_json(run_id))
        return PipelineRunView(self.project, record)

    def list_pipeline_runs(
        self, pipeline: str | None = None, status: str | None = None, limit: int | None = None
    ) -> list[PipelineRunView]:
        rows = self.project.index.list_runs(pipeline=pipeline, status=status, limit=limit)
        return [self.get_pipeline_run(r.id) for r in rows]

    def iter_runs(self) -> Iterator[PipelineRunView]:
        for row in self.project.index.list_runs():
            yield self.get_pipeline_run(row.id)

    # -- models ----------------------------------------------------------------------------
    def get_model_version(self, name: str, version: int | str | None = None) -> Any:
        """A model version by number, stage name (``production``) or ``latest``."""
        from engine.model import Model

        return Model(name=name, version=version).resolve(self.project)


def _split_label(name: str, version: int | str | None) -> tuple[str, int | None]:
    if version is None and ":" in name:
        name, version = name.split(":", 1)
    if version is None or version == "latest":
        return name, None
    try:
        return name, int(version)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"artifact version must be a number or 'latest', got {version!r}"
        ) from exc
