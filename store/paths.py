"""Where every record lives: ref names, paths inside the runs ref, paths under ``.git/mlx``.

One module owns the layout so readers and writers cannot disagree. Run records are sharded by
the first two hex digits of the (random) run id, which keeps each append to a few small trees
however many runs exist.
"""

from __future__ import annotations

import re
from pathlib import Path

DEFAULT_RUNS_REF = "refs/mlx/runs"
RUNS_DIR = "runs"
ARTIFACTS_DIR = "artifacts"
MODELS_DIR = "models"

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def valid_name(name: str) -> bool:
    """Artifact and model names become path segments: letters, digits, ``_ . -``."""
    return bool(_NAME_RE.match(name)) and ".." not in name and not name.endswith(".lock")


def run_path(run_id: str) -> str:
    """Path of a run record on the runs ref."""
    return f"{RUNS_DIR}/{run_id[:2]}/{run_id}.json"


def artifact_dir(name: str) -> str:
    """Directory holding every version record of one artifact name."""
    return f"{ARTIFACTS_DIR}/{name}"


def artifact_path(name: str, version: int) -> str:
    """Path of one artifact-version record."""
    return f"{ARTIFACTS_DIR}/{name}/{version}.json"


def model_dir(name: str) -> str:
    """Directory holding every version record of one model."""
    return f"{MODELS_DIR}/{name}"


def model_version_path(name: str, version: int) -> str:
    """Path of one model-version record."""
    return f"{MODELS_DIR}/{name}/{version}.json"


def parse_record_path(path: str) -> tuple[str, str, str] | None:
    """Split a runs-ref path into ``(kind, key, sub)``.

    ``runs/ab/abcd.json`` -> ``("run", "abcd", "")``;
    ``artifacts/model/3.json`` -> ``("artifact", "model", "3")``;
    ``models/iris/2.json`` -> ``("model", "iris", "2")``. Anything else -> ``None``.
    """
    if not path.endswith(".json"):
        return None
    parts = path[:-5].split("/")
    if len(parts) == 3 and parts[0] == RUNS_DIR:
        return ("run", parts[2], "")
    if len(parts) == 3 and parts[0] == ARTIFACTS_DIR:
        return ("artifact", parts[1], parts[2])
    if len(parts) == 3 and parts[0] == MODELS_DIR:
        return ("model", parts[1], parts[2])
    return None


def mlx_state_dir(git_common_dir: Path) -> Path:
    """Local, derived state (index, journals, live logs) lives in ``.git/mlx``."""
    return git_common_dir / "mlx"


def journal_dir(git_common_dir: Path) -> Path:
    return mlx_state_dir(git_common_dir) / "journal"


def live_log_dir(git_common_dir: Path, run_id: str) -> Path:
    return mlx_state_dir(git_common_dir) / "logs" / run_id


def index_path(git_common_dir: Path) -> Path:
    return mlx_state_dir(git_common_dir) / "index.sqlite"
