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

__all__ = [
    "ArtifactVersionView",
    "Client",
    "ModelView",
    "PipelineRunView",
    "PipelineView",
    "StackView",
    "StepRunView",
]


class StepRunView:
    """One step of a run, with loadable outputs: ``run.steps["trainer"].outputs["model"]``."""

    def __init__(self, project: Project, record: StepRecord) -> None:
        self._project = project
        self.record = record
        self.name = record.name
        self.status = record.status
        self.config = _RunConfigView(dict(record.parameters))

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
    name = property(lambda self: self.record.name or f"{self.record.pipeline}-{self.record.id[:8]}")
    pipeline_name = property(lambda self: self.record.pipeline)
    pipeline = pipeline_name
    status = property(lambda self: self.record.status)
    config = property(lambda self: _RunConfigView(dict(self.record.parameters)))

    @cached_property
    def steps(self) -> dict[str, StepRunView]:
        return {s.name: StepRunView(self._project, s) for s in self.record.steps}

    def __repr__(self) -> str:
        return f"<run {self.id[:8]} {self.pipeline} {self.status}>"


class LiveRunView:
    """The run a step belongs to, as seen from inside it: the steps finished so far."""

    def __init__(self, project: Project, ctx: Any) -> None:
        self._project = project
        self.id: str = ctx.run_id
        self.name: str = ctx.run_name or ctx.pipeline_name
        self.pipeline_name: str = ctx.pipeline_name
        self.status = "running"
        self.config = _RunConfigView(dict(ctx.run_parameters))
        self.steps = {
            step: _LiveStepView(project, step, outputs) for step, outputs in ctx.run_steps.items()
        }

    def __repr__(self) -> str:
        return f"<run {self.id[:8]} {self.pipeline_name} running>"


class _LiveStepView:
    def __init__(self, project: Project, name: str, outputs: dict[str, Any]) -> None:
        self.name = name
        self.status = "completed"
        self.outputs = {k: ArtifactVersionView(project, v) for k, v in outputs.items()}

    @property
    def output(self) -> ArtifactVersionView:
        if len(self.outputs) != 1:
            raise ValidationError(f"step {self.name!r} has {len(self.outputs)} outputs; name one")
        return next(iter(self.outputs.values()))


class _RunConfigView:
    def __init__(self, parameters: dict[str, Any]) -> None:
        self.parameters = parameters


def _artifact_by_id(project: Project, artifact_id: str) -> ArtifactVersionView:
    record = project.index.artifact_by_id(artifact_id)
    if record is None:
        raise NotFoundError("artifact id", artifact_id)
    return ArtifactVersionView(project, record)


class Client:
    """Entry point to a project's stored runs, artifacts and models (ZenML's shapes too).

    Lookups that find nothing raise :class:`~store.errors.NotFoundError`, a ``KeyError``.

    Args:
        project: the project; by default the one containing the working directory.
    """

    def __init__(self, project: Project | str | None = None) -> None:
        if isinstance(project, Project):
            self.project = project
        else:
            self.project = Project.find(project)

    def __getattr__(self, name: str) -> Any:
        """ZenML ``Client`` API that mlx does not have fails loudly, saying what to use."""
        if name.startswith("_"):
            raise AttributeError(name)
        advice = next((text for prefix, text in _CLIENT_ADVICE if prefix in name), None)
        raise AttributeError(
            f"Client.{name} is ZenML API that mlx does not provide: "
            + (advice or "see the ZenML compatibility table in mlx's README")
        )

    # -- artifacts -------------------------------------------------------------------------
    def get_artifact_version(
        self,
        name_id_or_prefix: Any = None,
        version: int | str | None = None,
        *,
        name: str | None = None,
    ) -> ArtifactVersionView:
        """An artifact version by name (latest when ``version`` is None) or by id.

        Inside a step, the latest version of a name includes those made earlier in this run.
        """
        key = name if name is not None else name_id_or_prefix
        if key is None:
            raise ValidationError("get_artifact_version() needs a name or an id")
        if isinstance(version, str) and not version.isdigit() and version != "latest":
            return self._named_artifact_version(str(key), version)
        label, number = _split_label(str(key), version)
        in_run = _in_run_artifact(label) if number is None else None
        if in_run is not None:
            return ArtifactVersionView(self.project, in_run)
        try:
            record = self.project.index.artifact_json(label, number)
            return ArtifactVersionView(self.project, record)
        except NotFoundError:
            by_id = self.project.index.artifact_by_id(_hex_id(key))
            if by_id is None or version is not None:
                raise
            return ArtifactVersionView(self.project, by_id)

    def _named_artifact_version(self, name: str, version_name: str) -> ArtifactVersionView:
        versions = self.project.index.artifact_versions(name)
        found = [r for r in versions if r.get("version_name") == version_name]
        if not found:
            known = [str(r.get("version_name") or r["version"]) for r in versions]
            raise NotFoundError(f"version of artifact {name!r}", version_name, known)
        return ArtifactVersionView(self.project, found[-1])

    def list_artifact_versions(
        self, name: str | None = None, *, sort_by: str | None = None, size: int | None = None,
        **_filters: Any,
    ) -> list[ArtifactVersionView]:  # fmt: skip
        names = [name] if name else [n for n, _, _ in self.project.index.artifact_names()]
        found = [
            ArtifactVersionView(self.project, rec)
            for n in names
            for rec in self.project.index.artifact_versions(n)
        ]
        if sort_by is not None and sort_by.startswith("desc"):
            found.reverse()
        return found[:size] if size is not None else found

    def list_artifacts(self) -> list[str]:
        return [n for n, _, _ in self.project.index.artifact_names()]

    # -- runs and pipelines ----------------------------------------------------------------
    def get_pipeline_run(self, name_id_or_prefix: str) -> Any:
        """A run by id, id prefix or name; inside a step, its own run as it is so far."""
        from engine.runtime import current_step_context

        key = str(name_id_or_prefix)
        ctx = current_step_context()
        if ctx is not None and key in (ctx.run_id, ctx.run_name):
            return LiveRunView(self.project, ctx)
        try:
            data = self.project.index.run_json(key)
        except NotFoundError:
            data = self._run_by_name(key)
        return PipelineRunView(self.project, RunRecord.model_validate(data))

    def _run_by_name(self, name: str) -> dict[str, Any]:
        ids = self.project.index.runs_named(name)
        if len(ids) > 1:  # clones that never synced can both use a name (engine.run_names)
            raise ValidationError(
                f"run name {name!r} is ambiguous: runs {', '.join(i[:12] for i in ids)} have "
                "it (made in clones that had not synced); give a run id instead"
            )
        if not ids:
            raise NotFoundError("run", name, hint="(give a run id, an id prefix or a run name)")
        return self.project.index.run_json(ids[0])

    get_run = get_pipeline_run

    def list_pipeline_runs(
        self,
        pipeline: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        *,
        pipeline_name: str | None = None,
        sort_by: str | None = None,
        size: int | None = None,
        **_filters: Any,
    ) -> list[PipelineRunView]:
        """Runs, newest first (``sort_by="asc:created"`` for oldest first)."""
        rows = self.project.index.list_runs(
            pipeline=pipeline_name or pipeline, status=status, limit=None
        )
        if sort_by is not None and sort_by.startswith("asc"):
            rows.reverse()
        count = size if size is not None else limit
        return [self.get_pipeline_run(r.id) for r in rows[:count]]

    def iter_runs(self) -> Iterator[PipelineRunView]:
        for row in self.project.index.list_runs():
            yield self.get_pipeline_run(row.id)

    def get_pipeline(self, name_id_or_prefix: str) -> PipelineView:
        """A pipeline that has runs: ``.name``, ``.runs`` (newest first), ``.last_run``."""
        names = self.project.index.pipelines()
        if name_id_or_prefix not in names:
            raise NotFoundError("pipeline", str(name_id_or_prefix), names,
                                hint="(pipelines are known once they have run)")  # fmt: skip
        return PipelineView(self, str(name_id_or_prefix))

    def list_pipelines(self, **_filters: Any) -> list[PipelineView]:
        return [PipelineView(self, n) for n in self.project.index.pipelines()]

    # -- models ----------------------------------------------------------------------------
    def get_model_version(
        self,
        model_name_or_id: str | None = None,
        model_version_name_or_number_or_id: int | str | None = None,
        *,
        name: str | None = None,
        version: int | str | None = None,
    ) -> Any:
        """A model version by number, version name, stage (``production``) or ``latest``."""
        from engine.model import Model, ModelStages

        model = name or model_name_or_id
        if model is None:
            raise ValidationError("get_model_version() needs the model name")
        wanted = version if version is not None else model_version_name_or_number_or_id
        if isinstance(wanted, ModelStages):
            wanted = wanted.value
        return Model(name=str(model), version=wanted or "latest").resolve(self.project)

    def get_model(self, model_name_or_id: str) -> ModelView:
        """A model: ``.name``, ``.versions``, ``.latest_version``, stages from its TOML."""
        names = self.project.index.model_names()
        if model_name_or_id not in names:
            raise NotFoundError("model", str(model_name_or_id), names)
        return ModelView(self, str(model_name_or_id))

    def list_models(self, **_filters: Any) -> list[ModelView]:
        return [ModelView(self, n) for n in self.project.index.model_names()]

    def list_model_versions(
        self, model_name_or_id: str | None = None, *, sort_by: str | None = None,
        size: int | None = None, **_filters: Any,
    ) -> list[Any]:  # fmt: skip
        """Versions of a model, oldest first (``sort_by="desc:number"`` for newest first)."""
        from engine.model import ModelVersionView

        if model_name_or_id is None:
            raise ValidationError("list_model_versions() needs the model name")
        rows = self.project.index.model_versions(str(model_name_or_id))
        views = [ModelVersionView(self.project, r) for r in rows]
        if sort_by is not None and sort_by.startswith("desc"):
            views.reverse()
        return views[:size] if size is not None else views

    # -- stacks ----------------------------------------------------------------------------
    @property
    def active_stack(self) -> StackView:
        """The active stack: ``.name``, ``.orchestrator.flavor``, ``.artifact_store.remote``."""
        name = self.project.active_stack_name()
        return StackView(name, self.project.load_stack(name))

    active_stack_model = active_stack

    def activate_stack(self, stack_name_id_or_prefix: str) -> None:
        """Make a stack the active one in this clone (as ``mlx stack use``)."""
        self.project.set_active_stack(str(stack_name_id_or_prefix))

    def get_stack(self, name_id_or_prefix: str | None = None) -> StackView:
        name = name_id_or_prefix or self.project.active_stack_name()
        return StackView(name, self.project.load_stack(name))


class StackView:
    """A stack as ZenML code reads it."""

    def __init__(self, name: str, config: Any) -> None:
        self.name = name
        self.id = name
        self.config = config
        self.orchestrator = config.orchestrator
        self.artifact_store = config.artifact_store
        # ZenML stack components mlx does not have: None, as in a ZenML stack without them
        self.experiment_tracker: Any = None
        self.step_operator: Any = None
        self.model_registry: Any = None
        self.model_deployer: Any = None
        self.alerter: Any = None
        self.container_registry: Any = None
        self.image_builder: Any = None
        self.data_validator: Any = None

    def __repr__(self) -> str:
        return f"<stack {self.name}>"


class PipelineView:
    """A pipeline known from its runs."""

    def __init__(self, client: Client, name: str) -> None:
        self._client = client
        self.name = name
        self.id = name

    @property
    def runs(self) -> list[PipelineRunView]:
        return self._client.list_pipeline_runs(pipeline_name=self.name)

    @property
    def last_run(self) -> PipelineRunView:
        runs = self._client.list_pipeline_runs(pipeline_name=self.name, size=1)
        if not runs:
            raise NotFoundError("run of pipeline", self.name)
        return runs[0]

    @property
    def last_successful_run(self) -> PipelineRunView:
        runs = self._client.list_pipeline_runs(pipeline_name=self.name, status="completed",
                                               size=1)  # fmt: skip
        if not runs:
            raise NotFoundError("completed run of pipeline", self.name)
        return runs[0]

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"


class ModelView:
    """A model known from its versions."""

    def __init__(self, client: Client, name: str) -> None:
        self._client = client
        self.name = name
        self.id = name

    @property
    def versions(self) -> list[Any]:
        return self._client.list_model_versions(self.name)

    @property
    def latest_version(self) -> Any:
        return self._client.get_model_version(self.name, "latest")

    def __repr__(self) -> str:
        return f"<model {self.name}>"


def _in_run_artifact(name: str) -> dict[str, Any] | None:
    from engine.runtime import current_step_context

    ctx = current_step_context()
    drafts = ctx.run_artifacts.get(name) if ctx is not None else None
    return drafts[-1] if drafts else None


def _hex_id(key: Any) -> str:
    return str(key).replace("-", "").lower()


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


# what to use instead of ZenML Client API mlx lacks, by a part of the method name
_CLIENT_ADVICE = (
    (
        "secret",
        "mlx has no secret store; read secrets from environment variables (os.environ) "
        "or your secret manager inside the step",
    ),
    (
        "service_connector",
        "mlx has no service connectors; give credentials to the libraries you call as usual",
    ),
    ("stack_component", "stacks are stacks/<name>.toml files (mlx stack list / mlx stack use)"),
    ("zen_store", "records live on the runs ref; use Client's lookups or `mlx runs`"),
    ("deployment", "mlx does not deploy models; export artifacts (mlx artifacts export)"),
    ("service", "mlx does not run model services; export artifacts (mlx artifacts export)"),
    ("schedule", "schedules are [schedules.<name>] tables in mlx.toml"),
    ("user", "mlx records the OS user and host with each run"),
    ("workspace", "an mlx project is one git repository"),
    ("project", "an mlx project is one git repository"),
)
