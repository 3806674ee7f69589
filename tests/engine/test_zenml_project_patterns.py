"""Patterns of public ZenML projects, written inline from ZenML's documented API: materializers
that write through ``self.artifact_store``, ZenML's built-in materializers named in
``output_materializers=``, and pipelines with typed optional parameters and return values."""

from __future__ import annotations

import enum
import json
import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import pytest

from engine import ArtifactType, BaseMaterializer, Client, Model, log_metadata, pipeline, step
from engine.porting import rewrite_source
from store.errors import ValidationError
from store.project import Project


class Weights:
    def __init__(self, w: float) -> None:
        self.w = w


class WeightsMaterializer(BaseMaterializer):
    """ZenML's shape, writing through the artifact store as ZenML's docs show."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (Weights,)
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.MODEL

    def load(self, data_type: type) -> Weights:  # type: ignore[override]
        path = os.path.join(self.uri, "weights.json")
        assert self.artifact_store.exists(path)
        with self.artifact_store.open(path, "r") as f:
            return Weights(json.load(f)["w"])

    def save(self, data: Weights) -> None:  # type: ignore[override]
        self.artifact_store.makedirs(self.uri)
        with self.artifact_store.open(os.path.join(self.uri, "weights.json"), "w") as f:
            json.dump({"w": data.w}, f)


def test_a_zenml_materializer_writes_and_reads_through_self_artifact_store(
    project: Project,
) -> None:
    @step
    def fit() -> Annotated[Weights, "weights"]:
        return Weights(2.5)

    @pipeline
    def training() -> None:
        fit()

    run = training()
    loaded = run.steps["fit"].outputs["weights"].load()
    assert isinstance(loaded, Weights) and loaded.w == 2.5
    assert Client().get_artifact_version("weights").record.is_model_artifact is True


def test_zenml_built_in_materializers_port_to_their_mlx_counterparts() -> None:
    source = (
        "from zenml import step\n"
        "from zenml.materializers import BuiltInMaterializer, PydanticMaterializer as PM\n"
        "from zenml.materializers.pandas_materializer import PandasMaterializer\n"
        "from zenml.materializers import UnmaterializedArtifact\n"
    )
    ported, leftovers = rewrite_source(source, "steps.py")
    assert ported.splitlines()[:3] == [
        "from engine import step",
        "from engine.materializers import JsonMaterializer as BuiltInMaterializer, "
        "PydanticMaterializer as PM",
        "from engine.materializers import DataFrameMaterializer as PandasMaterializer",
    ]
    assert ported.splitlines()[3] == "from engine import UnmaterializedArtifact"
    assert leftovers == []
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(ported.splitlines()[:3]), "steps.py", "exec"), namespace)  # noqa: S102
    assert namespace["BuiltInMaterializer"].__name__ == "JsonMaterializer"


def test_an_inference_pipeline_with_optional_typed_parameters_and_return_values(
    project: Project,
) -> None:
    from engine.materializers import JsonMaterializer as BuiltInMaterializer

    @step(output_materializers=BuiltInMaterializer)
    def load(n: int = 3) -> Annotated[dict[str, int], "data"]:
        return {str(i): i for i in range(n)}

    @step
    def fit(data: dict[str, int]) -> tuple[Annotated[Weights, "model"], Annotated[float, "acc"]]:
        log_metadata({"acc": 0.5}, infer_model=True)
        return Weights(float(len(data))), 0.5

    @step(enable_cache=False)
    def predict(data: dict[str, int], scale: float = 1.0) -> Annotated[list[float], "preds"]:
        from engine import get_step_context

        weights = get_step_context().model.load_artifact("model")
        log_metadata({"served": 1}, infer_model=True)
        return [v * weights.w * scale for v in data.values()]

    @pipeline
    def training() -> None:
        _, acc = fit(load())

    @pipeline(name="inference_pipe")
    def inference(
        models: dict[str, Weights] | None = None, scale: float = 1.0
    ) -> Annotated[list[float], "preds"]:
        return predict(load(), scale=scale)

    training.with_options(model=Model(name="weights_model"), run_name="train_{date}_{time}")()
    run = inference.with_options(model=Model(name="weights_model", version="latest"))(scale=2.0)
    assert run.steps["predict"].outputs["preds"][0].load() == [0.0, 6.0, 12.0]
    used = Client().get_model_version("weights_model", "latest")
    assert used.run_metadata == {"acc": 0.5, "served": 1}


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def test_old_yaml_model_version_key_and_enum_parameters_from_yaml(
    project: Project, tmp_path: Path
) -> None:
    """ZenML < 0.55 configurations say ``model_version:``; pydantic turns "blue" into an Enum."""

    @step
    def paint(kind: str, color: Color = Color.RED) -> Annotated[str, "paint"]:
        return f"{kind}-{color.value}"

    @pipeline
    def painting(kind: Literal["rf", "sgd"], color: Color = Color.RED) -> None:
        paint(kind=kind, color=color)

    config = tmp_path / "training_rf.yaml"
    config.write_text(
        "model_version:\n  name: painter\n  version: rf\n"
        "parameters:\n  kind: rf\n  color: blue\n"
        "steps:\n  paint:\n    parameters:\n      color: blue\n"
    )
    run = painting.with_options(config_path=str(config))()
    assert run.steps["paint"].outputs["paint"][0].load() == "rf-blue"
    assert Client().get_model_version("painter", "rf").number == 1
    with pytest.raises(ValidationError, match="expected Color"):
        painting.with_options(parameters={"kind": "rf", "color": "green"})()


def test_zenml_client_api_mlx_lacks_fails_loudly_with_what_to_use(project: Project) -> None:
    client = Client()
    with pytest.raises(AttributeError, match=r"Client.get_secret .*environment variables"):
        client.get_secret("aws")
    with pytest.raises(AttributeError, match=r"Client.get_flavor is ZenML API .*README"):
        client.get_flavor("x")
    assert not hasattr(client, "list_service_connectors") and hasattr(client, "active_stack")
