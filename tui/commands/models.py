"""``mlx model ...`` and ``mlx promotion check``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from tui.format import format_age, print_json, table

__all__ = [
    "cmd_check", "cmd_compare", "cmd_list", "cmd_promote", "cmd_register", "cmd_show",
    "cmd_versions",
]  # fmt: skip


def _project() -> Any:
    from store.project import Project

    return Project.find()


def _stages_of(project: Any, name: str) -> dict[str, int]:
    from store.errors import NotFoundError
    from store.models import load_model_config

    try:
        return dict(load_model_config(project, name).stages)
    except NotFoundError:
        return {}


def _known_models(project: Any) -> list[str]:
    from store.models import model_config_names

    return sorted(set(model_config_names(project)) | set(project.index.model_names()))


def _versions(project: Any, name: str) -> list[dict[str, Any]]:
    from store.errors import NotFoundError

    versions = project.index.model_versions(name)
    if not versions and name not in _known_models(project):
        raise NotFoundError("model", name, _known_models(project),
                            hint=f"(see `mlx model list`; `mlx model register {name}` "
                            "creates it)")  # fmt: skip
    return list(versions)


def _metrics(version: dict[str, Any]) -> dict[str, float]:
    from store.models import metric_values

    return metric_values(version.get("metadata") or {})


def cmd_list(args: argparse.Namespace) -> int:
    from store.publication import publication
    from tui.commands.artifacts import fresh_clone_hint, provisional_note

    project = _project()
    pub = publication(project)
    rows = []
    for name in _known_models(project):
        versions = project.index.model_versions(name)
        stages = ", ".join(f"{s}={pub.model_label(name, v)}"
                           for s, v in sorted(_stages_of(project, name).items()))  # fmt: skip
        latest = pub.model_label(name, versions[-1]["version"]) if versions else "-"
        rows.append((name, len(versions), latest, stages or "-"))
    if not rows:
        print("no models yet: `mlx model register NAME`, or run a pipeline with "
              "model=Model(name=...)" + fresh_clone_hint(project))  # fmt: skip
        return 0
    print(table(["MODEL", "VERSIONS", "LATEST", "STAGES"], rows))
    if pub.any_provisional:
        print(provisional_note(pub))
    return 0


def _version_rows(project: Any, name: str) -> tuple[list[str], list[list[Any]]]:
    from store.publication import publication

    pub = publication(project)
    versions = _versions(project, name)
    stages = _stages_of(project, name)
    metric_names = sorted({m for v in versions for m in _metrics(v)})
    rows = []
    for v in reversed(versions):
        held = [s for s, n in stages.items() if n == v["version"]]
        metrics = _metrics(v)
        rows.append([pub.model_label(name, v["version"]), ", ".join(held) or "-",
                     *(f"{metrics[m]:.4g}" if m in metrics else "-" for m in metric_names),
                     (v.get("run_id") or "-")[:8], format_age(v.get("created_at"))])  # fmt: skip
    return ["VERSION", "STAGES", *(m.upper() for m in metric_names), "RUN", "CREATED"], rows


def cmd_show(args: argparse.Namespace) -> int:
    from store.errors import NotFoundError
    from store.models import load_model_config

    project = _project()
    headers, rows = _version_rows(project, args.name)
    chosen = _version(project, args.name, args.version) if args.version is not None else None
    try:
        config = load_model_config(project, args.name)
        print(f"model {args.name}: {config.description or '(no description)'}")
        if config.tags:
            print(f"tags   {', '.join(config.tags)}")
        if config.gates:
            print("gates  " + ", ".join(f"{m} {c}" for m, c in config.gates.items()))
    except NotFoundError:
        print(f"model {args.name} (no models/{args.name}.toml yet: stages cannot be set; "
              f"create it with `mlx model register {args.name}`)")  # fmt: skip
    if chosen is not None:
        _show_version(project, args.name, chosen)
        return 0
    print(table(headers, rows) if rows else "no versions yet")
    return 0


def _show_version(project: Any, name: str, version: dict[str, Any]) -> None:
    """One version: stages, run, metrics and other metadata, and the artifacts linked to it
    (made by the run that created it, or by runs that used it)."""
    from store.publication import publication

    number = int(version["version"])
    held = [s for s, n in _stages_of(project, name).items() if n == number]
    label = publication(project).model_label(name, number)
    named = f" ({version['version_name']})" if version.get("version_name") else ""
    rows: list[tuple[str, str]] = [("version", label + named),
                                   ("stages", ", ".join(held) or "-"),
                                   ("run", (version.get("run_id") or "-")[:8]),
                                   ("created", format_age(version.get("created_at")))]  # fmt: skip
    metrics = _metrics(version)
    rows += [(f"metric {key}", _number(value)) for key, value in sorted(metrics.items())]
    metadata = version.get("metadata") or {}
    rows += [
        (f"metadata {key}", str(value)[:60])
        for key, value in sorted(metadata.items())
        if not isinstance(value, int | float | dict)
    ]  # numbers are the metrics above
    for kind, title in (("model_artifacts", "model artifact"), ("artifacts", "artifact")):
        for key, ref in sorted((version.get(kind) or {}).items()):
            rows.append((f"{title} {key}", _label(ref)))
    width = max(len(key) for key, _ in rows)
    print("\n".join(f"{key.ljust(width)}  {value}" for key, value in rows))


def cmd_versions(args: argparse.Namespace) -> int:
    from store.publication import publication

    project = _project()
    if args.json:
        stages = _stages_of(project, args.name)
        pub = publication(project)
        print_json([{**v, "stages": sorted(s for s, n in stages.items() if n == v["version"]),
                     "published": pub.model_published(args.name, v["version"])}
                    for v in _versions(project, args.name)])  # fmt: skip
        return 0
    headers, rows = _version_rows(project, args.name)
    print(table(headers, rows) if rows else "no versions yet")
    return 0


def _version(project: Any, name: str, label: str) -> dict[str, Any]:
    from engine.model import Model

    number = label[1:] if label.startswith("v") and label[1:].isdigit() else label
    return dict(Model(name, int(number) if number.isdigit() else number).resolve(project).record)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _label(ref: dict[str, Any] | None) -> str:
    return f"{ref['name']}:{ref['version']}" if ref else "-"


def cmd_compare(args: argparse.Namespace) -> int:
    project = _project()
    a, b = _version(project, args.name, args.v1), _version(project, args.name, args.v2)
    rows: list[tuple[str, str, str]] = []
    ma, mb = _metrics(a), _metrics(b)
    for key in sorted(set(ma) | set(mb)):
        rows.append((f"metric {key}", _number(ma.get(key)), _number(mb.get(key))))
    for kind in ("model_artifacts", "artifacts"):
        ra, rb = a.get(kind) or {}, b.get(kind) or {}
        for key in sorted(set(ra) | set(rb)):
            rows.append((f"artifact {key}", _label(ra.get(key)), _label(rb.get(key))))
    rows.append(("run", (a.get("run_id") or "-")[:8], (b.get("run_id") or "-")[:8]))
    print(table(["", f"v{a['version']}", f"v{b['version']}"], rows))
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from store.errors import ValidationError
    from store.promotion import promote, push_branch

    project = _project()
    label = args.version[1:] if args.version.startswith("v") else args.version
    if not label.isdigit():
        raise ValidationError(f"version must be a number (e.g. 3 or v3), got {args.version!r}")
    result = promote(project, args.name, int(label), args.stage,
                     direct=True if args.direct else None, force=args.force,
                     body_file=Path(args.body_file) if args.body_file else None)  # fmt: skip
    status = 0
    if result.published is not None:
        from tui.commands.sync import report_moves

        print(f"published the runs to {result.published.remote} first, so the stage names a "
              "final version number", file=sys.stderr)  # fmt: skip
        with contextlib.redirect_stdout(sys.stderr):
            status = report_moves(result.published)
        if result.requested_version is not None:
            print(f"{args.name} v{result.requested_version} is v{result.version} now that it is "
                  f"published; promoting v{result.version}", file=sys.stderr)  # fmt: skip
    label = str(result.version)
    if result.mode == "pull-request":
        print(f"created branch {result.branch} ({result.commit[:8]}): {args.name} v{label} "
              f"-> {args.stage}", file=sys.stderr)  # fmt: skip
    else:
        print(f"committed {result.commit[:8]} on {result.branch}: {args.name} v{label} -> "
              f"{args.stage}", file=sys.stderr)  # fmt: skip
    if result.archived_version is not None:
        print(f"previous holder v{result.archived_version} moved to archived",
              file=sys.stderr)  # fmt: skip
    if result.forced_gates:
        print("forced past failing gates: " + "; ".join(g.describe() for g in result.forced_gates),
              file=sys.stderr)  # fmt: skip
    if args.push and result.branch:
        push_branch(project, result.branch, remote=args.remote)
        print(f"pushed {result.branch} and the runs to {args.remote}",
              file=sys.stderr)  # fmt: skip
    if not args.body_file:
        print(result.body)
    return status


def cmd_register(args: argparse.Namespace) -> int:
    from store.models import parse_gate, register_model

    project = _project()
    gates = dict(parse_gate(text) for text in args.gate)
    path = register_model(project, args.name, gates=gates, description=args.description)
    rel = path.relative_to(project.root)
    print(f"wrote {rel}; commit it (`git add {rel} && git commit`) before promoting "
          f"versions of {args.name}", file=sys.stderr)  # fmt: skip
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from store.promotion_check import check_promotions

    project = _project()
    report = check_promotions(project, args.base, args.head, remote=args.remote)
    text = report.markdown()
    print(text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0 if report.ok else 1
