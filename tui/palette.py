"""The command palette's commands (``ctrl+p``): real commands over the project's names.

What it offers: go to a mode; open a run by id prefix (type a few hex characters); go to a
pipeline, model or artifact by name; launch a pipeline; promote a model's newest version; switch
the active stack; push and pull; filter presets for the runs list; every action bound on the
screen underneath; and Textual's system commands (theme, keys, screenshot). Names are read in a
thread (:func:`palette_data`: the index and a static read of the pipeline modules, nothing
imported). Run ids are not read on opening (10,000 of them took over a second): a hex word typed
is looked up as an id prefix in the index (:func:`run_commands`, a range scan, in a thread) for
at most :data:`RUN_HITS` runs. :func:`rank` scores commands against a query with Textual's fuzzy
search. The commands themselves are app actions (:class:`tui.app.MlxApp` ``goto``,
``open_promote``, ...); the screen that shows them is :mod:`tui.screens.palette`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.content import Content
from textual.fuzzy import FuzzySearch

from tui.messages import LaunchPipeline, OpenRun

if TYPE_CHECKING:
    from textual.screen import Screen

    from tui.services import Services

__all__ = ["Command", "PaletteData", "commands", "palette_data", "rank", "run_commands"]

MODES = [
    ("runs", "Runs"), ("pipelines", "Pipelines"), ("models", "Models"),
    ("artifacts", "Artifacts"), ("stacks", "Stacks"),
]  # fmt: skip
PRESETS = [
    ("failed runs", "status:failed"), ("running runs", "status:running"),
    ("completed runs", "status:completed"), ("cancelled runs", "status:cancelled"),
    ("all runs (clear the filter)", ""),
]  # fmt: skip
RUN_HITS = 20  # runs listed for an id prefix
HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class PaletteData:
    """The names the palette offers."""

    run_pipelines: list[str] = field(default_factory=list)  # the pipelines that have runs
    pipelines: list[str] = field(default_factory=list)
    models: list[tuple[str, int | None]] = field(default_factory=list)  # (name, newest version)
    artifacts: list[str] = field(default_factory=list)
    stacks: list[tuple[str, bool]] = field(default_factory=list)  # (name, active)


@dataclass(frozen=True)
class Command:
    """One palette entry: what it says, what it does, a hint shown after it."""

    title: str
    run: Callable[[], Any]
    help: str = ""


def palette_data(services: Services) -> PaletteData:
    """Read every name the palette offers (blocking; run it in a thread)."""
    project = services.project
    run_pipelines = services.run_pipelines()
    models = []
    for name in services.model_names():
        versions = services.model_versions(name)
        models.append((name, max((int(v["version"]) for v in versions), default=None)))
    stacks = [(name, name == project.active_stack_name()) for name in project.stack_names()]
    return PaletteData(
        run_pipelines, services.pipeline_names(), models,
        [name for name, _, _ in services.artifact_names()], stacks,
    )  # fmt: skip


def commands(app: Any, data: PaletteData, screen: Screen[Any]) -> list[Command]:
    """Every command for ``data``'s names, then ``screen``'s bindings and the system commands."""
    out = [Command(f"Go to {label}", partial(app.goto, mode), f"key {n}")
           for n, (mode, label) in enumerate(MODES, start=1)]  # fmt: skip
    out += [
        Command("Push runs to the remote", app.action_push, "key P: publish the runs ref"),
        Command("Pull runs from the remote", app.action_pull, "key U: merge others' runs"),
    ]
    out += [Command(f"Filter: {label}", partial(app.filter_runs, query), query or "clear")
            for label, query in PRESETS]  # fmt: skip
    for name in data.pipelines:
        launch = partial(app.post_message, LaunchPipeline(name))
        out.append(Command(f"Launch pipeline {name}", launch, "opens the form"))
        out.append(Command(f"Go to pipeline {name}", partial(app.goto, "pipelines", name)))
    for name in sorted(set(data.pipelines) | set(data.run_pipelines)):
        query = f"pipeline:{name}"
        out.append(Command(f"Filter: runs of {name}", partial(app.filter_runs, query), query))
    for name, newest in data.models:
        out.append(Command(f"Go to model {name}", partial(app.goto, "models", name)))
        if newest is not None:
            promote = partial(app.open_promote, name, newest)
            out.append(Command(f"Promote model {name} v{newest}", promote, "newest version"))
    out += [Command(f"Go to artifact {name}", partial(app.goto, "artifacts", name))
            for name in data.artifacts]  # fmt: skip
    out += [Command(f"Switch stack to {name}", partial(app.switch_stack, name),
                    "the active stack of this clone")
            for name, active in data.stacks if not active]  # fmt: skip
    out += _bindings(app, screen)
    return out + _system(app, screen, {c.title.lower() for c in out})


def _bindings(app: Any, screen: Screen[Any]) -> list[Command]:
    out: list[Command] = []
    seen = set()
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description or binding.action.startswith("switch_mode"):
            continue
        if binding.action in {"push", "pull", "command_palette"}:
            continue
        if (binding.description, binding.action) in seen:
            continue
        seen.add((binding.description, binding.action))
        run = partial(app.run_action, binding.action, active.node)
        out.append(Command(binding.description, run, f"key {binding.key_display or key}"))
    return out


def _system(app: Any, screen: Screen[Any], taken: set[str]) -> list[Command]:
    """Textual's own commands (theme, keys, screenshot, ...) whose title is not ``taken``."""
    return [Command(system.title, system.callback, system.help)
            for system in app.get_system_commands(screen)
            if system.title.lower() not in taken]  # fmt: skip


def hex_words(query: str) -> list[str]:
    """The words of ``query`` that can be run id prefixes (two hex characters or more)."""
    return [w for w in query.lower().split() if len(w) >= 2 and set(w) <= HEX]


def run_commands(app: Any, services: Services, query: str) -> list[Command]:
    """Open-run commands for the runs whose id starts with a hex word of ``query`` (blocking)."""
    found: dict[str, Any] = {}
    for prefix in hex_words(query):
        for run in services.runs_with_prefix(prefix, RUN_HITS):
            found.setdefault(run.id, run)
    return [Command(f"Open run {run.id[:12]}  {run.pipeline}  {run.status}",
                    partial(app.post_message, OpenRun(run.id)), run.id)
            for run in list(found.values())[:RUN_HITS]]  # fmt: skip


_SEARCH = FuzzySearch()


def rank(query: str, entries: list[Command]) -> list[tuple[Content, Command]]:
    """``entries`` matching ``query``, best first, with the matched letters marked.

    An empty query keeps every entry in its order. Ties keep the order of ``entries``.
    """
    query = query.strip()
    if not query:
        return [(Content(c.title), c) for c in entries]
    scored = []
    for order, command in enumerate(entries):
        score, offsets = _SEARCH.match(query, command.title)
        if score > 0:
            title = Content(command.title)
            for offset in offsets:
                if not command.title[offset].isspace():
                    title = title.stylize("bold underline", offset, offset + 1)
            scored.append((-score, order, title, command))
    scored.sort(key=lambda hit: hit[:2])
    return [(title, command) for _, _, title, command in scored]
