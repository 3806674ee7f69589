"""HTML as Markdown, for the artifacts preview: the text a page shows, with its structure.

A terminal cannot lay out HTML, but most HTML artifacts (reports, summaries, tables a step
wrote) are headings, paragraphs, lists and tables, which Markdown shows well. Scripts, styles
and the document head are dropped; a link keeps its text and address. :func:`html_to_markdown`
is pure (the standard library's parser), so it runs in the preview's worker thread.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_markdown"]

_SKIP = {"script", "style", "head", "template", "noscript", "svg"}
_BLOCK = {"p", "div", "section", "article", "header", "footer", "main", "blockquote", "form",
          "figure", "figcaption", "dl", "dt", "dd", "hr", "body", "html"}  # fmt: skip
_INLINE_MARK = {"strong": "**", "b": "**", "em": "*", "i": "*", "code": "`"}


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0
        self.lists: list[str] = []  # "ul" / "ol" per open list
        self.counters: list[int] = []
        self.pre = 0
        self.table: list[list[str]] | None = None
        self.cell: list[str] | None = None
        self.href: str | None = None

    def emit(self, text: str) -> None:
        if self.cell is not None:
            self.cell.append(text)
        else:
            self.out.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif self.skipping:
            return
        elif re.fullmatch(r"h[1-6]", tag):
            self.emit("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in _BLOCK:
            self.emit("\n\n" + ("---\n\n" if tag == "hr" else ""))
        elif tag == "br":
            self.emit("  \n")
        elif tag in ("ul", "ol"):
            self.lists.append(tag)
            self.counters.append(0)
            self.emit("\n")
        elif tag == "li":
            indent = "  " * max(0, len(self.lists) - 1)
            if self.lists and self.lists[-1] == "ol":
                self.counters[-1] += 1
                self.emit(f"\n{indent}{self.counters[-1]}. ")
            else:
                self.emit(f"\n{indent}- ")
        elif tag == "pre":
            self.pre += 1
            self.emit("\n\n```\n")
        elif tag in _INLINE_MARK and not self.pre:
            self.emit(_INLINE_MARK[tag])
        elif tag == "a":
            self.href = dict(attrs).get("href")
        elif tag == "table":
            self.table = []
        elif tag == "tr" and self.table is not None:
            self.table.append([])
        elif tag in ("td", "th") and self.table is not None:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif self.skipping:
            return
        elif re.fullmatch(r"h[1-6]", tag) or tag in _BLOCK:
            self.emit("\n\n")
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self.counters.pop()
            self.emit("\n\n")
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self.emit("\n```\n\n")
        elif tag in _INLINE_MARK and not self.pre:
            self.emit(_INLINE_MARK[tag])
        elif tag == "a":
            if self.href and not self.href.startswith(("#", "javascript:")):
                self.emit(f" ({self.href})")
            self.href = None
        elif tag in ("td", "th") and self.cell is not None and self.table:
            self.table[-1].append(" ".join("".join(self.cell).split()).replace("|", "\\|"))
            self.cell = None
        elif tag == "table" and self.table is not None:
            rows, self.table = [r for r in self.table if r], None
            self.emit(_table(rows))

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        self.emit(data if self.pre else re.sub(r"\s+", " ", data))


def _table(rows: list[list[str]]) -> str:
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n\n" + "\n".join(lines) + "\n\n"


def html_to_markdown(html: str) -> str:
    """The Markdown of ``html``'s visible content (empty for a page that is all script)."""
    converter = _Converter()
    converter.feed(html)
    converter.close()
    text = "".join(converter.out)
    lines, fenced = [], False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:  # collapsed whitespace left a space after each line break
            line = line.rstrip() if line.startswith("  ") else line.strip()
        lines.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
