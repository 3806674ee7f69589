"""The README's usage examples run as written.

Every shell block that follows a ``<!-- usage: ... -->`` marker in README.md is run line by line
in bash (``set -e``: the first failing line fails the test), with ``mlx`` being this tree's
command line. A block whose marker mentions ``mlx demo`` runs inside a fresh copy of the demo;
the others start in an empty folder. The one line that opens the full-screen app (a bare
``mlx``) needs a terminal and is the only line skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support import REPO

MARKER = re.compile(r"<!-- usage:(?P<note>[^>]*)-->\s*```sh\n(?P<body>.*?)```", re.S)


def usage_blocks() -> list[tuple[str, list[str]]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return [(m["note"], m["body"].strip().splitlines()) for m in MARKER.finditer(text)]


def run_block(lines: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    commands = [ln for ln in lines if ln.split("#", 1)[0].strip() != "mlx"]
    assert len(lines) - len(commands) <= 1, "only the line opening the app may be skipped"
    script = "\n".join([
        "set -e",
        f'mlx() {{ "{sys.executable}" -m tui.cli "$@"; }}',
        *(f"echo '$ {ln.split('#', 1)[0].strip()}'\n{ln}" for ln in commands),
    ])  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip


def test_the_readme_has_usage_blocks_for_a_project_and_the_demo() -> None:
    notes = [note for note, _ in usage_blocks()]
    assert len(notes) >= 2 and any("mlx demo" in n for n in notes), notes


def test_every_usage_line_of_the_readme_runs(demo_copy: Path, tmp_path: Path) -> None:
    empty = tmp_path / "fresh"
    empty.mkdir()
    for note, lines in usage_blocks():
        proc = run_block(lines, demo_copy if "mlx demo" in note else empty)
        assert proc.returncode == 0, f"README block ({note.strip()}):\n{proc.stdout}\n{proc.stderr}"
