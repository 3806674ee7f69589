"""Read an artifact version for its preview (in a worker thread: this does I/O).

Arrays and DataFrames are read in part, whatever their size: an ``.npy`` file is memory-mapped
and only its head is touched, a parquet file gives its row count from its footer and its first
:data:`tui.previews.build.MAX_ROWS` rows. Other values load whole through the engine when they
are at most ``limit`` bytes; bigger ones, directories without a loader and pickles (loading one
runs code) are described in one line with how to export them.
"""

from __future__ import annotations

from typing import Any

from store.project import Project
from store.records import DvcPointer
from tui.format import format_size
from tui.previews.build import MAX_ROWS, Preview, array_preview, frame_preview, note, value_preview

__all__ = ["load_preview"]

_NUMPY = "engine.materializers.numeric.NumpyMaterializer"
_FRAME = "engine.materializers.numeric.DataFrameMaterializer"


def _describe(record: dict[str, Any], why: str) -> Preview:
    size = int((record.get("pointer") or {}).get("size") or 0)
    return note(f"{record.get('type')} · {format_size(size)} · {why} · press e to export it")


def load_preview(project: Project, record: dict[str, Any], limit: int) -> Preview:
    """The :class:`Preview` of one artifact version record (an index record)."""
    pointer = DvcPointer.model_validate(record["pointer"])
    materializer = str(record.get("materializer"))
    if not pointer.is_dir and materializer == _NUMPY and record.get("type") == "numpy.ndarray":
        import numpy

        path = project.artifacts.cache_file(pointer)
        return array_preview(numpy.load(path, mmap_mode="r", allow_pickle=False))
    if not pointer.is_dir and materializer == _FRAME:
        return _parquet_head(project.artifacts.cache_file(pointer))
    from engine.materializers import loads_code

    if loads_code(materializer):
        return _describe(record, f"stored with {materializer.rsplit('.', 1)[-1]}: not "
                                 "previewed, loading it would run code")  # fmt: skip
    if int(pointer.size or 0) > limit:
        return _describe(record, f"larger than the {format_size(limit)} preview limit")
    from engine.client import Client

    value = Client(project).get_artifact_version(record["name"], record["version"]).load()
    if hasattr(value, "is_dir") and hasattr(value, "iterdir"):  # a Path: a file or a folder
        return _describe(record, "a path")
    return value_preview(value)


def _parquet_head(path: Any) -> Preview:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    total = parquet.metadata.num_rows
    batch = next(parquet.iter_batches(batch_size=MAX_ROWS), None)
    schema = parquet.schema_arrow
    table = pa.Table.from_batches([batch], schema=schema) if batch else schema.empty_table()
    return frame_preview(table.to_pandas(), total=total)
