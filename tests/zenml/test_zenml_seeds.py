"""Every code pattern of the ZenML documents in shared/seeds/ runs after `mlx port`.

Each test first checks that its seed (read at test time) still shows the pattern, then writes a
small ZenML project using that pattern (our own code, ZenML's API), ports it and runs it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from _zenml_helpers import copy_as_repo, python, shared_dir

from tests.support import commit_all, mlx_cli


def _seed(prefix: str) -> str:
    found = sorted(shared_dir("seeds").glob(f"{prefix}_*.txt"))
    if not found:
        pytest.skip(f"shared/seeds/{prefix}_*.txt is absent")
    return found[0].read_text(encoding="utf-8")


def _port_and_run(tmp_path: Path, files: dict[str, str], *args: str) -> str:
    src = tmp_path / "src"
    for name, text in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(textwrap.dedent(text))
    root = copy_as_repo(src, tmp_path / "proj")
    ported = mlx_cli(root, "port")
    assert ported.returncode == 0, ported.stdout + ported.stderr
    commit_all(root, "ported")
    proc = python(root, "run.py", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


EXCHANGE = """
    from typing_extensions import Annotated
    from zenml import ArtifactConfig, Model, get_pipeline_context, get_step_context, pipeline, step
    from zenml.client import Client
    from zenml.enums import ModelStages
    from zenml.model import ModelVersion


    @step
    def load_data() -> Annotated[list, "iris_dataset"]:
        return [[5.1, 0], [4.9, 0], [6.3, 1], [5.8, 1]]


    @step
    def prepare_data(data: list) -> tuple[
        Annotated[list, "iris_training_dataset"],
        Annotated[list, ArtifactConfig(name="iris_testing_dataset", version="raw_2023")],
    ]:
        return data[:3], data[3:]


    @pipeline
    def feature_engineering_pipeline():
        dataset = load_data()
        prepare_data(dataset)


    @step
    def model_trainer(train_data: list) -> Annotated[dict, ArtifactConfig(
            name="trained_model", is_model_artifact=True)]:
        return {"threshold": sum(x for x, _ in train_data) / len(train_data)}


    @step
    def model_evaluator(model: dict, test_data: list) -> float:
        hits = [(x > model["threshold"]) == bool(y) for x, y in test_data]
        accuracy = sum(hits) / len(hits)
        if accuracy >= 0.5:
            get_step_context().model.set_stage(ModelStages.PRODUCTION, force=True)
        return accuracy


    @pipeline(model=Model(name="iris_classifier"))
    def train_and_promote():
        client = Client()
        # Fetch by name alone - uses the latest version of this artifact
        train_data = client.get_artifact_version(name="iris_training_dataset")
        # For test, we want a particular version
        test_data = client.get_artifact_version(name="iris_testing_dataset", version="raw_2023")
        model = model_trainer(train_data)
        model_evaluator(model, test_data)


    # IMPORTANT: Cache needs to be disabled to avoid unexpected behavior
    @step(enable_cache=False)
    def predict_in_step(data: list) -> Annotated[list, "predictions"]:
        model = get_step_context().model
        trained = model.get_model_artifact("trained_model").load()
        return [x > trained["threshold"] for x, _ in data]


    @step
    def predict(model: dict, data: list) -> Annotated[list, "predictions"]:
        return [x > model["threshold"] for x, _ in data]


    @pipeline(model=Model(name="iris_classifier", version=ModelStages.PRODUCTION))
    def do_predictions():
        model = get_pipeline_context().model
        inference_data = load_data()
        predict(model=model.get_model_artifact("trained_model"), data=inference_data)
        predict_in_step(inference_data)


    @step(enable_cache=False)
    def predict_old(data: list) -> Annotated[list, "old_predictions"]:
        model_version = get_step_context().model_version
        trained = model_version.get_model_artifact("trained_model").load()
        return [x > trained["threshold"] for x, _ in data]


    @pipeline(model_config=ModelVersion(name="iris_classifier", version=ModelStages.PRODUCTION))
    def do_predictions_old_api():
        model_version = get_pipeline_context().model_version
        inference_data = load_data()
        predict(model=model_version.get_model_artifact("trained_model"), data=inference_data)
        predict_old(inference_data)


    if __name__ == "__main__":
        feature_engineering_pipeline()
        train_and_promote()
        run = do_predictions()
        print("predictions", run.steps["predict"].outputs["predictions"].load())
        print("in step", run.steps["predict_in_step"].outputs["predictions"].load())
        run = do_predictions_old_api()
        print("old api", run.steps["predict_old"].outputs["old_predictions"].load())
    """


def test_seed_000_and_001_artifact_and_model_exchange_between_pipelines(tmp_path: Path) -> None:
    seed0, seed1 = _seed("000"), _seed("001")
    for pattern in ('client.get_artifact_version(name="iris_testing_dataset", version="raw_2023")',
                    "get_step_context().model", 'get_model_artifact("trained_model")',
                    "get_pipeline_context().model"):  # fmt: skip
        assert pattern in seed0
    old_api = (
        "model_config=ModelVersion(",
        "get_pipeline_context().model_version",
        "get_step_context().model_version",
        "from zenml.model import ModelVersion",
    )
    for pattern in old_api:
        assert pattern in seed1
    out = _port_and_run(tmp_path, {"run.py": EXCHANGE})
    assert "predictions [False, False, True, True]" in out
    assert "in step [False, False, True, True]" in out
    assert "old api [False, False, True, True]" in out


PIPELINES = """
    from datetime import datetime
    from typing import Annotated

    from zenml import Model, pipeline, step
    from zenml.config import CachePolicy, DockerSettings

    EVENTS = []


    @step
    def simple_step(name: str) -> str:
        return f"Hello {name}"


    @pipeline
    def simple_pipeline(name: str = "World") -> Annotated[str, "greeting"]:
        greeting = simple_step(name=name)
        return greeting


    @step
    def load_data() -> list:
        return [1, 2, 3, 4]


    @step
    def train_model(data: list) -> float:
        return sum(data) / len(data)


    @step
    def train_model_a(data: list) -> float:
        return max(data)


    @step
    def train_model_b(data: list) -> float:
        return min(data)


    @step
    def train_model_c(data: list) -> float:
        return float(len(data))


    @step
    def evaluate_model(model: float) -> None:
        print("evaluated", model)


    @step
    def compare_models(a: float, b: float, c: float) -> str:
        return max(("a", a), ("b", b), ("c", c), key=lambda p: p[1])[0]


    def alert_on_failure(exception: BaseException) -> None:
        EVENTS.append("failure")


    def notify_on_success() -> None:
        EVENTS.append("success")


    docker_settings = DockerSettings(requirements=["scikit-learn"])


    @pipeline(
        name="my_pipeline",
        enable_cache=True,
        enable_artifact_metadata=True,
        enable_step_logs=True,
        settings={"docker": docker_settings},
        tags=["production", "v1.0"],
        model=Model(name="my_model"),
        on_failure=alert_on_failure,
        on_success=notify_on_success,
    )
    def training_pipeline():
        data = load_data()
        model = train_model(data)
        evaluate_model(model)


    @pipeline
    def parallel_pipeline():
        data = load_data()
        train_result = train_model_a(data)
        test_result = train_model_b(data)
        baseline = train_model_c(data)
        best = compare_models(train_result, test_result, baseline)


    @step
    def train_typed(data: list, model_type: str) -> float:
        return float(len(model_type) * sum(data))


    @step
    def select_best(models: list) -> float:
        return max(models)


    @pipeline(dynamic=True)
    def dynamic_training_pipeline(model_types: list[str]):
        data = load_data()
        models = []
        for model_type in model_types:
            model = train_typed.with_options(name=f"train_{model_type}")(
                data=data, model_type=model_type
            )
            models.append(model)
        best_model = select_best(models)
        return best_model


    def cleanup() -> None:
        EVENTS.append("cleanup")


    @step
    def allocate_resources() -> None:
        EVENTS.append("allocate")


    @step
    def do_work() -> None:
        EVENTS.append("work")


    @pipeline(on_cleanup=cleanup)
    def pipeline_with_cleanup():
        allocate_resources()
        do_work()


    @step
    def process_data(timestamp: datetime) -> int:
        return 1


    @pipeline(cache_policy=CachePolicy(max_age_days=7, ignore_fields=["timestamp"]))
    def time_sensitive_pipeline():
        process_data(timestamp=datetime.now())


    if __name__ == "__main__":
        run = simple_pipeline()
        print("greeting", run.steps["simple_step"].output.load())
        training_pipeline()
        run = parallel_pipeline()
        print("best", run.steps["compare_models"].outputs["output"].load())
        run = dynamic_training_pipeline(model_types=["rf", "svm"])
        print("steps", ",".join(run.steps))
        pipeline_with_cleanup()
        time_sensitive_pipeline()
        again = time_sensitive_pipeline()
        print("cached", again.steps["process_data"].status)
        print("events", EVENTS)
    """


def test_seed_003_pipeline_definitions_options_dynamic_cleanup_and_cache(tmp_path: Path) -> None:
    seed = _seed("003")
    patterns = ("@pipeline(dynamic=True)", "on_cleanup=cleanup", "enable_step_logs=True",
                'ignore_fields=["timestamp"]', '-> Annotated[str, "greeting"]')  # fmt: skip
    for pattern in patterns:
        assert pattern in seed
    out = _port_and_run(tmp_path, {"run.py": PIPELINES})
    assert "greeting Hello World" in out
    assert "best a" in out
    assert "steps load_data,train_rf,train_svm,select_best" in out
    assert "cached cached" in out
    assert "events ['success', 'allocate', 'work', 'cleanup']" in out


OLD_API = """
    from zenml.pipelines import pipeline
    from zenml.steps import step


    @step  # this is where the magic happens
    def simplest_step_ever(basic_param_1: int, basic_param_2: str) -> int:
        return basic_param_1 + int(basic_param_2)


    @step
    def importer() -> tuple[list, list, list, list]:
        return [1.0, 2.0], [0, 1], [3.0], [1]


    @step
    def normalizer(X_train: list, X_test: list) -> tuple[list, list]:
        top = max(X_train + X_test)
        return [x / top for x in X_train], [x / top for x in X_test]


    @step
    def trainer(X_train: list, y_train: list) -> float:
        return sum(X_train) / len(X_train)


    @step
    def evaluator(X_test: list, y_test: list, model: float) -> float:
        return float(sum((x > model) == bool(y) for x, y in zip(X_test, y_test)))


    @pipeline
    def mnist_pipeline():
        X_train, y_train, X_test, y_test = importer()
        X_trained_normed, X_test_normed = normalizer(X_train=X_train, X_test=X_test)
        model = trainer(X_train=X_trained_normed, y_train=y_train)
        evaluator(X_test=X_test_normed, y_test=y_test, model=model)


    if __name__ == "__main__":
        print("step", simplest_step_ever(1, "2"))
        run = mnist_pipeline()
        print("score", run.steps["evaluator"].output.load())
    """


def test_seed_004_core_concepts_steps_and_multi_output_pipeline(tmp_path: Path) -> None:
    seed = _seed("004")
    assert "from zenml.steps import step" in seed
    assert "def simplest_step_ever(basic_param_1: int, basic_param_2: str) -> int:" in seed
    assert "X_train, y_train, X_test, y_test = importer()" in seed
    out = _port_and_run(tmp_path, {"run.py": OLD_API})
    assert "step 3" in out and "score 1.0" in out


def test_seed_004_pre_0_20_step_config_is_listed_by_port_with_what_to_do(tmp_path: Path) -> None:
    assert "from zenml.steps import BaseStepConfig" in _seed("004")
    src = tmp_path / "src"
    src.mkdir()
    (src / "steps.py").write_text("from zenml.steps import BaseStepConfig, step\n")
    root = copy_as_repo(src, tmp_path / "proj")
    proc = mlx_cli(root, "port")
    assert proc.returncode == 1
    assert "steps.py:1: from zenml.steps import BaseStepConfig — pre-0.20 ZenML API" in proc.stdout


def test_seed_002_is_prose_without_code_patterns() -> None:
    seed = _seed("002")
    assert "@pipeline" not in seed and "@step" not in seed and "import " not in seed
