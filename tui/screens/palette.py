"""The command palette screen (``ctrl+p``): a search box over :mod:`tui.palette`'s commands.

Lighter than Textual's own palette, which batches results over 250 ms and keeps a hidden
loading indicator repainting the screen underneath: the commands that need no data (modes,
push/pull, filter presets, the bindings of the screen underneath, system commands) show at
once with the names read at the last opening, the project's names are read again in a thread
and replace them a moment later, and every keystroke ranks the
list in place (a few hundred titles, well under a millisecond). A hex word typed is looked up
as a run id prefix in a thread; its runs go on top when they come.

Keys: type to search, ``up``/``down`` move, ``enter`` runs the highlighted command, ``esc``
closes. A click runs a command too.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from tui.palette import Command, PaletteData, commands, hex_words, palette_data, rank, run_commands
from tui.screens.base import MlxModal

__all__ = ["PaletteScreen"]

SHOWN = 200  # hits listed at most (the best ones)


class PaletteScreen(MlxModal):
    """Search and run a command; dismissed with ``None`` (the command runs after closing)."""

    BINDINGS = [
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
    ]

    def __init__(self, caller: Screen[Any]) -> None:
        super().__init__()
        self.caller = caller
        self.entries: list[Command] = []
        self.runs: list[Command] = []  # open-run commands for the hex words typed
        self.hits: list[Command] = []  # what the list shows, in order

    def compose(self) -> ComposeResult:
        with Vertical(id="palette"):
            yield Input(placeholder="Search commands, names, or a run id prefix…",
                        id="palette-input")  # fmt: skip
            yield OptionList(id="palette-hits")

    def on_mount(self) -> None:
        self.query_one(OptionList).can_focus = False  # keys stay in the search box
        app: Any = self.app
        self.entries = commands(app, app.palette_names, self.caller)  # from the last opening
        self.show_hits()
        self.background(palette_data, self.services, done=self.got_data, group="palette-data")

    @property
    def text(self) -> str:
        return self.query_one(Input).value

    def got_data(self, data: PaletteData) -> None:
        app: Any = self.app
        if data == app.palette_names:
            return  # listed already: no second layout
        app.palette_names = data
        self.entries = commands(app, data, self.caller)
        self.show_hits()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        words = hex_words(event.value)  # runs still matching stay until the new lookup answers
        self.runs = [c for c in self.runs if any(c.help.startswith(w) for w in words)]
        self.show_hits()
        if words:
            self.background(run_commands, self.app, self.services, event.value,
                            done=lambda runs: self.got_runs(event.value, runs),
                            group="palette-runs")  # fmt: skip

    def got_runs(self, query: str, runs: list[Command]) -> None:
        if query == self.text:  # else a newer lookup is on its way
            self.runs = runs
            self.show_hits()

    def show_hits(self) -> None:
        ranked = [(Content(c.title), c) for c in self.runs] + rank(self.text, self.entries)
        ranked = ranked[:SHOWN]
        self.hits = [command for _, command in ranked]
        options = self.query_one(OptionList)
        options.clear_options()
        if not ranked:
            options.add_option(Option(Content.styled("no matching command", "dim"), disabled=True))
            return
        options.add_options(
            Option(Content.assemble(title, ("  " + c.help, "dim")) if c.help else title)
            for title, c in ranked
        )
        options.highlighted = 0

    def action_move(self, by: int) -> None:
        options = self.query_one(OptionList)
        if self.hits:
            current = options.highlighted or 0
            options.highlighted = max(0, min(len(self.hits) - 1, current + by))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        highlighted = self.query_one(OptionList).highlighted
        if self.hits and highlighted is not None:
            self.run_command(self.hits[highlighted])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_index < len(self.hits):
            self.run_command(self.hits[event.option_index])

    def run_command(self, command: Command) -> None:
        self.dismiss(None)
        self.app.call_later(command.run)
