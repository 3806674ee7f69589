"""Stacks: every ``stacks/<name>.toml`` with its components; ``enter`` makes one active.

Switching writes only the clone-local marker (``Project.set_active_stack``), never mlx.toml, so
it is not a diff anyone has to review.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import OptionList, Static

from tui.screens.base import MlxScreen
from tui.services import StackInfo
from tui.widgets.footer import MlxFooter
from tui.widgets.side_list import SideList

__all__ = ["StacksScreen"]


class StacksScreen(MlxScreen):
    """Stack list and the highlighted stack's components."""

    BINDINGS = [
        Binding("a", "activate", "Activate", id="stacks.activate"),
        Binding("r", "refresh", "Refresh", id="stacks.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.stacks: dict[str, StackInfo] = {}

    def compose(self) -> ComposeResult:
        yield Static("Stacks", id="stacks-title", classes="title")
        with Horizontal():
            yield SideList(id="stacks")
            yield Static("", id="stack-info")
        yield MlxFooter()

    def on_mount(self) -> None:
        self.set_focus(self.query_one(OptionList))
        self.action_refresh()

    def action_refresh(self) -> None:
        self.background(self.services.stacks, done=self._loaded, group="stacks")

    def _loaded(self, stacks: list[StackInfo]) -> None:
        self.stacks = {s.name: s for s in stacks}
        items = []
        for stack in stacks:
            text = Text("● " if stack.active else "  ", style="green")
            text.append(stack.name, style="bold" if stack.active else "")
            if stack.active:
                text.append("  (active)", style="green")
            items.append((stack.name, text))
        self.query_one(SideList).set_items(items)
        active = next((s.name for s in stacks if s.active), "-")
        self.query_one("#stacks-title", Static).update(f"Stacks  {len(stacks)}  active: {active}")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        stack = self.stacks.get(event.option.id or "")
        if stack is None:
            return
        text = Text(f"{stack.name}\n", style="bold")
        if stack.description:
            text.append(stack.description + "\n", style="italic")
        for component, settings in stack.components.items():
            text.append(f"\n[{component}]\n", style="cyan")
            for key, value in settings.items():
                text.append(f"  {key} = {value!r}\n")
        self.query_one("#stack-info", Static).update(text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_activate()

    def action_activate(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return
        name = options.get_option_at_index(options.highlighted).id or ""
        self.background(self.services.set_active_stack, name,
                        done=lambda _: self._activated(name), group="activate")  # fmt: skip

    def _activated(self, name: str) -> None:
        self.notify(f"active stack: {name}", timeout=3)
        self.action_refresh()
