"""``mlx artifacts export NAME:VERSION PATH``: write a stored value in the format PATH asks for.

The extension decides: ``.csv``, ``.parquet``, ``.json``, ``.npy`` (no pickle inside), and
``.pkl`` only on explicit request (a pickle runs code when loaded). A value that cannot be
written in the asked format, or an unknown extension, is refused before anything is written;
``raw`` copies the stored bytes as mlx keeps them (what the materializer wrote).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from store.errors import ValidationError

__all__ = ["FORMATS", "export_artifact", "export_value", "format_for"]

FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json", ".npy": "npy", ".pkl": "pickle"}


def format_for(path: Path, allow_pickle: bool = False) -> str:
    """The export format of ``path``'s extension.

    Raises:
        ValidationError: unknown extension, or ``.pkl`` without ``allow_pickle``.
    """
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValidationError(
            f"cannot tell the format of {path.name!r} from its extension; use one of "
            f"{', '.join(FORMATS)} (or --raw to copy the stored bytes as they are)"
        )
    if fmt == "pickle" and not allow_pickle:
        raise ValidationError(
            f"{path.name!r} would be a pickle, which runs code when loaded; pass --pickle if "
            "that is what you want, or pick .csv, .parquet, .json or .npy"
        )
    return fmt


def export_artifact(
    project: Any, record: dict[str, Any], dest: Path, *, allow_pickle: bool = False,
    raw: bool = False,
) -> str:  # fmt: skip
    """Write the artifact version ``record`` to the new path ``dest``; return what was written.

    The one export of ``mlx artifacts export`` and of the app: the format of ``dest``'s
    extension (see :func:`format_for`), or with ``raw`` the stored bytes as they are (the
    answer is then ``"file"`` or ``"directory"``, else the format).

    Raises:
        MlxError: ``dest`` exists (nothing is written over).
        ValidationError: see :func:`format_for` and :func:`export_value`.
    """
    from store.errors import MlxError

    if dest.exists():
        raise MlxError(f"{dest} already exists; choose a new path (nothing was written)")
    if raw:
        from store.records import DvcPointer

        pointer = DvcPointer.model_validate(record["pointer"])
        project.artifacts.checkout(pointer, dest)
        return "directory" if pointer.is_dir else "file"
    fmt = format_for(dest, allow_pickle=allow_pickle)  # refuse before loading anything
    from engine.artifacts import ArtifactVersionView

    export_value(ArtifactVersionView(project, record).load(), dest, fmt)
    return fmt


def export_value(value: Any, path: Path, fmt: str) -> None:
    """Write ``value`` to ``path`` as ``fmt`` (atomically: a temp file, then rename).

    Raises:
        ValidationError: the value's type cannot be written in that format.
    """
    writer = _WRITERS[fmt]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.mlx-tmp")
    try:
        writer(value, tmp)
    except (TypeError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise ValidationError(
            f"a {type(value).__module__}.{type(value).__qualname__} cannot be exported as "
            f"{fmt}: {exc}"
        ) from exc
    os.replace(tmp, path)


def _frame(value: Any) -> Any:
    """A pandas DataFrame for tabular values (DataFrame, Series, rows, numpy 1-D/2-D)."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, pd.Series):
        return value.to_frame()
    if type(value).__module__.startswith("numpy") and getattr(value, "ndim", 0) in (1, 2):
        return pd.DataFrame(value)
    if isinstance(value, list | tuple) and value:
        return pd.DataFrame(list(value))
    if isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
        return pd.DataFrame(value)
    raise TypeError("only tables (DataFrame, Series, arrays, lists of rows) have columns")


def _csv(value: Any, path: Path) -> None:
    frame = _frame(value)
    import pandas as pd

    keep_index = isinstance(value, pd.DataFrame | pd.Series) and not isinstance(
        value.index, pd.RangeIndex
    )
    frame.to_csv(path, index=keep_index)


def _parquet(value: Any, path: Path) -> None:
    frame = _frame(value)
    frame.columns = [str(c) for c in frame.columns]
    frame.to_parquet(path)


def _json(value: Any, path: Path) -> None:
    if hasattr(value, "to_json") and type(value).__module__.startswith("pandas"):
        path.write_text(value.to_json(orient="records"), encoding="utf-8")
        return
    if hasattr(value, "model_dump_json"):
        path.write_text(value.model_dump_json(), encoding="utf-8")
        return
    if type(value).__module__.startswith("numpy") and hasattr(value, "tolist"):
        value = value.tolist()
    path.write_text(json.dumps(value, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _npy(value: Any, path: Path) -> None:
    import numpy as np

    array = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
    if array.dtype == object:
        raise TypeError("the values are not numbers or strings of one type")
    with open(path, "wb") as fh:
        np.save(fh, array, allow_pickle=False)


def _pickle(value: Any, path: Path) -> None:
    import pickle

    with open(path, "wb") as fh:
        pickle.dump(value, fh)


_WRITERS: dict[str, Callable[[Any, Path], None]] = {
    "csv": _csv, "parquet": _parquet, "json": _json, "npy": _npy, "pickle": _pickle,
}  # fmt: skip
