"""The error boundary of the CLI: exit codes, config errors with file:line, --help and --version."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import mlx_cli, mlx_ok, runs_tip

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ("init", "run", "pipelines", "runs", "artifacts", "stack", "gc")


def test_version_prints_the_version_and_exits_0(tmp_path: Path) -> None:
    proc = mlx_cli(tmp_path, "--version")

    assert proc.returncode == 0
    assert proc.stdout.strip() == "mlx 0.1.0"


def test_help_lists_the_commands_and_exits_0_outside_a_project(tmp_path: Path) -> None:
    proc = mlx_cli(tmp_path, "--help")

    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: mlx")
    for command in COMMANDS:
        assert re.search(rf"^    {command}\b", proc.stdout, re.M), command


@pytest.mark.parametrize("command", [["run", "--help"], ["runs", "list", "--help"],
                                     ["artifacts", "export", "--help"],
                                     ["stack", "--help"]])  # fmt: skip
def test_subcommand_help_exits_0(tmp_path: Path, command: list[str]) -> None:
    proc = mlx_cli(tmp_path, *command)

    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: mlx")


def test_help_imports_neither_pydantic_dvc_nor_textual(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from tui.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = {'pydantic', 'dvc', 'dvc_data', 'textual', 'rich', 'pandas', 'sklearn', 'numpy'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip

    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "[]"


@pytest.mark.parametrize(
    "args",
    [["frobnicate"], ["runs"], ["artifacts"], ["stack"], ["run"], ["runs", "list", "--limit", "x"]],
)
def test_usage_errors_exit_2_with_argparse_usage(tmp_path: Path, args: list[str]) -> None:
    proc = mlx_cli(tmp_path, *args)

    assert proc.returncode == 2
    assert "usage: mlx" in proc.stderr


# -- malformed mlx.toml ----------------------------------------------------------------------
BAD_CONFIGS = {
    "unknown_key": ('[project]\nname = "p"\ndefault_stak = "local"\n', 3,
                    "[project.default_stak]: unknown key 'default_stak'; known keys: name"),
    "toml_syntax": ('[project]\nname = "p\n', 2, "invalid TOML"),
    "bad_enum": ('# config\n[project]\nname = "p"\npromotion = "yolo"\n', 4,
                 "[project.promotion]: Input should be 'pull-request' or 'direct'"),
    "wrong_type": ('[project]\n\nname = 3\n', 3, "[project.name]: Input should be a valid string"),
    "unknown_table": ('[project]\nname = "p"\n\n[extras]\nfoo = 1\n', 4,
                      "[extras]: unknown key 'extras'; known keys: project"),
    "list_expected": ('[project]\nname = "p"\npipelines = "pipelines"\n', 3,
                      "[project.pipelines]: Input should be a valid list"),
    "duplicate_table": ('[project]\nname = "p"\n[project]\nname = "q"\n', 3, "invalid TOML"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_malformed_mlx_toml_exits_2_naming_file_line_and_key(
    project_dir: Path, case: str
) -> None:
    text, line, message = BAD_CONFIGS[case]
    (project_dir / "mlx.toml").write_text(text)

    proc = mlx_cli(project_dir, "runs", "list")

    assert proc.returncode == 2
    assert f"mlx.toml:{line}" in proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "command",
    [["run", "example", "--headless"], ["stack", "list"], ["artifacts", "list"],
     ["gc", "--dry-run"],
     ["pipelines"], ["runs", "show", "abc"]],
)  # fmt: skip
def test_every_command_reports_a_malformed_mlx_toml_the_same_way(
    project_dir: Path, command: list[str]
) -> None:
    (project_dir / "mlx.toml").write_text('[project]\nname = "p"\ndefault_stak = "local"\n')

    proc = mlx_cli(project_dir, *command)

    assert proc.returncode == 2
    assert "mlx.toml:3 [project.default_stak]" in proc.stderr
    assert runs_tip(project_dir) is None


def test_a_malformed_mlx_toml_is_found_from_a_subdirectory(project_dir: Path) -> None:
    (project_dir / "mlx.toml").write_text('[project]\nname = "p"\ndefault_stak = "local"\n')
    (project_dir / "sub").mkdir()

    proc = mlx_cli(project_dir / "sub", "runs", "list")

    assert proc.returncode == 2
    assert f"{project_dir / 'mlx.toml'}:3" in proc.stderr


def test_an_mlx_toml_without_project_table_says_which_key_is_missing(project_dir: Path) -> None:
    (project_dir / "mlx.toml").write_text("# nothing here\n")

    proc = mlx_cli(project_dir, "runs", "list")

    assert proc.returncode == 2
    assert "mlx.toml" in proc.stderr and "missing required key 'project'" in proc.stderr


def test_a_default_stack_that_does_not_exist_fails_the_run_with_exit_2(project_dir: Path) -> None:
    config = project_dir / "mlx.toml"
    config.write_text(
        config.read_text().replace('default_stack = "local"', 'default_stack = "gpu"')
    )

    proc = mlx_cli(project_dir, "run", "example", "--headless")

    assert proc.returncode == 2
    assert "unknown stack 'gpu' (known: local)" in proc.stderr
    assert runs_tip(project_dir) is None


# Regression (found by this suite, fixed since): store.config.locate_key only matches `key =`
# lines under a [table] header, so an error in a TOML dotted key (`project.bogus = 1`) is reported
# without mlx.toml:LINE
def test_an_error_in_a_dotted_key_is_reported_with_its_line(project_dir: Path) -> None:
    (project_dir / "mlx.toml").write_text('project.name = "p"\nproject.bogus = 1\n')

    proc = mlx_cli(project_dir, "runs", "list")

    assert proc.returncode == 2
    assert "mlx.toml:2 [project.bogus]" in proc.stderr


# Regression (found by this suite, fixed since): engine.discovery._import raises
# ConfigError(key='project.pipelines') without line=locate_key(...), so a missing pipeline module
# is reported without mlx.toml:LINE
def test_a_missing_pipeline_module_is_reported_with_its_mlx_toml_line(project_dir: Path) -> None:
    config = project_dir / "mlx.toml"
    text = re.sub(r"pipelines = \[[^\]]*\]", 'pipelines = ["nosuchmodule"]', config.read_text())
    config.write_text(text)
    line = config.read_text().splitlines().index('pipelines = ["nosuchmodule"]') + 1

    proc = mlx_cli(project_dir, "run", "example", "--headless")

    assert proc.returncode == 2
    assert "pipeline module 'nosuchmodule' not found" in proc.stderr
    assert f"mlx.toml:{line} [project.pipelines]" in proc.stderr


def test_a_corrupt_index_is_rebuilt_from_the_runs_ref(project_dir: Path) -> None:
    mlx_ok(project_dir, "run", "example", "--headless")
    index = project_dir / ".git" / "mlx" / "index.sqlite"
    for extra in index.parent.glob("index.sqlite-*"):
        extra.unlink()
    index.write_bytes(b"this is not a sqlite database" * 100)

    proc = mlx_ok(project_dir, "runs", "list")

    assert "example" in proc.stdout and "3/3" in proc.stdout


def test_a_deleted_index_is_rebuilt_from_the_runs_ref(project_dir: Path) -> None:
    mlx_ok(project_dir, "run", "example", "--headless")
    for path in (project_dir / ".git" / "mlx").glob("index.sqlite*"):
        path.unlink()

    proc = mlx_ok(project_dir, "artifacts", "list")

    assert "scaled" in proc.stdout
