"""Cost of verifying cached bytes before they are served: one 1 GB artifact, loaded by load().

    PYTHONPATH=. python bench/verify_bench.py [--size-mb 1024] [--repeat 3]

Measures in one process (imports excluded), median of ``--repeat``:

- *unverified*: the materializer reads the cache object directly (what load() cost before);
- *first load*: ``Client().get_artifact_version(...).load()`` with no verification note (the
  object's md5 is recomputed, then the value loaded);
- *later loads*: the same with the note in place (a ``stat`` and one SQLite lookup).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlx-verify-bench-") as tmp:
        os.environ.update(HOME=tmp, GIT_CONFIG_NOSYSTEM="1", DVC_NO_ANALYTICS="1",
                          GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x",
                          GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@x")  # fmt: skip
        root = Path(tmp) / "proj"
        subprocess.run([sys.executable, "-m", "tui.cli", "init", str(root)], check=True,
                       capture_output=True)  # fmt: skip
        os.chdir(root)
        from engine import Client, save_artifact
        from engine.materializers import BytesMaterializer
        from store.project import Project
        from store.records import DvcPointer

        project = Project(root)
        save_artifact(os.urandom(1 << 20) * args.size_mb, "big", project=project)
        record = project.index.artifact_json("big")
        pointer = DvcPointer.model_validate(record["pointer"])
        note = root / ".dvc" / "tmp" / "mlx-verified.sqlite"
        path = project.artifacts.cache_file(pointer)  # also verifies once: warm the page cache

        def unverified() -> None:
            BytesMaterializer().load(bytes, path)

        def first() -> None:
            note.unlink(missing_ok=True)
            Client(project).get_artifact_version("big").load()

        def later() -> None:
            Client(project).get_artifact_version("big").load()

        later()
        for label, fn in (
            ("unverified", unverified),
            ("first load", first),
            ("later loads", later),
        ):
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            print(f"{label:12} {statistics.median(times):.3f} s  (median of {args.repeat})")


if __name__ == "__main__":
    main()
