"""Feature engineering: load the iris data set and split it into training and testing sets.

The two outputs are named artifacts, so other pipelines can fetch them by name through the
Client ("artifact exchange between pipelines").
"""

from typing import Annotated

import pandas as pd

from engine import log_metadata, pipeline, step


@step
def load_data() -> Annotated[pd.DataFrame, "iris_raw"]:
    """The iris data set bundled with scikit-learn (no download)."""
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    print(f"loaded {len(frame)} rows")
    return frame


@step
def prepare_data(
    raw: pd.DataFrame, test_size: float = 0.2, seed: int = 42
) -> tuple[
    Annotated[pd.DataFrame, "iris_training_dataset"],
    Annotated[pd.DataFrame, "iris_testing_dataset"],
]:
    """Split into training and testing sets, stratified by class."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(raw, test_size=test_size, random_state=seed,
                                   stratify=raw["target"])  # fmt: skip
    log_metadata({"train_rows": len(train), "test_rows": len(test)})
    return train.reset_index(drop=True), test.reset_index(drop=True)


@pipeline(tags=["features"])
def feature_engineering(test_size: float = 0.2, seed: int = 42) -> None:
    prepare_data(load_data(), test_size=test_size, seed=seed)
