"""The launch form: one field per pipeline parameter, prefilled, validated before launching.

Built from ``Pipeline.parameter_specs()`` like trogon builds forms from click options. Integer
and float fields only accept numbers as you type; on submit the pipeline's own
``validate_parameters`` (in a thread) checks every value and a failure is shown under the form.
A preview line shows the equivalent ``mlx run`` command. Returns the raw ``{name: text}``
parameters to launch with, or ``None``.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from tui.screens.base import MlxModal, describe_error
from tui.services import ParamInfo, PipelineInfo

__all__ = ["LaunchModal", "param_text"]


def param_text(value: Any) -> str:
    """How a parameter value is typed into the form (and passed as ``-p k=v``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _input_type(annotation: str) -> str:
    base = annotation.replace("typing.", "").split("|")[0].strip()
    return {"int": "integer", "float": "number"}.get(base, "text")


class LaunchModal(MlxModal):
    """Form for launching ``pipeline``; dismisses with the raw parameters."""

    # Not a priority binding: it must wait behind keys already queued for the focused field
    # (a fast "4 ctrl+r" would otherwise launch before the 4 is in the box).
    BINDINGS = [Binding("ctrl+r", "launch", "Launch", id="launch.go")]

    def __init__(self, pipeline: PipelineInfo, prefill: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.prefill = prefill or {}

    def _initial(self, param: ParamInfo) -> str:
        if param.name in self.prefill:
            return param_text(self.prefill[param.name])
        return "" if param.required else param_text(param.default)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="launch-dialog"):
            yield Static(f"Launch {self.pipeline.name}", classes="title")
            with VerticalScroll(id="launch-fields"):
                if not self.pipeline.params:
                    yield Label("(this pipeline takes no parameters)")
                for param in self.pipeline.params:
                    need = " (required)" if param.required else ""
                    yield Label(f"{param.name}: {param.annotation}{need}")
                    yield Input(
                        self._initial(param), id=f"param-{param.name}",
                        type=_input_type(param.annotation),  # type: ignore[arg-type]
                        placeholder="required" if param.required else param_text(param.default),
                    )  # fmt: skip
            yield Static("", id="launch-preview")
            yield Static("", id="launch-error")
            with Horizontal(classes="buttons"):
                yield Button("Launch (ctrl+r)", variant="primary", id="launch", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        inputs = self.query(Input)
        if inputs:
            self.set_focus(inputs.first())
        else:
            self.set_focus(self.query_one("#launch", Button))
        self._update_preview()

    def raw_params(self) -> dict[str, str]:
        """Fields that differ from the default, plus every required one."""
        raw: dict[str, str] = {}
        for param in self.pipeline.params:
            value = self.query_one(f"#param-{param.name}", Input).value
            if param.required or param.name in self.prefill or value != param_text(param.default):
                raw[param.name] = value
        return raw

    def _update_preview(self) -> None:
        words = ["mlx", "run", self.pipeline.name]
        for key, value in self.raw_params().items():
            words += ["-p", f"{key}={value}"]
        self.query_one("#launch-preview", Static).update(shlex.join(words))

    def on_input_changed(self, event: Input.Changed) -> None:
        self._update_preview()
        self.query_one("#launch-error", Static).update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_launch()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "launch":
            self.action_launch()
        else:
            self.dismiss(None)

    def action_launch(self) -> None:
        missing = [
            p.name for p in self.pipeline.params
            if p.required and not self.query_one(f"#param-{p.name}", Input).value
        ]  # fmt: skip
        if missing:
            self._error("missing required parameter(s): " + ", ".join(missing))
            return
        raw = self.raw_params()

        def valid(_typed: object) -> None:
            self.dismiss(raw)

        self.background(
            self.services.validate_parameters, self.pipeline.name, raw, done=valid, group="validate"
        )

    def on_background_error(self, error: BaseException | None) -> None:
        self._error(describe_error(error))

    def _error(self, message: str) -> None:
        self.query_one("#launch-error", Static).update(f"✘ {message}")
        for param in self.pipeline.params:
            box = self.query_one(f"#param-{param.name}", Input)
            box.set_class(param.name in message, "-invalid")
