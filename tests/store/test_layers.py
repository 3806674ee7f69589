"""The layering rule (tui -> engine -> store) and lazy heavy imports, checked on the source and
in fresh interpreters."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ["textual", "dvc", "dvc_data", "pandas", "numpy", "sklearn"]


def _imports(path: Path, package: str) -> list[tuple[int, str]]:
    """``(line, absolute module name)`` of every import in ``path`` (TYPE_CHECKING ones too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                parts = path.relative_to(REPO).with_suffix("").parts[: -node.level]
                base = ".".join(parts)
                found.append((node.lineno, f"{base}.{node.module}" if node.module else base))
            else:
                found.append((node.lineno, node.module or ""))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.append((node.lineno, str(node.args[0].value)))
    return found


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    files = sorted((REPO / package).rglob("*.py"))
    assert files, f"no sources under {package}/"
    for path in files:
        for line, module in _imports(path, package):
            if module.split(".")[0] in forbidden:
                bad.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    return bad


def test_import_scanner_finds_imports_inside_functions() -> None:
    modules = {m for _, m in _imports(REPO / "engine" / "pipeline.py", "engine")}

    assert "engine.runner" in modules  # imported inside Pipeline.__call__
    assert "store.errors" in modules


def test_store_never_imports_engine_or_tui() -> None:
    assert _violations("store", ("engine", "tui")) == []


def test_engine_never_imports_tui_or_textual() -> None:
    assert _violations("engine", ("tui", "textual")) == []


def _loaded_after(code: str) -> list[str]:
    watched = [*HEAVY, "pydantic"]
    probe = (
        f"import sys, json\n{code}\nprint(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_cli_parser_imports_no_heavy_module() -> None:
    loaded = _loaded_after("import tui.cli\ntui.cli._parser()")

    assert loaded == []  # not even pydantic: `mlx --help` must stay fast


@pytest.mark.parametrize("module", ["engine", "store", "store.project", "engine.runner"])
def test_importing_core_packages_imports_no_dvc_textual_or_dataframes(module: str) -> None:
    loaded = _loaded_after(f"import {module}")

    assert [m for m in loaded if m != "pydantic"] == []


def test_mlx_help_prints_usage_without_heavy_imports() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = (
        "import sys, json, runpy\n"
        "sys.argv = ['mlx', '--help']\n"
        "try:\n    runpy.run_module('tui.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip

    assert "usage: mlx" in proc.stdout
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
