"""The promotion dialog: gates and metrics first, then exactly what will be committed.

All decisions are the store's (``store.promotion.preview``: gates, the occupied stage, a dirty
file; ``promote`` enforces them unless forced); the dialog presents them for the current
choices and re-asks the store whenever the stage or ``force`` changes:

- the gates with their values, and the candidate's metrics next to the stage holder's;
- ``force`` as a checkbox whose label is its consequence for this choice (which version gets
  archived, which gates are overridden and that the commit records it);
- the stages offered are the project's (``production``, ``staging``, ``archived`` and the
  ``[models] stages`` of ``mlx.toml``), read by the caller in a thread;
- what will be committed: the mode (promotion branch or direct commit), the branch and the exact
  TOML diff, or "nothing" and why when the store would refuse;
- errors in full below, never clipped, with a way out: an earlier promotion branch in the way
  can be replaced after a confirmation (compare-and-swap on the branch).

``y`` promotes and ``f`` toggles force whichever widget has focus, the stage list open
included: the list does not search as you type (it would swallow them; a handful of stages need
no search) and the bindings have priority (the dialog has no text field to type them into).
The result stays on screen until the dialog is closed, which returns it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Select, Static

from store.models import metric_values
from tui.screens.base import MlxModal, describe_error
from tui.screens.confirm import ConfirmModal

__all__ = ["PromoteModal"]


class PromoteModal(MlxModal):
    """Returns the promotion result, or ``None`` when cancelled."""

    BINDINGS = [
        Binding("y", "promote", "Promote", id="promote.confirm", priority=True),
        Binding("f", "toggle_force", "Force", id="promote.force", priority=True),
    ]

    def __init__(
        self,
        model: str,
        version: int,
        stages: dict[str, int],
        versions: dict[int, dict[str, Any]],
        choices: Sequence[str],
    ) -> None:
        """``stages``: the model's stage -> version; ``choices``: the project's stage names."""
        super().__init__()
        self.model, self.version, self.choices = model, version, list(choices)
        self.stages, self.versions = stages, versions
        self.result: Any = None
        self.preview: Any = None
        self.target: tuple[str, str, str | None] | None = None  # (mode, branch, existing)
        self._busy = False
        self._wanted = False  # y was pressed while the preview was loading

    def compose(self) -> ComposeResult:
        names = self.choices
        default = "production" if self.stages.get("production") != self.version else "staging"
        with Vertical(classes="dialog", id="promote-dialog"):
            yield Static(f"Promote {self.model} v{self.version}", classes="title")
            yield Select([(s, s) for s in names], value=default if default in names else names[0],
                         allow_blank=False, type_to_search=False, id="stage",
                         compact=True)  # fmt: skip
            yield Checkbox(FORCE + "…", id="force", compact=True)
            with VerticalScroll(id="promote-body"):
                yield Static("", id="promote-metrics")
                yield Static("loading preview…", id="promote-diff")
            yield Static("", id="promote-status")
            with Horizontal(classes="buttons"):
                yield Button("Promote (y)", variant="primary", id="promote", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#stage", Select))
        self._preview()

    @property
    def stage(self) -> str:
        return str(self.query_one("#stage", Select).value)

    @property
    def force(self) -> bool:
        return self.query_one("#force", Checkbox).value

    def on_select_changed(self, event: Select.Changed) -> None:
        if self.result is None:
            self._preview()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if self.result is None:
            self._preview()

    def action_toggle_force(self) -> None:
        if self.result is None:
            box = self.query_one("#force", Checkbox)
            box.value = not box.value

    # -- preview ---------------------------------------------------------------------------
    def _preview(self) -> None:
        self.preview = None
        self.query_one("#promote-diff", Static).update(Text("loading preview…", style="italic"))
        self.query_one("#promote-status", Static).update("")
        self.background(self._load, self.stage, self.force, done=self._previewed,
                        group="preview")  # fmt: skip

    def _load(self, stage: str, force: bool) -> tuple[str, bool, Any, Any]:
        preview = self.services.promotion_preview(self.model, self.version, stage, force)
        target = self.services.promotion_target(self.model, self.version, stage)
        return stage, force, preview, target

    def on_background_error(self, error: BaseException | None) -> None:
        self._busy = False
        self._show_error(describe_error(error))

    def _previewed(self, loaded: tuple[str, bool, Any, Any]) -> None:
        stage, force, preview, target = loaded
        if (stage, force) != (self.stage, self.force):
            return  # an older answer: a newer preview is on its way
        self.preview, self.target = preview, target
        self.query_one("#promote-metrics", Static).update(self._facts(preview))
        self.query_one("#force", Checkbox).label = self._force_label(preview)
        self.query_one("#promote-diff", Static).update(self._commit_part(preview))
        refused = self._refusal_text(preview)
        self.query_one("#promote", Button).disabled = refused is not None
        if refused is not None:
            self.query_one("#promote-status", Static).update(Text(refused, style="bold red"))
        if self._wanted:
            self._wanted = False
            self.action_promote()

    def _facts(self, preview: Any) -> RenderableType:
        """Gates, then the candidate's metrics next to the current holder's."""
        parts: list[RenderableType] = [Text("Gates", style="bold")]
        gates = list(getattr(preview, "gate_results", ()) or ())
        for gate in gates:
            ok = bool(gate.passed)
            parts.append(Text(f"  {'✔' if ok else '✘'} {gate.describe()}",
                              style="green" if ok else "red"))  # fmt: skip
        if not gates:
            parts.append(Text("  none configured in models/" + self.model + ".toml", "grey50"))
        incumbent = preview.incumbent
        mine = metric_values(self.versions.get(self.version, {}).get("metadata") or {})
        theirs = metric_values(self.versions.get(incumbent or -1, {}).get("metadata") or {})
        holder = f"v{incumbent}" if incumbent is not None else "nobody"
        parts.append(Text(f"\n{preview.stage}: {holder} → v{self.version}", style="bold"))
        if mine or theirs:
            table = Table(box=None, padding=(0, 2), show_edge=False)
            table.add_column("metric", style="cyan", no_wrap=True)
            table.add_column(f"v{self.version}", justify="right")
            table.add_column(holder, justify="right")
            table.add_column("Δ", justify="right")
            for key in list(mine) + [k for k in theirs if k not in mine]:
                a, b = mine.get(key), theirs.get(key)
                delta = f"{a - b:+.4g}" if a is not None and b is not None and a != b else ""
                table.add_row(key, _fmt(a), _fmt(b), delta)
            parts.append(table)
        return Group(*parts)

    def _force_label(self, preview: Any) -> Text:
        """The force checkbox's label: what ticking it does for this choice."""
        consequences = []
        holder = preview.incumbent
        if holder is not None and holder != self.version:
            if preview.stage != "archived":
                consequences.append(f"v{holder} leaves {preview.stage} for archived")
            else:
                consequences.append(f"v{holder} leaves archived")
        failing = [g for g in getattr(preview, "gate_results", ()) or () if not g.passed]
        if failing:
            consequences.append(
                f"v{self.version} passes despite failing gates ("
                + ", ".join(g.metric for g in failing)
                + "), recorded in the commit and PR text"
            )
        if not consequences:
            return Text(FORCE + "not needed for this choice", style="grey50")
        return Text(FORCE + "; ".join(consequences), style="bold yellow" if self.force else "")

    def _refusal_text(self, preview: Any) -> str | None:
        """Why nothing would be committed, said in the dialog's terms (None: it would be)."""
        refusal = getattr(preview, "refusal", None)
        if not refusal:
            return None
        if getattr(preview, "needs_force", False) and not self.force:
            what = []
            if preview.incumbent is not None and preview.incumbent != self.version:
                what.append(f"v{preview.incumbent} holds {preview.stage}")
            failing = [g.describe() for g in preview.gate_results if not g.passed]
            if failing:
                what.append(f"v{self.version} fails its gates: " + "; ".join(failing))
            return ("Refused: " + " and ".join(what or [str(refusal)])
                    + ". Tick force (f) to promote anyway, or choose another stage.")  # fmt: skip
        return f"Refused: {refusal}"

    def _commit_part(self, preview: Any) -> RenderableType:
        """What will be committed: mode, branch and the exact TOML diff."""
        parts: list[RenderableType] = []
        diff = str(getattr(preview, "diff", "") or "")
        refused = self._refusal_text(preview) is not None
        mode, branch, existing = self.target or ("pull-request", "?", None)
        if refused:
            parts.append(Text("\nNothing will be committed with these choices.", style="bold"))
            if getattr(preview, "needs_force", False) and diff:
                parts.append(Text("With force, this change would be committed:", "grey50"))
                parts.append(Syntax(diff, "diff", theme="ansi_dark", word_wrap=True))
            return Group(*parts)
        where = f"a new branch {branch} (merge it as a pull request)"
        if mode == "direct":
            where = f"a commit on {branch} (direct promotion)"
        parts.append(Text(f"\nWill commit to {where}:", style="bold"))
        if existing:
            warning = (f"⚠ branch {branch} already exists at {existing[:10]} (an earlier "
                       "promotion); promoting asks to replace it")  # fmt: skip
            parts.append(Text(warning, style="yellow"))
        parts.append(Syntax(diff or "(no change)", "diff", theme="ansi_dark", word_wrap=True))
        return Group(*parts)

    # -- promote ---------------------------------------------------------------------------
    def action_promote(self) -> None:
        self.query_one("#stage", Select).expanded = False  # y promotes the stage shown
        if self.result is not None:
            self.dismiss(self.result)
            return
        if self._busy:
            return
        if self.preview is None:  # promote as soon as the preview for these choices is in
            self._wanted = True
            self._show_status(Text("waiting for the preview…", style="italic"))
            return
        refused = self._refusal_text(self.preview)
        if refused is not None:
            self._show_error(refused)
            return
        mode, branch, existing = self.target or ("pull-request", "", None)
        if existing:
            body = Text.assemble(
                f"Branch {branch} already exists at {existing[:10]}, left by an earlier "
                "promotion that was not merged.\n\n",
                ("Replacing it deletes that branch (only if it is still at that commit) and "
                 "creates it again with this promotion.", "bold"),
            )  # fmt: skip
            confirm = ConfirmModal("Replace the promotion branch?", body, yes="Replace (y)")
            self.app.push_screen(confirm, lambda yes: self._go(existing) if yes else None)
            return
        self._go(None)

    def _go(self, replace_at: str | None) -> None:
        self._busy = True
        self.query_one("#promote-status", Static).update(Text("promoting…", style="italic"))
        self.background(self.services.promote, self.model, self.version, self.stage,
                        self.force, replace_at, done=self._done, group="promote")  # fmt: skip

    def _show_error(self, message: str) -> None:
        text = Text(message, style="bold red")
        if "already exists" in message:  # a branch appeared meanwhile: look again, offer replace
            text.append("\npress y again to replace it", style="yellow")
            self._preview_keep_status(message)
        else:
            text.append("\nfix it and press y again, or esc to close", style="grey50")
        self.query_one("#promote-status", Static).update(text)

    def _preview_keep_status(self, message: str) -> None:
        def reloaded(loaded: tuple[str, bool, Any, Any]) -> None:
            self._previewed(loaded)
            self._show_status(Text(message + "\npress y again to replace it", style="bold red"))

        self.background(self._load, self.stage, self.force, done=reloaded, group="preview")

    def _show_status(self, text: Text) -> None:
        self.query_one("#promote-status", Static).update(text)

    def _done(self, result: Any) -> None:
        self._busy = False
        self.result = result
        mode = getattr(result, "mode", "")
        where = getattr(result, "branch", None) or ""
        commit = str(getattr(result, "commit", "") or "")[:10]
        text = Text(f"✔ promoted {self.model} v{result.version} to {self.stage}",
                    style="bold green")  # fmt: skip
        text.append(f"\n{mode}: {where} {commit}".rstrip())
        archived = getattr(result, "archived_version", None)
        if archived is not None:
            text.append(f"\nv{archived} was archived")
        if getattr(result, "requested_version", None) is not None:
            text.append(f"\npublishing the runs renumbered v{self.version} to v{result.version}")
        self._show_status(text)
        self.query_one("#promote", Button).label = "Close (y)"
        self.query_one("#promote", Button).disabled = False
        self.query_one("#cancel", Button).display = False
        self.notify(f"{self.model} v{result.version} → {self.stage} ({mode} {where})".strip())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "promote":
            self.action_promote()
        else:
            self.dismiss(self.result)

    def action_cancel(self) -> None:
        self.dismiss(self.result)


FORCE = "force (f): "


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
