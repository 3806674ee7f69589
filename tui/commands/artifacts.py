"""``mlx artifacts list|show|export`` and ``mlx gc``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tui.format import format_age, print_json, table

__all__ = ["cmd_export", "cmd_gc", "cmd_list", "cmd_show"]


def _split(label: str) -> tuple[str, int | None]:
    from store.errors import ValidationError

    name, _, version = label.partition(":")
    if not version or version == "latest":
        return name, None
    if not version.isdigit():
        raise ValidationError(f"{label!r}: the version must be a number (NAME:3) or 'latest'")
    return name, int(version)


def cmd_list(args: argparse.Namespace) -> int:
    from store.project import Project
    from store.publication import publication

    project = Project.find()
    rows = project.index.artifact_names()
    pub = publication(project)
    if args.json:
        print_json([{"name": n, "versions": c, "latest": v,
                     "published": pub.artifact_published(n, v)} for n, c, v in rows])  # fmt: skip
        return 0
    if not rows:
        hint = fresh_clone_hint(project)
        print("no artifacts yet; they are created by `mlx run PIPELINE`" + hint)
        return 0
    print(table(["ARTIFACT", "VERSIONS", "LATEST"],
                [(n, c, pub.artifact_label(n, v)) for n, c, v in rows]))  # fmt: skip
    if pub.any_provisional:
        print(provisional_note(pub))
    return 0


def provisional_note(pub: Any) -> str:
    """The footnote explaining ``*`` after a version number."""
    return (f"* provisional: not on {pub.remote} yet, the number may change when "
            f"`mlx push`/`mlx pull` merges with other clones' runs")  # fmt: skip


def fresh_clone_hint(project: Any) -> str:
    """A hint to ``mlx pull`` when this clone has no runs ref yet but has a git remote.

    Cheap on purpose (no network): a fresh ``git clone`` never fetches ``refs/mlx/*``.
    """
    from store.publication import default_git_remote

    if project.runs.tip() is not None:
        return ""
    remote = default_git_remote(project.git)
    if remote is None:
        return ""
    return f"\nthis clone has no runs yet: fetch your team's with `mlx pull {remote}`"


def cmd_show(args: argparse.Namespace) -> int:
    from store.project import Project
    from store.publication import publication

    project = Project.find()
    record = project.index.artifact_json(*_split(args.artifact))
    published = publication(project).artifact_published(record["name"], record["version"])
    if args.json:
        print_json({**record, "published": published})
        return 0
    print(describe_artifact(project, record, published))
    return 0


def describe_artifact(project: Any, record: dict[str, Any], published: bool = True) -> str:
    from store.records import DvcPointer

    pointer = DvcPointer.model_validate(record["pointer"])
    local = "in local cache" if project.artifacts.exists(pointer) else "not in local cache"
    lines = [
        f"artifact     {record['name']}:{record['version']}"
        + ("" if published else "*  (provisional: not pushed yet)")
        + ("  (model artifact)" if record.get("is_model_artifact") else ""),
        f"type         {record['type']}",
        f"materializer {record['materializer']}",
        f"dvc          md5={pointer.md5} size={pointer.size}"
        + (f" nfiles={pointer.nfiles}" if pointer.nfiles else "")
        + f" ({local})",
        f"created      {record['created_at']} ({format_age(record['created_at'])})",
    ]
    if record.get("run_id"):
        lines.append(f"produced by  run {record['run_id'][:8]} step {record.get('step')} "
                     f"output {record.get('output')}")  # fmt: skip
    if record.get("model"):
        lines.append(f"model        {record['model']['name']}:{record['model'].get('version')}")
    for key, value in (record.get("metadata") or {}).items():
        lines.append(f"  {key}: {value}")
    consumers = project.index.artifact_uses(record["id"], "input")
    if consumers:
        lines.append("consumed by  " + ", ".join(f"{r[:8]}/{s}" for r, s in consumers[:10]))
    return "\n".join(lines)


def cmd_export(args: argparse.Namespace) -> int:
    from engine.exporting import export_artifact
    from store.project import Project

    project = Project.find()
    record = project.index.artifact_json(*_split(args.artifact))
    dest = Path(args.path)
    label = f"{record['name']}:{record['version']} ({record['type']})"
    written = export_artifact(project, record, dest, allow_pickle=args.pickle, raw=args.raw)
    if args.raw:
        print(f"exported {label} as stored, a {written}: {dest}")
    else:
        print(f"exported {label} as {written}: {dest}")
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    from store.errors import ValidationError
    from store.gc import collect_garbage, parse_duration
    from store.project import Project
    from store.recorder import fold_crashed_runs
    from tui.format import format_duration

    try:
        grace = parse_duration(args.grace)
    except ValueError as exc:
        raise ValidationError(f"--grace {args.grace!r}: use e.g. 30m, 1h, 2d or 0 ({exc})") from exc
    project = Project.find()
    fold_crashed_runs(project.runs)  # a crashed run's finished steps stay reusable
    result = collect_garbage(project, grace=grace, dry=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(result.removed)} unreferenced object(s) from "
          f"{project.artifacts.cache_dir}; kept what {len(result.refs)} mlx ref(s) (local and "
          f"remote-tracking), DVC files on {result.revisions} branch(es)/tag(s) and the work "
          f"tree, and {result.journals} run journal(s) reference, and anything younger than "
          f"{format_duration(grace)}")  # fmt: skip
    return 0
