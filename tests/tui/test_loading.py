"""Loading indicators for slow loads: shown after the delay, gone when the load ends."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from tests.support import pilot_wait
from tui.widgets.loading import loading_after


class _One(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("data", id="box")


async def test_a_slow_load_shows_the_indicator_until_it_ends() -> None:
    app = _One()
    async with app.run_test() as pilot:
        box = app.query_one("#box", Static)
        done = loading_after(box, delay=0.05)
        await pilot_wait(pilot, lambda: box.loading)
        done()
        assert not box.loading
        quick = loading_after(box, delay=30)
        quick()  # ended before the delay: never shown
        await pilot.pause()
        assert not box.loading
