"""`mlx init`, `mlx` without a command, and finding the project root from anywhere inside it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from tests.support import git, mlx_cli, mlx_ok, tree_digest


def test_init_creates_git_repo_dvc_config_stack_models_and_pipelines(tmp_path: Path) -> None:
    proc = mlx_ok(tmp_path, "init", "fresh")

    root = tmp_path / "fresh"
    assert git(root, "rev-parse", "--show-toplevel").strip() == str(root.resolve())
    assert (root / ".dvc" / "config").is_file()
    config = tomllib.loads((root / "mlx.toml").read_text())
    assert config["project"]["name"] == "fresh"
    assert config["project"]["default_stack"] == "local"
    stack = tomllib.loads((root / "stacks" / "local.toml").read_text())
    assert stack["orchestrator"]["flavor"] == "local"
    assert (root / "models").is_dir()
    assert "@pipeline" in (root / "pipelines" / "__init__.py").read_text()
    for created in (".git/", ".dvc/", "mlx.toml", "stacks/local.toml", "pipelines/__init__.py"):
        assert f"created {created}" in proc.stdout
    assert "mlx run example" in proc.stdout


def test_init_name_option_sets_the_project_name(tmp_path: Path) -> None:
    mlx_ok(tmp_path, "init", "dir", "--name", "fancy")

    assert tomllib.loads((tmp_path / "dir" / "mlx.toml").read_text())["project"]["name"] == "fancy"


def test_init_twice_changes_no_file_and_says_so(tmp_path: Path) -> None:
    mlx_ok(tmp_path, "init", "proj")
    before = tree_digest(tmp_path / "proj")

    proc = mlx_ok(tmp_path, "init", "proj")

    assert "already an mlx project" in proc.stdout
    assert "nothing changed" in proc.stdout
    assert tree_digest(tmp_path / "proj") == before


def test_init_in_the_project_directory_itself_is_a_no_op(project_dir: Path) -> None:
    before = tree_digest(project_dir)

    proc = mlx_ok(project_dir, "init")

    assert "already an mlx project" in proc.stdout
    assert tree_digest(project_dir) == before


def test_init_inside_an_existing_project_refuses_with_exit_2(project_dir: Path) -> None:
    (project_dir / "data").mkdir()

    proc = mlx_cli(project_dir / "data", "init", "nested")

    assert proc.returncode == 2
    assert "inside the mlx project" in proc.stderr
    assert str(project_dir) in proc.stderr
    assert not (project_dir / "data" / "nested").exists()


def test_init_in_a_subdirectory_of_a_plain_git_repo_reuses_that_repo(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")

    mlx_ok(tmp_path, "init", "ml")

    assert not (tmp_path / "ml" / ".git").exists()
    assert (tmp_path / "ml" / ".dvc").is_dir()
    assert (tmp_path / "ml" / "mlx.toml").is_file()
    mlx_ok(tmp_path / "ml", "run", "example", "--headless")


def test_init_on_an_existing_file_refuses_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")

    proc = mlx_cli(tmp_path, "init", "afile")

    assert proc.returncode == 2
    assert "not a directory" in proc.stderr
    assert (tmp_path / "afile").read_text() == "x"


def test_bare_mlx_outside_a_project_says_how_to_start_with_exit_2(tmp_path: Path) -> None:
    proc = mlx_cli(tmp_path)

    assert proc.returncode == 2
    assert "not inside an mlx project" in proc.stderr
    assert "mlx init" in proc.stderr
    assert "mlx demo" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_command_outside_a_project_points_at_mlx_init(tmp_path: Path) -> None:
    proc = mlx_cli(tmp_path, "runs", "list")

    assert proc.returncode == 2
    assert "no mlx.toml" in proc.stderr
    assert "mlx init" in proc.stderr


def test_bare_mlx_in_a_project_without_a_terminal_exits_2(project_dir: Path) -> None:
    proc = mlx_cli(project_dir)

    assert proc.returncode == 2
    assert "needs a terminal" in proc.stderr


def test_commands_deep_in_a_subdirectory_find_the_project_root(project_dir: Path) -> None:
    deep = project_dir / "src" / "a" / "b"
    deep.mkdir(parents=True)

    run = json.loads(mlx_ok(deep, "run", "example", "--headless", "--json").stdout)
    listed = json.loads(mlx_ok(deep, "runs", "list", "--json").stdout)
    shown = mlx_ok(deep, "stack", "show").stdout

    assert run["status"] == "completed"
    assert [r["id"] for r in listed] == [run["id"]]
    assert str(project_dir / ".dvc" / "cache") in shown
    assert not (deep / ".dvc").exists() and not (deep / "mlx.toml").exists()


def test_dash_C_runs_as_if_started_in_that_directory(project_dir: Path, tmp_path: Path) -> None:
    mlx_ok(project_dir, "run", "example", "--headless")

    listed = json.loads(mlx_ok(tmp_path, "-C", str(project_dir), "runs", "list", "--json").stdout)

    assert len(listed) == 1
