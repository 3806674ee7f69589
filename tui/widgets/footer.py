"""The key footer: Textual's :class:`~textual.widgets.Footer`, rebuilt only when its keys change.

Textual's footer rebuilds all its key widgets (about 35 on the runs screen, some 40 ms) every
time its screen's bindings are refreshed: on each cursor move that re-checks an action, and when
a dialog or the palette opens over the screen and closes again, although the keys it shows are
the same (a mode switch rebuilt two footers: the one left, whose mode key became enabled, and
the one shown). This one rebuilds only a footer on the current screen, and only when what it
would show (key, label, enabled, tooltip) differs from what it shows; a screen coming back
refreshes its bindings, so its footer catches up then.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer

__all__ = ["MlxFooter"]


class MlxFooter(Footer):
    """A footer that skips rebuilds that would show the same keys."""

    _shown: tuple[Any, ...] | None = None

    def _keys(self) -> tuple[Any, ...]:
        return tuple(
            (binding.key, binding.description, binding.action, binding.group, enabled, tooltip)
            for _, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show or binding.action == "command_palette"
        )

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            super().bindings_changed(screen)
            return
        if not screen.is_current:  # hidden, or under a dialog: its resume refreshes it again
            return
        keys = self._keys()
        if keys != self._shown:
            self._shown = keys
            super().bindings_changed(screen)
