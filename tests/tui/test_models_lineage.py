"""Models screen (versions, metrics chart, compare, promotion) and the lineage tree."""

from __future__ import annotations

from _tui_records import RUN_A, RUN_C
from textual.widgets import Checkbox, DataTable, OptionList, Select, Static, Tree

from store.project import Project
from tests.support import git, make_app, settle
from tui.screens.compare import CompareScreen
from tui.screens.confirm import ConfirmModal
from tui.screens.lineage import LineageScreen
from tui.screens.models import ModelsScreen
from tui.screens.promote import PromoteModal
from tui.screens.run_detail import RunDetailScreen
from tui.services import Services
from tui.widgets.metric_chart import MetricChart, render_chart


async def _models(app, pilot) -> ModelsScreen:  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    await pilot.press("3")
    await settle(pilot, app)
    screen = app.screen
    assert isinstance(screen, ModelsScreen)
    return screen


async def _promote_modal(app, pilot, stage: str | None = None) -> PromoteModal:  # type: ignore[no-untyped-def]
    """The promotion modal of the newest version (``p`` on the versions table), at ``stage``."""
    screen = await _models(app, pilot)
    screen.query_one("#versions", DataTable).focus()
    await pilot.press("p")
    await settle(pilot, app)
    modal = app.screen
    assert isinstance(modal, PromoteModal)
    if stage is not None:
        modal.query_one("#stage", Select).value = stage
        await settle(pilot, app)
    return modal


async def test_models_list_stage_holders_and_versions_with_metrics(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _models(app, pilot)
        models = screen.query_one("#models", OptionList)
        assert "production v1" in str(models.get_option_at_index(0).prompt)
        table = screen.query_one("#versions", DataTable)
        assert [str(c.label) for c in table.columns.values()] == [
            "ver", "stage", "accuracy", "f1", "run", "created"]  # fmt: skip
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows[0][:4] == ["v2", "", "0.95", "0.92"]
        assert rows[1][:3] == ["v1", "production", "0.91"]
        chart = str(screen.query_one(MetricChart).render())
        assert "accuracy" in chart and "last 0.95" in chart
        await pilot.press("m")
        assert "f1" in str(screen.query_one(MetricChart).render())


def test_render_chart_scales_between_min_and_max() -> None:
    text = render_chart("acc", [(1, 0.5), (2, 1.0)], {1: "production"}, rows=2).plain
    lines = text.splitlines()
    assert lines[0].startswith("acc  min 0.5  max 1")
    assert lines[1] == "  █ "  # the top row: only the best version reaches it
    assert lines[3] == "P · "
    assert render_chart("acc", []).plain == "acc: no values"


async def test_compare_two_versions_and_open_the_source_run(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _models(app, pilot)
        screen.query_one("#versions", DataTable).focus()
        await pilot.press("c")  # v2 against the version before it
        await settle(pilot, app)
        assert isinstance(app.screen, CompareScreen)
        table = app.screen.query_one(DataTable)
        keys = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert "accuracy" in keys and "run" in keys
        await pilot.press("escape", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, RunDetailScreen) and app.screen.run_id == RUN_C


async def test_promotion_creates_a_branch_with_a_one_line_diff(services: Services) -> None:
    root = services.project.root
    head = git(root, "rev-parse", "HEAD").strip()
    app = make_app(services)
    async with app.run_test(size=(100, 34)) as pilot:
        modal = await _promote_modal(app, pilot, "staging")
        assert modal.preview is not None and "+staging = 2" in modal.preview.diff
        metrics = _rendered(modal.query_one("#promote-metrics", Static))
        assert "staging: nobody → v2" in metrics
        await pilot.press("y")
        await settle(pilot, app)
        status = str(modal.query_one("#promote-status", Static).render())
        assert "promoted iris v2 to staging" in status
        await pilot.press("y")  # close
        await settle(pilot, app)
        assert isinstance(app.screen, ModelsScreen)
    branch = "mlx/promote/iris/v2-staging"
    diff = git(root, "diff", head, branch, "--unified=0", "--", "models/iris.toml")
    changed = [line for line in diff.splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]  # fmt: skip
    assert changed == ["-# staging = (unset)", "+staging = 2"]  # its slot, filled in place
    assert git(root, "rev-parse", "HEAD").strip() == head  # the work tree is untouched


async def test_promotion_refusal_is_shown_not_raised(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 34)) as pilot:
        modal = await _promote_modal(app, pilot)  # v2 -> production, held by v1: needs force
        assert modal.query_one("#stage", Select).value == "production"
        await pilot.press("y")
        await settle(pilot, app)
        assert isinstance(app.screen, PromoteModal)
        status = str(modal.query_one("#promote-status", Static).render())
        assert "v1 holds production" in status and "Tick force (f)" in status
        assert "--force" not in status  # the app's words, not the CLI's
        diff = _rendered(modal.query_one("#promote-diff", Static))
        assert "Nothing will be committed" in diff and "With force" in diff
        label = str(modal.query_one("#force", Checkbox).label)
        assert label == "force (f): v1 leaves production for archived"
        await pilot.press("f")
        await settle(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
        status = str(modal.query_one("#promote-status", Static).render())
        assert "promoted iris v2 to production" in status and "v1 was archived" in status
        await pilot.press("escape")
        assert isinstance(app.screen, ModelsScreen)


async def test_an_earlier_promotion_branch_is_replaced_after_confirmation(
    services: Services,
) -> None:
    root = services.project.root
    head = git(root, "rev-parse", "HEAD").strip()
    branch = "mlx/promote/iris/v2-staging"
    git(root, "branch", branch, "HEAD")  # left by an earlier, unmerged promotion
    app = make_app(services)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await _promote_modal(app, pilot, "staging")
        assert "already exists" in _rendered(modal.query_one("#promote-diff", Static))
        await pilot.press("y")
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot, app)
        assert app.screen is modal
        assert "promoted iris v2 to staging" in str(modal.query_one("#promote-status").render())
    assert git(root, "rev-parse", f"{branch}^").strip() == head  # a new commit on top of HEAD


async def test_failing_gates_refuse_the_promotion_until_forced(services: Services) -> None:
    root = services.project.root
    config = root / "models" / "iris.toml"
    config.write_text(config.read_text().replace('accuracy = ">= 0.8"', 'accuracy = ">= 0.99"'))
    git(root, "commit", "-qam", "stricter gate")
    app = make_app(services)
    async with app.run_test(size=(100, 34)) as pilot:
        modal = await _promote_modal(app, pilot, "staging")
        assert "fails its gates" in str(modal.preview.refusal)
        label = str(modal.query_one("#force", Checkbox).label)
        assert label == ("force (f): v2 passes despite failing gates (accuracy), recorded in the"
                         " commit and PR text")  # fmt: skip
        await pilot.press("y")
        await settle(pilot, app)
        status = str(modal.query_one("#promote-status", Static).render())
        assert "fails its gates: accuracy >= 0.99 (got 0.95)" in status
        assert git(root, "branch", "--list", "mlx/*").strip() == ""
        modal.query_one("#force", Checkbox).value = True
        await settle(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
        assert "promoted iris v2 to staging" in str(modal.query_one("#promote-status").render())
    message = git(root, "log", "-1", "--format=%B", "mlx/promote/iris/v2-staging")
    assert "forced past failing gates" in message and "accuracy >= 0.99 (got 0.95)" in message


async def test_stages_come_from_mlx_toml_and_y_f_work_whatever_has_focus(
    services: Services,
) -> None:
    root = services.project.root
    config = root / "mlx.toml"
    config.write_text(config.read_text() + '\n[models]\nstages = ["canary"]\n')
    git(root, "commit", "-qam", "a canary stage")
    app = make_app(Services(Project(root), now=services.now))  # mlx.toml is read once
    async with app.run_test(size=(100, 34)) as pilot:
        modal = await _promote_modal(app, pilot)
        select = modal.query_one("#stage", Select)
        assert [str(label) for label, _ in select._options] == [
            "production", "staging", "archived", "canary"]  # fmt: skip
        await pilot.press("tab")  # the force checkbox has focus: f and y are the dialog's
        force = modal.query_one("#force", Checkbox)
        assert force.has_focus
        await pilot.press("f")
        assert force.value
        await pilot.press("f")
        assert not force.value
        select.focus()
        await pilot.press("enter", "down", "down", "down", "enter")  # choose canary in the list
        await settle(pilot, app)
        assert select.value == "canary" and "+canary = 2" in modal.preview.diff
        await pilot.press("enter")  # the list open again: y still promotes what is shown
        assert select.expanded
        await pilot.press("y")
        await settle(pilot, app)
        assert not select.expanded
        assert "promoted iris v2 to canary" in str(modal.query_one("#promote-status").render())
    diff = git(root, "diff", "HEAD", "mlx/promote/iris/v2-canary", "--", "models/iris.toml")
    assert "+canary = 2" in diff


async def _lineage(app, pilot, artifact_id: str) -> LineageScreen:  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    app.push_screen(LineageScreen(artifact_id))
    await settle(pilot, app)
    screen = app.screen
    assert isinstance(screen, LineageScreen)
    return screen


def _labels(node) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(child.label) for child in node.children]


async def test_lineage_expands_upstream_and_downstream_lazily(services: Services) -> None:
    run = services.run(RUN_A)
    split = next(s for s in run["steps"] if s["name"] == "split")
    artifact_id = split["outputs"]["train_set"]["id"]
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _lineage(app, pilot, artifact_id)
        tree = screen.query_one(Tree)
        assert str(tree.root.label).startswith("train_set:1")
        up, down = tree.root.children
        await settle(pilot, app)
        assert _labels(up) == [f"step split in run {RUN_A[:8]}"]
        assert sorted(_labels(down)) == [f"step evaluate in train run {RUN_A[:8]}",
                                         f"step train in train run {RUN_A[:8]}"]  # fmt: skip
        producer = up.children[0]
        producer.expand()
        await settle(pilot, app)
        assert _labels(producer) == ["raw: raw:1"]
        raw = producer.children[0]
        raw.expand()
        await settle(pilot, app)
        assert _labels(raw) == [f"step load_data in run {RUN_A[:8]}"]
        tree.select_node(raw.children[0])
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, RunDetailScreen) and app.screen.run_id == RUN_A


async def test_lineage_of_unknown_artifact_says_so(services: Services) -> None:
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _lineage(app, pilot, "nope")
        assert "unknown artifact nope" in str(screen.query_one(Tree).root.label)


def _rendered(widget: Static) -> str:
    """The text a Static shows, whatever renderable it holds (groups, syntax, tables)."""
    import io

    from rich.console import Console

    console = Console(width=120, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()
