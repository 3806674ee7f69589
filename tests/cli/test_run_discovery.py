"""Discovery through the real CLI: `mlx run X` imports only the module that defines X.

Unrelated modules under pipelines/ may be slow to import or broken: they cost nothing and
fail nothing unless they are the one needed; `mlx pipelines` lists them as warnings.
"""

from __future__ import annotations

from pathlib import Path

from tests.support import mlx_cli, mlx_ok, write_pipeline

SLOW = """
import time
from pathlib import Path

from engine import pipeline, step

Path({marker!r}).write_text("imported")
time.sleep(3)


@step
def nap() -> int:
    return 1


@pipeline
def slow() -> None:
    nap()
"""

TWIN = """
from engine import pipeline, step


@step
def one() -> int:
    return 1


@pipeline(name="twin")
def {function}() -> None:
    one()
"""


def _unrelated_modules(root: Path) -> Path:
    """pipelines/slow.py (sleeps 3 s and leaves a marker when imported) and pipelines/broken.py."""
    marker = root.parent / "slow-was-imported"
    write_pipeline(root, "slow", SLOW.format(marker=str(marker)))
    write_pipeline(root, "broken", "from engine import pipeline\n\n@pipeline\ndef broken(:\n")
    return marker


def test_run_imports_only_the_module_defining_the_pipeline(project_dir: Path) -> None:
    marker = _unrelated_modules(project_dir)

    proc = mlx_cli(project_dir, "run", "example", "--headless")

    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()  # pipelines/slow.py was never imported
    assert "broken" not in proc.stderr


def test_pipelines_lists_what_imports_and_warns_about_the_rest(project_dir: Path) -> None:
    marker = _unrelated_modules(project_dir)

    proc = mlx_ok(project_dir, "pipelines")

    assert [line.split()[0] for line in proc.stdout.splitlines()[1:]] == ["example", "slow"]
    assert "warning: pipelines/broken.py:4: SyntaxError" in proc.stderr
    assert marker.exists()  # listing verifies by importing


def test_a_pipeline_name_defined_twice_is_refused_naming_both_places(project_dir: Path) -> None:
    write_pipeline(project_dir, "first", TWIN.format(function="twin_a"))
    write_pipeline(project_dir, "second", TWIN.format(function="twin_b"))

    proc = mlx_cli(project_dir, "run", "twin", "--headless")
    listed = mlx_ok(project_dir, "pipelines")

    assert proc.returncode == 2
    assert "pipeline 'twin' is defined 2 times" in proc.stderr
    assert "pipelines/first.py:10 and pipelines/second.py:10" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "twin" not in listed.stdout and "defined 2 times" in listed.stderr
    mlx_ok(project_dir, "run", "example", "--headless")  # other pipelines still run


def test_the_needed_module_failing_to_import_exits_2_naming_it(project_dir: Path) -> None:
    write_pipeline(
        project_dir,
        "needy",
        """
        from engine import pipeline
        import not_a_module_anywhere


        @pipeline
        def needy() -> None:
            pass
        """,
    )

    proc = mlx_cli(project_dir, "run", "needy", "--headless")

    assert proc.returncode == 2
    assert "pipelines/needy.py" in proc.stderr
    assert "ModuleNotFoundError" in proc.stderr and "not_a_module_anywhere" in proc.stderr
    assert "(at pipelines/needy.py:2)" in proc.stderr
