"""Git-backed state of an mlx project: records, the runs ref, the DVC artifact store, the index.

This package knows nothing of user code, decorators or Textual (layers: tui -> engine -> store).
"""

from store.errors import (
    ArtifactError,
    ArtifactMissingError,
    ConfigError,
    GitError,
    MaterializerError,
    MlxError,
    NotFoundError,
    ProjectNotFoundError,
    PromotionError,
    RefConflictError,
    RunFailedError,
    ValidationError,
)

__all__ = [
    "ArtifactError",
    "ArtifactMissingError",
    "ConfigError",
    "GitError",
    "MaterializerError",
    "MlxError",
    "NotFoundError",
    "ProjectNotFoundError",
    "PromotionError",
    "RefConflictError",
    "RunFailedError",
    "ValidationError",
]
