"""The left-hand list of a master/detail screen, as wide as its longest entry.

A fixed-width list cut names mid-word (``predictions_from_conte`` / ``xt  1v ↑1``); this one is
``width: auto`` (Textual measures the widest option) capped at 35% of the screen, and never
wraps: a label that still does not fit ends with ``…``. Replacing the options keeps the
highlighted entry by id.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

__all__ = ["SideList"]


class SideList(OptionList):
    """An ``OptionList`` whose width follows its labels."""

    DEFAULT_CSS = """
    SideList {
        width: auto; min-width: 16; max-width: 35%; height: 1fr;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    _pending: str | None = None

    def select_id(self, key: str) -> None:
        """Highlight the entry ``key`` now, or as soon as the entries include it."""
        ids = [self.get_option_at_index(i).id for i in range(self.option_count)]
        if key in ids:
            self.highlighted = ids.index(key)
            self._pending = None
        else:
            self._pending = key

    @property
    def highlighted_id(self) -> str | None:
        if self.highlighted is None or not self.option_count:
            return None
        return self.get_option_at_index(self.highlighted).id

    def set_items(self, items: Sequence[tuple[str, Text]]) -> None:
        """Replace the entries (``(id, label)``), keeping the highlight on the same id."""
        keep = self._pending or self.highlighted_id
        self._pending = None
        options = []
        for key, label in items:
            options.append(Option(label, id=key))
        self.clear_options()
        self.add_options(options)
        ids = [key for key, _ in items]
        if ids:
            self.highlighted = ids.index(keep) if keep in ids else 0
