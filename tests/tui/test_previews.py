"""Artifact previews: each kind of value as the artifacts screen shows it.

The artifacts come from real ``mlx run`` subprocesses (real git, DVC and materializers) of a
pipeline returning Markdown/HTML/CSV/JSON strings, a DataFrame of 2,000 rows, a 2,000x4 array,
a dict with a logged ``accuracy`` (three runs: a series), bytes and a pickled object.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, OptionList, Static

from store.project import Project
from store.records import DvcPointer
from tests.support import (
    REPO,
    commit_all,
    make_app,
    mlx_run_json,
    pilot_wait,
    settle,
    write_pipeline,
)
from tui.previews.build import csv_preview, frame_preview, html_preview
from tui.previews.html_text import html_to_markdown
from tui.previews.load import load_preview
from tui.previews.series import render_series
from tui.screens.artifacts import ArtifactsScreen
from tui.services import Services
from tui.widgets.preview import ROWS_PER_CHUNK, PreviewPane, SeriesPlot

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

KINDS = """
from typing import Annotated

import numpy as np
import pandas as pd

from engine import log_metadata, pipeline, step
from engine.types import CSVString, HTMLString, JSONString, MarkdownString


class Opaque:
    def __init__(self) -> None:
        self.weights = [1, 2, 3]


@step
def texts() -> tuple[
    Annotated[MarkdownString, "report"], Annotated[HTMLString, "page"],
    Annotated[CSVString, "table"], Annotated[JSONString, "config"],
]:
    return (
        MarkdownString("# Evaluation report\\n\\nAll **good**.\\n\\n"
                       "- recall 0.91\\n- precision 0.88\\n"),
        HTMLString("<html><body><h1>Confusion matrix</h1></body></html>"),
        CSVString("city,population\\nParis,2102650\\nLyon,522250\\nNice,348085\\n"),
        JSONString('{"layers": [64, 32], "dropout": null}'),
    )


@step
def frame(n: int) -> Annotated[pd.DataFrame, "frame"]:
    return pd.DataFrame({"x": range(n), "y": [i * 0.5 for i in range(n)],
                         "name": [f"row{i}" for i in range(n)]})


@step
def array(n: int) -> Annotated[np.ndarray, "weights"]:
    return np.arange(n * 4, dtype="float32").reshape(n, 4)


@step
def score(n: int) -> Annotated[dict, "scores"]:
    log_metadata({"accuracy": n / 1000}, infer_artifact=True)
    return {"accuracy": n / 1000}


@step
def odd() -> tuple[Annotated[bytes, "blob"], Annotated[Opaque, "opaque"]]:
    return b"\\x00\\x01binary", Opaque()


@pipeline
def kinds(n: int = 2000) -> None:
    texts()
    frame(n)
    array(n)
    score(n)
    odd()
"""


@pytest.fixture(scope="module")
def kinds_root(tmp_path_factory: pytest.TempPathFactory, template_project: Path) -> Path:
    """Three runs of ``kinds`` (n = 700, 900, then 2000): scores:1..3 carry a series."""
    root = tmp_path_factory.mktemp("previews") / "proj"
    shutil.copytree(template_project, root, symlinks=True)
    write_pipeline(root, "kinds", KINDS)
    commit_all(root, "kinds pipeline")
    for n in (700, 900, 2000):
        mlx_run_json(root, "kinds", "-p", f"n={n}")
    return root


class FrozenServices(Services):
    """Real services whose version rows show fixed run ids and times (stable snapshots)."""

    def artifact_versions(self, name: str) -> list[dict[str, Any]]:
        rows = super().artifact_versions(name)
        for row in rows:
            row["run_id"] = f"run{row['version']:05d}"
            row["created_at"] = "2026-12-06T11:00:00+00:00"
        return rows


@pytest.fixture
def kinds(kinds_root: Path) -> Services:
    return FrozenServices(Project(kinds_root), now=lambda: NOW)


async def _show(pilot: Any, name: str) -> PreviewPane:
    """The artifacts screen with ``name`` chosen and its preview loaded."""
    app = pilot.app
    await settle(pilot, app)
    await pilot.press("4")
    await settle(pilot, app)
    screen = app.screen
    assert isinstance(screen, ArtifactsScreen)
    names = screen.query_one("#artifact-names", OptionList)
    await pilot_wait(pilot, lambda: names.option_count > 0)
    ids = [names.get_option_at_index(i).id for i in range(names.option_count)]
    names.highlighted = ids.index(name)
    await settle(pilot, app)
    pane = screen.query_one(PreviewPane)
    await pilot_wait(pilot, lambda: pane.preview is not None and name in str(pane.border_title))
    await pilot_wait(pilot, lambda: not pane.busy)
    await settle(pilot, app)
    return pane


def _static_text(pane: PreviewPane) -> str:
    content = pane.query_one("#preview", Static).content
    return str(getattr(content, "code", content))


async def test_markdown_is_rendered_with_its_heading(kinds: Services) -> None:
    app = make_app(kinds)
    async with app.run_test(size=(120, 36)) as pilot:
        pane = await _show(pilot, "report")
        assert "MarkdownString" in str(pane.border_title)
        heading = pane.query_one("MarkdownH1")
        assert "Evaluation report" in str(heading.render())
        items = [str(item.render()) for item in pane.query("MarkdownParagraph")]
        assert any("recall 0.91" in text for text in items)
        assert pane.caption.startswith("Markdown ·")


async def test_html_is_rendered_and_json_is_pretty_printed(kinds: Services) -> None:
    app = make_app(kinds)
    async with app.run_test(size=(120, 36)) as pilot:
        pane = await _show(pilot, "page")
        assert pane.preview is not None and pane.preview.kind == "markdown"
        heading = pane.query_one("MarkdownH1")
        assert "Confusion matrix" in str(heading.render())
        assert pane.caption.startswith("HTML as text ·")
        pane = await _show(pilot, "config")
        assert _static_text(pane) == '{\n  "layers": [\n    64,\n    32\n  ],\n  "dropout": null\n}'


async def test_csv_is_a_table_with_its_header(kinds: Services) -> None:
    app = make_app(kinds)
    async with app.run_test(size=(120, 36)) as pilot:
        pane = await _show(pilot, "table")
        table = pane.query_one("#preview-table", DataTable)
        assert table.display and table.row_count == 3
        assert [str(c.label) for c in table.columns.values()] == ["city", "population"]
        assert [str(c) for c in table.get_row_at(1)] == ["Lyon", "522250"]
        assert pane.caption == "CSV · 3 rows x 2 columns"


async def test_dataframe_is_a_scrollable_table_capped_at_1000_rows(kinds: Services) -> None:
    app = make_app(kinds)
    async with app.run_test(size=(120, 36)) as pilot:
        pane = await _show(pilot, "frame")
        table = pane.query_one("#preview-table", DataTable)
        assert table.row_count == 1000
        assert pane.caption == "DataFrame · 2,000 rows x 3 columns · first 1,000 shown"
        labels = [str(c.label) for c in table.columns.values()]
        assert labels == ["x\nint64", "y\nfloat64", "name\nstr"]
        table.focus()
        await pilot.press("ctrl+end")
        await pilot_wait(pilot, lambda: table.cursor_row == 999)
        assert [str(c) for c in table.get_row_at(999)] == ["999", "499.5", "row999"]
        assert table.scroll_y > 0
        assert isinstance(app.screen, ArtifactsScreen)  # enter/highlight stay in the preview


async def test_a_big_table_is_filled_in_chunks_between_refreshes(kinds: Services) -> None:
    from textual.app import App, ComposeResult

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield PreviewPane()

    preview = kinds.preview_data(kinds.artifact("frame", 3))
    async with Host().run_test(size=(80, 24)) as pilot:
        pane = pilot.app.query_one(PreviewPane)
        pane.show(preview)
        table = pane.query_one("#preview-table", DataTable)
        assert table.row_count == ROWS_PER_CHUNK and pane.busy  # the rest after a refresh
        await pilot_wait(pilot, lambda: not pane.busy)
        assert table.row_count == 1000
        pane.show(kinds.preview_data(kinds.artifact("table", 1)))  # replaces, no stale rows
        await pilot.pause()
        assert table.row_count == 3 and not pane.busy


async def test_array_shows_shape_dtype_and_only_its_head(kinds: Services) -> None:
    app = make_app(kinds)
    async with app.run_test(size=(120, 36)) as pilot:
        pane = await _show(pilot, "weights")
        assert pane.caption == ("array · shape (2000, 4) · float32 · first 20 shown")
        body = _static_text(pane)
        assert body.splitlines()[0] == "[[ 0.  1.  2.  3.]"
        assert len(body.splitlines()) == 20 and "79." in body and "80." not in body


async def test_metric_series_across_versions_is_plotted_with_min_max_last(
    kinds: Services,
) -> None:
    app = make_app(kinds)
    async with app.run_test(size=(120, 36)) as pilot:
        pane = await _show(pilot, "scores")
        plot = pane.query_one(SeriesPlot)
        assert plot.display and plot.selected == 3
        line = str(plot.render()).splitlines()[0]
        assert line.startswith("accuracy  ▁▂█  min 0.7  max 2  last 2 (v3)")
        versions = app.screen.query_one("#artifact-versions", DataTable)
        versions.focus()
        await pilot.press("down")
        await pilot_wait(pilot, lambda: plot.selected == 2)
        await settle(pilot, app)
        assert "0.9" in _static_text(pane)  # the value of version 2


async def test_a_model_artifact_plots_its_model_versions_metrics(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await _show(pilot, "model")
        plot = pane.query_one(SeriesPlot)
        lines = str(plot.render()).splitlines()
        assert lines[0].startswith("iris accuracy  ▁█  min 0.91  max 0.95  last 0.95 (v2)")
        assert lines[1].startswith("iris f1        ▁█  min 0.88  max 0.92  last 0.92 (v2)")


async def test_binary_and_pickled_values_are_described_in_one_line(kinds: Services) -> None:
    app = make_app(kinds)
    async with app.run_test(size=(120, 36)) as pilot:
        pane = await _show(pilot, "blob")
        assert pane.caption == "binary data · 8 bytes · press e to export it"
        pane = await _show(pilot, "opaque")
        assert pane.caption.startswith("pipelines.kinds.Opaque · ")
        assert "not previewed, loading it would run code · press e to export it" in pane.caption
        assert not pane.query_one("#preview-scroll").display


def test_values_above_the_limit_are_described_but_frames_and_arrays_are_read_in_part(
    kinds: Services,
) -> None:
    project = kinds.project
    big = load_preview(project, kinds.artifact("scores", 3), limit=10)
    assert big.kind == "note"
    assert big.caption == (
        "builtins.dict · 17B · larger than the 10B preview limit · press e to export it"
    )
    frame = load_preview(project, kinds.artifact("frame", 3), limit=10)  # head of the parquet
    assert frame.kind == "table" and len(frame.rows) == 1000
    array = load_preview(project, kinds.artifact("weights", 3), limit=10)  # memory-mapped head
    assert array.caption.startswith("array · shape (2000, 4)")


def test_frames_with_an_index_and_many_columns_say_what_is_cut() -> None:
    pd = pytest.importorskip("pandas")
    wide = pd.DataFrame({f"c{i}": [i, i + 1] for i in range(60)}, index=pd.Index(["a", "b"],
                        name="key"))  # fmt: skip
    preview = frame_preview(wide, total=len(wide))
    assert preview.columns[:2] == ["key", "c0"] and len(preview.columns) == 51
    assert preview.rows[1][:3] == ["b", "1", "2"]
    assert preview.caption == "DataFrame · 2 rows x 60 columns · first 50 of 60 columns"
    ragged = csv_preview("a,b\n1,2,3\n4\n")
    assert ragged.columns == ["a", "b", "column 3"] and ragged.rows == [["1", "2", "3"], ["4"]]


async def test_a_version_whose_bytes_are_gone_shows_why_in_red(services: Services) -> None:
    record = services.artifact("metrics", 2)
    services.project.artifacts.cache_file(DvcPointer(**record["pointer"])).unlink()
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await _show(pilot, "metrics")
        assert pane.caption.startswith("cannot preview: ArtifactMissingError")
        assert pane.query_one("#preview-caption").has_class("-error")
        assert app.is_running


class SlowServices(FrozenServices):
    """Loads a preview only once the test sets ``go``."""

    go = threading.Event()

    def preview_data(self, record: dict[str, Any]) -> Any:
        assert self.go.wait(120), "the test never released the load"
        return super().preview_data(record)


async def test_a_slow_load_shows_a_loading_indicator_and_keys_keep_working(
    kinds_root: Path,
) -> None:
    services = SlowServices(Project(kinds_root), now=lambda: NOW)
    services.go.clear()
    app = make_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("4")
        pane = app.screen.query_one(PreviewPane)
        await pilot_wait(pilot, lambda: pane.loading)
        assert pane.caption == "loading…"
        names = app.screen.query_one("#artifact-names", OptionList)
        before = names.highlighted
        await pilot.press("down")  # answered while the load waits in its thread
        assert names.highlighted == (before or 0) + 1
        services.go.set()
        await settle(pilot, app)
        assert not pane.loading and pane.preview is not None


def test_previews_import_no_dataframe_library_until_one_is_shown() -> None:
    code = (
        "import sys, json\n"
        "import tui.app, tui.screens.artifacts, tui.widgets.preview, tui.previews.load\n"
        "from tui.previews.build import value_preview\n"
        "value_preview({'a': 1})\n"
        "print(json.dumps([m for m in ('pandas', 'numpy', 'pyarrow') if m in sys.modules]))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


SIZES = {"80x24": (80, 24), "120x36": (120, 36), "200x50": (200, 50)}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("artifact", ["frame", "report", "page", "scores", "weights", "table"])
def test_preview_snapshot(snap_compare: Any, kinds: Services, artifact: str, size: str) -> None:
    async def run_before(pilot: Any) -> None:
        await _show(pilot, artifact)

    assert snap_compare(make_app(kinds), terminal_size=SIZES[size], run_before=run_before)


@pytest.mark.parametrize("width", [20, 36, 48, 80, 200])
def test_series_lines_fit_the_width_and_keep_the_last_value(width: int) -> None:
    series = [
        ("iris accuracy", [(1, 0.91), (2, 0.95)]),
        ("rows", [(v, v * 10.0) for v in range(300)]),
    ]
    lines = render_series(series, width, selected=2).plain.splitlines()
    assert len(lines) == 2 and all(len(line) <= width for line in lines)
    assert lines[0].endswith("last 0.95" + (" (v2)" if width >= 60 else ""))
    assert "last 2990" in lines[1]


def test_html_becomes_markdown_and_a_page_without_text_its_source() -> None:
    page = (
        "<html><head><title>t</title><style>p {color: red}</style></head><body>"
        "<h2>Scores</h2><p>Best: <b>0.95</b>, see <a href='https://example.org/r'>the run</a>."
        "</p><ul><li>recall</li><li>precision</li></ul><table><tr><th>k</th><th>v</th></tr>"
        "<tr><td>a|b</td><td>1</td></tr></table><pre>x  = 1\n  y</pre>"
        "<script>document.write('no')</script></body></html>"
    )
    assert html_to_markdown(page) == (
        "## Scores\n\nBest: **0.95**, see the run (https://example.org/r).\n\n"
        "- recall\n- precision\n\n| k | v |\n|---|---|\n| a\\|b | 1 |\n\n"
        "```\nx  = 1\n  y\n```"
    )
    scripted = "<html><body><div id='app'></div><script>render()</script></body></html>"
    preview = html_preview(scripted)
    assert preview.kind == "code" and preview.language == "html"
    assert preview.body == scripted
    assert preview.caption.startswith("HTML with no text to show: its source")
