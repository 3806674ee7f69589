"""``mlx doctor``: one line per check, each problem with what to do; exit 0 healthy, 1 not."""

from __future__ import annotations

import argparse
import sys

__all__ = ["cmd_doctor"]


def cmd_doctor(args: argparse.Namespace) -> int:
    from store.doctor import CHECKS, diagnose
    from store.errors import ConfigError
    from store.project import Project

    try:
        project = Project.find()
    except ConfigError as exc:  # mlx.toml itself: nothing else can be checked
        print(f"config  FAIL  {exc}\n        fix the file, then run `mlx doctor` again")
        return 1
    report = diagnose(project, args.remote)
    for check in CHECKS:
        failed = report.failed(check)
        print(f"{check:<7} {'FAIL' if failed else 'ok'}")
        for finding in failed:
            print(f"        {finding.problem}\n          -> {finding.fix}")
    for note in report.notes:
        print(f"note: {note}")
    if not report.ok:
        print(f"{len(report.findings)} problem(s) found", file=sys.stderr)
    return 0 if report.ok else 1
