"""The model a run creates or uses: its reference, its new version, its stage requests.

A pipeline with ``model=Model(...)`` either creates a version (numbered when the run is
committed) or uses an existing one (resolved once, when the record is first written). Either
way every artifact the run produces is linked to that version (ZenML semantics), outputs taken
from the cache too. ``Model.set_stage`` requests of the steps
are carried out once the version number exists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from engine import events as ev
from store.errors import MlxError
from store.project import Project
from store.records import ArtifactRef, ModelRef, StepRecord

__all__ = ["ModelLink"]


class ModelLink:
    """The pipeline's model as one run sees it."""

    def __init__(
        self, project: Project, pipeline: Any, run_id: str, emit: Callable[[ev.Event], None]
    ) -> None:
        self.project = project
        self.pipeline = pipeline  # its ``model`` is read when needed
        self.run_id = run_id
        self.emit = emit
        self.stage_requests: list[tuple[str, bool]] = []
        self._consumed_version: int | None = None

    @property
    def model(self) -> Any:
        return self.pipeline.model

    def step_model(self) -> Any:
        """The model object a step sees (bound to this run when it supports it)."""
        prepare = getattr(self.model, "_for_step", None)
        return prepare(self.project, self.run_id) if callable(prepare) else self.model

    def ref(self) -> ModelRef | None:
        """The model this run creates (numbered at commit) or uses (resolved now)."""
        model = self.model
        if model is None:
            return None
        if getattr(model, "creates_version", True):
            version = model.version if isinstance(getattr(model, "version", None), int) else None
            return ModelRef(name=model.name, version=version)
        if self._consumed_version is None:
            self._consumed_version = model.resolve_number(self.project)
        return ModelRef(name=model.name, version=self._consumed_version)

    def draft(
        self,
        pipeline: str,
        metadata: dict[str, Any],
        cached_steps: Iterable[StepRecord],
        outputs: Mapping[tuple[str, str], tuple[ArtifactRef, dict[str, Any]]],
    ) -> dict[str, Any] | None:
        """The new model version's draft, or None when the run makes no version."""
        make = getattr(self.model, "_version_draft", None)
        if not callable(make):
            return None
        draft = make(self.project, self.run_id, pipeline, metadata)
        if not isinstance(draft, dict):
            return None
        if draft.get("attach"):  # additions to the version this run used, not a new one
            if self._consumed_version is None:
                return None
            draft["version"] = self._consumed_version
        # outputs taken from the cache belong to the version too (new ones are linked at commit)
        for step in cached_steps:
            for out_name, ref in step.outputs.items():
                record = outputs.get((step.name, out_name), (ref, {}))[1]
                kind = "model_artifacts" if record.get("is_model_artifact") else "artifacts"
                draft.setdefault(kind, {})[ref.name] = ref.model_dump()
        return draft

    def promote(self, model: str, version: int) -> None:
        """Carry out ``Model.set_stage`` requests of the steps, now that the number exists."""
        from store.promotion import promote

        for stage, force in self.stage_requests:
            try:
                result = promote(self.project, model, version, stage, force=force)
            except MlxError as exc:
                self.emit(ev.ModelPromoted(run_id=self.run_id, model=model, version=version,
                                           stage=stage, mode="", error=str(exc)))  # fmt: skip
                # a script calling the pipeline sees it too, not only the CLI
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
