"""What this clone trusts: pickled artifacts it produced itself, or that the user opted into.

Loading a pickle runs code chosen by whoever wrote the bytes. A record on the runs ref can be
pushed by anyone with push access (a teammate, a CI job, a stolen token), so a pickle is loaded
only when

* this clone stored those very bytes (their md5 is in ``.git/mlx/authored-pickles``, a local
  note written when a step or ``save_artifact`` pickles a value; the bytes are verified against
  the md5 before they are served, so the note vouches for content, not for a record), or
* the user opted in: ``load(allow_pickle=True)``, ``[security] allow_pickle_from = [...]`` in
  ``mlx.toml`` or the ``MLX_ALLOW_PICKLE`` environment variable (comma-separated; for CI),
  whose patterns (``fnmatch``; ``*`` trusts everything) match the artifact name or the id of
  the run that produced it.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store.errors import MaterializerError

if TYPE_CHECKING:
    from store.project import Project

__all__ = ["ENV_ALLOW_PICKLE", "UntrustedPickleError", "check_pickle_trust", "note_authored"]

ENV_ALLOW_PICKLE = "MLX_ALLOW_PICKLE"
_NOTE = "authored-pickles"


class UntrustedPickleError(MaterializerError):
    """A pickled artifact from another clone was not loaded (loading it would run its code)."""


def note_authored(state_dir: Path, md5: str) -> None:
    """Remember that this clone stored the pickle with ``md5`` (one short append)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / _NOTE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{md5}\n".encode())
    finally:
        os.close(fd)


def authored(state_dir: Path) -> set[str]:
    """md5s of every pickle this clone stored."""
    try:
        text = (state_dir / _NOTE).read_text(encoding="ascii", errors="replace")
    except OSError:
        return set()
    return {line.strip() for line in text.splitlines() if line.strip()}


def check_pickle_trust(project: Project, record: Mapping[str, Any], allow: bool = False) -> None:
    """Return when the pickled artifact ``record`` may be loaded here, else raise.

    Raises:
        UntrustedPickleError: names the artifact, the run that produced it and the opt-ins.
    """
    md5 = str((record.get("pointer") or {}).get("md5", ""))
    if allow or md5 in authored(project.state_dir):
        return
    name, run = str(record.get("name", "")), str(record.get("run_id") or "")
    patterns = [*project.config.project.allow_pickle_from, *_env_patterns()]
    if _matches(patterns, (name, run)):
        return
    label = f"{name}:{record.get('version')}"
    step = f", step {record.get('step')!r}" if record.get("step") else ""
    producer = f"produced by run {run}{step}" if run else "saved outside a pipeline run"
    raise UntrustedPickleError(
        f"artifact {label} is a pickle {producer} in another clone;"
        " loading a pickle runs code from its bytes, so mlx only loads pickles this clone made."
        " If you trust its producer: load(allow_pickle=True), or add"
        f' `[security] allow_pickle_from = ["{name}"]` to mlx.toml, or set'
        f" {ENV_ALLOW_PICKLE}={name} (CI). Better: store it with a safe materializer"
    )


def _env_patterns() -> list[str]:
    return [p.strip() for p in os.environ.get(ENV_ALLOW_PICKLE, "").split(",") if p.strip()]


def _matches(patterns: Iterable[str], values: Iterable[str]) -> bool:
    values = [v for v in values if v]
    return any(fnmatch.fnmatchcase(v, p) for p in patterns for v in values)
