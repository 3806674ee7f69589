"""ZenML's uniqueness rules and run-time merging, each from ZenML's documented behaviour:
run names are unique ("Pipeline run names must be unique"), custom artifact versions cannot be
duplicated, a named model version is created once (also when two runs race to create it),
``log_metadata(infer_model=True)`` logs to the version a pipeline uses, and a pipeline's
``retry``/``settings``/``substitutions`` apply to its steps."""

from __future__ import annotations

import os
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pytest

from engine import (
    ArtifactConfig,
    Client,
    Model,
    PipelineRunFailedError,
    StepRetryConfig,
    get_step_context,
    log_metadata,
    pipeline,
    save_artifact,
    step,
)
from store.errors import EntityExistsError
from store.project import Project
from store.recorder import commit_run
from store.records import RunRecord

CALLS: list[str] = []


@step(enable_cache=False)
def mark(tag: str) -> None:
    CALLS.append(tag)


@step(enable_cache=False)
def raw() -> Annotated[int, ArtifactConfig(name="iris_dataset", version="raw_2023")]:
    return 1


# -- run names ---------------------------------------------------------------------------------
def test_a_second_run_with_a_taken_name_is_refused_before_anything_runs(project: Project) -> None:
    @pipeline(run_name="release-1")
    def release() -> None:
        mark("ran")

    CALLS.clear()
    first = release()
    assert first.name == "release-1" and CALLS == ["ran"]
    with pytest.raises(EntityExistsError, match="A pipeline run with name 'release-1' already"):
        release()
    assert CALLS == ["ran"]  # refused before the step ran
    assert [r.id for r in Client().list_pipeline_runs(pipeline_name="release")] == [first.id]
    assert release.with_options(run_name="release-2")().name == "release-2"


def test_a_name_a_run_in_progress_has_is_refused_too(project: Project) -> None:
    """Another process of this clone running under the name (its journal) blocks the name."""
    import socket

    from store.journal import Journal
    from store.paths import journal_dir

    other = "9" * 32
    journal = Journal(journal_dir(project.git.common_dir), other)
    journal.append({"event": "run_started", "pid": os.getpid(), "host": socket.gethostname(),
                    "started_at": datetime.now(UTC).isoformat(),
                    "run": {"id": other, "pipeline": "busy", "name": "busy-run"}})  # fmt: skip

    @pipeline(run_name="busy-run")
    def busy() -> None:
        mark("busy")

    CALLS.clear()
    try:
        with pytest.raises(EntityExistsError, match="'busy-run' already exists .run 999999"):
            busy()
    finally:
        journal.close(remove=True)
    assert CALLS == [] and busy().name == "busy-run"  # free again once that run is gone


def test_run_name_placeholders_and_substitutions_follow_zenml(project: Project) -> None:
    @pipeline(run_name="train_{experiment}_{date}", substitutions={"experiment": "lr"})
    def train() -> None:
        mark("t")

    run = train()
    today = datetime.now(UTC).strftime("%Y_%m_%d")
    assert run.name in (f"train_lr_{today}",) or run.name.startswith("train_lr_2")
    with pytest.raises(KeyError, match="placeholder.*'missing'"):  # ZenML raises a KeyError
        train.with_options(run_name="x_{missing}")()


def test_a_run_name_taken_while_the_run_ran_fails_that_run_but_keeps_its_record(
    project: Project,
) -> None:
    """Two processes that start with the same name: the runs ref's compare-and-swap settles it."""
    now = datetime.now(UTC)

    def record(run_id: str) -> RunRecord:
        return RunRecord(id=run_id, pipeline="p", name="shared", status="completed",
                         started_at=now, finished_at=now)  # fmt: skip

    taken = project.index.runs_named
    first = commit_run(project.runs, record("a" * 32), [], names_taken=taken)
    second = commit_run(project.runs, record("b" * 32), [], names_taken=taken)
    assert (first.run.status, first.run.name) == ("completed", "shared")
    assert second.run.status == "failed" and second.run.name == "shared-bbbbbbbb"
    assert second.run.error is not None and "already exists" in second.run.error.message
    assert project.index.runs_named("shared") == ["a" * 32]
    assert Client().get_pipeline_run("shared").id == "a" * 32


def test_a_name_two_unsynced_clones_both_used_is_reported_as_ambiguous(project: Project) -> None:
    """Without ``names_taken`` (as a merge of two clones' runs brings them) both runs stay."""
    now = datetime.now(UTC)
    for run_id in ("e" * 32, "f" * 32):
        run = RunRecord(id=run_id, pipeline="p", name="twin", status="completed", started_at=now)
        commit_run(project.runs, run, [])
    with pytest.raises(ValueError, match="run name 'twin' is ambiguous: runs eeeeeeeeeeee, ffff"):
        Client().get_pipeline_run("twin")
    assert Client().get_pipeline_run("e" * 12).id == "e" * 32  # ids stay the key


# -- artifact versions -------------------------------------------------------------------------
def test_a_custom_artifact_version_cannot_be_duplicated(project: Project) -> None:
    @pipeline
    def ingest() -> None:
        raw()

    ingest()
    with pytest.raises(PipelineRunFailedError, match="same name and version already exists"):
        ingest()
    versions = Client().list_artifact_versions("iris_dataset")
    assert [v.version_name for v in versions] == ["raw_2023"]
    with pytest.raises(EntityExistsError, match=r"iris_dataset \(version raw_2023\)"):
        save_artifact(5, "iris_dataset", version="raw_2023")
    assert save_artifact(5, "iris_dataset", version="raw_2024").version_name == "raw_2024"


def test_two_versions_with_one_custom_name_in_one_run_keep_only_the_first(
    project: Project,
) -> None:
    @pipeline
    def twice() -> None:
        raw(id="first")
        raw(id="second", after="first")

    with pytest.raises(PipelineRunFailedError, match="same name and version") as info:
        twice()
    steps = info.value.run.steps
    assert (steps["first"].status, steps["second"].status) == ("completed", "failed")
    named = [v.version for v in Client().list_artifact_versions("iris_dataset")
             if v.version_name == "raw_2023"]  # fmt: skip
    assert named == [1]


# -- model versions ----------------------------------------------------------------------------
def test_a_named_model_version_raced_by_two_runs_is_created_once(project: Project) -> None:
    """Both drafts are made before either run commits (the race); the commit decides."""
    now = datetime.now(UTC)

    def commit(run_id: str, metadata: dict[str, Any]) -> int:
        run = RunRecord(id=run_id, pipeline="train", status="completed", started_at=now,
                        finished_at=now)  # fmt: skip
        draft = {"id": run_id, "name": "clf", "version": None, "version_name": "sgd",
                 "run_id": run_id, "pipeline": "train", "created_at": now.isoformat(),
                 "metadata": metadata}  # fmt: skip
        committed = commit_run(project.runs, run, [], draft)
        assert committed.model_version is not None
        return committed.model_version.version

    assert (commit("c" * 32, {"a": 1}), commit("d" * 32, {"b": 2})) == (1, 1)
    version = Client().get_model_version("clf", "sgd")
    assert version.number == 1 and version.run_metadata == {"a": 1, "b": 2}
    assert [v.number for v in Client().list_model_versions("clf")] == [1]


def _iris_pipelines(fit: Any, predict: Any) -> tuple[Any, Any]:
    """``training`` makes a version of model 'iris' with ``fit``; ``inference`` uses the latest
    version with ``predict``."""

    @pipeline(model=Model(name="iris"))
    def training() -> None:
        fit()

    @pipeline(model=Model(name="iris", version="latest"))
    def inference() -> None:
        predict()

    return training, inference


def test_log_metadata_infer_model_logs_to_the_version_a_pipeline_uses(project: Project) -> None:
    @step
    def fit() -> Annotated[int, "weights"]:
        log_metadata({"accuracy": 0.9}, infer_model=True)
        return 1

    @step(enable_cache=False)
    def predict() -> Annotated[int, "predictions"]:
        model = get_step_context().model
        log_metadata({"served": True}, infer_model=True)
        log_metadata({"rows": 3}, model_name="iris", model_version=model.number)
        model.log_metadata({"batch": "b1"})  # ZenML's Model.log_metadata
        return 2

    training, inference = _iris_pipelines(fit, predict)
    made = training()
    inference()
    versions = Client().list_model_versions("iris")
    assert [v.number for v in versions] == [1]  # no new version
    used = versions[0]
    assert used.run_metadata == {"accuracy": 0.9, "served": True, "rows": 3, "batch": "b1"}
    assert used.run_id == made.id  # still the version the training run made
    # its outputs are linked to the used version (ZenML), no new version made
    assert set(used.record["artifacts"]) | set(used.record["model_artifacts"]) == {
        "weights", "predictions"}  # fmt: skip


def test_log_metadata_for_another_version_than_the_used_one_is_refused(project: Project) -> None:
    @step
    def fit() -> Annotated[int, "weights"]:
        return 1

    @step(enable_cache=False)
    def predict() -> None:
        log_metadata({"x": 1}, model_name="iris", model_version=7)

    training, inference = _iris_pipelines(fit, predict)
    training()
    with pytest.raises(PipelineRunFailedError, match="not this run's version of 'iris'"):
        inference()


# -- pipeline-level retry and settings ---------------------------------------------------------
def _flaky_module(root: Path) -> None:
    (root / "flaky_steps.py").write_text(
        textwrap.dedent("""
        import os
        from pathlib import Path
        from engine import step

        @step(enable_cache=False)
        def flaky() -> int:
            marker = Path(os.environ["FLAKY_MARKER"])
            count = int(marker.read_text()) + 1 if marker.exists() else 1
            marker.write_text(str(count))
            if count < 3:
                raise RuntimeError(f"attempt {count} fails")
            return count

        @step(enable_cache=False)
        def read_env() -> str:
            return os.environ.get("FROM_PIPELINE", "") + "/" + os.environ.get("FROM_STEP", "")
    """)
    )


def test_pipeline_retry_from_yaml_applies_to_every_step(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _flaky_module(project_dir)
    monkeypatch.syspath_prepend(str(project_dir))
    monkeypatch.setenv("FLAKY_MARKER", str(project_dir / "marker"))
    from flaky_steps import flaky  # type: ignore[import-not-found]

    config = project_dir / "retry.yaml"
    config.write_text("retry:\n  max_retries: 3\n  delay: 0\n  backoff: 1\n")

    @pipeline
    def resilient() -> None:
        flaky()

    with pytest.raises(PipelineRunFailedError, match="attempt 1 fails"):
        resilient()  # without the configuration: no retry
    (project_dir / "marker").unlink()
    run = resilient.with_options(config_path=str(config))()
    assert run.steps["flaky"].record.attempts == 3
    assert run.steps["flaky"].outputs["output"].load() == 3


def test_pipeline_retry_and_settings_are_step_defaults_the_step_can_override(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _flaky_module(project_dir)
    monkeypatch.syspath_prepend(str(project_dir))
    from flaky_steps import read_env  # type: ignore[import-not-found]

    env = {"environment": {"FROM_PIPELINE": "p", "FROM_STEP": "p"}}

    @pipeline(retry=StepRetryConfig(max_retries=2), settings=env)
    def configured() -> None:
        read_env()
        read_env.with_options(retry=StepRetryConfig(max_retries=0),
                              settings={"environment": {"FROM_STEP": "s"}})(id="own")  # fmt: skip

    spec = configured.compile({})
    assert spec.invocations["read_env"].step.retry == StepRetryConfig(max_retries=2)
    assert spec.invocations["own"].step.retry == StepRetryConfig(max_retries=0)
    run = configured()
    assert run.steps["read_env"].outputs["output"].load() == "p/p"
    assert run.steps["own"].outputs["output"].load().endswith("/s")  # the step's key wins
    assert os.environ.get("FROM_PIPELINE") is None


def test_save_artifact_with_a_version_inside_a_step_names_it_once(project: Project) -> None:
    @step(enable_cache=False)
    def snapshot() -> None:
        save_artifact({"rows": 3}, "snapshot", version="release_1", tags=["release"])

    @pipeline
    def releasing() -> None:
        snapshot()

    releasing()
    made = Client().get_artifact_version("snapshot", "release_1")
    assert made.load() == {"rows": 3} and made.version_name == "release_1"
    assert "release" in made.record.tags
    with pytest.raises(PipelineRunFailedError, match=r"snapshot \(version release_1\)"):
        releasing()


def test_pipeline_docker_settings_do_not_invalidate_the_cache_but_environment_does(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _flaky_module(project_dir)
    monkeypatch.syspath_prepend(str(project_dir))
    from flaky_steps import read_env  # type: ignore[import-not-found]

    cached_env = read_env.with_options(enable_cache=True)

    def run(settings: dict[str, Any]) -> str:
        @pipeline(settings=settings)
        def env_pipeline() -> None:
            cached_env()

        return str(env_pipeline().steps["read_env"].record.status)

    assert run({"docker": {"requirements": ["a"]}}) == "completed"
    assert run({"docker": {"requirements": ["b"]}}) == "cached"  # no effect on a local run
    assert run({"docker": {}, "environment": {"FROM_PIPELINE": "x"}}) == "completed"
