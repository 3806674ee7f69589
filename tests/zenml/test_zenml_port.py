"""`mlx port`: imports from any ZenML module path become engine imports, project files are
written when absent, a second run changes nothing, a dirty tree is refused, and what cannot be
ported is listed as file:line with what to do (exit 1)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from _zenml_helpers import copy_as_repo

from engine.porting import rewrite_source
from tests.support import commit_all, git, mlx_cli


def test_imports_from_every_zenml_module_path_become_engine_imports() -> None:
    source = textwrap.dedent("""\
        import os
        from zenml import step, pipeline  # keep this comment
        from zenml.client import Client
        from zenml.logger import get_logger
        from zenml.steps import get_step_context
        from zenml.enums import ArtifactType, ModelStages
        from zenml.model import ModelVersion
        from zenml.artifacts.artifact_config import ArtifactConfig
        from zenml.materializers.base_materializer import BaseMaterializer
        from zenml.config import (
            CachePolicy as Policy,
            CachePolicy,
        )
        import zenml

        def f():
            from zenml import log_metadata
            return zenml.step
        """)
    ported, leftovers = rewrite_source(source, "p.py")
    assert leftovers == []
    assert "zenml." not in ported.replace("zenml.step", "")
    assert "from engine import step, pipeline  # keep this comment\n" in ported
    assert "from engine import Client\n" in ported
    assert "from engine import Model as ModelVersion\n" in ported
    assert "from engine import CachePolicy as Policy, CachePolicy\n" in ported
    assert "import engine as zenml\n" in ported
    assert "    from engine import log_metadata\n" in ported
    assert ported.splitlines()[0] == "import os"
    assert rewrite_source(ported, "p.py") == (ported, [])  # idempotent


def test_every_name_port_writes_is_importable_from_engine() -> None:
    import engine
    from engine.porting import SUPPORTED

    assert [n for n in SUPPORTED.values() if not hasattr(engine, n)] == []


def test_integrations_and_removed_apis_are_listed_with_what_to_do() -> None:
    source = textwrap.dedent("""\
        from zenml import step
        from zenml.integrations.mlflow.flavors import MLFlowExperimentTrackerSettings
        from zenml.steps import BaseStepConfig, step as s2

        @step(experiment_tracker="mlflow")
        def train() -> None: ...
        """)
    ported, leftovers = rewrite_source(source, "steps.py")
    assert [(x.line, x.what) for x in leftovers] == [
        (2, "from zenml.integrations.mlflow.flavors import MLFlowExperimentTrackerSettings"),
        (3, "from zenml.steps import BaseStepConfig"),
        (5, "experiment_tracker="),
    ]
    assert "log_metadata" in leftovers[0].todo
    assert str(leftovers[1]).startswith("steps.py:3: from zenml.steps import BaseStepConfig — ")
    assert "from engine import step as s2\nfrom zenml.steps import BaseStepConfig\n" in ported


def test_port_writes_project_files_is_idempotent_and_refuses_a_dirty_tree(starter: Path) -> None:
    (starter / "run.py").write_text((starter / "run.py").read_text() + "\n# local edit\n")
    refused = mlx_cli(starter, "port")
    assert refused.returncode == 2
    assert "uncommitted change" in refused.stderr and "--force" in refused.stderr
    assert "from zenml.client import Client" in (starter / "run.py").read_text()
    git(starter, "checkout", "--", "run.py")

    first = mlx_cli(starter, "port")
    assert first.returncode == 0, first.stdout + first.stderr
    for created in ("mlx.toml", "stacks/local.toml", "models/breast_cancer_classifier.toml"):
        assert f"created  {created}" in first.stdout
    model = (starter / "models" / "breast_cancer_classifier.toml").read_text()
    assert 'description = "A breast cancer classifier"' in model
    assert "[gates]" in model and "[stages]" in model
    config = (starter / "mlx.toml").read_text()
    assert '"pipelines"' in config and 'promotion = "direct"' in config
    yaml_before = (starter / "configs" / "training_rf.yaml").read_text()
    commit_all(starter, "ported")

    second = mlx_cli(starter, "port")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing to change" in second.stdout
    assert git(starter, "status", "--porcelain") == ""
    assert (starter / "configs" / "training_rf.yaml").read_text() == yaml_before


def test_port_exits_1_and_lists_what_is_left(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "pipelines").mkdir(parents=True)
    (src / "pipelines" / "train.py").write_text(
        textwrap.dedent("""\
        from zenml import pipeline, step
        from zenml.integrations.slack.alerters.slack_alerter import SlackAlerter

        @step
        def one() -> int:
            return 1

        @pipeline
        def train() -> None:
            one()
        """)
    )
    (src / "config.yaml").write_text("steps:\n  one:\n    experiment_tracker: mlflow\n")
    root = copy_as_repo(src, tmp_path / "proj")
    proc = mlx_cli(root, "port")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "pipelines/train.py:2: from zenml.integrations.slack" in proc.stdout
    assert "on_failure" in proc.stdout
    assert "config.yaml:3: experiment_tracker:" in proc.stdout


@pytest.mark.parametrize("option", ["experiment_tracker", "step_operator"])
def test_unsupported_options_fail_at_definition_naming_what_to_use(option: str) -> None:
    from engine import pipeline, step
    from store.errors import ValidationError

    with pytest.raises(ValidationError, match=rf"{option}= is not supported; mlx has no"):

        @step(**{option: "mlflow"})
        def a() -> int:
            return 1

    with pytest.raises(ValidationError, match=rf"{option}= is not supported"):

        @pipeline(**{option: "x"})
        def p() -> None: ...
