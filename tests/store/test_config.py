"""mlx.toml and stacks/*.toml: every malformed file is a ConfigError naming the file, the key and
the line. One fixture file per bad case lives in ``bad_configs/``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from store.config import ProjectConfig, StackConfig, load_toml_model
from store.errors import ConfigError, NotFoundError
from store.project import Project
from tests.support import mlx_cli

BAD = Path(__file__).resolve().parent / "bad_configs"

# file, key, line, message pattern
CASES = [
    ("mlx_syntax_error.toml", None, 3, r"invalid TOML: Invalid value"),
    ("mlx_unknown_key.toml", "project.colour", 4,
     r"unknown key 'colour'; known keys: name, default_stack, pipelines, runs_ref, promotion"),
    ("mlx_unknown_table.toml", "projct", 3, r"unknown key 'projct'; known keys: project"),
    ("mlx_wrong_type.toml", "project.pipelines", 3, r"valid list"),
    ("mlx_missing_name.toml", "project.name", 1, r"missing required key 'name'"),
    ("mlx_bad_promotion.toml", "project.promotion", 5, r"'pull-request' or 'direct'"),
    ("stack_syntax_error.toml", None, 1, r"invalid TOML: Expected '\]'"),
    ("stack_bad_flavor.toml", "orchestrator.flavor", 4, r"'local', 'local_parallel' or 'dask'"),
    ("stack_dask_address_and_cluster.toml", "orchestrator", 1,
     r"set either address or local_cluster, not both"),
    ("stack_address_without_dask.toml", "orchestrator", 1,
     r"address applies to flavor 'dask' only"),
    ("stack_bad_memory.toml", "settings.resources.memory", 5, r"'lots' is not a size"),
    ("mlx_bad_cron.toml", "schedules.nightly.cron", 6, r"has 6 fields; expected 5"),
    ("mlx_bad_schedule_name.toml", "schedules", 4, r"schedule name 'every day'"),
    ("stack_unknown_key.toml", "orchestrator.workers", 3,
     r"unknown key 'workers'; known keys: flavor, max_workers"),
    ("stack_zero_workers.toml", "orchestrator.max_workers", 3, r"greater than or equal to 1"),
    ("stack_wrong_type.toml", "artifact_store.remote", 2, r"valid string"),
]  # fmt: skip


def test_every_bad_config_fixture_has_a_case() -> None:
    assert sorted(p.name for p in BAD.glob("*.toml")) == sorted(c[0] for c in CASES)


@pytest.mark.parametrize(("name", "key", "line", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_config_raises_config_error_with_file_key_and_line(
    name: str, key: str | None, line: int, message: str
) -> None:
    model = ProjectConfig if name.startswith("mlx_") else StackConfig
    path = BAD / name
    where = f"{path}:{line}" + (f" [{key}]" if key else "")

    with pytest.raises(ConfigError, match=message) as info:
        load_toml_model(path, model)

    assert info.value.key == key
    assert info.value.line == line
    assert info.value.path == str(path)
    assert str(info.value).startswith(where + ": ")


def test_unreadable_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent\.toml: cannot read"):
        load_toml_model(tmp_path / "absent.toml", ProjectConfig)


def test_project_with_malformed_mlx_toml_fails_with_file_and_line(project_dir: Path) -> None:
    shutil.copy(BAD / "mlx_syntax_error.toml", project_dir / "mlx.toml")

    with pytest.raises(ConfigError, match=r"mlx\.toml:3: invalid TOML") as info:
        Project.find(project_dir / "pipelines")
    assert info.value.path == str(project_dir.resolve() / "mlx.toml")


def test_cli_reports_malformed_mlx_toml_in_one_line_with_exit_code_2(project_dir: Path) -> None:
    shutil.copy(BAD / "mlx_unknown_key.toml", project_dir / "mlx.toml")

    proc = mlx_cli(project_dir, "runs", "list")

    assert proc.returncode == 2, proc.stderr
    assert "mlx.toml:4 [project.colour]: unknown key 'colour'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_stack_raises_not_found_with_did_you_mean(project: Project) -> None:
    with pytest.raises(NotFoundError, match=r"unknown stack 'lcoal'; did you mean 'local'\?"):
        project.load_stack("lcoal")
    with pytest.raises(NotFoundError, match=r"unknown stack 'lcoal'; did you mean 'local'\?"):
        project.set_active_stack("lcoal")


def test_pipeline_run_on_unknown_stack_fails_before_recording(project: Project) -> None:
    from engine.discovery import get_pipeline
    from engine.runner import run_pipeline

    pipe = get_pipeline(project, "example")

    with pytest.raises(NotFoundError, match=r"unknown stack 'lcoal'; did you mean 'local'"):
        run_pipeline(project, pipe, pipe.bind((), {}), stack="lcoal")
    assert project.runs.tip() is None


def test_stack_with_bad_flavor_in_project_is_config_error(project: Project) -> None:
    shutil.copy(BAD / "stack_bad_flavor.toml", project.stacks_dir / "k8s.toml")

    with pytest.raises(ConfigError, match=r"k8s\.toml:4 \[orchestrator\.flavor\]"):
        project.load_stack("k8s")
    with pytest.raises(ConfigError, match=r"orchestrator\.flavor"):
        project.set_active_stack("k8s")
    assert project.active_stack_name() == "local"


def test_active_stack_marker_naming_a_deleted_stack_falls_back_to_default(
    project: Project,
) -> None:
    (project.stacks_dir / "fast.toml").write_text('[orchestrator]\nflavor = "local_parallel"\n')
    project.set_active_stack("fast")
    assert project.active_stack_name() == "fast"
    assert project.load_stack("fast").orchestrator.flavor == "local_parallel"

    (project.stacks_dir / "fast.toml").unlink()

    assert project.active_stack_name() == "local"


def test_default_config_values_of_a_minimal_mlx_toml(tmp_path: Path) -> None:
    path = tmp_path / "mlx.toml"
    path.write_text('[project]\nname = "demo"\n')

    config = load_toml_model(path, ProjectConfig)

    assert config.project.default_stack == "local"
    assert config.project.pipelines == ["pipelines"]
    assert config.project.runs_ref == "refs/mlx/runs"
    assert config.project.promotion == "pull-request"


def test_init_writes_toml_that_reads_back_whatever_the_project_name(tmp_path: Path) -> None:
    import tomllib

    from store.scaffold import init_project

    name = 'quote " backslash \\ and # hash'
    root = init_project(tmp_path / "odd", name=name).root

    assert tomllib.loads((root / "mlx.toml").read_text())["project"]["name"] == name
    assert Project(root).config.project.name == name
    stack = tomllib.loads((root / "stacks" / "local.toml").read_text())
    assert stack["orchestrator"] == {"flavor": "local"}
