"""`mlx artifacts list|show|export`, `mlx stack list|show|use` and `mlx gc`."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from _helpers import copy_project, step_by_name

from tests.support import (
    CRASHING_PIPELINE,
    mlx_cli,
    mlx_json,
    mlx_ok,
    mlx_run_json,
    tree_digest,
    write_pipeline,
)

PARALLEL_STACK = """description = "steps in a process pool"

[orchestrator]
flavor = "local_parallel"
max_workers = 2
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, template_project: Path) -> dict[str, Any]:
    """A project with two runs of `example` (factor 3, then 4): scaled:1, scaled:2, ..."""
    root = copy_project(template_project, tmp_path_factory.mktemp("arts") / "proj")
    first = mlx_run_json(root, "example", "-p", "factor=3")
    second = mlx_run_json(root, "example", "-p", "factor=4")
    return {"root": root, "first": first, "second": second}


# -- artifacts -------------------------------------------------------------------------------
def test_artifacts_list_gives_names_version_counts_and_latest(made: dict[str, Any]) -> None:
    listed = mlx_json(made["root"], "artifacts", "list", "--json")
    table = mlx_ok(made["root"], "artifacts", "list").stdout

    assert listed == [
        {"name": "numbers", "versions": 1, "latest": 1, "published": True},
        {"name": "scaled", "versions": 2, "latest": 2, "published": True},
        {"name": "total", "versions": 2, "latest": 2, "published": True},
    ]
    assert table.splitlines()[0].split() == ["ARTIFACT", "VERSIONS", "LATEST"]
    assert re.search(r"^scaled\s+2\s+2$", table, re.M)


def test_artifacts_list_in_a_new_project_says_where_they_come_from(project_dir: Path) -> None:
    assert "no artifacts yet" in mlx_ok(project_dir, "artifacts", "list").stdout


def test_artifacts_show_describes_a_version_and_its_lineage(made: dict[str, Any]) -> None:
    first = made["first"]["id"]

    out = mlx_ok(made["root"], "artifacts", "show", "scaled:1").stdout

    assert "artifact     scaled:1" in out
    assert "type         builtins.list" in out
    assert re.search(r"dvc\s+md5=[0-9a-f]{32} size=\d+ \(in local cache\)", out)
    assert f"produced by  run {first[:8]} step scale output scaled" in out
    assert f"consumed by  {first[:8]}/total" in out


def test_artifacts_show_without_a_version_is_the_latest(made: dict[str, Any]) -> None:
    latest = mlx_json(made["root"], "artifacts", "show", "scaled", "--json")
    named = mlx_json(made["root"], "artifacts", "show", "scaled:latest", "--json")

    assert latest["version"] == 2 == named["version"]
    assert latest["run_id"] == made["second"]["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", latest["pointer"]["md5"])


def test_artifacts_export_writes_the_value_to_a_new_path(
    made: dict[str, Any], tmp_path: Path
) -> None:
    dest = tmp_path / "out" / "deeper" / "scaled.json"

    proc = mlx_ok(made["root"], "artifacts", "export", "scaled:1", str(dest))
    latest = tmp_path / "total.json"
    mlx_ok(made["root"], "artifacts", "export", "total", str(latest))

    assert json.loads(dest.read_text()) == [3, 6, 9, 12]
    assert json.loads(latest.read_text()) == 40
    assert f"exported scaled:1 (builtins.list) as json: {dest}" in proc.stdout
    assert [p.name for p in dest.parent.iterdir()] == ["scaled.json"]  # no staging left over


def test_artifacts_export_to_an_existing_path_refuses_and_writes_nothing(
    made: dict[str, Any], tmp_path: Path
) -> None:
    existing = tmp_path / "keep.json"
    existing.write_text("precious")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "inside").write_text("x")
    before = tree_digest(tmp_path)

    on_file = mlx_cli(made["root"], "artifacts", "export", "scaled:1", str(existing))
    on_dir = mlx_cli(made["root"], "artifacts", "export", "scaled:1", str(folder))

    for proc in (on_file, on_dir):
        assert proc.returncode == 2
        assert "already exists" in proc.stderr and "nothing was written" in proc.stderr
    assert tree_digest(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "keep.json"]


def test_export_format_follows_the_extension(made: dict[str, Any], tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    root = made["root"]
    mlx_ok(root, "artifacts", "export", "scaled:1", str(tmp_path / "s.csv"))
    mlx_ok(root, "artifacts", "export", "scaled:1", str(tmp_path / "s.npy"))
    mlx_ok(root, "artifacts", "export", "scaled:1", str(tmp_path / "s.parquet"))
    mlx_ok(root, "artifacts", "export", "scaled:1", str(tmp_path / "raw"), "--raw")

    assert (tmp_path / "s.csv").read_text().split() == ["0", "3", "6", "9", "12"]
    assert np.load(tmp_path / "s.npy", allow_pickle=False).tolist() == [3, 6, 9, 12]
    assert pd.read_parquet(tmp_path / "s.parquet")["0"].tolist() == [3, 6, 9, 12]
    assert (tmp_path / "raw").read_bytes()  # the stored bytes, whatever the materializer wrote


@pytest.mark.parametrize(
    ("name", "flags", "expected"),
    [
        ("s.xlsx", [], "cannot tell the format of 's.xlsx'"),
        ("s.pkl", [], "pass --pickle"),
        ("t.parquet", [], "cannot be exported as parquet"),  # a number is no table
    ],
)
def test_export_refuses_formats_it_cannot_write(
    made: dict[str, Any], tmp_path: Path, name: str, flags: list[str], expected: str
) -> None:
    label = "total" if name.startswith("t") else "scaled:1"
    proc = mlx_cli(made["root"], "artifacts", "export", label, str(tmp_path / name), *flags)
    assert proc.returncode == 2 and expected in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("scaledd", "unknown artifact 'scaledd'; did you mean 'scaled'?"),
        ("scaled:9", "unknown version of artifact 'scaled' '9' (known: 1, 2)"),
        ("scaled:x", "the version must be a number"),
    ],
)
@pytest.mark.parametrize("command", ["show", "export"])
def test_unknown_artifacts_and_versions_exit_2_with_suggestions(
    made: dict[str, Any], tmp_path: Path, command: str, label: str, expected: str
) -> None:
    extra = [str(tmp_path / "dest")] if command == "export" else []

    proc = mlx_cli(made["root"], "artifacts", command, label, *extra)

    assert proc.returncode == 2
    assert expected in proc.stderr
    assert not (tmp_path / "dest").exists()


# -- stacks ----------------------------------------------------------------------------------
def test_stack_list_and_show_describe_the_default_local_stack(project_dir: Path) -> None:
    listed = mlx_ok(project_dir, "stack", "list").stdout
    shown = mlx_ok(project_dir, "stack", "show").stdout

    assert re.search(r"^\*\s+local\s+local\s+\(dvc default\)\s+Run steps in-process", listed, re.M)
    assert shown.startswith("stack local (active):")
    assert "flavor=local" in shown
    assert f"DVC cache {project_dir / '.dvc' / 'cache'}" in shown


def test_stack_use_persists_for_later_commands_and_runs(project_dir: Path) -> None:
    (project_dir / "stacks" / "parallel.toml").write_text(PARALLEL_STACK)

    used = mlx_ok(project_dir, "stack", "use", "parallel").stdout
    listed = mlx_ok(project_dir, "stack", "list").stdout
    shown = mlx_ok(project_dir, "stack", "show").stdout
    run = mlx_run_json(project_dir, "example", "-p", "factor=3")
    mlx_ok(project_dir, "stack", "use", "local")
    back = mlx_run_json(project_dir, "example", "-p", "factor=3")

    assert "active stack: parallel" in used and "default is local" in used
    assert re.search(r"^\*\s+parallel\s+local_parallel", listed, re.M)
    assert re.search(r"^\s+local\s+local\s", listed, re.M)
    assert shown.startswith("stack parallel (active): steps in a process pool")
    assert "max_workers=2" in shown
    assert run["status"] == "completed"
    assert (run["stack"], run["orchestrator"]) == ("parallel", "local_parallel")
    assert (back["stack"], back["orchestrator"]) == ("local", "local")
    assert all(s["cached_from"] == run["id"] for s in back["steps"])  # the cache spans stacks


def test_stack_use_does_not_edit_tracked_files(project_dir: Path) -> None:
    (project_dir / "stacks" / "parallel.toml").write_text(PARALLEL_STACK)
    before = tree_digest(project_dir / "stacks"), (project_dir / "mlx.toml").read_bytes()

    mlx_ok(project_dir, "stack", "use", "parallel")

    assert (tree_digest(project_dir / "stacks"), (project_dir / "mlx.toml").read_bytes()) == before


def test_run_with_an_explicit_stack_overrides_the_active_one(project_dir: Path) -> None:
    (project_dir / "stacks" / "parallel.toml").write_text(PARALLEL_STACK)

    run = mlx_run_json(project_dir, "example", "--stack", "parallel")

    assert run["stack"] == "parallel"
    assert mlx_ok(project_dir, "stack", "show").stdout.startswith("stack local (active)")


@pytest.mark.parametrize("command", [["use", "gpu"], ["show", "gpu"], ["use", "locl"]])
def test_unknown_stacks_exit_2_and_change_nothing(project_dir: Path, command: list[str]) -> None:
    proc = mlx_cli(project_dir, "stack", *command)

    assert proc.returncode == 2
    assert f"unknown stack {command[1]!r}" in proc.stderr
    if command[1] == "locl":
        assert "did you mean 'local'?" in proc.stderr
    assert mlx_ok(project_dir, "stack", "show").stdout.startswith("stack local (active)")


def test_a_malformed_stack_file_is_reported_with_file_line_and_key(project_dir: Path) -> None:
    (project_dir / "stacks" / "bad.toml").write_text('[orchestrator]\nflavor = "kubernetes"\n')

    proc = mlx_cli(project_dir, "stack", "list")

    assert proc.returncode == 2
    assert "stacks/bad.toml:2 [orchestrator.flavor]" in proc.stderr
    assert "'local', 'local_parallel' or 'dask'" in proc.stderr


# -- gc --------------------------------------------------------------------------------------
def _orphan(root: Path, payload: bytes = b"nobody refers to me\n") -> Path:
    md5 = hashlib.md5(payload).hexdigest()
    path = root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path


def test_gc_dry_run_finds_nothing_to_remove_when_every_object_is_referenced(
    project_dir: Path,
) -> None:
    mlx_run_json(project_dir, "example", "-p", "factor=3")
    mlx_run_json(project_dir, "example", "-p", "factor=4")
    cache = tree_digest(project_dir / ".dvc" / "cache")

    proc = mlx_ok(project_dir, "gc", "--dry-run")

    assert "would remove 0 unreferenced object(s)" in proc.stdout
    assert tree_digest(project_dir / ".dvc" / "cache") == cache


def test_gc_removes_only_unreferenced_objects(project_dir: Path, tmp_path: Path) -> None:
    run = mlx_run_json(project_dir, "example", "-p", "factor=3")
    orphan = _orphan(project_dir)

    young = mlx_ok(project_dir, "gc", "--dry-run")
    assert "would remove 0 unreferenced object(s)" in young.stdout  # within the grace period
    dry = mlx_ok(project_dir, "gc", "--dry-run", "--grace", "0")
    assert "would remove 1 unreferenced object(s)" in dry.stdout and orphan.exists()
    real = mlx_ok(project_dir, "gc", "--grace", "0")

    assert "removed 1 unreferenced object(s)" in real.stdout
    assert not orphan.exists()
    for step in run["steps"]:
        for label in step["outputs"].values():
            mlx_ok(project_dir, "artifacts", "export", label, str(tmp_path / label), "--raw")
    assert (
        "scaling 4 numbers by 3" in mlx_ok(project_dir, "runs", "logs", run["id"], "scale").stdout
    )
    again = mlx_run_json(project_dir, "example", "-p", "factor=3")
    assert all(s["status"] == "cached" for s in again["steps"])


# Regression (found by this suite, fixed since): cmd_gc (tui/commands/artifacts.py) collects
# before folding the journals of dead processes (fold_crashed_runs), so the finished steps of a
# crashed run look unreferenced and are deleted; the rerun cannot resume from them
def test_gc_keeps_the_outputs_of_a_crashed_run_so_a_rerun_resumes(project_dir: Path) -> None:
    write_pipeline(project_dir, "crash", CRASHING_PIPELINE)
    assert mlx_cli(project_dir, "run", "crash", "--headless").returncode == -9

    dry = mlx_ok(project_dir, "gc", "--dry-run")
    mlx_ok(project_dir, "gc")
    rerun = mlx_run_json(project_dir, "crash", "-p", "really=false")

    assert "would remove 0 unreferenced object(s)" in dry.stdout
    assert step_by_name(rerun, "make")["status"] == "cached"
