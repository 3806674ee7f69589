"""The key footer follows its screen's keys and rebuilds only when they change."""

from __future__ import annotations

from typing import Any

from textual.widgets._footer import FooterKey

from tests.support import make_app, pilot_wait, settle
from tui.screens.palette import PaletteScreen
from tui.services import Services
from tui.widgets.footer import MlxFooter


def _keys(app: Any) -> list[FooterKey]:
    return list(app.screen.query_one(MlxFooter).query(FooterKey))


async def test_footer_shows_new_keys_and_keeps_unchanged_ones(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        before = _keys(app)
        assert "filter" in [k.action for k in before]
        assert "back" not in [k.action for k in before]  # esc does nothing yet

        await pilot.press("ctrl+p")
        await pilot_wait(pilot, lambda: isinstance(app.screen, PaletteScreen))
        await pilot.press("escape")
        await pilot_wait(pilot, lambda: not isinstance(app.screen, PaletteScreen))
        await settle(pilot, app)
        after = _keys(app)
        assert [id(k) for k in after] == [id(k) for k in before]  # not rebuilt: same widgets

        await pilot.press("slash", *"status:failed", "enter")
        await pilot_wait(pilot, lambda: "back" in [k.action for k in _keys(app)])
