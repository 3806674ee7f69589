"""Static pipeline discovery: what reading finds, and what importing verifies."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from engine.discovery import get_pipeline, list_pipelines, scan_pipelines
from store.errors import ConfigError, NotFoundError
from store.project import Project

FORMS = """
import engine
import engine as mlx
from engine import pipeline, step
from engine import pipeline as pl

decorate = staticmethod  # a decorator that is not the pipeline one
@step
def one() -> int:
    return 1


@pipeline
def bare() -> None:
    one()


@pipeline()
def called() -> None:
    one()


@pl(name="renamed")
def aliased() -> None:
    one()


@mlx.pipeline(enable_cache=False)
def via_module_alias() -> None:
    one()


if True:
    @engine.pipeline
    def in_a_block() -> None:
        one()


@decorate
def not_a_pipeline() -> None:
    one()
"""


def _write(root: Path, relative: str, source: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")


def test_the_scan_finds_every_decorator_form_with_file_and_line(project: Project) -> None:
    _write(project.root, "pipelines/forms.py", FORMS)

    sites = {name: s[0].where for name, s in scan_pipelines(project).sites.items()}

    assert sites == {
        "example": sites["example"],  # the scaffold's pipelines/__init__.py
        "bare": "pipelines/forms.py:13",
        "called": "pipelines/forms.py:18",
        "renamed": "pipelines/forms.py:23",
        "via_module_alias": "pipelines/forms.py:28",
        "in_a_block": "pipelines/forms.py:34",
    }
    assert "pipelines.forms" not in sys.modules  # read, not imported


def test_a_pipeline_in_a_subpackage_is_found_and_imported_alone(project: Project) -> None:
    _write(project.root, "pipelines/deep/__init__.py", "")
    _write(project.root, "pipelines/deep/inner.py", FORMS)
    _write(project.root, "pipelines/other.py", "from engine import pipeline\nraise SystemExit(3)\n")

    found = get_pipeline(project, "renamed")

    assert found.name == "renamed" and found.entrypoint.__name__ == "aliased"
    assert "pipelines.deep.inner" in sys.modules and "pipelines.other" not in sys.modules


def test_a_pipeline_made_without_a_literal_decorator_is_found_by_importing(
    project: Project,
) -> None:
    _write(
        project.root,
        "pipelines/made.py",
        """
        from engine import pipeline, step

        NAME = "made"


        @step
        def one() -> int:
            return 1


        def body() -> None:
            one()


        made = pipeline(name=NAME)(body)
        """,
    )

    scan = scan_pipelines(project)
    found = get_pipeline(project, "made")

    assert "made" not in scan.sites and scan.dynamic == [("pipelines.made", "pipelines/made.py")]
    assert found.name == "made"
    assert "made" in list_pipelines(project).pipelines


def test_a_site_that_is_no_pipeline_after_import_is_refused_at_its_line(project: Project) -> None:
    _write(
        project.root,
        "pipelines/shadow.py",
        """
        from engine import pipeline


        def pipeline(func):  # shadows the import: this is not an mlx pipeline
            return func


        @pipeline
        def shadowed() -> None:
            pass
        """,
    )

    with pytest.raises(ConfigError, match=r"pipelines/shadow.py:9: @pipeline 'shadowed' is not"):
        get_pipeline(project, "shadowed")


def test_an_unknown_name_lists_the_known_ones(project: Project) -> None:
    with pytest.raises(NotFoundError, match=r"unknown pipeline 'exampel'; did you mean 'example'"):
        get_pipeline(project, "exampel")
