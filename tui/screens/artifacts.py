"""Artifacts: names, their versions, a preview of the value, export and lineage.

The preview (:class:`tui.widgets.preview.PreviewPane`) loads the version in a worker thread and
shows it as what it is: rendered Markdown and HTML, highlighted JSON, CSV and DataFrames as tables,
an array's shape, dtype and head; other values in one line. Under it, the artifact's numeric
metadata (and a model artifact's model-version metrics) is plotted across its versions. ``e``
exports the version's bytes to a path, ``o`` (or ``enter`` on a version) opens its lineage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, OptionList, Static

from tui.format import format_age, format_size
from tui.messages import OpenLineage
from tui.previews.build import Preview, note
from tui.previews.series import MAX_SERIES, Series, metric_series, model_series
from tui.screens.base import MlxScreen
from tui.screens.export import ExportModal, default_extension
from tui.widgets.fit_table import FitColumn, FitTable
from tui.widgets.footer import MlxFooter
from tui.widgets.preview import PreviewPane, prepare
from tui.widgets.side_list import SideList

__all__ = ["ArtifactsScreen"]

VERSION_COLUMNS = [
    FitColumn("ver", "ver"), FitColumn("type", "type", 4), FitColumn("size", "size"),
    FitColumn("run", "run", 6), FitColumn("step", "step", 6), FitColumn("created", "created", 6),
]  # fmt: skip
VERSION_ROWS = 500  # newest versions listed (an artifact saved by every run has thousands)


class ArtifactsScreen(MlxScreen):
    """Artifact browser with preview."""

    BINDINGS = [
        Binding("e", "export", "Export", id="artifacts.export"),
        Binding("o", "lineage", "Lineage", id="artifacts.lineage"),
        Binding("r", "refresh", "Refresh", id="artifacts.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.name_: str | None = None
        self.versions: list[dict[str, Any]] = []
        self.series: list[Series] = []
        self.names_count = 0

    def compose(self) -> ComposeResult:
        yield Static("Artifacts", id="artifacts-title", classes="title")
        with Horizontal():
            yield SideList(id="artifact-names")
            with Vertical(id="artifact-detail"):
                yield FitTable(id="artifact-versions")
                yield PreviewPane(id="preview-box")
        yield MlxFooter()

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#artifact-names", OptionList))
        self.action_refresh()

    def action_refresh(self) -> None:
        self.background(self.services.artifact_names, done=self._names, group="names")

    def _names(self, names: list[tuple[str, int, int]]) -> None:
        items = [(name, Text.assemble((name, "bold"), (f"  {count}v ↑{latest}", "grey62")))
                 for name, count, latest in names]  # fmt: skip
        self.query_one("#artifact-names", SideList).set_items(items)
        self.names_count = len(names)
        self._update_title()

    def _update_title(self) -> None:
        title = f"Artifacts  {self.names_count}"
        if len(self.versions) > VERSION_ROWS:
            title += (f"  ·  {self.name_}: the newest {VERSION_ROWS} of {len(self.versions):,} "
                      f"versions (`mlx artifacts show {self.name_}:N` for older ones)")  # fmt: skip
        self.query_one("#artifacts-title", Static).update(title)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.name_ = event.option.id
        if self.name_:
            self.background(self._load_versions, self.name_, done=self._versions,
                            group="versions")  # fmt: skip

    def _load_versions(self, name: str) -> tuple[list[dict[str, Any]], list[Series]]:
        versions = self.services.artifact_versions(name)
        models = {str(r["model"]["name"]) for r in versions if (r.get("model") or {}).get("name")}
        series = metric_series(versions)
        for model in sorted(models):
            series += model_series(versions, self.services.model_versions(model))
        return versions, series[:MAX_SERIES]

    def _versions(self, loaded: tuple[list[dict[str, Any]], list[Series]]) -> None:
        versions, self.series = loaded
        self.versions = list(reversed(versions))
        now = self.services.now()
        rows = []
        for rec in self.versions[:VERSION_ROWS]:
            size = int((rec.get("pointer") or {}).get("size", 0))
            kind = str(rec.get("type", "?")).rsplit(".", 1)[-1]
            rows.append((str(rec["version"]), [
                f"v{rec['version']}", kind, format_size(size),
                str(rec.get("run_id") or "-")[:8], str(rec.get("step") or "-"),
                format_age(rec.get("created_at"), now),
            ]))  # fmt: skip
        table = self.query_one("#artifact-versions", FitTable)
        table.show(VERSION_COLUMNS, rows)
        self._update_title()
        if self.versions:
            table.move_cursor(row=0)
            self._preview(self.versions[0])

    @property
    def current(self) -> dict[str, Any] | None:
        table = self.query_one("#artifact-versions", DataTable)
        if not self.versions or not table.row_count:
            return None
        return self.versions[min(table.cursor_row, len(self.versions) - 1)]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "artifact-versions" and self.current is not None:
            self._preview(self.current)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "artifact-versions":
            self.action_lineage()

    def _preview(self, record: dict[str, Any]) -> None:
        pane = self.query_one(PreviewPane)
        pane.start(record)
        pane.plot(self.series, record.get("version"))
        self.background(self._load_preview, record, done=pane.show, group="preview")

    def _load_preview(self, record: dict[str, Any]) -> Preview:
        try:
            preview: Preview = self.services.preview_data(record)
        except Exception as exc:  # noqa: BLE001 - any loader failure is shown, not raised
            return note(f"cannot preview: {type(exc).__name__}: {exc}", error=True)
        return prepare(preview)

    def action_lineage(self) -> None:
        if self.current is not None:
            self.post_message(OpenLineage(str(self.current["id"])))

    def action_export(self) -> None:
        record = self.current
        if record is None:
            return
        label = f"{record['name']}:{record['version']}"
        default = (f"~/mlx-exports/{record['name']}-v{record['version']}"  # outside the repo
                   + default_extension(str(record.get("type", ""))))  # fmt: skip
        self.app.push_screen(ExportModal(label, default, record), self._exported)

    def _exported(self, written: tuple[Path, str] | None) -> None:
        if written is not None:
            self.notify(f"exported as {written[1]} to {written[0]}", timeout=4)
