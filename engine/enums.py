"""ZenML's enumerations that ported code uses (``ArtifactType``); ``ModelStages`` is in model.py."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ArtifactType", "VisualizationType"]


class ArtifactType(StrEnum):
    """Kinds of artifact (ZenML's values). ``MODEL`` marks a model artifact of a version."""

    DATA = "DataArtifact"
    MODEL = "ModelArtifact"
    DATA_ANALYSIS = "DataAnalysisArtifact"
    SCHEMA = "SchemaArtifact"
    STATISTICS = "StatisticsArtifact"
    SERVICE = "ServiceArtifact"
    BASE = "BaseArtifact"


class VisualizationType(StrEnum):
    """Kinds of visualization a ZenML materializer declares (mlx previews values itself)."""

    CSV = "csv"
    HTML = "html"
    IMAGE = "image"
    MARKDOWN = "markdown"
    JSON = "json"
