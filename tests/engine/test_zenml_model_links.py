"""ZenML links every artifact of a run whose pipeline has ``model=`` to that model version: the
version the run creates, and also a version the run uses (an inference pipeline with
``Model(name, version="production")`` links its predictions to the production version), as
model or data artifacts (``ArtifactConfig(is_model_artifact=True)``)."""

from __future__ import annotations

from typing import Annotated, Any

from support import mlx_ok

from engine import ArtifactConfig, Client, Model, get_step_context, load_artifact, pipeline, step
from store.project import Project

SEEN: list[Any] = []


@step
def fit() -> Annotated[int, ArtifactConfig(name="weights", is_model_artifact=True)]:
    return 7


@step(enable_cache=False)
def predict(weights: int) -> Annotated[list[int], "predictions"]:
    return [weights, weights + 1]


@step
def features() -> Annotated[int, "features"]:
    return 3


@step(enable_cache=False)
def score(
    predictions: list[int],
) -> Annotated[int, ArtifactConfig(name="scorer", is_model_artifact=True)]:
    SEEN.append(get_step_context().model.get_artifact("predictions").load())
    return sum(predictions)


@pipeline(model=Model(name="iris"))
def training() -> None:
    fit()


@pipeline(model=Model(name="iris", version="production"))
def inference() -> None:
    model = get_step_context_model()
    score(predict(model.get_model_artifact("weights")))


def get_step_context_model() -> Any:
    from engine import get_pipeline_context

    return get_pipeline_context().model


def produce(project: Project) -> None:
    """Train iris v1 and make it the production version."""
    training()
    toml = project.models_dir / "iris.toml"
    toml.parent.mkdir(parents=True, exist_ok=True)
    toml.write_text('description = "iris"\n\n[stages]\nproduction = 1\n')


def test_a_run_using_the_production_version_links_its_outputs_to_it(project: Project) -> None:
    produce(project)
    SEEN.clear()
    run = inference()
    versions = Client().list_model_versions("iris")
    assert [v.number for v in versions] == [1]  # no new version
    used = Client().get_model_version("iris", "production")
    assert set(used.record["model_artifacts"]) == {"weights", "scorer"}
    assert set(used.record["artifacts"]) == {"predictions"}
    made = run.steps["predict"].outputs["predictions"]
    assert used.get_artifact("predictions").id == made.id
    assert used.load_artifact("predictions") == [7, 8] == load_artifact("predictions")
    assert used.get_model_artifact("scorer").load() == 15
    # a step after the producing one sees it through the used version as well
    assert SEEN == [[7, 8]]
    second = inference()
    again = Client().get_model_version("iris", "production").get_artifact("predictions")
    assert again.id == second.steps["predict"].outputs["predictions"].id != made.id
    shown = mlx_ok(project.root, "model", "show", "iris", "production").stdout.splitlines()
    assert "stages                  production" in shown
    assert "model artifact scorer   scorer:2" in shown
    assert "model artifact weights  weights:1" in shown
    assert "artifact predictions    predictions:2" in shown


def test_cached_outputs_are_linked_to_the_used_version_too(project: Project) -> None:
    produce(project)

    @pipeline(model=Model(name="iris", version="production"))
    def featurize() -> None:
        features()

    featurize()
    first = Client().get_model_version("iris", 1).get_artifact("features")
    featurize()  # features() comes from the cache: the link stays
    cached = Client().get_model_version("iris", 1).get_artifact("features")
    assert cached.id == first.id and cached.load() == 3


def test_a_used_version_the_run_adds_nothing_to_is_left_unchanged(project: Project) -> None:
    produce(project)
    before = project.index.model_version_json("iris", 1)

    @step(enable_cache=False)
    def nothing() -> None:
        return None

    @pipeline(model=Model(name="iris", version="production"))
    def idle() -> None:
        nothing()

    run = idle()
    assert run.status == "completed"
    assert project.index.model_version_json("iris", 1) == before
