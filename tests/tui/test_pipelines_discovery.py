"""The Pipelines screen lists what discovery finds and warns about modules it cannot use."""

from __future__ import annotations

from tests.support import make_app, settle
from tui.screens.pipelines import PipelinesScreen
from tui.services import Services


async def test_a_broken_pipeline_module_is_a_warning_not_an_empty_list(
    services: Services,
) -> None:
    broken = "from engine import pipeline\n\n@pipeline\ndef broken(:\n"
    (services.project.root / "pipelines" / "broken.py").write_text(broken)
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("2")
        await settle(pilot, app)
        screen = app.screen

        assert isinstance(screen, PipelinesScreen)
        assert list(screen.pipelines) == ["example"]
        messages = [n.message for n in app._notifications]
        assert any("pipelines/broken.py:4: SyntaxError" in m for m in messages), messages
