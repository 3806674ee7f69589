"""Artifacts (preview, export, lineage), stacks (switch), and app-wide keys and errors."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Checkbox, DataTable, Input, OptionList, Static

from store.errors import MlxError
from store.index import RunSummary
from tests.support import make_app, mlx_ok, palette_command, pilot_wait, settle
from tui.app import MlxApp
from tui.previews.build import value_preview
from tui.screens.artifacts import ArtifactsScreen
from tui.screens.export import ExportModal
from tui.screens.lineage import LineageScreen
from tui.screens.runs import RunsScreen
from tui.screens.stacks import StacksScreen
from tui.services import Services
from tui.widgets.side_list import SideList


async def _mode(app, pilot, key: str, kind: type) -> Any:  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    await pilot.press(key)
    await settle(pilot, app)
    assert isinstance(app.screen, kind)
    return app.screen


async def test_artifacts_list_versions_and_preview_the_value(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _mode(app, pilot, "4", ArtifactsScreen)
        names = screen.query_one("#artifact-names", OptionList)
        labels = [str(names.get_option_at_index(i).prompt) for i in range(names.option_count)]
        assert labels[0] == "metrics  2v ↑2"
        table = screen.query_one("#artifact-versions", DataTable)
        assert [str(c) for c in table.get_row_at(0)][:3] == ["v2", "dict", "18B"]
        syntax = screen.query_one("#preview", Static).content
        assert '"accuracy": 0.95' in getattr(syntax, "code", "")


async def test_an_artifact_with_many_versions_lists_the_newest_and_says_so(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tui.screens.artifacts.VERSION_ROWS", 1)  # 'metrics' has two versions
    app = make_app(services)
    async with app.run_test(size=(160, 30)) as pilot:
        screen = await _mode(app, pilot, "4", ArtifactsScreen)
        table = screen.query_one("#artifact-versions", DataTable)
        await pilot_wait(pilot, lambda: table.row_count == 1)
        assert str(table.get_row_at(0)[0]) == "v2"
        title = str(screen.query_one("#artifacts-title", Static).content)
        assert "metrics: the newest 1 of 2 versions" in title
        assert "mlx artifacts show metrics:N" in title


async def test_export_writes_the_value_in_the_extensions_format_and_lineage_opens(
    services: Services,
) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _mode(app, pilot, "4", ArtifactsScreen)
        screen.query_one("#artifact-versions", DataTable).focus()
        await pilot.press("e")
        await settle(pilot, app)
        assert isinstance(app.screen, ExportModal)
        box = app.screen.query_one(Input)
        assert box.value == "~/mlx-exports/metrics-v2.json"  # outside the repo, a dict's format
        await pilot.press("enter")
        await pilot_wait(pilot, lambda: not isinstance(app.screen, ExportModal))
        out = Path.home() / "mlx-exports" / "metrics-v2.json"
        assert json.loads(out.read_text()) == {"accuracy": 0.95}
        assert not (services.project.root / "export").exists()
        await pilot.press("o")
        await settle(pilot, app)
        assert isinstance(app.screen, LineageScreen)


async def _export_dialog(app, pilot, artifact: str) -> ExportModal:  # type: ignore[no-untyped-def]
    screen = await _mode(app, pilot, "4", ArtifactsScreen)
    screen.query_one(SideList).select_id(artifact)
    await settle(pilot, app)
    screen.query_one("#artifact-versions", DataTable).focus()
    await pilot.press("e")
    await settle(pilot, app)
    assert isinstance(app.screen, ExportModal)
    return app.screen


async def _submit(pilot, modal: ExportModal, path: Path | str) -> str:  # type: ignore[no-untyped-def]
    """Type ``path`` and press enter: the dialog's status line then, or "closed" (written)."""
    modal.query_one(Input).value = str(path)
    await pilot.press("enter")
    await settle(pilot, pilot.app)
    if pilot.app.screen is not modal:
        return "closed"
    return str(modal.query_one("#export-status", Static).render())


async def test_export_writes_what_the_cli_writes_and_refuses_in_the_dialog(
    services: Services, tmp_path: Path
) -> None:
    root = services.project.root
    out = tmp_path / "out"
    out.mkdir()
    cli_csv = out / "cli.csv"
    mlx_ok(root, "artifacts", "export", "train_set", str(cli_csv))
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        modal = await _export_dialog(app, pilot, "train_set")
        status = await _submit(pilot, modal, out / "rows.txt")
        assert "the extension picks the format" in status and ".parquet" in status
        status = await _submit(pilot, modal, out / "rows.pkl")
        assert "would be a pickle, which runs code when it is loaded" in status
        assert "--" not in status  # the app's words, not the CLI's flags
        status = await _submit(pilot, modal, cli_csv)
        assert "already exists" in status
        assert sorted(p.name for p in out.iterdir()) == ["cli.csv"]  # nothing written
        assert await _submit(pilot, modal, out / "rows.csv") == "closed"  # written
        assert (out / "rows.csv").read_bytes() == cli_csv.read_bytes()

        modal = await _export_dialog(app, pilot, "train_set")
        modal.query_one("#allow-pickle", Checkbox).value = True
        assert await _submit(pilot, modal, out / "rows.pkl") == "closed"
        with (out / "rows.pkl").open("rb") as fh:
            assert pickle.load(fh) == [[5.1, 3.5], [4.9, 3.0]]


def test_value_preview_handles_frames_arrays_and_json() -> None:
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    array = value_preview(np.zeros((3, 2), dtype="float32"))
    assert array.caption == "array · shape (3, 2) · float32"
    frame = value_preview(pd.DataFrame({"a": range(20)}))
    assert frame.caption == "DataFrame · 20 rows x 1 columns" and len(frame.rows) == 20
    json_view = value_preview({"k": [1]})
    assert (json_view.kind, json_view.body) == ("code", '{\n  "k": [\n    1\n  ]\n}')


async def test_stacks_show_components_and_switch_the_active_one(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _mode(app, pilot, "5", StacksScreen)
        options = screen.query_one(OptionList)
        assert "(active)" in str(options.get_option_at_index(0).prompt)  # local
        await pilot.press("down")
        info = str(screen.query_one("#stack-info", Static).render())
        assert "flavor = 'local_parallel'" in info and "max_workers = 4" in info
        await pilot.press("enter")
        await settle(pilot, app)
        assert services.project.active_stack_name() == "prod"
        assert "(active)" in str(options.get_option_at_index(1).prompt)


async def test_number_keys_switch_modes_and_q_quits(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(80, 24)) as pilot:
        for key, mode in (("2", "pipelines"), ("3", "models"), ("4", "artifacts"),
                          ("5", "stacks"), ("1", "runs")):  # fmt: skip
            await pilot.press(key)
            await settle(pilot, app)
            assert app.current_mode == mode
        await pilot.press("q")
    assert app.return_code == 0


async def test_help_panel_toggles_with_question_mark(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        assert app.screen.query("HelpPanel")
        await pilot.press("question_mark")
        await pilot.pause()
        assert not app.screen.query("HelpPanel")


async def test_command_palette_offers_screen_actions_and_modes(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await palette_command(pilot, app, "go to models", "Go to Models")
        assert app.current_mode == "models"
        await pilot.press("1")
        await settle(pilot, app)
        await palette_command(pilot, app, "filter", "Filter")
        await pilot_wait(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot_wait(pilot, lambda: app.screen.query_one("#runs-filter", Input).has_focus)


class _Broken(Services):
    def list_runs(self) -> list[RunSummary]:
        raise MlxError("the index is on fire")

    def model_names(self) -> list[str]:
        raise RuntimeError("boom")


async def test_store_errors_become_notifications_not_crashes(services: Services) -> None:
    app = MlxApp(_Broken(services.project, now=services.now), poll_interval=0)
    notes: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
        for screen in app.screen_stack:
            screen.notify = app.notify  # type: ignore[method-assign]
        app.screen.action_refresh()  # type: ignore[attr-defined]
        await settle(pilot, app)
        assert "the index is on fire" in notes
        await pilot.press("3")
        await settle(pilot, app)
        app.screen.notify = app.notify  # type: ignore[method-assign]
        app.screen.action_refresh()  # type: ignore[attr-defined]
        await settle(pilot, app)
        assert "RuntimeError: boom" in notes
        assert app.is_running


@pytest.mark.parametrize("key", ["1", "2", "3", "4", "5"])
async def test_every_mode_renders_at_80x24(services: Services, key: str) -> None:
    app = make_app(services)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press(key)
        await settle(pilot, app)
        assert app.is_running and app.screen.size.width == 80
