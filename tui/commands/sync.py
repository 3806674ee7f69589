"""``mlx push`` and ``mlx pull``: progress on a terminal, one summary line otherwise."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["cmd_pull", "cmd_push", "move_lines", "progress_reporter", "report_moves"]


def _project() -> Any:
    from store.project import Project

    return Project.find()


@contextmanager
def progress_reporter() -> Iterator[Any]:
    """A ``progress(what, done, total)`` callable drawing rich bars on a terminal, else None.

    One bar per phase: git's own (``git: writing objects``), then DVC objects and their bytes
    (``uploading``, ``uploading bytes``); without a terminal nothing is drawn and the command
    prints one summary line instead.
    """
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    from tui.format import format_size

    tasks: dict[str, Any] = {}
    with Progress(TextColumn("{task.description:<28}"), BarColumn(),
                  TextColumn("{task.fields[amount]}"), console=Console(stderr=True),
                  transient=True) as bars:  # fmt: skip

        def report(what: str, done: int, total: int) -> None:
            if what.endswith(" bytes"):
                label, amount = what, f"{format_size(done)}/{format_size(total)}"
            else:
                label = what if what.startswith("git: ") else f"{what} DVC objects"
                amount = f"{done}/{total} objects"
            if what not in tasks:
                tasks[what] = bars.add_task(label, total=total, amount=amount)
            bars.update(tasks[what], completed=done, total=total, amount=amount)

        yield report


def move_lines(moves: Any) -> list[str]:
    """``model iris v3 -> v6`` for each renumbered record (``(old path, new path)`` pairs)."""
    from store.paths import parse_record_path, version_of

    lines = []
    for old, new in moves:
        kind, name, number = parse_record_path(old) or ("record", old, "")
        prefix = "v" if kind == "model" else ""
        lines.append(f"  {kind} {name} {prefix}{number} -> {prefix}{version_of(new)}")
    return lines


def report_moves(result: Any) -> int:
    """Print every renumbering and what followed from it; 1 when a stage line is now stale."""
    if result.renumbered:
        print(f"renumbered {len(result.renumbered)} unpublished version(s) after the remote's:")
        print("\n".join(move_lines(result.renumbered)))
    for old, new in result.rewritten_branches:
        print(f"rewrote unpushed promotion branch {old} -> {new}")
    for stale in result.stale_stages:
        print(f"mlx: error: {stale.describe()}", file=sys.stderr)
    return 1 if result.stale_stages else 0


def cmd_push(args: argparse.Namespace) -> int:
    from store.remotes import require_remote
    from store.sync import push

    project = _project()
    remote = require_remote(project.root, args.remote)
    with progress_reporter() as progress:
        result = push(project, remote=remote, allow_missing=args.allow_missing,
                      progress=progress)  # fmt: skip
    from tui.format import format_size

    ref = "pushed the runs ref" if result.pushed else "the runs ref was already there"
    print(f"{args.remote}: uploaded {result.objects_pushed} DVC object(s) "
          f"({format_size(result.bytes_pushed)}); {ref}")  # fmt: skip
    if result.pointers_added:
        print(f"added {result.pointers_added} DVC pointer file(s) for older records to the runs "
              "ref, so `dvc gc --rev refs/mlx/runs` keeps their bytes")  # fmt: skip
    status = report_moves(result)
    if result.objects_missing:
        print(f"warning: {len(result.objects_missing)} referenced object(s) are neither in the "
              "local cache nor on the DVC remote: " + ", ".join(result.objects_missing),
              file=sys.stderr)  # fmt: skip
    return status


def cmd_pull(args: argparse.Namespace) -> int:
    from store.remotes import require_remote
    from store.sync import pull

    project = _project()
    remote = require_remote(project.root, args.remote)
    with progress_reporter() as progress:
        result = pull(project, remote=remote, all_objects=args.all, progress=progress)
    from tui.format import format_size

    fetched = f"{result.objects_fetched} artifact object(s) ({format_size(result.bytes_fetched)})"
    print(f"runs ref from {args.remote}: {result.action}"
          + (f"; fetched {fetched}" if args.all else
             "; artifacts are fetched from the DVC remote when first loaded"))  # fmt: skip
    status = report_moves(result)
    if result.objects_missing:
        print(f"warning: the DVC remote lacks {len(result.objects_missing)} referenced "
              "object(s): " + ", ".join(result.objects_missing)
              + "; push them from a clone that has them (`mlx push`)", file=sys.stderr)  # fmt: skip
        return 1
    return status
