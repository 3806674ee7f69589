"""Models: who holds each stage, every version with its metrics, and promotion.

Left, the models with their stage holders (from ``models/<name>.toml``); right, the versions of
the highlighted one as a small ``DataTable`` (tens of rows) with one column per numeric metric,
and a bar chart of the chosen metric (``m`` cycles). ``p`` opens the promotion dialog,
``space`` marks a version and ``c`` compares it with the highlighted one, ``enter`` opens the
version's source run.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, OptionList, Static

from store.models import metric_values
from tui.format import format_age
from tui.messages import OpenRun
from tui.screens.base import MlxScreen
from tui.screens.compare import CompareScreen
from tui.screens.promote import PromoteModal
from tui.widgets.fit_table import FitColumn, FitTable
from tui.widgets.footer import MlxFooter
from tui.widgets.metric_chart import MetricChart
from tui.widgets.side_list import SideList

# (model, its versions, stage -> version, the project's stage names)
Versions = tuple[str, list[dict[str, Any]], dict[str, int], list[str]]

__all__ = ["ModelsScreen"]


class ModelsScreen(MlxScreen):
    """Model registry browser."""

    BINDINGS = [
        Binding("p", "promote", "Promote", id="models.promote"),
        Binding("m", "next_metric", "Metric", id="models.metric"),
        Binding("space", "mark", "Mark", id="models.mark"),
        Binding("c", "compare", "Compare", id="models.compare"),
        Binding("r", "refresh", "Refresh", id="models.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.model: str | None = None
        self.versions: list[dict[str, Any]] = []
        self.stages: dict[str, int] = {}
        self.stage_names: list[str] = []  # the project's, read with the versions
        self.metrics: list[str] = []
        self.metric_index = 0
        self.marked: int | None = None

    def compose(self) -> ComposeResult:
        yield Static("Models", id="models-title", classes="title")
        with Horizontal():
            yield SideList(id="models")
            with Vertical(id="model-detail"):
                yield FitTable(id="versions")
                yield MetricChart(id="chart")
        yield MlxFooter()

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#models", OptionList))
        self.action_refresh()

    def action_refresh(self) -> None:
        self.background(self._load_models, done=self._models_loaded, group="models")

    def _load_models(self) -> list[tuple[str, dict[str, int]]]:
        return [(name, self.services.model_stages(name)) for name in self.services.model_names()]

    def _models_loaded(self, models: list[tuple[str, dict[str, int]]]) -> None:
        items = []
        for name, stages in models:
            text = Text(name, style="bold")
            for stage, version in sorted(stages.items()):
                text.append(f"\n  {stage} v{version}", style="yellow")
            items.append((name, text))
        self.query_one("#models", SideList).set_items(items)
        count = f"{len(items)}" if items else "(none yet)"
        self.query_one("#models-title", Static).update(f"Models  {count}")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self.model = event.option.id
            self.marked = None
            self.background(self._load_versions, self.model, done=self._versions_loaded,
                            group="versions")  # fmt: skip

    def _load_versions(self, model: str) -> Versions:
        self.publication = self.services.publication()  # provisional numbers get a "*"
        services = self.services
        return model, services.model_versions(model), services.model_stages(model), \
            services.stage_names()  # fmt: skip

    def _versions_loaded(self, result: Versions) -> None:
        model, versions, stages, names = result
        if model != self.model:
            return
        self.versions, self.stages, self.stage_names = versions, stages, names
        metrics: list[str] = []
        for version in versions:
            for key in metric_values(version.get("metadata") or {}):
                if key not in metrics:
                    metrics.append(key)
        self.metrics = metrics
        self.metric_index = min(self.metric_index, max(len(metrics) - 1, 0))
        self._fill_table()
        self._draw_chart()

    def _fill_table(self) -> None:
        columns = [FitColumn("version", "ver"), FitColumn("stage", "stage", 5)]
        columns += [FitColumn(f"m:{m}", m.rsplit(".", 1)[-1], 6) for m in self.metrics[:6]]
        columns += [FitColumn("run", "run", 8), FitColumn("created", "created", 7)]
        holders = {v: s for s, v in self.stages.items()}
        now = self.services.now()
        rows = []
        for version in reversed(self.versions):
            number = version["version"]
            values = metric_values(version.get("metadata") or {})
            mark = "•" if number == self.marked else ""
            cells: list[str | Text] = [
                f"{mark}{self._label(number)}",
                Text(holders.get(number, ""), style="bold yellow"),
            ]
            cells += [f"{values[m]:.4g}" if m in values else "-" for m in self.metrics[:6]]
            cells.append(str(version.get("run_id") or "-")[:8])
            cells.append(format_age(version.get("created_at"), now))
            rows.append((str(number), cells))
        self.query_one("#versions", FitTable).show(columns, rows)

    def _label(self, number: int) -> str:
        pub = getattr(self, "publication", None)
        return pub.model_label(self.model or "", number) if pub is not None else f"v{number}"

    def _draw_chart(self) -> None:
        chart = self.query_one(MetricChart)
        if not self.metrics:
            chart.show("", [])
            return
        metric = self.metrics[self.metric_index]
        points = [
            (v["version"], metric_values(v.get("metadata") or {})[metric])
            for v in self.versions
            if metric in metric_values(v.get("metadata") or {})
        ]
        chart.show(metric, points, {v: s for s, v in self.stages.items()})

    # -- actions ---------------------------------------------------------------------------
    def _current_version(self) -> int | None:
        table = self.query_one("#versions", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key else None

    def action_next_metric(self) -> None:
        if self.metrics:
            self.metric_index = (self.metric_index + 1) % len(self.metrics)
            self._draw_chart()

    def action_mark(self) -> None:
        version = self._current_version()
        self.marked = None if version == self.marked else version
        self._fill_table()

    def action_compare(self) -> None:
        current = self._current_version()
        if self.model is None or current is None:
            return
        other = self.marked
        if other is None or other == current:
            older = [v["version"] for v in self.versions if v["version"] < current]
            if not older:
                self.notify("mark a version with space, then press c on another", timeout=4)
                return
            other = older[-1]
        model, left, right = self.model, other, current
        self.app.push_screen(CompareScreen(
            f"{model}: v{left} vs v{right}", f"v{left}", f"v{right}",
            lambda: self.services.compare_model_versions(model, left, right),
        ))  # fmt: skip

    def action_promote(self) -> None:
        version = self._current_version()
        if self.model is None or version is None:
            self.notify("choose a model version first", timeout=3)
            return
        by_number = {v["version"]: v for v in self.versions}
        modal = PromoteModal(self.model, version, dict(self.stages), by_number, self.stage_names)
        self.app.push_screen(modal, self._promoted)

    def _promoted(self, result: Any) -> None:
        if result is not None:
            self.action_refresh()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        version = next((v for v in self.versions if str(v["version"]) == event.row_key.value), None)
        if version and version.get("run_id"):
            self.post_message(OpenRun(str(version["run_id"])))
