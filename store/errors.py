"""The one exception hierarchy of mlx.

Every error mlx raises on purpose derives from :class:`MlxError`; the CLI and the TUI render
them at one boundary each (exit code 2 for usage/config errors, 1 for a failed run). Errors
inherit a builtin where the meaning matches so callers can catch them naturally::

    MlxError
    ├── ConfigError                 malformed mlx.toml / stacks/*.toml / models/*.toml (file:line)
    ├── ProjectNotFoundError        no mlx.toml above the working directory
    ├── NotFoundError (KeyError)    unknown pipeline, stack, artifact, version, run, model
    ├── ValidationError (ValueError) bad parameter value or type, bad step/pipeline definition
    │   ├── InvalidRecordError      a record on the runs ref breaks its schema (exit 1)
    │   └── InvalidRecordsError     a fetched runs ref holds invalid records: refused (exit 1)
    ├── GitError                    a git command failed
    │   ├── RefConflictError        a compare-and-swap on a ref kept losing / union conflict
    │   └── GitRemoteError          a git remote failed or refused (exit 1)   [RemoteError]
    ├── ArtifactError               DVC cache / remote problems
    │   ├── ArtifactMissingError    bytes not in the cache nor the remote (exit 1)
    │   │   └── PushRefusedError    a push would publish records whose bytes exist nowhere
    │   └── DvcRemoteError          a DVC remote failed or does not exist (exit 1) [RemoteError]
    ├── RemoteError                 base of the two remote failures: network, permissions (exit 1)
    ├── MaterializerError           a materializer failed to save or load a value
    ├── PromotionError              a model promotion was refused
    │   └── GateError               ... because the version fails its gates (exit 1)
    ├── DirtyTreeError              --require-clean and the run's code has local changes (exit 1)
    └── RunFailedError (RuntimeError) a pipeline run failed (carries the run id)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ArtifactError",
    "ArtifactMissingError",
    "ConfigError",
    "DirtyTreeError",
    "DvcRemoteError",
    "GateError",
    "GitError",
    "GitRemoteError",
    "InvalidRecordError",
    "InvalidRecordsError",
    "MaterializerError",
    "MlxError",
    "MlxWarning",
    "NotFoundError",
    "ProjectNotFoundError",
    "PromotionError",
    "PushRefusedError",
    "RefConflictError",
    "RemoteError",
    "RunFailedError",
    "ValidationError",
    "did_you_mean",
]


class MlxError(Exception):
    """Base of every error mlx raises deliberately."""

    exit_code: int = 2


class ConfigError(MlxError):
    """A configuration file is malformed.

    Attributes:
        path: the file.
        key: dotted key inside the file, if known.
        line: 1-based line number, if known.
    """

    def __init__(
        self, path: str, message: str, *, key: str | None = None, line: int | None = None
    ) -> None:
        self.path = path
        self.key = key
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line else path
        what = f" [{key}]" if key else ""
        super().__init__(f"{where}{what}: {message}")


class ProjectNotFoundError(MlxError):
    """No ``mlx.toml`` was found in the directory or any parent."""


class NotFoundError(KeyError, MlxError):
    """A named thing (pipeline, stack, run, artifact, model, version) does not exist."""

    def __init__(
        self, kind: str, name: str, candidates: Iterable[str] = (), hint: str = ""
    ) -> None:
        self.kind = kind
        self.name = name
        message = f"unknown {kind} {name!r}"
        message += did_you_mean(name, candidates)
        if hint:
            message += f" {hint}"
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0])


class ValidationError(ValueError, MlxError):
    """A value or a definition is invalid (wrong parameter type, untyped step argument, ...)."""


class InvalidRecordError(ValidationError):
    """A record on a runs ref (local or fetched) does not validate.

    Attributes:
        path: the record's path inside the ref.
        reason: what is wrong with it.
    """

    exit_code = 1

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"invalid record {path}: {reason}")


class InvalidRecordsError(ValidationError):
    """Records fetched from a remote do not validate, so none of them is taken in.

    Attributes:
        problems: ``(path, reason)`` of every invalid record.
    """

    exit_code = 1

    def __init__(self, where: str, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        shown = "".join(f"\n  {path}: {reason}" for path, reason in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(
            f"refused {where}: {len(problems)} invalid record(s); the local runs ref is "
            f"unchanged. Ask whoever pushed them to remove them:{shown}{more}"
        )


class MlxWarning(UserWarning):
    """Something was skipped or repaired; the command went on (the CLI prints one line)."""


class GitError(MlxError):
    """A git command failed."""


class RefConflictError(GitError):
    """A ref could not be updated (it kept moving, or two histories disagree on a path)."""


class ArtifactError(MlxError):
    """The artifact store (DVC cache or remote) failed."""


class ArtifactMissingError(ArtifactError):
    """An artifact's bytes are neither in the local DVC cache nor in the remote."""

    exit_code = 1


class PushRefusedError(ArtifactMissingError):
    """``mlx push`` refused: records to publish reference bytes that exist nowhere.

    Attributes:
        missing: the md5s neither in the local cache nor on the DVC remote.
    """

    def __init__(self, message: str, missing: Iterable[str] = ()) -> None:
        self.missing = tuple(missing)
        super().__init__(message)


class RemoteError(MlxError):
    """A git or DVC remote could not be reached, refused, or does not exist (exit 1)."""

    exit_code = 1


class GitRemoteError(RemoteError, GitError):
    """A fetch or push to a git remote failed for another reason than a lost race."""


class DvcRemoteError(RemoteError, ArtifactError):
    """A DVC remote failed (network, permissions) or its local directory does not exist."""


class MaterializerError(MlxError):
    """A materializer could not save or load a value."""


class PromotionError(MlxError):
    """A model promotion was refused."""


class GateError(PromotionError):
    """A promotion was refused because the version fails (or lacks metrics for) its gates."""

    exit_code = 1


class DirtyTreeError(MlxError):
    """``mlx run --require-clean`` found modified or untracked code."""

    exit_code = 1


class EntityExistsError(MlxError):
    """A name that must be unique is taken: a run name, or an explicit artifact version name
    (ZenML's ``EntityExistsError``)."""

    exit_code = 1


class RunFailedError(MlxError, RuntimeError):
    """A pipeline run failed (a ``RuntimeError`` too, as ZenML raises for failed runs)."""

    exit_code = 1

    def __init__(self, message: str, run_id: str | None = None) -> None:
        self.run_id = run_id
        super().__init__(message)


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` (or a list of known names) for an unknown ``name``."""
    names = sorted(set(candidates))
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    if names:
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        return f" (known: {shown})"
    return ""
