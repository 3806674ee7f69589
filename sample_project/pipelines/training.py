"""Training on datasets produced by another pipeline, fetched by name through the Client.

The datasets are *references*: nothing is loaded while the pipeline body is compiled, and the
training step reads the stored versions.
"""

from typing import Annotated, Any

import pandas as pd

from engine import ArtifactConfig, Client, log_metadata, pipeline, step


@step
def model_trainer(
    train: pd.DataFrame, C: float = 1.0
) -> Annotated[Any, ArtifactConfig(name="trained_model", is_model_artifact=True)]:
    """Fit a logistic regression classifier."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=500)
    model.fit(train.drop(columns=["target"]), train["target"])
    print(f"trained {type(model).__name__} with C={C}")
    return model


@step
def model_evaluator(model: Any, test: pd.DataFrame) -> Annotated[float, "accuracy"]:
    """Accuracy on the testing set, also attached to the model version when there is one."""
    accuracy = float(model.score(test.drop(columns=["target"]), test["target"]))
    log_metadata({"accuracy": accuracy})
    print(f"accuracy: {accuracy:.3f}")
    return accuracy


@pipeline(tags=["training"])
def training(C: float = 1.0, test_version: int = 1) -> None:
    client = Client()
    # Fetch by name alone: the latest version of this artifact.
    train_data = client.get_artifact_version("iris_training_dataset")
    # For the testing set we want one particular version.
    test_data = client.get_artifact_version("iris_testing_dataset", version=test_version)
    model = model_trainer(train_data, C=C)
    model_evaluator(model, test_data)
