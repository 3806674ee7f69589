"""One run: its parameters and code, the step DAG, and the selected step's log and artifacts.

The DAG is a :class:`~tui.widgets.dag_list.DagList`; moving its cursor loads the step's log
(``Log``, which writes 100k lines in 0.05 s), its artifacts and the cache story (which run it
was cached from, or why it re-ran). While the run is live a timer re-reads its journal and
tails the step's live log file from the last offset read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from rich.highlighter import Highlighter
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Log, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from tui.format import GLYPHS, format_age, format_duration, parse_time
from tui.messages import CompareRuns, LaunchPipeline, OpenLineage, OpenRun
from tui.screens.base import MlxScreen
from tui.screens.pick_run import PickRunModal
from tui.widgets.dag_list import DagList
from tui.widgets.footer import MlxFooter
from tui.widgets.loading import loading_after, when_slow

__all__ = ["NeedleHighlighter", "RunDetailScreen"]

LOADING_LINE = "loading the log…"


class NeedleHighlighter(Highlighter):
    """Highlights every case-insensitive occurrence of one search string."""

    def __init__(self, needle: str) -> None:
        self.needle = needle

    def highlight(self, text: Text) -> None:
        if self.needle:
            pattern = re.escape(self.needle)
            text.highlight_regex(re.compile(pattern, re.IGNORECASE), "reverse bold yellow")


class RunDetailScreen(MlxScreen):
    """Detail of one run, live while it runs."""

    BINDINGS = [
        Binding("slash", "search", "Search log", id="run.search"),
        Binding("n", "next_match(1)", "Next match", show=False, id="run.next"),
        Binding("N", "next_match(-1)", "Prev match", show=False, id="run.prev"),
        Binding("o", "lineage", "Lineage", id="run.lineage"),
        Binding("R", "rerun", "Rerun", id="run.rerun"),
        Binding("e", "rerun_edit", "Edit & rerun", id="run.rerun_edit"),
        Binding("c", "compare", "Compare", id="run.compare"),
        Binding("f", "follow", "Follow log", show=False, id="run.follow"),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.record: dict[str, Any] = {}
        self._step: str | None = None
        self._log_pos = 0
        self._log_lines: list[str] = []
        self._matches: list[int] = []
        self._match = -1
        self._needle = ""
        self._loading: dict[str, Callable[[], None]] = {}  # what shows a loading indicator

    def compose(self) -> ComposeResult:
        yield Static(f"Run {self.run_id[:8]}", id="run-title", classes="title")
        yield Static("", id="run-info")
        with Horizontal(id="run-body"):
            yield DagList(id="dag")
            with TabbedContent(id="step-tabs"):
                with TabPane("Log", id="tab-log"):
                    yield Input(placeholder="search the log (enter: next match)", id="log-search")
                    yield Log(id="log", max_lines=None)
                with TabPane("Artifacts", id="tab-artifacts"):
                    yield OptionList(id="artifacts")
                with TabPane("Step", id="tab-step"), VerticalScroll():
                    yield Static("", id="step-info")
        yield MlxFooter()

    def on_mount(self) -> None:
        self.query_one("#log-search", Input).display = False
        self.query_one(DagList).open_search = self.action_search
        self.set_focus(self.query_one(DagList))
        self._reload()
        interval = getattr(self.app, "poll_interval", 1.0)
        if interval:
            self.set_interval(interval, self._tick)

    # -- loading ---------------------------------------------------------------------------
    @property
    def live(self) -> bool:
        return self.record.get("status") == "running"

    def _reload(self) -> None:
        if not self.record and "run" not in self._loading:
            # on the header, which takes no focus (a covered widget loses it: not the DAG)
            self._loading["run"] = loading_after(self.query_one("#run-info", Static))
        self.background(self.services.run, self.run_id, done=self._loaded, group="run")

    def _loading_done(self, what: str) -> None:
        end = self._loading.pop(what, None)
        if end is not None:
            end()

    def on_background_error(self, error: BaseException | None) -> None:
        for what in list(self._loading):
            self._loading_done(what)
        super().on_background_error(error)

    def _tick(self) -> None:
        if self.live and self.app.screen is self:
            self._reload()

    def _loaded(self, record: dict[str, Any]) -> None:
        self._loading_done("run")
        first = not self.record
        was_live = self.live
        self.record = record
        self.run_id = str(record["id"])
        self._show_header()
        now = self.services.now() if self.live else None
        self.query_one(DagList).show_steps(record.get("steps") or [], now)
        step = self.current_step()
        if step is not None and (first or step["name"] != self._step):
            self._select_step(step)
        elif step is not None:
            self._show_step(step)
            if self.live or was_live:
                self._load_log(step, append=self.live)

    def current_step(self) -> dict[str, Any] | None:
        name = self.query_one(DagList).selected_step
        return next((s for s in self.record.get("steps") or [] if s["name"] == name), None)

    def _show_header(self) -> None:
        run = self.record
        status = str(run.get("status"))
        glyph, color = GLYPHS.get(status, ("?", "white"))
        now = self.services.now()
        start, end = parse_time(run.get("started_at")), parse_time(run.get("finished_at"))
        duration = ((end or now) - start).total_seconds() if start else None
        title = Text()
        title.append(f"{glyph} ", style=color)
        title.append(f"{run.get('pipeline')}  run {self.run_id[:8]}  {status}", style="bold")
        title.append(f"  started {format_age(run.get('started_at'), now)}")
        title.append(f"  took {format_duration(duration)}  ")
        counts: dict[str, int] = {}
        for step in run.get("steps") or []:
            counts[str(step.get("status"))] = counts.get(str(step.get("status")), 0) + 1
        for name, count in sorted(counts.items()):
            mark, tone = GLYPHS.get(name, ("?", "white"))
            title.append(f" {count}{mark}", style=tone)
        self.query_one("#run-title", Static).update(title)
        code = run.get("code") or {}
        params = run.get("parameters") or {}
        param_text = "  ".join(f"{k}={_short(v)}" for k, v in params.items()) or "(none)"
        commit = (code.get("commit") or "-")[:10] + (" +dirty" if code.get("dirty") else "")
        model = run.get("model") or {}
        model_text = f"{model.get('name')}:{model.get('version')}" if model else "-"
        info = Text()
        info.append("params ", style="bold")
        info.append(param_text + "\n")
        info.append("code ", style="bold")
        info.append(f"{commit}{'  on ' + code['branch'] if code.get('branch') else ''}")
        info.append("  stack ", style="bold")
        info.append(f"{run.get('stack')}")
        info.append("  model ", style="bold")
        info.append(model_text)
        error = run.get("error")
        if error:
            info.append(f"\n{error.get('type')}: {error.get('message')}", style="red")
        self.query_one("#run-info", Static).update(info)

    # -- the selected step -----------------------------------------------------------------
    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "dag" and self.record:
            step = self.current_step()
            if step is not None and step["name"] != self._step:
                self._select_step(step)

    def _select_step(self, step: dict[str, Any]) -> None:
        self._step = step["name"]
        self._show_step(step)
        self._load_log(step, append=False)

    def _show_step(self, step: dict[str, Any]) -> None:
        self.query_one("#step-info", Static).update(_step_info(step))
        artifacts = self.query_one("#artifacts", OptionList)
        keep = artifacts.highlighted
        artifacts.clear_options()
        for role, arrow in (("inputs", "→ in "), ("outputs", "← out")):
            for key, ref in (step.get(role) or {}).items():
                label = f"{arrow} {key}: {ref.get('name')}:{ref.get('version', '?')}"
                artifacts.add_option(Option(label, id=f"{role}:{key}:{ref.get('id')}"))
        if artifacts.option_count:
            artifacts.highlighted = min(keep or 0, artifacts.option_count - 1)

    def _load_log(self, step: dict[str, Any], append: bool) -> None:
        if not append:
            self._needle = ""
            self._log_pos = 0
            self._log_lines = []
            self.query_one(Log).clear()
            self._loading_done("log")
            self._loading["log"] = self._log_loading_line()
        self.background(self._read_log, step, self._log_pos, done=self._log_read, group="log")

    def _log_loading_line(self) -> Callable[[], None]:
        """Write "loading the log…" in the log if reading it takes a while (a line, not an
        indicator: covering the log would take the focus away from it)."""
        log = self.query_one(Log)

        def show() -> None:
            if not log.line_count:
                log.write_line(LOADING_LINE)

        def hide() -> None:
            if log.lines == [LOADING_LINE]:
                log.clear()

        return when_slow(log, show, hide)

    def _read_log(self, step: dict[str, Any], offset: int) -> tuple[str, str, int, bool]:
        return (step["name"], *self.services.read_log(self.run_id, step, offset))

    def _log_read(self, result: tuple[str, str, int, bool]) -> None:
        name, text, pos, _live = result
        if name != self._step:
            return
        self._loading_done("log")
        log = self.query_one(Log)
        if not text and not self._log_lines:
            if not log.line_count:
                log.write_line("(no log recorded for this step)")
            return
        if not self._log_lines and log.line_count:
            log.clear()
        self._log_pos = pos
        lines = text.splitlines()
        self._log_lines.extend(lines)
        log.write_lines(lines)

    # -- log search ------------------------------------------------------------------------
    def action_search(self) -> None:
        self.query_one(TabbedContent).active = "tab-log"
        box = self.query_one("#log-search", Input)
        box.display = True
        self.set_focus(box)  # at once: the rest of a typed burst must land in the box

    def on_input_submitted(self, event: Input.Submitted) -> None:
        needle = event.value.lower()
        if not needle:
            event.input.display = False
            self.set_focus(self.query_one(DagList))
            return
        if needle != self._needle:  # a new search starts over; the same one steps on
            self._needle = needle
            self._matches = [i for i, line in enumerate(self._log_lines) if needle in line.lower()]
            self._match = -1
            self._highlight(needle)
        self.action_next_match(1)

    def _highlight(self, needle: str) -> None:
        """Every occurrence of ``needle`` in the log shown reversed (the Log's highlighter)."""
        log = self.query_one(Log)
        log.highlighter = NeedleHighlighter(needle)
        log.highlight = bool(needle)
        log._render_line_cache.clear()  # cached strips were drawn without the highlight
        log.refresh()

    def action_next_match(self, step: int) -> None:
        box = self.query_one("#log-search", Input)
        if not self._matches:
            box.border_title = "no match"
            return
        self._match = (self._match + step) % len(self._matches)
        line = self._matches[self._match]
        log = self.query_one(Log)
        log.auto_scroll = False
        log.scroll_to(y=max(line - 2, 0), animate=False)
        box.border_title = f"match {self._match + 1}/{len(self._matches)}: line {line + 1}"

    def action_follow(self) -> None:
        log = self.query_one(Log)
        log.auto_scroll = True
        log.scroll_end(animate=False)

    def action_back(self) -> None:
        box = self.query_one("#log-search", Input)
        if box.has_focus:
            box.display = False
            self.set_focus(self.query_one(DagList))
            return
        super().action_back()

    # -- actions ---------------------------------------------------------------------------
    def _selected_artifact_id(self) -> str | None:
        artifacts = self.query_one("#artifacts", OptionList)
        if artifacts.highlighted is None:
            step = self.current_step() or {}
            refs = list((step.get("outputs") or {}).values()) + list(
                (step.get("inputs") or {}).values()
            )
            return str(refs[0]["id"]) if refs else None
        option_id = artifacts.get_option_at_index(artifacts.highlighted).id or ""
        return option_id.rsplit(":", 1)[-1] or None

    def action_lineage(self) -> None:
        artifact_id = self._selected_artifact_id()
        if artifact_id is None:
            self.notify("this step has no artifacts", timeout=3)
            return
        self.post_message(OpenLineage(artifact_id))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "artifacts":
            self.action_lineage()
        elif event.option_list.id == "dag":
            step = self.current_step() or {}
            if step.get("cached_from"):
                self.post_message(OpenRun(str(step["cached_from"])))

    def action_rerun(self) -> None:
        if self.record:
            params = self.record.get("parameters") or {}
            self.post_message(LaunchPipeline(str(self.record["pipeline"]), params, True))

    def action_rerun_edit(self) -> None:
        if self.record:
            params = self.record.get("parameters") or {}
            self.post_message(LaunchPipeline(str(self.record["pipeline"]), params, False))

    def action_compare(self) -> None:
        if not self.record:
            return
        modal = PickRunModal(str(self.record["pipeline"]), exclude=self.run_id)
        self.app.push_screen(modal, self._compare_with)

    def _compare_with(self, other: str | None) -> None:
        if other:
            self.post_message(CompareRuns(self.run_id, other))


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:39] + "…"


def _step_info(step: dict[str, Any]) -> Text:
    text = Text()
    status = str(step.get("status"))
    glyph, color = GLYPHS.get(status, ("?", "white"))
    text.append(f"{glyph} {step['name']}  {status}\n", style=f"bold {color}")
    start, end = parse_time(step.get("started_at")), parse_time(step.get("finished_at"))
    if start and end:
        text.append(f"duration {format_duration((end - start).total_seconds())}\n")
    if (step.get("attempts") or 1) > 1:
        retried = step.get("retried_error") or {}
        text.append(f"{step['attempts']} attempts", style="yellow")
        text.append(f"; retried after {retried.get('type')}: {retried.get('message')}\n")
    if step.get("cached_from"):
        text.append(f"cached from run {step['cached_from']}", style="cyan")
        text.append("  (enter on the step opens it)\n", style="grey50")
    reasons = step.get("rerun_reasons") or []
    if reasons:
        text.append("re-ran because:\n", style="bold")
        for reason in reasons:
            text.append(f"  • {reason}\n")
    params = step.get("parameters") or {}
    if params:
        text.append("parameters\n", style="bold")
        for key, value in params.items():
            text.append(f"  {key} = {_short(value)}\n")
    metadata = step.get("metadata") or {}
    if metadata:
        text.append("metadata\n", style="bold")
        text.append(json.dumps(metadata, indent=2, default=str) + "\n")
    if step.get("cache_key"):
        text.append(f"cache key {str(step['cache_key'])[:16]}\n", style="grey50")
    error = step.get("error")
    if error:
        text.append(f"\n{error.get('type')}: {error.get('message')}\n", style="bold red")
        if error.get("traceback"):
            text.append(str(error["traceback"]), style="red")
    return text
