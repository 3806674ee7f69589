"""Team sync at 10,000 runs: `mlx push` of one new run, and a fresh clone's first look.

Run from the repository root: ``python bench/team_sync.py [--runs 10000] [--repeat 3]``.
Builds a project with ``--runs`` runs (git fast-import, as bench.py does), a bare git origin and
a local-directory DVC remote, then measures (medians, whole processes):

* the first ``mlx push`` (every referenced object checked on the DVC remote once);
* ``mlx push`` of one new run on that history (the verified note keeps it incremental);
* ``mlx pull`` into a fresh clone (the index is built during the pull) and the first
  ``mlx runs list`` after it.

Timings on a shared, loaded machine are noisy; the imports of one push and one list (counted
with ``python -X importtime``) are printed too, as a load-independent figure.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import Bench, git, grow_history, isolated_env, mlx_command, new_project  # noqa: E402


def timed(bench: Bench, cwd: Path, *args: str) -> float:
    start = time.perf_counter()
    bench.run(cwd, *args)
    return time.perf_counter() - start


def imports(env: dict[str, str], cwd: Path, *args: str) -> str:
    """``N modules (pydantic, dvc_data)``: what ``mlx ARGS`` imported, heavy packages named."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "tui.cli", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, check=True)  # fmt: skip
    names = [line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:") and "|" in line]  # fmt: skip
    heavy = sorted({n for n in names if n.split(".")[0] in HEAVY and "." not in n})
    return f"{len(names)} modules ({', '.join(heavy) or 'no pydantic, dvc or GitPython'})"


HEAVY = {"pydantic", "dvc", "dvc_data", "dvc_objects", "fsspec", "git", "rich", "textual"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlx-team-bench-") as name:
        tmp = Path(name)
        (tmp / "home").mkdir()
        env = isolated_env(tmp / "home")
        bench = Bench(env, args.repeat, mlx_command())
        root = new_project(bench, tmp, "proj")
        bench.run(root, "run", "tri3", "--headless")
        grow_history(bench, root, args.runs - 1)
        git(tmp, "init", "-q", "--bare", "origin.git", env=env)
        (tmp / "dvc-remote").mkdir()
        subprocess.run([sys.executable, "-m", "dvc", "remote", "add", "-d", "team",
                        str(tmp / "dvc-remote")], cwd=root, env=env, check=True)  # fmt: skip
        git(root, "add", "-A", env=env)
        git(root, "commit", "-qm", "project", env=env)
        git(root, "remote", "add", "origin", str(tmp / "origin.git"), env=env)
        git(root, "push", "-q", "origin", "HEAD:main", env=env)
        first = timed(bench, root, "push")
        pushes = []
        for _ in range(args.repeat):
            bench.run(root, "run", "tri3", "--headless", "--no-cache")
            pushes.append(timed(bench, root, "push"))
        bench.run(root, "run", "tri3", "--headless", "--no-cache")
        push_imports = imports(env, root, "push")
        pulls, lists = [], []
        for i in range(args.repeat):
            clone = tmp / f"clone{i}"
            git(tmp, "clone", "-q", str(tmp / "origin.git"), str(clone), env=env)
            pulls.append(timed(bench, clone, "pull"))
            lists.append(timed(bench, clone, "runs", "list"))
        list_imports = imports(env, tmp / "clone0", "runs", "list")
        count = args.runs + args.repeat
        print(f"| first `mlx push` of {count - args.repeat:,} runs (every object checked once) "
              f"| {first:.2f} s |")  # fmt: skip
        print(f"| `mlx push` of one new run on {count:,} runs (budget < 2 s) "
              f"| {statistics.median(pushes):.2f} s |")  # fmt: skip
        print(f"| `mlx pull` of {count:,} runs into a fresh clone (index built during the pull) "
              f"| {statistics.median(pulls):.2f} s |")  # fmt: skip
        print(f"| first `mlx runs list` after that pull (budget < 1 s) "
              f"| {statistics.median(lists):.2f} s |")  # fmt: skip
        print(f"\n`mlx push` of one new run imports {push_imports}; "
              f"`mlx runs list` imports {list_imports}.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
