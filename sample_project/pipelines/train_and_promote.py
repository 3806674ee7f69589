"""Train a new version of the `iris_classifier` model and propose it for production.

Every run creates the next model version and links the artifacts it produces to it. When the
accuracy clears the threshold, the version is proposed for `production`: mlx creates a branch
whose only change is the stage line of models/iris_classifier.toml, to be reviewed and merged
as a pull request.
"""

from typing import Annotated

import pandas as pd

from engine import Client, Model, ModelStages, get_step_context, log_metadata, pipeline, step
from pipelines.training import model_trainer


@step(enable_cache=False)
def evaluate_and_log(model: object, test: pd.DataFrame) -> Annotated[float, "accuracy"]:
    accuracy = float(model.score(test.drop(columns=["target"]), test["target"]))  # type: ignore[attr-defined]
    log_metadata({"accuracy": accuracy}, infer_model=True)
    print(f"accuracy: {accuracy:.3f}")
    return accuracy


@step(enable_cache=False)
def promote_if_good(accuracy: float, threshold: float) -> Annotated[bool, "promoted"]:
    if accuracy < threshold:
        print(f"accuracy {accuracy:.3f} < {threshold}: not proposed for production")
        return False
    get_step_context().model.set_stage(ModelStages.PRODUCTION, force=True)
    print(f"accuracy {accuracy:.3f} >= {threshold}: proposed for production")
    return True


@pipeline(
    model=Model(name="iris_classifier", description="Logistic regression on iris",
                tags=["sklearn"]),
    tags=["training", "promotion"],
)  # fmt: skip
def train_and_promote(C: float = 1.0, threshold: float = 0.9) -> None:
    client = Client()
    train_data = client.get_artifact_version("iris_training_dataset")
    test_data = client.get_artifact_version("iris_testing_dataset")
    model = model_trainer(train_data, C=C)
    accuracy = evaluate_and_log(model, test_data)
    promote_if_good(accuracy, threshold=threshold)
