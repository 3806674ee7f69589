"""Turn a loaded artifact value into a :class:`Preview`: what the artifacts screen shows.

Pure functions, no Textual and no I/O. numpy and pandas values are recognised by duck typing
(``shape``/``dtype``, ``columns``/``iloc``), so importing this module imports neither; numpy is
imported only to format an array being previewed.

A preview never holds more than :data:`MAX_ROWS` table rows, :data:`MAX_COLUMNS` columns,
:data:`MAX_CELL` characters per cell or :data:`MAX_TEXT` characters of text: a huge value
is cut and the caption says how much is shown.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "MAX_ROWS",
    "Preview",
    "array_preview",
    "csv_preview",
    "frame_preview",
    "html_preview",
    "note",
    "value_preview",
]

MAX_ROWS = 1000
MAX_COLUMNS = 50
MAX_CELL = 60
MAX_TEXT = 20_000
ARRAY_HEAD = 20  # rows (first axis) of an array shown

Kind = Literal["text", "markdown", "code", "table", "note"]

_TEXT_TYPES = {"HTMLString": "HTML", "MarkdownString": "Markdown", "CSVString": "CSV",
               "JSONString": "JSON"}  # fmt: skip


@dataclass
class Preview:
    """One artifact version as the app shows it.

    ``kind`` picks the widget: ``text`` (plain), ``markdown`` (rendered), ``code`` (``body``
    highlighted as ``language``), ``table`` (``columns`` x ``rows``, ``dtypes`` under the
    column names) or ``note`` (a one-line description: nothing more to show).
    """

    kind: Kind
    caption: str = ""
    body: str = ""
    language: str = ""
    columns: list[str] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    error: bool = False


def note(text: str, error: bool = False) -> Preview:
    return Preview("note", caption=text, error=error)


def _cut(text: str, what: str = "characters") -> tuple[str, str]:
    if len(text) <= MAX_TEXT:
        return text, ""
    return text[:MAX_TEXT], f" · first {MAX_TEXT:,} of {len(text):,} {what} shown"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.6g}"
        text += ".0" if text.lstrip("-").isdigit() else ""  # 2.0 stays a float: "2.0", not "2"
    elif isinstance(value, bytes):
        text = f"<{len(value)} bytes>"
    else:
        text = str(value)
    text = text.replace("\n", "⏎")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def value_preview(value: Any) -> Preview:
    """The preview of any loaded value (text types, frames, arrays, JSON-able, the rest)."""
    kind = _TEXT_TYPES.get(type(value).__name__) if isinstance(value, str) else None
    if kind == "Markdown":
        body, cut = _cut(value)
        return Preview("markdown", caption=f"Markdown · {len(value):,} characters{cut}", body=body)
    if kind == "HTML":
        return html_preview(value)
    if kind == "CSV":
        return csv_preview(value)
    if kind == "JSON":
        return _json_text_preview(value)
    if hasattr(value, "columns") and hasattr(value, "iloc") and hasattr(value, "dtypes"):
        return frame_preview(value, total=len(value))
    if hasattr(value, "to_frame") and hasattr(value, "iloc") and hasattr(value, "dtype"):
        return frame_preview(value.to_frame(), total=len(value), what="Series")
    if hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "ndim"):
        return array_preview(value)
    if isinstance(value, bytes | bytearray):
        return note(f"binary data · {len(value):,} bytes · press e to export it")
    if isinstance(value, str):
        body, cut = _cut(value)
        return Preview("text", f"text · {len(value):,} characters{cut}", body=body)
    if isinstance(value, dict | list | tuple | int | float | bool) or value is None:
        try:
            text = json.dumps(value, indent=2, allow_nan=True)
        except (TypeError, ValueError):
            pass
        else:
            body, cut = _cut(text)
            return Preview("code", f"{type(value).__name__} (JSON){cut}", body=body,
                           language="json")  # fmt: skip
    name = f"{type(value).__module__}.{type(value).__qualname__}"
    body, cut = _cut(repr(value))
    return Preview("text", f"{name}: no preview for this type; its repr follows, e exports it{cut}",
                   body=body)  # fmt: skip


def _json_text_preview(text: str) -> Preview:
    try:
        pretty = json.dumps(json.loads(text), indent=2)
    except ValueError as exc:
        body, cut = _cut(text)
        return Preview("text", f"JSON · not valid JSON ({exc}), shown as written{cut}", body=body)
    body, cut = _cut(pretty)
    return Preview("code", f"JSON · {len(text):,} characters{cut}", body=body, language="json")


def html_preview(html: str) -> Preview:
    """HTML rendered as Markdown (its text, headings, lists, tables); a page with no text to
    show (all script, like interactive reports) as highlighted source instead."""
    from tui.previews.html_text import html_to_markdown

    rendered = html_to_markdown(html[: MAX_TEXT * 5])
    if any(c.isalnum() for c in rendered):
        body, cut = _cut(rendered)
        return Preview("markdown", f"HTML as text · {len(html):,} characters{cut}"
                       " · e exports the page", body=body)  # fmt: skip
    body, cut = _cut(html)
    return Preview("code", f"HTML with no text to show: its source · {len(html):,} "
                   f"characters{cut}", body=body, language="html")  # fmt: skip


def csv_preview(text: str) -> Preview:
    """CSV text as a table: the first line names the columns."""
    lines = text.splitlines()
    reader = csv.reader(lines[: MAX_ROWS + 1])
    header = next(reader, [])
    rows = [[_cell(c) for c in row[:MAX_COLUMNS]] for row in reader]
    total = max(len([line for line in lines if line.strip()]) - 1, 0)
    width = max([len(header), *map(len, rows)], default=0)
    columns = [_cell(c) for c in header[:MAX_COLUMNS]]
    columns += [f"column {i + 1}" for i in range(len(columns), min(width, MAX_COLUMNS))]
    caption = f"CSV · {total:,} rows x {width} columns"
    if len(rows) < total:
        caption += f" · first {len(rows):,} shown"
    return Preview("table", caption, columns=columns, rows=rows)


def frame_preview(frame: Any, total: int, what: str = "DataFrame") -> Preview:
    """The first :data:`MAX_ROWS` rows of a DataFrame (``total``: the rows it has in all)."""
    head = frame.iloc[:MAX_ROWS, :MAX_COLUMNS]
    n_columns = frame.shape[1]
    columns = [_cell(c) for c in head.columns]
    dtypes = [str(d) for d in head.dtypes]
    index = head.index
    default_index = type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1
    if not default_index:
        columns.insert(0, _cell(index.name) if index.name is not None else "index")
        dtypes.insert(0, str(index.dtype))
    rows = []
    for label, values in zip(index, head.itertuples(index=False, name=None), strict=True):
        cells = [_cell(v) for v in values]
        rows.append(cells if default_index else [_cell(label), *cells])
    caption = f"{what} · {total:,} rows x {n_columns} columns"
    if len(rows) < total:
        caption += f" · first {len(rows):,} shown"
    if n_columns > MAX_COLUMNS:
        caption += f" · first {MAX_COLUMNS} of {n_columns} columns"
    return Preview("table", caption, columns=columns, dtypes=dtypes, rows=rows)


def array_preview(array: Any) -> Preview:
    """Shape, dtype and the first :data:`ARRAY_HEAD` entries of the first axis.

    Only the head is read and formatted: a memory-mapped array stays on disk.
    """
    shape = tuple(int(n) for n in array.shape)
    caption = f"array · shape {shape} · {array.dtype}"
    if array.ndim == 0:
        return Preview("text", caption, body=_cell(array[()]))
    head = array[:ARRAY_HEAD]
    if shape[0] > ARRAY_HEAD:
        caption += f" · first {ARRAY_HEAD} shown"
    import numpy

    body = numpy.array2string(head, max_line_width=200, threshold=400, edgeitems=4,
                              precision=6)  # fmt: skip
    return Preview("text", caption, body=body)
