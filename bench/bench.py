"""Benchmark of mlx against its performance budget (the budget column of bench/README.md).

Usage: ``python bench/bench.py [--quick] [--no-write]``

Everything is measured as whole processes (what a user waits for), median of 5 runs (3 with
``--quick``), in a fresh project made with ``mlx init`` in a temporary directory with an isolated
HOME and git config. The 10,000-run history is written straight into ``refs/mlx/runs`` with
``git fast-import`` (one commit per run, like mlx writes it), built from a real run record of
the 3-step pipeline, so the records, sharding and artifact directories look exactly like a
project that ran it 10,000 times. The results table is printed and written to bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from store.paths import artifact_path

REPO = Path(__file__).resolve().parent.parent
README = Path(__file__).resolve().parent / "README.md"
RUNS_REF = "refs/mlx/runs"
MANY = 10_000
FEW = 10


# -- environment -------------------------------------------------------------------------------
def isolated_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITHUB_"))}
    env.update({
        "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
        "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(home / "dvc-site"),
        "GIT_TERMINAL_PROMPT": "0", "PYTHONPATH": str(REPO),
    })  # fmt: skip
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    return env


def mlx_command() -> list[str]:
    """The installed `mlx` entry point next to this interpreter, else `python -m tui.cli`."""
    script = Path(sys.executable).with_name("mlx")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tui.cli"]


@dataclass
class Bench:
    env: dict[str, str]
    repeat: int
    mlx: list[str]

    def run(self, cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*self.mlx, *args], cwd=cwd, env=self.env, capture_output=True,
                              text=True)  # fmt: skip
        if check and proc.returncode != 0:
            raise SystemExit(f"mlx {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    def timed(self, cwd: Path, *args: str, before: Callable[[], None] | None = None) -> float:
        """Median wall time of ``mlx ARGS`` over ``repeat`` runs (``before`` is not timed)."""
        times = []
        for _ in range(self.repeat):
            if before:
                before()
            start = time.perf_counter()
            self.run(cwd, *args)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    def timed_together(self, *cases: tuple[Path, Sequence[str]]) -> list[float]:
        """Median wall time of each ``(cwd, args)``, measured in turns (a, b, a, b, ...) so a
        change of machine load hits every case alike; for figures reported as ratios."""
        times: list[list[float]] = [[] for _ in cases]
        for _ in range(max(self.repeat, 7)):
            for i, (cwd, args) in enumerate(cases):
                start = time.perf_counter()
                self.run(cwd, *args)
                times[i].append(time.perf_counter() - start)
        return [statistics.median(t) for t in times]

    def python(self, cwd: Path, code: str) -> str:
        proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=self.env,
                              capture_output=True, text=True)  # fmt: skip
        if proc.returncode != 0:
            raise SystemExit(f"python helper failed:\n{proc.stderr}")
        return proc.stdout


def git(cwd: Path, *args: str, env: dict[str, str], data: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, input=data, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed:\n{proc.stderr.decode()}")
    return proc.stdout.decode()


# -- pipelines ---------------------------------------------------------------------------------
def chain_pipeline(name: str, steps: int) -> str:
    """Source of a pipeline of ``steps`` trivial steps, each feeding the next."""
    lines = ["from typing import Annotated", "", "from engine import pipeline, step", ""]
    lines += ["", "@step", f"def {name}_s0() -> Annotated[int, '{name}_v0']:", "    return 0", ""]
    for i in range(1, steps):
        lines += ["", "@step", f"def {name}_s{i}(x: int) -> Annotated[int, '{name}_v{i}']:",
                  "    return x + 1", ""]  # fmt: skip
    body = [f"    x = {name}_s0()"] + [f"    x = {name}_s{i}(x)" for i in range(1, steps)]
    lines += ["", "@pipeline", f"def {name}() -> None:", *body, ""]
    return "\n".join(lines)


def new_project(bench: Bench, parent: Path, name: str) -> Path:
    bench.run(parent, "init", name)
    root = parent / name
    (root / "pipelines" / "bench.py").write_text(
        chain_pipeline("tri3", 3) + "\n\n" + chain_pipeline("tri20", 20).split("\n", 4)[4]
    )
    return root


HEAVY_MODULE = """import time

from engine import pipeline, step

time.sleep(0.3)  # stands for an import of torch, tensorflow, ...


@step
def heavy_{i}_step() -> int:
    return {i}


@pipeline
def heavy_{i}() -> None:
    heavy_{i}_step()
"""


def with_heavy_modules(bench: Bench, parent: Path, name: str, count: int = 10) -> Path:
    """A bench project whose pipelines/ also holds ``count`` slow, unrelated modules."""
    root = new_project(bench, parent, name)
    for i in range(count):
        (root / "pipelines" / f"heavy_{i}.py").write_text(HEAVY_MODULE.format(i=i))
    return root


# -- a big history via git fast-import ---------------------------------------------------------
def _fast_import_stream(template: dict[str, Any], artifacts: list[dict[str, Any]], count: int,
                        parent: str | None, start_version: int) -> bytes:  # fmt: skip
    """``count`` commits, each adding one run record and one new version of each artifact."""
    out: list[bytes] = []
    t0 = datetime.now(UTC) - timedelta(days=30)
    for i in range(count):
        run_id = uuid.uuid4().hex
        started = t0 + timedelta(seconds=60 * i)
        finished = started + timedelta(milliseconds=120)
        version = start_version + i
        ids = {a["name"]: uuid.uuid4().hex for a in artifacts}
        files: dict[str, bytes] = {}
        for art in artifacts:
            rec = {**art, "id": ids[art["name"]], "version": version, "run_id": run_id,
                   "created_at": finished.isoformat().replace("+00:00", "Z")}  # fmt: skip
            files[artifact_path(art["name"], version)] = _dump(rec)
        run = json.loads(json.dumps(template))
        run.update(id=run_id, started_at=started.isoformat().replace("+00:00", "Z"),
                   finished_at=finished.isoformat().replace("+00:00", "Z"))  # fmt: skip
        for step in run["steps"]:
            step["status"], step["cached_from"] = "completed", None
            for role in ("inputs", "outputs"):
                for ref in step[role].values():
                    ref.update(id=ids[ref["name"]], version=version)
        files[f"runs/{run_id[:2]}/{run_id}.json"] = _dump(run)
        message = f"run {run_id} {run['pipeline']} completed".encode()
        when = int(finished.timestamp())
        out.append(f"commit {RUNS_REF}\n".encode())
        out.append(f"committer Bench <bench@example.com> {when} +0000\n".encode())
        out.append(b"data %d\n%s\n" % (len(message), message))
        if i == 0 and parent:
            out.append(f"from {parent}\n".encode())
        for path, data in files.items():
            out.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        out.append(b"\n")
    return b"".join(out)


def _dump(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def grow_history(bench: Bench, root: Path, total: int) -> None:
    """Make the runs ref hold ``total`` runs of tri3, cloned from its last real run."""
    code = (
        "import json, sys\nfrom store.project import Project\np = Project.find()\n"
        "run = p.index.list_runs(pipeline='tri3', limit=1)[0]\nrec = p.index.run_json(run.id)\n"
        "arts = [p.index.artifact_json(n) for n in ('tri3_v0', 'tri3_v1', 'tri3_v2')]\n"
        "print(json.dumps({'run': rec, 'artifacts': arts, 'count': p.index.count_runs()}))\n"
    )
    data = json.loads(bench.python(root, code))
    versions = max(a["version"] for a in data["artifacts"])
    todo = total - data["count"]
    if todo <= 0:
        return
    parent = git(root, "rev-parse", RUNS_REF, env=bench.env).strip()
    template = data["run"]
    artifacts = [{k: v for k, v in a.items() if k not in ("id", "version", "run_id")}
                 for a in data["artifacts"]]  # fmt: skip
    stream = _fast_import_stream(template, artifacts, todo, parent, versions + 1)
    git(root, "fast-import", "--quiet", "--force", env=bench.env, data=stream)


APPEND_CODE = """
import sys, time, uuid
from datetime import UTC, datetime
from store.project import Project
from store.recorder import commit_run
from store.records import ArtifactRef, RunRecord, StepRecord

with_artifacts = sys.argv[1] == "1"
project = Project.find()
runs = project.runs
run_id = uuid.uuid4().hex
now = datetime.now(UTC)
pointer = {"md5": "0" * 32, "size": 1, "hash": "md5"}
drafts = []
steps = []
for i in range(3):
    name = f"tri3_v{i}"
    art = uuid.uuid4().hex
    if with_artifacts:
        drafts.append({"id": art, "name": name, "type": "builtins.int",
                       "materializer": "engine.materializers.builtin.JsonMaterializer",
                       "pointer": pointer, "run_id": run_id, "step": f"tri3_s{i}",
                       "output": name, "created_at": now})
    outputs = {name: ArtifactRef(id=art, name=name)} if with_artifacts else {}
    steps.append(StepRecord(name=f"tri3_s{i}", status="completed", started_at=now,
                            finished_at=now, outputs=outputs, cache_key=uuid.uuid4().hex))
run = RunRecord(id=run_id, pipeline="tri3", status="completed", started_at=now,
                finished_at=now, steps=steps)
start = time.perf_counter()
commit_run(runs, run, drafts)
print(time.perf_counter() - start)
"""


def append_time(bench: Bench, root: Path, with_artifacts: bool) -> float:
    """Median time of one ``commit_run`` in a fresh process (imports not counted).

    Milliseconds are noisy, so this takes the median of at least 11 processes.
    """
    times = []
    for _ in range(max(bench.repeat, 11)):
        proc = subprocess.run([sys.executable, "-c", APPEND_CODE, "1" if with_artifacts else "0"],
                              cwd=root, env=bench.env, capture_output=True, text=True)  # fmt: skip
        if proc.returncode != 0:
            raise SystemExit(f"append failed:\n{proc.stderr}")
        times.append(float(proc.stdout.strip()))
    return statistics.median(times)


def count_runs(bench: Bench, root: Path) -> int:
    return len(json.loads(bench.run(root, "runs", "list", "--json").stdout))


def peak_rss_mb(bench: Bench, root: Path, *args: str) -> float:
    """Max RSS of ``mlx ARGS`` (largest process of its tree), in a fresh wrapper process."""
    code = (
        "import resource, subprocess, sys\n"
        f"subprocess.run({[*bench.mlx, *args]!r}, check=True, capture_output=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    values = [int(bench.python(root, code)) / 1024 for _ in range(bench.repeat)]
    return statistics.median(values)


# -- report ------------------------------------------------------------------------------------
@dataclass
class Row:
    measure: str
    value: str
    budget: str
    ok: bool | None
    peer: str = ""


TUI_CODE = """
import asyncio, resource, sys
from store.project import Project
from tui.app import MlxApp
from tui.services import Services
from tui.widgets.runs_table import RunsTable

async def main():
    app = MlxApp(Services(Project.find()))
    async with app.run_test(size=(120, 36)) as pilot:
        while True:
            tables = app.screen.query(RunsTable)
            if tables and len(tables.first().rows) >= int(sys.argv[1]):
                break
            await pilot.pause(0.005)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sys.__stdout__.write(f"painted {peak:.1f}\\n")
        sys.__stdout__.flush()

asyncio.run(main())
"""


def tui_first_paint(bench: Bench, root: Path, rows: int) -> tuple[float, float]:
    """Whole-process time until the runs screen holds ``rows`` runs, and peak RSS (MB)."""
    times, peaks = [], []
    for _ in range(bench.repeat):
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", TUI_CODE, str(rows)], cwd=root,
                                env=bench.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)  # fmt: skip
        assert proc.stdout is not None
        line = proc.stdout.readline()
        elapsed = time.perf_counter() - start
        out, err = proc.communicate(timeout=120)
        if not line.startswith("painted "):
            raise SystemExit(f"TUI bench failed:\n{line}{out}{err}")
        times.append(elapsed)
        peaks.append(float(line.split()[1]))
    return statistics.median(times), max(peaks)


def fmt_s(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def machine() -> dict[str, str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu or platform.processor() or "?",
        "python": platform.python_version(),
        "git": git_version.strip().removeprefix("git version "),
        "os": f"{platform.system()} {platform.release()}",
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def render(rows: Sequence[Row], info: dict[str, str], extra: Sequence[str], quick: bool) -> str:
    lines = [
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['os']}, Python {info['python']}, "
        f"git {info['git']}. Date: {info['date']}. Load average at the end: {info['load']}. "
        f"Median of {3 if quick else 5} whole-process runs{' (--quick)' if quick else ''}.",
        "",
        "| measure | mlx | budget | pass | ZenML 0.98 |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        verdict = "n/a" if r.ok is None else ("pass" if r.ok else "**FAIL**")
        lines.append(f"| {r.measure} | {r.value} | {r.budget} | {verdict} | {r.peer} |")
    lines += ["", *extra]
    return "\n".join(lines) + "\n"


README_HEAD = """# bench

`bench/bench.py` measures mlx against its performance budget (the budget column below). Run it
from the repository root with the project's virtualenv (`pip install -e '.[dev]'`):

```
python bench/bench.py           # full: median of 5, writes this README
python bench/bench.py --quick   # median of 3
python bench/bench.py --no-write
```

How it measures:

- Every figure is a whole process (`mlx ...` started from the shell's point of view), median of
  5, in a fresh project made by `mlx init` in a temporary directory with an isolated HOME and
  git config.
- Pipelines are chains of trivial steps (`return x + 1`), 3 and 20 steps (`pipelines/bench.py`).
  *Cold* is `mlx run P --headless --no-cache`; *cached* is `mlx run P --headless` after a
  warm-up run, every step served from the cache. Per-step overhead is
  `(t(20 steps) - t(3 steps)) / 17`.
- Cached vs listing: the cached and cold 3-step runs are also given as a ratio to
  `mlx runs list` in the same project (a handful of runs): the floor every command pays
  (Python, the CLI, the project and its index), so the ratio is what a run adds on top.
- Unrelated modules: a second project whose `pipelines/` also holds 10 modules that each sleep
  0.3 s at import (as a module importing torch would) and define a pipeline of their own;
  `mlx run tri3` there vs in the bare project (discovery reads them, imports only tri3's).
- Peak memory: `ru_maxrss` of `RUSAGE_CHILDREN` in a wrapper process that runs only
  `mlx run tri3 --headless --no-cache` (the largest process of that tree).
- 10,000 runs: a real run of `tri3` is cloned 10,000 times into `refs/mlx/runs` with
  `git fast-import`, one commit per run, each adding the run record and a new version of its 3
  output artifacts (what 10,000 cold runs would leave). `runs list` is measured with the SQLite
  index already built (after one warm-up call); the first call, which builds the index from the
  ref, is reported separately.
- Append: `store.recorder.commit_run` of one more run (3 steps, 3 new artifact versions; and
  the same run without artifacts) timed inside a fresh process (imports excluded), median of 11
  processes, as the 10th and as the 10,000th run.
- The machine is shared: the load average is printed with the results; small figures
  (milliseconds) move by a few ms between runs.
- TUI first screen: a whole process starts the app headless (Textual's `run_test`, 120x36) in
  the 10,000-run project and reports when the runs table holds every run; peak RSS of that
  process is reported with it.

## Results

"""


def measure_history(bench: Bench, tmp: Path, root: Path, rows: list[Row], extra: list[str],
                    log: Callable[[str], None]) -> None:  # fmt: skip
    """Peak memory, appends at 10 and 10,000 runs, listing and the TUI at 10,000 runs."""
    log("peak memory")
    rss = peak_rss_mb(bench, root, "run", "tri3", "--headless", "--no-cache")
    rows.append(Row("peak memory of a 3-step run (max RSS)", f"{rss:.0f} MB", "< 120 MB",
                    rss < 120, "281 MB"))  # fmt: skip

    log(f"append at {FEW} runs")
    few = new_project(bench, tmp, "few")
    bench.run(few, "run", "tri3", "--headless")
    grow_history(bench, few, FEW - 1)
    append_few = append_time(bench, few, with_artifacts=True)
    append_few_bare = append_time(bench, few, with_artifacts=False)

    log(f"writing {MANY} runs with git fast-import")
    start = time.perf_counter()
    grow_history(bench, root, MANY - 1)
    t_import = time.perf_counter() - start
    log(f"append at {MANY} runs")
    append_many = append_time(bench, root, with_artifacts=True)
    append_many_bare = append_time(bench, root, with_artifacts=False)
    ratio = append_many / append_few
    ratio_bare = append_many_bare / append_few_bare
    append_rows = [
        Row(f"append one run record (3 new artifact versions) at {MANY:,} vs {FEW} runs",
            f"{fmt_s(append_many)} vs {fmt_s(append_few)}: ratio {ratio:.2f}", "ratio < 1.5",
            ratio < 1.5, "about 1.8 s per run at 200"),
        Row(f"append one run record (no artifacts) at {MANY:,} vs {FEW} runs",
            f"{fmt_s(append_many_bare)} vs {fmt_s(append_few_bare)}: ratio {ratio_bare:.2f}",
            "ratio < 1.5", ratio_bare < 1.5, ""),
    ]  # fmt: skip
    start = time.perf_counter()
    bench.run(root, "runs", "list", "--limit", "1")  # builds the index from the ref
    t_index = time.perf_counter() - start
    total = count_runs(bench, root)
    log(f"{total} runs; list")
    t_list = bench.timed(root, "runs", "list")
    t_list_json = bench.timed(root, "runs", "list", "--json")
    rows += [
        Row(f"`mlx runs list` at {total:,} runs", fmt_s(t_list), "< 0.3 s", t_list < 0.3,
            "5.2 s at 200 runs"),
        Row(f"`mlx runs list --json` at {total:,} runs", fmt_s(t_list_json), "< 0.3 s",
            t_list_json < 0.3, ""),
        Row(f"first `mlx runs list` at {total:,} runs (index built from the ref)",
            fmt_s(t_index), "-", None, ""),
    ]  # fmt: skip
    rows += append_rows
    log("TUI first screen")
    t_tui, tui_rss = tui_first_paint(bench, root, total)
    rows += [
        Row(f"TUI first screen with {total:,} runs (whole process, runs table filled)",
            fmt_s(t_tui), "< 1 s", t_tui < 1.0, "no TUI"),
        Row(f"TUI peak memory with {total:,} runs", f"{tui_rss:.0f} MB", "-", None, ""),
    ]  # fmt: skip
    size = sum(p.stat().st_size for p in (root / ".git" / "objects").rglob("*") if p.is_file())
    extra.append(f"Setup of the {MANY:,}-run history: git fast-import {t_import:.1f} s "
                 f"(objects now {size / 2**20:.0f} MiB on disk), first index build "
                 f"{t_index:.1f} s.")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="median of 3 instead of 5")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite bench/README.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--skip-history", action="store_true",
                        help="stop before memory, appends and the 10,000-run figures")  # fmt: skip
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="mlx-bench-"))
    (tmp / "home").mkdir()
    bench = Bench(isolated_env(tmp / "home"), 3 if args.quick else 5, mlx_command())
    rows: list[Row] = []
    extra: list[str] = []
    try:
        log = lambda msg: print(f"[bench] {msg}", file=sys.stderr, flush=True)  # noqa: E731

        log("mlx --help")
        t_help = bench.timed(tmp, "--help")
        rows.append(Row("`mlx --help`", fmt_s(t_help), "< 0.15 s", t_help < 0.15,
                        "`zenml --help` 2.9 s"))  # fmt: skip

        root = new_project(bench, tmp, "proj")
        log("pipelines: cold and cached")
        bench.run(root, "run", "tri3", "--headless")  # warm-up: imports, index, cache entries
        bench.run(root, "run", "tri20", "--headless")
        cold3 = bench.timed(root, "run", "tri3", "--headless", "--no-cache")
        cached3 = bench.timed(root, "run", "tri3", "--headless")
        cold20 = bench.timed(root, "run", "tri20", "--headless", "--no-cache")
        cached20 = bench.timed(root, "run", "tri20", "--headless")
        per_cold = (cold20 - cold3) / 17
        per_cached = (cached20 - cached3) / 17
        rows += [
            Row("3-step trivial pipeline, cold cache", fmt_s(cold3), "< 0.8 s", cold3 < 0.8,
                "9.5 s"),
            Row("same, every step cached", fmt_s(cached3), "< 0.5 s", cached3 < 0.5, "7.4 s"),
            Row("20-step trivial pipeline, cold cache", fmt_s(cold20), "-", None, ""),
            Row("20-step trivial pipeline, every step cached", fmt_s(cached20), "-", None, ""),
            Row("per-step overhead, cold", fmt_s(per_cold), "< 15 ms", per_cold < 0.015, "150 ms"),
            Row("per-step overhead, cached", fmt_s(per_cached), "< 15 ms", per_cached < 0.015,
                "120 ms"),
        ]  # fmt: skip

        log("cached and cold runs against runs list, in turns")
        cold, cached, listing = bench.timed_together(
            (root, ("run", "tri3", "--headless", "--no-cache")),
            (root, ("run", "tri3", "--headless")),
            (root, ("runs", "list")),
        )
        rows += [
            Row("`mlx runs list` in the same project (a few runs)", fmt_s(listing), "-", None, ""),
            Row("cached 3-step run / `mlx runs list` (measured in turns)",
                f"{fmt_s(cached)} / {fmt_s(listing)} = {cached / listing:.2f}x", "-", None, ""),
            Row("cold 3-step run / `mlx runs list` (measured in turns)",
                f"{fmt_s(cold)} / {fmt_s(listing)} = {cold / listing:.2f}x", "-", None, ""),
        ]  # fmt: skip

        log("10 heavy unrelated pipeline modules, in turns with the bare project")
        heavy = with_heavy_modules(bench, tmp, "heavy")
        bench.run(heavy, "run", "tri3", "--headless")
        for label, extra_args in (("cold", ("--no-cache",)), ("cached", ())):
            bare_t, heavy_t = bench.timed_together(
                (root, ("run", "tri3", "--headless", *extra_args)),
                (heavy, ("run", "tri3", "--headless", *extra_args)),
            )
            rows.append(Row(
                f"3-step run, {label}, with 10 heavy unrelated modules vs bare project",
                f"{fmt_s(heavy_t)} vs {fmt_s(bare_t)}: ratio {heavy_t / bare_t:.2f}",
                "ratio < 1.1", heavy_t / bare_t < 1.1, "",
            ))  # fmt: skip
        if not args.skip_history:
            measure_history(bench, tmp, root, rows, extra, log)
    finally:
        if args.keep:
            print(f"[bench] kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    report = render(rows, machine(), extra, args.quick)
    print(report)
    if not args.no_write:
        old = README.read_text() if README.is_file() else ""
        notes = old[old.index("\n## Findings") :] if "\n## Findings" in old else ""
        README.write_text(README_HEAD + report + notes)  # the hand-written findings survive
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
