"""The export dialog: where to write an artifact version, in the format of the path's extension.

The extension picks the format exactly as ``mlx artifacts export`` does (the same code,
:func:`engine.exporting.export_artifact`): ``.csv``, ``.parquet``, ``.json``, ``.npy``, and
``.pkl`` only with "allow a pickle" ticked (a pickle runs code when it is loaded). The default
path is outside the repository, with the extension that suits the value's type. A path the
app refuses (another extension, an existing file, a value the format cannot hold) is explained
in the dialog, which stays open to fix it; on success it returns ``(path, format)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Checkbox, Input, Static

from tui.screens.base import MlxModal, describe_error

__all__ = ["ExportModal", "check_destination", "default_extension"]

FORMAT_LIST = ".csv, .parquet, .json or .npy"


def default_extension(type_name: str) -> str:
    """The export extension that suits a value of type ``type_name`` (``module.Class``)."""
    if type_name.startswith("pandas."):
        return ".csv"
    if type_name.startswith("numpy."):
        return ".npy"
    return ".json"


def check_destination(text: str, allow_pickle: bool) -> Path | str:
    """The absolute path ``text`` names, or why the app refuses it (in the dialog's words)."""
    from engine.exporting import FORMATS

    path = Path(text.strip()).expanduser()
    if not path.is_absolute():  # relative to the directory mlx was started in
        path = Path.cwd() / path
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        return (f"the extension picks the format: end the name {path.name!r} with "
                f"{FORMAT_LIST} (or .pkl with “allow a pickle” ticked)")  # fmt: skip
    if fmt == "pickle" and not allow_pickle:
        return (f"{path.name!r} would be a pickle, which runs code when it is loaded: tick "
                f"“allow a pickle” to write it anyway, or use {FORMAT_LIST}")  # fmt: skip
    if path.exists():
        return f"{path} already exists; choose a new path (nothing was written)"
    return path


class ExportModal(MlxModal):
    """``enter`` exports (the dialog closes when it is written), ``esc`` cancels."""

    def __init__(self, label: str, default: str, record: dict[str, Any]) -> None:
        super().__init__()
        self.label, self.default, self.record = label, default, record
        self._busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="export-dialog"):
            yield Static(f"Export {self.label} to:", classes="title")
            yield Input(self.default, id="export-path")
            yield Checkbox("allow a pickle (.pkl runs code when it is loaded)",
                           id="allow-pickle", compact=True)  # fmt: skip
            yield Static("", id="export-status")
            yield Static(f"the extension picks the format: {FORMAT_LIST}\n"
                         "enter: export   esc: cancel", classes="hint")  # fmt: skip

    def on_mount(self) -> None:
        self.set_focus(self.query_one(Input))

    def on_input_changed(self, event: Input.Changed) -> None:
        self._status("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self._busy:
            return
        allow = self.query_one("#allow-pickle", Checkbox).value
        checked = check_destination(event.value, allow)
        if isinstance(checked, str):
            self._status(checked, error=True)
            return
        self._busy = True
        self._status(f"exporting to {checked}…")

        def written(fmt: str) -> None:
            self.dismiss((checked, fmt))

        self.background(self.services.export, self.record, checked, allow, done=written,
                        group="export")  # fmt: skip

    def on_background_error(self, error: BaseException | None) -> None:
        self._busy = False
        self._status(describe_error(error), error=True)

    def _status(self, message: str, error: bool = False) -> None:
        style = "bold red" if error else "italic"
        self.query_one("#export-status", Static).update(Text(message, style=style))
