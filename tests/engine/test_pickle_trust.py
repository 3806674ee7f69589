"""Pickle loads need this clone's authorship or an explicit opt-in; the app never unpickles."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from engine import Client, save_artifact
from store.project import Project
from store.trust import ENV_ALLOW_PICKLE, UntrustedPickleError


class Opaque:
    """A type no materializer knows: it is pickled."""

    def __init__(self, value: int) -> None:
        self.value = value


def _pickled(project: Project, name: str = "blob") -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save_artifact(Opaque(7), name, project=project)


def _as_if_from_another_clone(project: Project) -> None:
    (project.state_dir / "authored-pickles").unlink()


def test_a_pickle_this_clone_made_loads_without_opting_in(project: Project) -> None:
    _pickled(project)
    assert Client(project).get_artifact_version("blob").load().value == 7


def test_a_pickle_from_another_clone_is_refused_naming_its_run_and_the_opt_ins(
    project: Project,
) -> None:
    _pickled(project)
    _as_if_from_another_clone(project)
    view = Client(project).get_artifact_version("blob")

    with pytest.raises(UntrustedPickleError, match="blob:1 is a pickle saved outside") as info:
        view.load()
    message = str(info.value)
    assert "load(allow_pickle=True)" in message and "allow_pickle_from" in message
    assert ENV_ALLOW_PICKLE in message
    assert view.load(allow_pickle=True).value == 7


def test_the_environment_variable_opts_in_for_ci(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pickled(project)
    _as_if_from_another_clone(project)
    monkeypatch.setenv(ENV_ALLOW_PICKLE, "other,bl*")
    assert Client(project).get_artifact_version("blob").load().value == 7


def test_the_project_setting_opts_in_by_artifact_name(project_dir: Path) -> None:
    (project_dir / "mlx.toml").write_text(
        (project_dir / "mlx.toml").read_text() + '\n[security]\nallow_pickle_from = ["blob"]\n'
    )
    project = Project(project_dir)
    _pickled(project)
    _pickled(project, "other")
    _as_if_from_another_clone(project)
    assert Client(project).get_artifact_version("blob").load().value == 7
    with pytest.raises(UntrustedPickleError):
        Client(project).get_artifact_version("other").load()


def test_the_app_never_unpickles_to_preview(project: Project) -> None:
    from tui.services import Services

    _pickled(project)
    record = project.index.artifact_json("blob")
    preview = Services(project).preview_data(record)
    assert preview.kind == "note" and "not previewed, loading it would run code" in preview.caption
