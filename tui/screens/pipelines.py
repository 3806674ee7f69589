"""Pipelines: what can be run, with its parameters and last run; launch and watch.

``l`` (or ``enter``) opens the launch form; the run itself is a child process owned by the app
(:meth:`tui.app.MlxApp.start_run`), so this screen only shows its progress in a
:class:`~tui.widgets.run_monitor.RunMonitor`. ``x`` cancels it, ``o`` opens its run.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import OptionList, Static

from tui.format import GLYPHS, format_age
from tui.messages import LaunchPipeline, OpenRun
from tui.screens.base import MlxScreen
from tui.services import PipelineInfo
from tui.widgets.footer import MlxFooter
from tui.widgets.run_monitor import RunMonitor
from tui.widgets.side_list import SideList

__all__ = ["PipelinesScreen"]


class PipelinesScreen(MlxScreen):
    """Discovered pipelines and the live progress of launched runs."""

    BINDINGS = [
        Binding("l", "launch", "Launch", id="pipelines.launch"),
        Binding("x", "cancel_run", "Cancel run", id="pipelines.cancel"),
        Binding("o", "open_run", "Open run", id="pipelines.open"),
        Binding("r", "refresh", "Refresh", id="pipelines.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pipelines: dict[str, PipelineInfo] = {}
        self.warned: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Static("Pipelines", id="pipelines-title", classes="title")
        with Horizontal(id="pipelines-top"):
            yield SideList(id="pipelines")
            yield Static("", id="pipeline-info")
        yield RunMonitor(id="monitor")
        yield MlxFooter()

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#pipelines", OptionList))
        self.action_refresh()
        self.set_interval(15, self._refresh_ages)
        signal = getattr(self.app, "run_signal", None)
        if signal is not None:
            signal.subscribe(self, self._session_changed)

    def _session_changed(self, session: Any) -> None:
        if session.finished:  # its run is now the pipeline's last run
            self.action_refresh()

    def action_refresh(self) -> None:
        # Importing the pipeline modules can take seconds: a spinner instead of a blank pane.
        self.query_one("#pipelines", OptionList).loading = True
        self.background(self.services.pipeline_listing, done=self._listed, group="pipelines")

    def _refresh_ages(self) -> None:
        """Keep "started 4s ago" true a minute later: redraw the labels from the same data."""
        if self.pipelines and self.app.screen is self:
            self._loaded(list(self.pipelines.values()))

    def on_background_error(self, error: BaseException | None) -> None:
        super().on_background_error(error)
        self.query_one("#pipelines", OptionList).loading = False
        if not self.pipelines:
            from tui.screens.base import describe_error

            self.query_one("#pipeline-info", Static).update(describe_error(error))

    def _listed(self, listing: tuple[list[PipelineInfo], list[str]]) -> None:
        self.query_one("#pipelines", OptionList).loading = False
        pipelines, warnings = listing
        for warning in warnings:  # modules that could not be read or imported, once each
            if warning not in self.warned:
                self.warned.add(warning)
                self.notify(warning, severity="warning", timeout=8)
        self._loaded(pipelines)

    def _loaded(self, pipelines: list[PipelineInfo]) -> None:
        self.pipelines = {p.name: p for p in pipelines}
        now = self.services.now()
        items = []
        for pipe in pipelines:
            text = Text(pipe.name, style="bold")
            if pipe.last_run:
                glyph, color = GLYPHS.get(pipe.last_run.status, ("?", "white"))
                text.append(f"  {glyph}", style=color)
                text.append(f" {format_age(pipe.last_run.started_at, now)}", style="grey62")
            items.append((pipe.name, text))
        self.query_one("#pipelines", SideList).set_items(items)
        self.query_one("#pipelines-title", Static).update(f"Pipelines  {len(pipelines)}")
        if not pipelines:
            self.query_one("#pipeline-info", Static).update(
                "no pipelines found: add @pipeline functions under pipelines/"
            )

    @property
    def current(self) -> PipelineInfo | None:
        options = self.query_one("#pipelines", OptionList)
        if options.highlighted is None or not options.option_count:
            return None
        return self.pipelines.get(options.get_option_at_index(options.highlighted).id or "")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        pipe = self.pipelines.get(event.option.id or "")
        if pipe is not None:
            self.query_one("#pipeline-info", Static).update(_describe(pipe, self.services.now()))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "pipelines":
            self.action_launch()

    def action_launch(self) -> None:
        if self.current is not None:
            self.post_message(LaunchPipeline(self.current.name))

    def _session(self) -> Any:
        return self.query_one(RunMonitor).session

    def action_cancel_run(self) -> None:
        session = self._session()
        if session is None or not session.cancel():
            self.notify("no launched run is running", timeout=3)
            return
        self.notify(f"cancelling {session.pipeline} (SIGTERM)", timeout=3)

    def action_open_run(self) -> None:
        session = self._session()
        if session is not None and session.run_id:
            self.post_message(OpenRun(session.run_id))
        elif self.current is not None and self.current.last_run is not None:
            self.post_message(OpenRun(self.current.last_run.id))


def _describe(pipe: PipelineInfo, now: Any) -> Text:
    text = Text()
    text.append(f"{pipe.name}\n", style="bold")
    if not pipe.params:
        text.append("no parameters\n", style="italic")
    for param in pipe.params:
        default = "required" if param.required else f"= {param.default!r}"
        text.append(f"  {param.name}: {param.annotation} {default}\n")
    if pipe.last_run:
        run = pipe.last_run
        text.append(f"last run {run.id[:8]} {run.status} {format_age(run.started_at, now)}",
                    style="grey62")  # fmt: skip
    else:
        text.append("never run", style="grey62")
    return text
