"""``mlx runs list|show|logs|reproduce``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tui.format import format_age, format_duration, glyph, print_json, span, table

__all__ = ["cmd_list", "cmd_logs", "cmd_reproduce", "cmd_show", "run_json"]


def _project() -> Any:
    """The project, with runs of dead processes folded into ``crashed`` records first."""
    from store.journal import has_dead_journals
    from store.paths import journal_dir
    from store.project import Project

    project = Project.find()
    if has_dead_journals(journal_dir(project.git.common_dir)):  # pydantic only when needed
        from store.recorder import fold_crashed_runs

        fold_crashed_runs(project.runs)
    return project


def live_runs(project: Any) -> list[dict[str, Any]]:
    """Runs in progress right now (from their journals)."""
    from store.journal import read_journals
    from store.paths import journal_dir

    states = read_journals(journal_dir(project.git.common_dir))
    return [state.live_run() for state in states if state.alive]


def cmd_list(args: argparse.Namespace) -> int:
    project = _project()
    rows = project.index.list_runs(pipeline=args.pipeline, status=args.status, limit=args.limit)
    runs = [r.as_json() for r in rows]
    if args.status in (None, "running"):
        from store.index import RunSummary

        live = [
            RunSummary.from_run(r).as_json()
            for r in live_runs(project)
            if args.pipeline in (None, r.get("pipeline"))
        ]
        runs = live + runs
    if args.json:
        from store.publication import publication

        pub = publication(project)
        print_json([{**r, "published": r["status"] != "running" and pub.run_published(r["id"])}
                    for r in runs])  # fmt: skip
        return 0
    if not runs:
        from tui.commands.artifacts import fresh_clone_hint

        print("no runs yet; start one with `mlx run PIPELINE`" + fresh_clone_hint(project))
        return 0
    body = [
        (f"{glyph(r['status'])} {r['status']}", r["id"][:8], r["pipeline"],
         format_age(r["started_at"]), format_duration(span(r["started_at"], r["finished_at"])),
         f"{r['steps_done']}/{r['steps_total']}" + (f" ({r['steps_cached']} cached)"
                                                    if r["steps_cached"] else ""),
         r["stack"] or "-", (r["code_commit"] or "-")[:8] + ("*" if r["dirty"] else ""))
        for r in runs
    ]  # fmt: skip
    sys.stdout.write(
        table(["STATUS", "ID", "PIPELINE", "STARTED", "DURATION", "STEPS", "STACK", "COMMIT"], body)
        + "\n"
    )
    return 0


def run_json(run: dict[str, Any], pub: Any = None) -> dict[str, Any]:
    """The stable JSON form of a run for scripts (`runs show --json`, `run --json`).

    With ``pub`` (a :class:`store.publication.Publication`), provisional version numbers are
    marked ``name:4*`` and ``published`` says whether the run record is on the shared remote.
    """

    def label(ref: dict[str, Any]) -> str:
        version = ref.get("version")
        mark = pub.artifact_label(ref["name"], version) if pub else None
        return f"{ref['name']}:{mark or (version if version is not None else '?')}"

    steps = []
    for s in run.get("steps", []):
        steps.append({
            "name": s["name"], "status": s["status"], "started_at": s.get("started_at"),
            "finished_at": s.get("finished_at"), "upstream": s.get("upstream", []),
            "parameters": s.get("parameters", {}),
            "inputs": {k: label(v) for k, v in (s.get("inputs") or {}).items()},
            "outputs": {k: label(v) for k, v in (s.get("outputs") or {}).items()},
            "cached_from": s.get("cached_from"), "rerun_reasons": s.get("rerun_reasons", []),
            "metadata": s.get("metadata", {}), "error": s.get("error"),
            "attempts": s.get("attempts", 1), "retried_error": s.get("retried_error"),
        })  # fmt: skip
    keys = ("id", "name", "pipeline", "status", "started_at", "finished_at", "parameters", "stack",
            "orchestrator", "tags", "code", "model", "error", "host", "user", "config")  # fmt: skip
    data = {**{k: run.get(k) for k in keys}, "steps": steps}
    if pub is not None:
        data["published"] = run.get("status") != "running" and pub.run_published(run["id"])
    return data


def cmd_show(args: argparse.Namespace) -> int:
    from store.publication import publication

    project = _project()
    run = _find_run(project, args.run)
    data = run_json(run, publication(project))
    if args.json:
        print_json(data)
        return 0
    print(describe_run(data))
    return 0


def _find_run(project: Any, run_id: str) -> dict[str, Any]:
    if run_id == "latest":  # the newest run, live or finished
        running = live_runs(project)
        if running:
            return running[0]
        newest = project.index.list_runs(limit=1)
        if not newest:
            from store.errors import NotFoundError

            raise NotFoundError("run", run_id, hint="(no run has been recorded yet)")
        run_id = newest[0].id
    for live in live_runs(project):
        if live["id"].startswith(run_id):
            return live
    return dict(project.index.run_json(run_id))


def describe_run(data: dict[str, Any]) -> str:
    code = data.get("code") or {}
    lines = [
        f"run       {data['id']}",
        f"pipeline  {data['pipeline']}",
        f"status    {glyph(data['status'])} {data['status']}",
        f"started   {data['started_at']} ({format_age(data['started_at'])}), "
        f"took {format_duration(span(data['started_at'], data['finished_at']))}",
        f"stack     {data.get('stack')} ({data.get('orchestrator')})",
        f"commit    {code.get('commit') or '(no commit yet)'}"
        + (" with uncommitted changes" if code.get("dirty") else ""),
    ]
    if code.get("dirty_files"):
        stored = " (patch stored: `mlx runs reproduce`)" if code.get("patch") else ""
        lines.append(f"changed   {', '.join(code['dirty_files'])}{stored}")
    if data.get("parameters"):
        params = ", ".join(f"{k}={v!r}" for k, v in data["parameters"].items())
        lines.append(f"params    {params}")
    if data.get("model"):
        lines.append(f"model     {data['model']['name']}:{data['model'].get('version')}")
    rows = []
    for s in data["steps"]:
        if s["status"] == "cached":
            note = f"cached from run {s['cached_from'][:8]}"
        elif s["status"] == "completed":
            note = "re-ran: " + "; ".join(s["rerun_reasons"]) if s["rerun_reasons"] else ""
        elif s["error"]:
            note = f"{s['error']['type']}: {s['error']['message']}"
        else:
            note = ""
        if s.get("attempts", 1) > 1:
            last = s.get("retried_error") or {}
            retried = f"{s['attempts']} attempts, retried after {last.get('type')}: " \
                      f"{last.get('message')}"  # fmt: skip
            note = f"{retried}; {note}" if note else retried
        outputs = ", ".join(f"{k}={v}" for k, v in s["outputs"].items()) or "-"
        took = format_duration(span(s["started_at"], s["finished_at"]))
        rows.append((glyph(s["status"]), s["name"], s["status"], took, outputs, note))
    lines += ["", table(["", "STEP", "STATUS", "TIME", "OUTPUTS", "NOTE"], rows)]
    if data.get("error") and not any(s["error"] for s in data["steps"]):
        lines += ["", f"error: {data['error']['type']}: {data['error']['message']}"]
    failed = next((s for s in data["steps"] if s["error"] and s["error"].get("traceback")), None)
    if failed:
        lines += ["", f"traceback of step {failed['name']}:", failed["error"]["traceback"].rstrip()]
    return "\n".join(lines)


def cmd_reproduce(args: argparse.Namespace) -> int:
    from engine.reproduce import reproduce_run

    project = _project()
    original = _find_run(project, args.run)
    print(f"reproducing run {original['id'][:8]} of {original['pipeline']} from commit "
          f"{(original.get('code') or {}).get('commit', '')[:10]}"
          + (" + its stored patch" if (original.get("code") or {}).get("patch") else "")
          + " in a temporary worktree, cache off…", file=sys.stderr)  # fmt: skip
    result = reproduce_run(project, original["id"])
    checks: list[dict[str, Any]] = [
        {"step": c.step, "output": c.output, "original": c.original, "reproduced": c.reproduced,
         "matches": c.matches} for c in result.checks
    ]  # fmt: skip
    if args.json:
        print_json({"original": result.original.id, "run": result.run.id,
                    "status": result.run.status, "ok": result.ok, "outputs": checks})  # fmt: skip
    else:
        rows = [(c["step"], c["output"], c["original"][:12], (c["reproduced"] or "-")[:12],
                 "match" if c["matches"] else "DIFFERS") for c in checks]  # fmt: skip
        print(table(["STEP", "OUTPUT", "ORIGINAL MD5", "REPRODUCED MD5", "BYTES"], rows))
        same = sum(c["matches"] for c in checks)
        print(f"run {result.run.id[:8]} ({result.run.status}): {same}/{len(checks)} outputs "
              "identical byte for byte")  # fmt: skip
    return 0 if result.ok else 1


def cmd_logs(args: argparse.Namespace) -> int:
    from store.errors import NotFoundError
    from store.paths import live_log_dir
    from store.records import DvcPointer

    project = _project()
    run = _find_run(project, args.run)
    names = [s["name"] for s in run.get("steps", [])]
    if args.step and args.step not in names:
        raise NotFoundError(f"step of run {run['id'][:8]}", args.step, names)
    for step in run.get("steps", []):
        if args.step not in (None, step["name"]):
            continue
        live = live_log_dir(project.git.common_dir, run["id"]) / f"{step['name']}.log"
        if step.get("log"):
            text = project.artifacts.read_bytes(DvcPointer(**step["log"])).decode(errors="replace")
        elif live.is_file():
            text = live.read_text(errors="replace")
        else:
            text = "(no output)\n" if step["status"] != "cached" else (
                f"(cached from run {step['cached_from'][:8]}: "
                f"see `mlx runs logs {step['cached_from'][:8]} {step['name']}`)\n")  # fmt: skip
        if args.step is None:
            sys.stdout.write(f"==> {step['name']} <==\n")
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    return 0
