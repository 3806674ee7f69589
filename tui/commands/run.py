"""``mlx run PIPELINE`` and ``mlx pipelines``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tui.format import print_json, table

__all__ = ["cmd_pipelines", "cmd_run", "parse_params"]


def parse_params(pairs: list[str]) -> dict[str, str]:
    from store.errors import ValidationError

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"-p {pair!r}: expected KEY=VALUE (e.g. -p lr=0.05)")
        out[key.strip()] = value
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from engine.discovery import get_pipeline
    from engine.runner import RunCancelled, run_pipeline
    from store.project import Project
    from tui.commands.runs import run_json
    from tui.headless import EventPrinter, JsonEventPrinter, LivePrinter, write_step_summary

    project = Project.find()
    pipeline = get_pipeline(project, args.pipeline)
    raw = parse_params(args.param)
    parameters = pipeline.validate_parameters(raw)
    if args.stack:
        project.load_stack(args.stack)  # unknown stack: fail before anything runs
    interactive = not (args.headless or args.json or args.events or args.stack or args.no_cache
                       or args.require_clean)  # fmt: skip
    if interactive and sys.stdin.isatty() and sys.stdout.isatty():
        from tui.app import run_tui

        return run_tui(project, launch=(args.pipeline, raw))
    printer: Any
    if args.events:
        printer = JsonEventPrinter()
    elif sys.stderr.isatty() and not args.json:
        printer = LivePrinter()
    else:
        printer = EventPrinter()
    try:
        record = run_pipeline(project, pipeline, parameters, stack=args.stack,
                              enable_cache=False if args.no_cache else None,
                              on_event=printer,
                              require_clean=args.require_clean)  # fmt: skip
    except RunCancelled as cancel:
        record = cancel.record
    pub = None
    if args.json:
        from store.publication import publication

        pub = publication(project)
    data = run_json(record.model_dump(mode="json", by_alias=True), pub)
    write_step_summary(data)
    if args.json:
        print_json(data)
    elif not args.events:
        _print_outputs(data)
    if record.status == "cancelled":
        print(f"mlx: run {record.id[:8]} cancelled; its finished steps are kept for the cache",
              file=sys.stderr)  # fmt: skip
        return 130
    return 0 if record.status == "completed" else 1


def _print_outputs(data: dict[str, Any]) -> None:
    rows = [(s["name"], k, v) for s in data["steps"] for k, v in s["outputs"].items()]
    if rows:
        sys.stderr.write(table(["STEP", "OUTPUT", "ARTIFACT"], rows) + "\n")
    failed = next((s for s in data["steps"] if s.get("error")), None)
    if failed and failed["error"].get("traceback"):
        sys.stderr.write(f"\nstep {failed['name']} failed:\n{failed['error']['traceback']}")
        sys.stderr.write(f"full log: mlx runs logs {data['id'][:8]} {failed['name']}\n")


def cmd_pipelines(args: argparse.Namespace) -> int:
    from engine.discovery import list_pipelines
    from store.project import Project

    project = Project.find()
    catalog = list_pipelines(project)
    rows = []
    for name, pipe in catalog.pipelines.items():
        params = ", ".join(
            f"{p.name}: {p.annotation}" + ("" if p.required else f" = {p.default!r}")
            for p in pipe.parameter_specs()
        )
        rows.append((name, params or "-", ", ".join(pipe.tags) or "-"))
    for warning in catalog.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    if not rows:
        print("no pipelines found in " + ", ".join(project.config.project.pipelines))
        return 0
    print(table(["PIPELINE", "PARAMETERS", "TAGS"], rows))
    return 0
