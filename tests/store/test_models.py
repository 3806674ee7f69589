"""models/<name>.toml: loading, validation with file:line, gates and stages."""

from __future__ import annotations

from pathlib import Path

import pytest
from _repo_helpers import IRIS_TOML, Sandbox

from store.errors import ConfigError, NotFoundError
from store.models import (
    ModelConfig,
    evaluate_gates,
    load_model_config,
    load_model_config_at,
    lookup_metric,
    metric_values,
    model_config_names,
    model_config_names_at,
    parse_condition,
    resolve_stage,
)
from store.project import Project
from tests.support import git


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "mlx.toml").write_text('[project]\nname = "t"\n')
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "iris.toml").write_text(IRIS_TOML)
    return Project(tmp_path)


def write(project: Project, name: str, text: str) -> None:
    (project.models_dir / f"{name}.toml").write_text(text)


def test_load_model_config_reads_every_section(project: Project) -> None:
    config = load_model_config(project, "iris")
    assert config.description == "Classifies irises"
    assert config.tags == ["demo"]
    assert config.gates == {"accuracy": ">= 0.9"}
    assert config.stages == {"production": 1}
    assert resolve_stage(config, "production") == 1
    assert resolve_stage(config, "staging") is None


def test_unknown_model_suggests_the_close_name(project: Project) -> None:
    with pytest.raises(NotFoundError, match=r"unknown model 'irsi'; did you mean 'iris'\?"):
        load_model_config(project, "irsi")
    assert model_config_names(project) == ["iris"]


def test_bad_gate_condition_names_file_and_line(project: Project) -> None:
    write(project, "bad", 'description = "x"\n\n[gates]\naccuracy = "at least 0.9"\n')
    with pytest.raises(ConfigError, match=r"bad\.toml:4 \[gates\.accuracy\]: .*invalid gate"):
        load_model_config(project, "bad")


def test_stage_version_must_be_a_positive_integer(project: Project) -> None:
    write(project, "bad", "[stages]\nstaging = 1\nproduction = 0\n")
    with pytest.raises(ConfigError, match=r"bad\.toml:3 \[stages\.production\]: .*greater than 0"):
        load_model_config(project, "bad")
    write(project, "bad", '[stages]\nproduction = "3"\n')
    with pytest.raises(ConfigError, match=r"bad\.toml:2 \[stages\.production\]"):
        load_model_config(project, "bad")


def test_latest_cannot_be_written_as_a_stage(project: Project) -> None:
    write(project, "bad", "[stages]\nlatest = 2\n")
    with pytest.raises(ConfigError, match=r"bad\.toml:1 \[stages\]: .*'latest' is the newest"):
        load_model_config(project, "bad")


def test_unknown_key_is_refused_with_known_keys(project: Project) -> None:
    write(project, "bad", 'description = "x"\nowner = "me"\n')
    with pytest.raises(ConfigError, match=r"bad\.toml:2 \[owner\]: unknown key 'owner'; known"):
        load_model_config(project, "bad")


def test_invalid_toml_reports_its_line(project: Project) -> None:
    write(project, "bad", 'description = "x"\n[stages\n')
    with pytest.raises(ConfigError, match=r"bad\.toml:2: invalid TOML"):
        load_model_config(project, "bad")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [(">= 0.9", (">=", 0.9)), (">0.5", (">", 0.5)), ("<= 1e-3", ("<=", 0.001)),
     ("== 1", ("==", 1.0)), (" != 0 ", ("!=", 0.0)), ("< -2", ("<", -2.0))],
)  # fmt: skip
def test_parse_condition_accepts_every_operator(
    condition: str, expected: tuple[str, float]
) -> None:
    assert parse_condition(condition) == expected


@pytest.mark.parametrize("condition", ["0.9", ">= x", "=> 1", ">= 1 2", ""])
def test_parse_condition_rejects_garbage(condition: str) -> None:
    with pytest.raises(ValueError, match="invalid gate condition"):
        parse_condition(condition)


def test_gate_conditions_are_normalised() -> None:
    config = ModelConfig.model_validate({"gates": {"acc": ">=0.9", "loss": "<   1.5"}})
    assert config.gates == {"acc": ">= 0.9", "loss": "< 1.5"}


def test_evaluate_gates_passes_fails_and_reports_missing_metrics() -> None:
    gates = {"accuracy": ">= 0.9", "loss": "< 0.2", "f1": "> 0.5", "eval.auc": "== 1"}
    metrics = {"accuracy": 0.95, "loss": 0.3, "eval": {"auc": 1}}
    results = {r.metric: r for r in evaluate_gates(gates, metrics)}
    assert results["accuracy"].passed and results["accuracy"].value == 0.95
    assert not results["loss"].passed and results["loss"].value == 0.3
    assert not results["f1"].passed and results["f1"].value is None
    assert results["eval.auc"].passed
    assert results["f1"].describe() == "f1 > 0.5 (got missing)"


def test_evaluate_gates_reads_a_nested_metrics_table_and_ignores_text() -> None:
    results = evaluate_gates(
        {"acc": ">= 0.5", "name": "== 1"}, {"metrics": {"acc": 0.7}, "name": "x"}
    )
    assert [r.passed for r in results] == [True, False]


def test_metric_values_names_metrics_like_the_gates_do() -> None:
    metadata = {
        "metrics": {"acc": 0.9, "loss": 0.1, "cls": {"f1": 0.5}},
        "loss": 0.2,
        "eval": {"auc": 1, "note": "x"},
        "passed": True,
        "nan": float("nan"),
        "tags": [1, 2],
    }
    values = metric_values(metadata)
    assert values == {"loss": 0.2, "eval.auc": 1.0, "passed": 1.0, "acc": 0.9, "cls.f1": 0.5}
    # every name it lists is the name a gate finds it by
    assert all(lookup_metric(metadata, name) == value for name, value in values.items())
    assert lookup_metric(metadata, "metrics.acc") == 0.9
    gates = evaluate_gates({name: ">= 0" for name in values}, metadata)
    assert [g.value for g in gates] == list(values.values())


def test_load_model_config_at_reads_the_committed_version(box: Sandbox) -> None:
    project = box.project()
    base = git(box.work, "rev-parse", "HEAD")
    (box.work / "models" / "iris.toml").write_text(
        IRIS_TOML.replace("production = 1", "production = 2")
    )
    git(box.work, "commit", "-qam", "bump")
    old = load_model_config_at(project, "iris", base)
    new = load_model_config_at(project, "iris", "HEAD")
    assert old is not None and old.stages == {"production": 1}
    assert new is not None and new.stages == {"production": 2}
    assert load_model_config_at(project, "nope", "HEAD") is None
    assert model_config_names_at(project, "HEAD") == ["iris", "plain"]


def test_load_model_config_at_names_the_revision_in_errors(box: Sandbox) -> None:
    (box.work / "models" / "iris.toml").write_text('[gates]\nacc = "big"\n')
    git(box.work, "commit", "-qam", "break")
    with pytest.raises(ConfigError, match=r"HEAD:models/iris\.toml:2 \[gates\.acc\]"):
        load_model_config_at(box.project(), "iris", "HEAD")
