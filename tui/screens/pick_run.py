"""A dialog to choose another run (of the same pipeline first) to compare with."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from store.index import RunSummary
from tui.format import GLYPHS, format_age
from tui.screens.base import MlxModal

__all__ = ["PickRunModal"]


class PickRunModal(MlxModal):
    """Returns the chosen run id, or ``None``."""

    def __init__(self, pipeline: str, exclude: str | None = None) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.exclude = exclude
        self._runs: list[RunSummary] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Compare with which run of {self.pipeline}?", classes="title")
            yield Input(placeholder="run id prefix (or pick below)", id="pick-id")
            yield OptionList(id="pick-list")

    def on_mount(self) -> None:
        self.set_focus(self.query_one(OptionList))
        self.background(self.services.runs_of, self.pipeline, done=self._loaded)

    def _loaded(self, runs: list[RunSummary]) -> None:
        self._runs = [r for r in runs if r.id != self.exclude]
        self._fill("")

    def _fill(self, prefix: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        now = self.services.now()
        for run in self._runs:
            if run.id.startswith(prefix):
                glyph = GLYPHS.get(run.status, ("?", ""))[0]
                label = f"{glyph} {run.id[:8]}  {format_age(run.started_at, now)}  {run.status}"
                options.add_option(Option(label, id=run.id))
        if options.option_count:
            options.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value.strip())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            self.dismiss(options.get_option_at_index(options.highlighted or 0).id)
        elif event.value.strip():
            self.dismiss(event.value.strip())

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
