"""The ``mlx`` command line: argument parsing, dispatch, and the one error boundary.

Commands import what they need inside their handlers, so ``mlx --help`` imports neither
pydantic, dvc nor textual. Errors derived from ``MlxError`` print one clear line and exit 2
(usage/config) or 1 (a failed run); anything else prints its traceback and says it is a bug.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["main"]

VERSION = "0.1.0"
Handler = Callable[[argparse.Namespace], int]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlx",
        description="Local-first MLOps: pipelines in Python, run history in git, artifacts in "
        "DVC. Without a command, opens the full-screen app.",
    )
    parser.add_argument("--version", action="version", version=f"mlx {VERSION}")
    parser.add_argument("-C", dest="cwd", metavar="DIR", help="run as if started in DIR")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("init", help="create an mlx project (git + DVC + mlx.toml)")
    p.add_argument("dir", nargs="?", default=".", help="directory (default: here)")
    p.add_argument("--name", help="project name (default: directory name)")
    p.set_defaults(handler="tui.commands.project:cmd_init")

    p = sub.add_parser("port", help="turn a ZenML project into an mlx project (in place)")
    p.add_argument("path", nargs="?", default=".", help="project directory (default: here)")
    p.add_argument("--force", action="store_true", help="port even with uncommitted changes")
    p.set_defaults(handler="tui.commands.port:cmd_port")

    p = sub.add_parser("demo", help="set up and run the iris sample project in DIR")
    p.add_argument("dir", nargs="?", default="mlx-demo", help="directory (default: ./mlx-demo)")
    p.set_defaults(handler="tui.commands.demo:cmd_demo")

    p = sub.add_parser("run", help="run a pipeline")
    p.add_argument("pipeline", help="pipeline name (see `mlx pipelines`)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="pipeline parameter (repeatable); values are parsed by type")  # fmt: skip
    p.add_argument("--headless", action="store_true", help="no full-screen app (CI)")
    p.add_argument("--stack", help="stack to run on (default: the active stack)")
    p.add_argument("--no-cache", action="store_true", help="re-run every step")
    p.add_argument("--require-clean", action="store_true",
                   help="refuse to run when the pipeline code has local changes (CI)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the finished run as JSON")
    p.add_argument("--events", action="store_true", help="print progress as JSON lines")
    p.set_defaults(handler="tui.commands.run:cmd_run")

    sub.add_parser("pipelines", help="list the project's pipelines").set_defaults(
        handler="tui.commands.run:cmd_pipelines"
    )

    runs = sub.add_parser("runs", help="list and inspect runs").add_subparsers(
        dest="runs_command", metavar="ACTION", required=True
    )
    p = runs.add_parser("list", help="runs, newest first")
    p.add_argument("--pipeline")
    p.add_argument("--status", choices=["running", "completed", "failed", "crashed", "cancelled"])
    p.add_argument("--limit", type=int, default=None, help="at most N runs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler="tui.commands.runs:cmd_list")
    p = runs.add_parser("show", help="one run with its steps")
    p.add_argument("run", help="run id or unique prefix")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler="tui.commands.runs:cmd_show")
    p = runs.add_parser("logs", help="the log of a run's steps")
    p.add_argument("run")
    p.add_argument("step", nargs="?")
    p.set_defaults(handler="tui.commands.runs:cmd_logs")
    p = runs.add_parser("reproduce", help="re-run a run from its exact code; compare outputs")
    p.add_argument("run", help="run id or unique prefix")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler="tui.commands.runs:cmd_reproduce")

    arts = sub.add_parser("artifacts", help="list, show and export artifacts").add_subparsers(
        dest="artifacts_command", metavar="ACTION", required=True
    )
    p = arts.add_parser("list", help="artifact names and versions")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler="tui.commands.artifacts:cmd_list")
    p = arts.add_parser("show", help="one artifact version (NAME or NAME:VERSION)")
    p.add_argument("artifact")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler="tui.commands.artifacts:cmd_show")
    p = arts.add_parser("export", help="write an artifact version to PATH, in the format of "
                        "its extension (.csv .parquet .json .npy; .pkl with --pickle)")  # fmt: skip
    p.add_argument("artifact")
    p.add_argument("path")
    p.add_argument("--raw", action="store_true", help="copy the stored bytes as they are")
    p.add_argument("--pickle", action="store_true", help="allow a .pkl file (runs code on load)")
    p.set_defaults(handler="tui.commands.artifacts:cmd_export")

    stack = sub.add_parser("stack", help="list, show and choose stacks").add_subparsers(
        dest="stack_command", metavar="ACTION", required=True
    )
    stack.add_parser("list", help="stacks of the project").set_defaults(
        handler="tui.commands.project:cmd_stack_list"
    )
    p = stack.add_parser("show", help="a stack's components")
    p.add_argument("name", nargs="?")
    p.set_defaults(handler="tui.commands.project:cmd_stack_show")
    p = stack.add_parser("use", help="make a stack the active one in this clone")
    p.add_argument("name")
    p.set_defaults(handler="tui.commands.project:cmd_stack_use")

    p = sub.add_parser("gc", help="delete DVC cache objects nothing references")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--grace", default="1h", metavar="AGE",
                   help="keep objects younger than this (default 1h; e.g. 30m, 2d, 0)")  # fmt: skip
    p.set_defaults(handler="tui.commands.artifacts:cmd_gc")

    p = sub.add_parser("doctor", help="check refs, records, artifact bytes, stages and config")
    p.add_argument("--remote", default=None, help="DVC remote to look for bytes in")
    p.set_defaults(handler="tui.commands.doctor:cmd_doctor")

    _add_model_commands(sub)
    return parser


def _add_model_commands(sub: Any) -> None:
    model = sub.add_parser("model", help="models, versions and promotion").add_subparsers(
        dest="model_command", metavar="ACTION", required=True
    )
    model.add_parser("list", help="models and their stages").set_defaults(
        handler="tui.commands.models:cmd_list"
    )
    p = model.add_parser("show", help="a model's versions, metrics and stages; with VERSION, "
                         "that version's metadata and linked artifacts")  # fmt: skip
    p.add_argument("name")
    p.add_argument("version", nargs="?", help="a number (3 or v3), a stage, a name or latest")
    p.set_defaults(handler="tui.commands.models:cmd_show")
    p = model.add_parser("versions", help="a model's versions")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler="tui.commands.models:cmd_versions")
    p = model.add_parser("compare", help="compare two versions of a model")
    p.add_argument("name")
    p.add_argument("v1")
    p.add_argument("v2")
    p.set_defaults(handler="tui.commands.models:cmd_compare")
    p = model.add_parser("promote", help="move a stage to a version (pull-request branch)")
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("--to", required=True, dest="stage", metavar="STAGE")
    p.add_argument("--direct", action="store_true", help="commit on the current branch")
    p.add_argument("--force", action="store_true",
                   help="promote even if gates fail, archive the stage's current holder "
                   "(recorded in the commit and PR text)")  # fmt: skip
    p.add_argument("--body-file", help="write the pull-request description here")
    p.add_argument("--push", action="store_true", help="push the branch and the runs")
    p.add_argument("--remote", default="origin")
    p.set_defaults(handler="tui.commands.models:cmd_promote")
    p = model.add_parser("register", help="create models/NAME.toml (gates, description)")
    p.add_argument("name")
    p.add_argument("--gate", action="append", default=[], metavar='"METRIC OP NUMBER"',
                   help='promotion gate, e.g. --gate "accuracy >= 0.9" (repeatable)')  # fmt: skip
    p.add_argument("--description", default="", help="one line about the model")
    p.set_defaults(handler="tui.commands.models:cmd_register")

    check = sub.add_parser("promotion", help="review promotions in CI").add_subparsers(
        dest="promotion_command", metavar="ACTION", required=True
    )
    p = check.add_parser("check", help="check stage changes between BASE and HEAD")
    p.add_argument("--base", required=True)
    p.add_argument("--head", default="HEAD")
    p.add_argument("--remote", default=None, help="DVC remote to look for artifacts in")
    p.set_defaults(handler="tui.commands.models:cmd_check")

    ci = sub.add_parser("ci", help="schedules and promotion checks in CI").add_subparsers(
        dest="ci_command", metavar="ACTION", required=True
    )
    p = ci.add_parser("init", help="write .github/workflows/mlx.yml from [schedules] of mlx.toml")
    p.add_argument("provider", choices=["github"])
    p.add_argument("--force", action="store_true", help="overwrite an existing workflow")
    p.add_argument("--install", help="shell line installing mlx and the project's dependencies")
    p.set_defaults(handler="tui.commands.ci:cmd_init")
    p = ci.add_parser("check", help="check the workflow against the project")
    p.add_argument("--file", help="workflow file (default: .github/workflows/mlx.yml)")
    p.set_defaults(handler="tui.commands.ci:cmd_check")

    for name, text in (("push", "push DVC objects, then the runs ref"),
                       ("pull", "fetch the runs ref (and DVC objects with --all)")):  # fmt: skip
        p = sub.add_parser(name, help=text)
        p.add_argument("remote", nargs="?", default="origin")
        if name == "pull":
            p.add_argument("--all", action="store_true", help="fetch every DVC object now")
        else:
            p.add_argument("--allow-missing", action="store_true",
                           help="push even if some referenced bytes exist nowhere")  # fmt: skip
        p.set_defaults(handler=f"tui.commands.sync:cmd_{name}")


def _resolve(spec: str) -> Handler:
    import importlib

    module, _, func = spec.partition(":")
    return getattr(importlib.import_module(module), func)  # type: ignore[no-any-return]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.cwd:
        import os

        os.chdir(args.cwd)
    _one_line_warnings()
    try:
        if args.command is None:
            return _open_app()
        return _resolve(args.handler)(args)
    except KeyboardInterrupt:
        print("mlx: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the one boundary that renders errors
        from store.errors import MlxError

        if isinstance(exc, MlxError):
            print(f"mlx: error: {exc}", file=sys.stderr)
            return exc.exit_code
        import traceback

        traceback.print_exc()
        print(f"mlx: unexpected error ({type(exc).__name__}); this is a bug in mlx, "
              "please report it with the traceback above", file=sys.stderr)  # fmt: skip
        return 3


def _one_line_warnings() -> None:
    """Show mlx's own warnings (a skipped record, a rebuilt index) as one ``mlx: warning:`` line."""
    import warnings

    from store.errors import MlxWarning

    show = warnings.showwarning

    def render(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(category, type) and issubclass(category, MlxWarning):
            print(f"mlx: warning: {message}", file=sys.stderr)
        else:
            show(message, category, *args, **kwargs)

    warnings.showwarning = render


def _open_app() -> int:
    from store.errors import ProjectNotFoundError
    from store.project import Project

    try:
        project = Project.find()
    except ProjectNotFoundError:
        print("mlx: not inside an mlx project (no mlx.toml here or above).\n"
              "  start one:        mlx init [DIR]\n"
              "  try the demo:     mlx demo [DIR]\n"
              "  see all commands: mlx --help", file=sys.stderr)  # fmt: skip
        return 2
    if not sys.stdout.isatty():
        print("mlx: the full-screen app needs a terminal; see `mlx --help` for commands",
              file=sys.stderr)  # fmt: skip
        return 2
    from tui.app import run_tui

    return run_tui(project)


if __name__ == "__main__":
    sys.exit(main())
