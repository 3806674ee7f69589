"""Where every record lives: ref names, paths inside the runs ref, paths under ``.git/mlx``.

One module owns the layout so readers and writers cannot disagree. Run records are sharded by
the first two hex digits of the (random) run id, and numbered versions (artifacts, models) by
buckets of 100 numbers, so an append rewrites only a few small trees however many records
exist: ``runs/ab/abcd….json``, ``artifacts/<name>/0/7.json``, ``models/<name>/10/1042.json``.
"""

from __future__ import annotations

from pathlib import Path

from store import names

DEFAULT_RUNS_REF = "refs/mlx/runs"
RUNS_DIR = "runs"
ARTIFACTS_DIR = "artifacts"
MODELS_DIR = "models"
DVC_DIR = "dvc"  # DVC-readable pointers (``.dvc`` files), so plain `dvc gc --rev` sees runs

BUCKET = 100
valid_name = names.valid_name  # the one name rule (store/names.py); kept here for callers


def run_path(run_id: str) -> str:
    """Path of a run record on the runs ref."""
    return f"{RUNS_DIR}/{run_id[:2]}/{run_id}.json"


def artifact_dir(name: str) -> str:
    """Directory holding every version record of one artifact name."""
    return f"{ARTIFACTS_DIR}/{name}"


def versioned_path(directory: str, version: int) -> str:
    """Path of version ``version`` inside a versioned directory (bucketed by 100)."""
    return f"{directory}/{version // BUCKET}/{version}.json"


def versioned_dir(path: str) -> str:
    """The versioned directory (``artifacts/<name>``) a version record belongs to."""
    return "/".join(path.split("/")[:2])


def version_of(path: str) -> int | None:
    """``7`` for ``artifacts/x/0/7.json``; None for anything else."""
    parsed = parse_record_path(path)
    return int(parsed[2]) if parsed and parsed[0] != "run" else None


def artifact_path(name: str, version: int) -> str:
    """Path of one artifact-version record."""
    return versioned_path(artifact_dir(name), version)


def model_dir(name: str) -> str:
    """Directory holding every version record of one model."""
    return f"{MODELS_DIR}/{name}"


def model_version_path(name: str, version: int) -> str:
    """Path of one model-version record."""
    return versioned_path(model_dir(name), version)


def dvc_file_path(md5: str) -> str:
    """Where the ``.dvc`` pointer of object ``md5`` sits on the runs ref: ``dvc/ab/<md5>.dvc``.

    DVC reads ``.dvc`` files anywhere in a revision's tree, so ``dvc gc --rev refs/mlx/runs``
    keeps what runs reference; sharded like run records so appends stay flat.
    """
    return f"{DVC_DIR}/{md5[:2]}/{md5}.dvc"


def parse_record_path(path: str) -> tuple[str, str, str] | None:
    """Split a runs-ref path into ``(kind, key, sub)``.

    ``runs/ab/abcd.json`` -> ``("run", "abcd", "")``;
    ``artifacts/model/0/3.json`` -> ``("artifact", "model", "3")``;
    ``models/iris/0/2.json`` -> ``("model", "iris", "2")``. Anything else -> ``None``.
    """
    if not path.endswith(".json"):
        return None
    parts = path[:-5].split("/")
    if len(parts) == 3 and parts[0] == RUNS_DIR:
        return ("run", parts[2], "")
    if len(parts) == 4 and parts[0] in (ARTIFACTS_DIR, MODELS_DIR) and parts[3].isdigit():
        if parts[2] != str(int(parts[3]) // BUCKET):
            return None
        return ("artifact" if parts[0] == ARTIFACTS_DIR else "model", parts[1], parts[3])
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
