"""Batch inference with whatever version of `iris_classifier` holds the `production` stage.

The stage resolves through models/iris_classifier.toml at the checked-out commit, so merging a
promotion pull request changes the model used here without touching this code. Both ways of
reaching the model are shown: through the pipeline context (a lazy reference passed into a
step) and through the step context inside a step (with caching disabled).
"""

from typing import Annotated, Any

import pandas as pd

from engine import (
    Client,
    Model,
    ModelStages,
    get_pipeline_context,
    get_step_context,
    pipeline,
    step,
)


@step
def load_inference_data() -> Annotated[pd.DataFrame, "inference_data"]:
    test = Client().get_artifact_version("iris_testing_dataset").load()
    return test.drop(columns=["target"])


@step
def predict(model: Any, data: pd.DataFrame) -> Annotated[pd.Series, "predictions"]:
    predictions = pd.Series(model.predict(data), name="predicted_class")
    print(f"predicted {len(predictions)} rows")
    return predictions


# IMPORTANT: the model is fetched inside the step, so the cache must not reuse old results.
@step(enable_cache=False)
def predict_from_context(data: pd.DataFrame) -> Annotated[pd.Series, "predictions_from_context"]:
    model_version = get_step_context().model
    model = model_version.get_model_artifact("trained_model").load()
    print(f"using {model_version}")
    return pd.Series(model.predict(data), name="predicted_class")


@pipeline(model=Model(name="iris_classifier", version=ModelStages.PRODUCTION),
          tags=["inference"])  # fmt: skip
def do_predictions() -> None:
    model = get_pipeline_context().model
    data = load_inference_data()
    predict(model=model.get_model_artifact("trained_model"), data=data)
    predict_from_context(data=data)
