"""The mlx user API: steps, pipelines, models, contexts and the client (ZenML-compatible names).

Import everything from here::

    from engine import step, pipeline, Model, ModelStages, Client, get_step_context
"""

from engine import fileio
from engine.artifact_utils import (
    add_tags,
    load_artifact,
    log_artifact_metadata,
    log_metadata,
    log_model_metadata,
    log_step_metadata,
    save_artifact,
)
from engine.artifacts import UnmaterializedArtifact
from engine.caching import CachePolicy
from engine.client import ArtifactVersionView, Client, PipelineRunView
from engine.compat import DockerSettings, ResourceSettings
from engine.compiler import ExternalArtifact
from engine.context import StepContext, get_pipeline_context, get_step_context
from engine.enums import ArtifactType, VisualizationType
from engine.logger import get_logger
from engine.materializers import BaseMaterializer
from engine.model import Model, ModelStages, ModelVersionView
from engine.pipeline import Pipeline, PipelineRunFailedError, pipeline
from engine.retry import StepRetryConfig
from engine.step import ArtifactConfig, BaseStep, Step, step
from engine.types import CSVString, HTMLString, JSONString, MarkdownString
from store.errors import MlxError

__all__ = [
    "ArtifactConfig",
    "ArtifactType",
    "ArtifactVersionView",
    "BaseMaterializer",
    "BaseStep",
    "CSVString",
    "CachePolicy",
    "Client",
    "DockerSettings",
    "ExternalArtifact",
    "HTMLString",
    "JSONString",
    "MarkdownString",
    "MlxError",
    "Model",
    "ModelStages",
    "ModelVersionView",
    "Pipeline",
    "PipelineRunFailedError",
    "PipelineRunView",
    "ResourceSettings",
    "Step",
    "StepContext",
    "StepRetryConfig",
    "UnmaterializedArtifact",
    "VisualizationType",
    "add_tags",
    "fileio",
    "get_logger",
    "get_pipeline_context",
    "get_step_context",
    "load_artifact",
    "log_artifact_metadata",
    "log_metadata",
    "log_model_metadata",
    "log_step_metadata",
    "pipeline",
    "save_artifact",
    "step",
]
