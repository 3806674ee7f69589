"""``mlx port [PATH]``: print what the port changed and what is left (exit 1 when something is)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["cmd_port"]


def cmd_port(args: argparse.Namespace) -> int:
    from engine.porting import port_project

    report = port_project(Path(args.path), force=args.force)
    for rel in report.changed:
        print(f"  ported   {rel}")
    for rel in report.created:
        print(f"  created  {rel}")
    if not report.changed and not report.created:
        print("nothing to change: no ZenML imports left and the mlx files exist")
    if report.models:
        print(f"models: {', '.join(report.models)} (models/<name>.toml: add [gates] as needed)")
    if report.leftovers:
        print(f"\ncould not port {len(report.leftovers)} thing(s); do this by hand:")
        for item in report.leftovers:
            print(f"  {item}")
        return 1
    print(f"\n{report.root} is an mlx project: review with `git diff`, commit, then run as "
          "before (e.g. `python run.py`) or `mlx run PIPELINE`")  # fmt: skip
    return 0
