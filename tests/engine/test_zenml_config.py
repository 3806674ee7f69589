"""ZenML's YAML run configuration, dynamic pipelines, ZenML-style materializers, the text types
of ``zenml.types`` and ``fileio``, each from ZenML's documented behaviour."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Annotated, Any, ClassVar

import pytest

from engine import (
    ArtifactType,
    BaseMaterializer,
    Client,
    HTMLString,
    MarkdownString,
    Model,
    fileio,
    get_pipeline_context,
    get_step_context,
    pipeline,
    step,
)
from store.errors import ConfigError, ValidationError
from store.project import Project

SEEN: list[Any] = []


@step
def load_data(dataset_name: str) -> Annotated[dict[str, str], "data"]:
    return {"name": dataset_name}


@step
def train_model(data: dict[str, str], learning_rate: float = 0.1) -> Annotated[float, "lr"]:
    SEEN.append((data["name"], learning_rate, get_step_context().step_name))
    return learning_rate


@pipeline
def simple_ml_pipeline(dataset_name: str = "default", rate: float = 0.1) -> None:
    train_model(load_data(dataset_name), learning_rate=rate)


def _yaml(path: Path, text: str) -> str:
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_yaml_run_configuration_sets_parameters_steps_model_and_cache(
    project: Project, project_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    SEEN.clear()
    config = _yaml(project_dir / "config.yaml", """
        enable_cache: False
        run_name: yaml-run
        extra: {owner: data-team}
        settings:
          docker: {requirements: [pyarrow]}
        model:
          name: yaml_model
          description: from yaml
          license: MIT
          audience: internal
        parameters:
          dataset_name: best_dataset
        steps:
          train_model:
            parameters:
              learning_rate: 0.001
            enable_cache: True
        test_size: 0.3
        """)  # fmt: skip
    configured = simple_ml_pipeline.with_options(config_path=config)
    run = configured()
    assert SEEN == [("best_dataset", 0.001, "train_model")]
    assert run.name == "yaml-run"
    assert run.record.config["enable_cache"] is False
    assert run.record.model is not None and run.record.model.name == "yaml_model"
    assert "unknown key 'test_size' ignored" in caplog.text
    assert simple_ml_pipeline.config_parameters == {}  # with_options made a copy

    # a parameter given in the file and the call with different values is an error
    with pytest.raises(ValidationError, match="'dataset_name' is 'best_dataset' in the run"):
        configured(dataset_name="other")
    # code given after the file wins over it
    assert configured.with_options(enable_cache=True).enable_cache is True


def test_bad_yaml_and_unsupported_keys_name_the_file_and_key(project_dir: Path) -> None:
    broken = _yaml(project_dir / "broken.yaml", "parameters: [1, 2\n")
    with pytest.raises(ConfigError, match=r"broken.yaml:\d+: invalid YAML"):
        simple_ml_pipeline.with_options(config_path=broken)
    tracker = _yaml(project_dir / "tracker.yaml", "steps:\n  train_model:\n"
                    "    experiment_tracker: mlflow\n")  # fmt: skip
    with pytest.raises(ConfigError, match=r"\[steps.train_model.experiment_tracker\]: mlx has no"):
        simple_ml_pipeline.with_options(config_path=tracker)
    unknown = _yaml(project_dir / "unknown.yaml", "parameters:\n  nope: 1\n")
    with pytest.raises(ValidationError, match="has no parameter 'nope'"):
        simple_ml_pipeline.with_options(config_path=unknown)


@step
def make_data() -> Annotated[list[int], "data"]:
    return [3, 1, 2]


@step
def fit(data: list[int], model_type: str) -> Annotated[dict[str, Any], "model"]:
    SEEN.append(model_type)
    return {"type": model_type, "score": len(model_type) + sum(data)}


@step
def select_best(models: list[dict[str, Any]]) -> Annotated[str, "best"]:
    return str(max(models, key=lambda m: m["score"])["type"])


@pipeline(dynamic=True)
def dynamic_training(model_types: list[str]) -> None:
    data = make_data()
    if sum(data.load()) > 5:  # control flow on a result, at run time
        models = [
            fit.with_options(name=f"train_{kind}")(data=data, model_type=kind)
            for kind in model_types
        ]
        select_best(models)


def test_dynamic_pipeline_runs_the_body_at_run_time_and_records_what_ran(
    project: Project,
) -> None:
    SEEN.clear()
    run = dynamic_training(model_types=["svm", "forest"])
    assert list(run.steps) == ["make_data", "train_svm", "train_forest", "select_best"]
    assert run.steps["select_best"].outputs["best"].load() == "forest"
    assert run.steps["select_best"].record.upstream == ["train_forest", "train_svm"]
    assert SEEN == ["svm", "forest"]
    again = dynamic_training(model_types=["svm", "forest", "knn"])
    assert {n: s.status for n, s in again.steps.items()} == {
        "make_data": "cached", "train_svm": "cached", "train_forest": "cached",
        "train_knn": "completed", "select_best": "completed",
    }  # fmt: skip


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


class PointMaterializer(BaseMaterializer):
    """ZenML's shape: self.uri is a directory; save(data) / load(data_type)."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (Point,)
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.MODEL

    def load(self, data_type: type) -> Point:  # type: ignore[override]
        with fileio.open(os.path.join(self.uri, "point.txt")) as f:
            x, y = f.read().split(",")
        return data_type(int(x), int(y))  # type: ignore[no-any-return]

    def save(self, data: Point) -> None:  # type: ignore[override]
        fileio.makedirs(self.uri)
        with fileio.open(os.path.join(self.uri, "point.txt"), "w") as f:
            f.write(f"{data.x},{data.y}")


@step
def make_point() -> Annotated[Point, "point"]:
    return Point(3, 4)


@step
def norm(point: Point) -> Annotated[float, "norm"]:
    return float((point.x**2 + point.y**2) ** 0.5)


@step
def report(value: float) -> tuple[Annotated[HTMLString, "page"], Annotated[MarkdownString, "md"]]:
    return HTMLString(f"<b>{value}</b>"), MarkdownString(f"# {value}")


def test_zenml_style_materializers_and_text_types_round_trip(project: Project) -> None:
    @pipeline
    def geometry() -> None:
        report(norm(make_point()))

    run = geometry()
    point = run.steps["make_point"].outputs["point"]
    assert point.materializer.endswith("PointMaterializer") and point.is_model_artifact
    loaded = point.load()
    assert (type(loaded), loaded.x, loaded.y) == (Point, 3, 4)
    page = run.steps["report"].outputs["page"]
    assert page.load() == "<b>5.0</b>" and isinstance(page.load(), HTMLString)
    assert page.materializer.endswith("TextMaterializer")
    assert page.metadata["format"] == "html"
    assert isinstance(Client().get_artifact_version("md").load(), MarkdownString)


def test_active_stack_and_activate_stack(project: Project, project_dir: Path) -> None:
    (project_dir / "stacks" / "fast.toml").write_text('[orchestrator]\nflavor = "local_parallel"\n')
    client = Client()
    assert client.active_stack.name == "local"
    client.activate_stack("fast")
    assert Client().active_stack.orchestrator.flavor == "local_parallel"


def test_old_model_version_names_of_pipelines_keep_working(project: Project) -> None:
    seen: list[Any] = []

    @pipeline(model_version=Model(name="legacy"))
    def old_style() -> None:
        seen.append(get_pipeline_context().model_version.name)
        make_data()

    old_style()
    assert seen == ["legacy"]


def test_the_app_previews_text_types_as_text() -> None:
    from engine import CSVString, JSONString
    from tui.previews.build import value_preview

    html = value_preview(HTMLString("<b>hi</b>"))
    assert (html.kind, html.body) == ("markdown", "**hi**")  # rendered as text
    markdown = value_preview(MarkdownString("# Title"))
    assert (markdown.kind, markdown.body) == ("markdown", "# Title")
    table = value_preview(CSVString("a,bb\n10,2\n"))
    assert (table.kind, table.columns, table.rows) == ("table", ["a", "bb"], [["10", "2"]])
    assert value_preview(JSONString('{"a": 1}')).body == '{\n  "a": 1\n}'


def test_yaml_step_retry_becomes_the_steps_retry_config(project_dir: Path) -> None:
    from engine import StepRetryConfig
    from engine.run_config import load_run_config

    path = _yaml(project_dir / "retry.yaml", """
        steps:
          train_model:
            retry: {max_retries: 2, delay: 0.5, backoff: 2}
        """)  # fmt: skip
    overrides = load_run_config(path).steps["train_model"]
    assert overrides.options["retry"] == StepRetryConfig(max_retries=2, delay=0.5, backoff=2)
    assert train_model.with_options(**overrides.options).retry.max_retries == 2
