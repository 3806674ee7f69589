"""The command palette (``ctrl+p``): real commands over the project's names, fuzzy matched.

What it offers: go to a mode; open a run by id prefix (type a few hex characters); go to a
pipeline, model or artifact by name; launch a pipeline; promote a model's newest version; switch
the active stack; push and pull; filter presets for the runs list; and every action bound on the
current screen. Names are read once per opening in a thread (:func:`palette_data`: the index
and a static read of the pipeline modules, nothing imported), so typing never waits on git.
Run ids are not read on opening (10,000 of them took over a second): a hex word typed is looked
up as an id prefix in the index (a range scan, in a thread) for at most :data:`RUN_HITS` runs.
The commands themselves are app actions (:class:`tui.app.MlxApp` ``goto``, ``open_promote``,
...); this module only lists and matches them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.messages import LaunchPipeline, OpenRun

if TYPE_CHECKING:
    from tui.services import Services

__all__ = ["MlxCommands", "PaletteData", "palette_data"]

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


@dataclass(frozen=True)
class PaletteData:
    """The names the palette offers."""

    run_pipelines: list[str] = field(default_factory=list)  # the pipelines that have runs
    pipelines: list[str] = field(default_factory=list)
    models: list[tuple[str, int | None]] = field(default_factory=list)  # (name, newest version)
    artifacts: list[str] = field(default_factory=list)
    stacks: list[tuple[str, bool]] = field(default_factory=list)  # (name, active)


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


Entry = tuple[str, Callable[[], Any], str]


class MlxCommands(Provider):
    """Commands of the mlx app, with fuzzy search."""

    async def startup(self) -> None:
        services = self.app.services  # type: ignore[attr-defined]
        self.data: PaletteData = await asyncio.to_thread(palette_data, services)

    def _entries(self) -> list[Entry]:
        app: Any = self.app
        data = self.data
        out: list[Entry] = [
            (f"Go to {label}", partial(app.goto, mode), f"key {n}")
            for n, (mode, label) in enumerate(MODES, start=1)
        ]
        out += [
            ("Push runs to the remote", app.action_push, "key P: publish the runs ref"),
            ("Pull runs from the remote", app.action_pull, "key U: merge others' runs"),
        ]
        for label, query in PRESETS:
            out.append((f"Filter: {label}", partial(app.filter_runs, query), query or "clear"))
        for name in data.pipelines:
            out.append(
                (
                    f"Launch pipeline {name}",
                    partial(app.post_message, LaunchPipeline(name)),
                    "opens the form",
                )
            )
            out.append((f"Go to pipeline {name}", partial(app.goto, "pipelines", name), ""))
        for name in sorted(set(data.pipelines) | set(data.run_pipelines)):
            query = f"pipeline:{name}"
            out.append((f"Filter: runs of {name}", partial(app.filter_runs, query), query))
        for name, newest in data.models:
            out.append((f"Go to model {name}", partial(app.goto, "models", name), ""))
            if newest is not None:
                out.append(
                    (
                        f"Promote model {name} v{newest}",
                        partial(app.open_promote, name, newest),
                        "newest version",
                    )
                )
        for name in data.artifacts:
            out.append((f"Go to artifact {name}", partial(app.goto, "artifacts", name), ""))
        for name, active in data.stacks:
            if not active:
                out.append((f"Switch stack to {name}", partial(app.switch_stack, name),
                            "the active stack of this clone"))  # fmt: skip
        return out + self._bindings()

    def _bindings(self) -> list[Entry]:
        out: list[Entry] = []
        seen = set()
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.action.startswith("switch_mode"):
                continue
            if binding.action in {"push", "pull"} or (binding.description, binding.action) in seen:
                continue
            seen.add((binding.description, binding.action))
            run = partial(self.app.run_action, binding.action, active.node)
            out.append((binding.description, run, f"key {binding.key_display or key}"))
        return out

    async def _run_hits(self, query: str) -> list[Entry]:
        """Runs whose id starts with a hex word of the query (``b2``, ``run b2``)."""
        words = [w for w in query.lower().split() if len(w) >= 2]
        prefixes = [w for w in words if all(c in "0123456789abcdef" for c in w)]
        if not prefixes:
            return []
        services = self.app.services  # type: ignore[attr-defined]

        def lookup() -> list[Any]:
            found: dict[str, Any] = {}
            for prefix in prefixes:
                for run in services.runs_with_prefix(prefix, RUN_HITS):
                    found.setdefault(run.id, run)
            return list(found.values())[:RUN_HITS]

        return [(f"Open run {run.id[:12]}  {run.pipeline}  {run.status}",
                 partial(self.app.post_message, OpenRun(run.id)), run.id)
                for run in await asyncio.to_thread(lookup)]  # fmt: skip

    async def discover(self) -> Hits:
        for name, callback, help_text in self._entries():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        for name, callback, help_text in await self._run_hits(query):
            yield Hit(1.0, name, callback, help=help_text)  # an id prefix is exact: on top
        matcher = self.matcher(query)
        for name, callback, help_text in self._entries():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
