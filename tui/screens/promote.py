"""The promotion dialog: choose a stage, see the TOML diff and the metrics, then promote.

Every stage change asks first and shows what will change (research §2: destructive actions
confirm): the one-line diff of ``models/<name>.toml`` that ``store.promotion.preview`` computes,
the gates, and the candidate's metrics next to the incumbent's. Promoting runs in a thread; the
result (branch or commit) stays on screen until the dialog is closed, which returns it.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Select, Static

from store.models import metric_values
from tui.screens.base import MlxModal, describe_error

__all__ = ["PromoteModal"]

STAGES = ["staging", "production", "archived"]


class PromoteModal(MlxModal):
    """Returns the promotion result, or ``None`` when cancelled."""

    BINDINGS = [Binding("y", "promote", "Promote", id="promote.confirm")]

    def __init__(
        self,
        model: str,
        version: int,
        stages: dict[str, int],
        versions: dict[int, dict[str, Any]],
    ) -> None:
        super().__init__()
        self.model, self.version = model, version
        self.stages, self.versions = stages, versions
        self.result: Any = None
        self.preview: Any = None
        self._busy = False

    def compose(self) -> ComposeResult:
        names = STAGES + sorted(s for s in self.stages if s not in STAGES)
        default = "production" if self.stages.get("production") != self.version else "staging"
        with Vertical(classes="dialog", id="promote-dialog"):
            yield Static(f"Promote {self.model} v{self.version}", classes="title")
            yield Select([(s, s) for s in names], value=default, allow_blank=False, id="stage",
                         compact=True)  # fmt: skip
            yield Checkbox("force: archive the version holding the stage", id="force",
                           compact=True)  # fmt: skip
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

    def _preview(self) -> None:
        stage = self.stage
        self._show_metrics(stage)
        self.query_one("#promote-diff", Static).update("loading preview…")
        self.background(self.services.promotion_preview, self.model, self.version, stage,
                        self.force, done=self._previewed, group="preview")  # fmt: skip

    def on_background_error(self, error: BaseException | None) -> None:
        self._busy = False
        self.query_one("#promote-status", Static).update(
            Text(describe_error(error), style="bold red")
        )

    def _show_metrics(self, stage: str) -> None:
        incumbent = self.stages.get(stage)
        mine = metric_values(self.versions.get(self.version, {}).get("metadata") or {})
        theirs = metric_values(self.versions.get(incumbent or -1, {}).get("metadata") or {})
        text = Text()
        holder = f"v{incumbent}" if incumbent is not None else "nobody"
        text.append(f"{stage}: {holder} → v{self.version}\n", style="bold")
        for key in list(mine) + [k for k in theirs if k not in mine]:
            a, b = mine.get(key), theirs.get(key)
            line = f"  {key:<24} v{self.version} {_fmt(a):>10}   {holder} {_fmt(b):>10}"
            if a is not None and b is not None and a != b:
                line += f"   Δ {a - b:+.4g}"
            text.append(line + "\n")
        self.query_one("#promote-metrics", Static).update(text)

    def _previewed(self, preview: Any) -> None:
        self.preview = preview
        parts: list[Any] = []
        for gate in getattr(preview, "gate_results", None) or ():
            ok = getattr(gate, "passed", False)
            line = f"{'✔' if ok else '✘'} gate {gate.describe()}"
            parts.append(Text(line, style="green" if ok else "red"))
        refusal = getattr(preview, "refusal", None)
        if refusal:
            parts.append(Text(f"✘ {refusal}", style="bold red"))
        diff = str(getattr(preview, "diff", "") or "(no change)")
        parts.append(Syntax(diff, "diff", theme="ansi_dark", word_wrap=True))
        self.query_one("#promote-diff", Static).update(Group(*parts))

    # -- promote ---------------------------------------------------------------------------
    def action_promote(self) -> None:
        if self.result is not None:
            self.dismiss(self.result)
            return
        if self._busy:
            return
        self._busy = True
        self.query_one("#promote-status", Static).update("promoting…")
        self.background(self.services.promote, self.model, self.version, self.stage,
                        self.force, done=self._done, group="promote")  # fmt: skip

    def _done(self, result: Any) -> None:
        self._busy = False
        self.result = result
        mode = getattr(result, "mode", "")
        where = getattr(result, "branch", None) or ""
        commit = str(getattr(result, "commit", "") or "")[:10]
        text = Text(f"✔ promoted {self.model} v{self.version} to {self.stage}", style="bold green")
        text.append(f"\n{mode}: {where} {commit}".rstrip())
        archived = getattr(result, "archived_version", None)
        if archived is not None:
            text.append(f"\nv{archived} was archived")
        self.query_one("#promote-status", Static).update(text)
        self.query_one("#promote", Button).label = "Close (y)"
        self.query_one("#cancel", Button).display = False
        self.notify(f"{self.model} v{self.version} → {self.stage} ({mode} {where})".strip())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "promote":
            self.action_promote()
        else:
            self.dismiss(self.result)

    def action_cancel(self) -> None:
        self.dismiss(self.result)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
