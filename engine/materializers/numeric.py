"""Materializers for numpy arrays and pandas frames, written in open, pickle-free formats.

- :class:`NumpyMaterializer`: arrays (and numpy scalars) as ``.npy`` with ``allow_pickle=False``,
  so loading an artifact never runs code; object arrays are refused with a pointer to pickle.
- :class:`DataFrameMaterializer` and :class:`SeriesMaterializer`: parquet through pyarrow, which
  keeps dtypes and the index; a Series is stored as a one-column table whose original name is
  kept in the schema metadata, so it loads back as a Series with that name.

They register by dotted type name and import numpy, pandas and pyarrow inside their methods only:
importing this module (as ``engine.materializers`` does) must not import them, because the CLI
has to start fast. pandas 3 reports its classes as ``pandas.DataFrame``; pandas 2 as
``pandas.core.frame.DataFrame``; both names are registered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.materializers.base import BaseMaterializer, type_name
from engine.materializers.builtin import from_jsonable, to_jsonable

__all__ = ["DataFrameMaterializer", "NumpyMaterializer", "SeriesMaterializer"]

_MAX_COLUMNS = 100  # metadata stays small for very wide frames
_SERIES_COLUMN = "__mlx_series__"
_SERIES_NAME_KEY = b"mlx.series_name"
_PICKLE_HINT = "attach engine.materializers.PickleMaterializer to this output"


class NumpyMaterializer(BaseMaterializer):
    """numpy arrays and scalars as one ``.npy`` file, without pickle."""

    ASSOCIATED_TYPE_NAMES = ("numpy.ndarray", "numpy.generic")

    def save(self, data: Any, path: Path) -> None:
        import numpy as np

        if isinstance(data, np.ma.MaskedArray):
            raise TypeError(f"masked arrays would lose their mask in .npy; {_PICKLE_HINT}")
        array = np.asarray(data)
        if array.dtype.hasobject:
            raise TypeError(
                f"arrays of dtype {array.dtype} hold Python objects and need pickle; convert the"
                f" array to a numeric or string dtype, or {_PICKLE_HINT}"
            )
        with path.open("wb") as file:  # a file object: np.save would append ".npy" to a name
            np.save(file, array, allow_pickle=False)

    def load(self, data_type: type, path: Path) -> Any:
        import numpy as np

        array = np.load(path, allow_pickle=False)
        if issubclass(data_type, np.generic):
            return array[()]
        return array if data_type is np.ndarray else array.view(data_type)

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        import numpy as np

        array = np.asarray(data)
        return {"shape": list(array.shape), "dtype": str(array.dtype)}


class DataFrameMaterializer(BaseMaterializer):
    """pandas DataFrames as one parquet file (pyarrow)."""

    ASSOCIATED_TYPE_NAMES = ("pandas.DataFrame", "pandas.core.frame.DataFrame")

    def save(self, data: Any, path: Path) -> None:
        _check_columns(data)
        data.to_parquet(path, engine="pyarrow")

    def load(self, data_type: type, path: Path) -> Any:
        import pandas as pd

        return pd.read_parquet(path, engine="pyarrow")

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        columns = [str(column) for column in data.columns]
        metadata: dict[str, Any] = {
            "rows": len(data),
            "columns": columns[:_MAX_COLUMNS],
            "n_columns": len(columns),
            "dtypes": {
                str(column): str(dtype)
                for column, dtype in list(data.dtypes.items())[:_MAX_COLUMNS]
            },
        }
        return metadata


class SeriesMaterializer(BaseMaterializer):
    """pandas Series as a one-column parquet file that remembers the Series' name."""

    ASSOCIATED_TYPE_NAMES = ("pandas.Series", "pandas.core.series.Series")

    def save(self, data: Any, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(data.to_frame(name=_SERIES_COLUMN))
        name = json.dumps(to_jsonable(data.name), allow_nan=False).encode()
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), _SERIES_NAME_KEY: name}
        )
        pq.write_table(table, path)

    def load(self, data_type: type, path: Path) -> Any:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        series = table.to_pandas()[_SERIES_COLUMN]
        series.name = from_jsonable(json.loads((table.schema.metadata or {})[_SERIES_NAME_KEY]))
        return series

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        name = data.name if data.name is None or isinstance(data.name, str) else str(data.name)
        return {"rows": len(data), "name": name, "dtype": str(data.dtype)}


def _check_columns(frame: Any) -> None:
    bad = [column for column in frame.columns if not isinstance(column, str)]
    if bad:
        raise TypeError(
            f"parquet needs string column names, got {type_name(type(bad[0]))} {bad[0]!r};"
            " rename them (df.columns = df.columns.astype(str)) or attach another materializer"
        )
