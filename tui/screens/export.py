"""A dialog asking where to export an artifact version; returns the path typed, or ``None``."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from tui.screens.base import MlxModal

__all__ = ["ExportModal"]


class ExportModal(MlxModal):
    """``enter`` accepts the destination, ``esc`` cancels."""

    def __init__(self, label: str, default: str) -> None:
        super().__init__()
        self.label = label
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Export {self.label} to:", classes="title")
            yield Input(self.default, id="export-path")
            yield Static("enter: export   esc: cancel", classes="hint")

    def on_mount(self) -> None:
        self.set_focus(self.query_one(Input))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)
