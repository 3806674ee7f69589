"""Text types with a meaning (ZenML's ``zenml.types``): HTML, Markdown, CSV and JSON strings.

A step that returns ``HTMLString(...)`` stores a ``.html`` file (``MarkdownString`` a ``.md``,
``CSVString`` a ``.csv``, ``JSONString`` a ``.json``) with :class:`engine.materializers.text.
TextMaterializer`, so the file is readable as it is and the app can preview it as what it is.
They are plain ``str`` subclasses everywhere else.
"""

from __future__ import annotations

__all__ = ["CSVString", "HTMLString", "JSONString", "MarkdownString"]


class HTMLString(str):
    """HTML text (a report, a visualization)."""

    __slots__ = ()


class MarkdownString(str):
    """Markdown text."""

    __slots__ = ()


class CSVString(str):
    """CSV text."""

    __slots__ = ()


class JSONString(str):
    """JSON text (kept as written, not parsed)."""

    __slots__ = ()
