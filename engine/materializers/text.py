"""``TextMaterializer``: the text types of :mod:`engine.types` as files with their extension.

The stored file is the text itself (UTF-8), named ``data.html`` / ``data.md`` / ``data.csv`` /
``data.json`` inside the artifact directory, so an exported artifact opens in the right tool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.materializers.base import BaseMaterializer, type_name

__all__ = ["TEXT_TYPES", "TextMaterializer"]

TEXT_TYPES = {
    "engine.types.HTMLString": "html",
    "engine.types.MarkdownString": "md",
    "engine.types.CSVString": "csv",
    "engine.types.JSONString": "json",
}


class TextMaterializer(BaseMaterializer):
    """HTMLString, MarkdownString, CSVString and JSONString as one text file each."""

    ASSOCIATED_TYPE_NAMES = tuple(TEXT_TYPES)

    def save(self, data: Any, path: Path) -> None:
        path.mkdir()
        suffix = TEXT_TYPES.get(type_name(type(data)), "txt")
        (path / f"data.{suffix}").write_text(str(data), encoding="utf-8")

    def load(self, data_type: type, path: Path) -> Any:
        files = sorted(p for p in path.iterdir() if p.name.startswith("data."))
        if not files:
            raise FileNotFoundError(f"no data.* file in {path}")
        return data_type(files[0].read_text(encoding="utf-8"))

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        kind = TEXT_TYPES.get(type_name(type(data)), "txt")
        return {"length": len(data), "format": kind}
