"""What a run records: code commit and dirtiness, parameters, stack, timings, step logs, and
deduplicated artifact bytes — and that recording touches nothing of the user's checkout."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import pytest
from _engine_helpers import read_run, run, statuses
from _engine_helpers import step as step_of

from engine import Client, pipeline, step
from store.project import Project
from store.records import DvcPointer
from tests.support import cache_objects, commit_all, fsck_problems, git, mlx_cli, worktree_state


@step
def make(n: int) -> Annotated[list[int], "nums"]:
    return list(range(n))


@step
def chatty(nums: list[int], label: str = "x") -> Annotated[int, "counted"]:
    print(f"printed {label} {len(nums)}")
    print("to stderr", file=sys.stderr)
    logging.getLogger("user.code").info("logged %s", label)
    return len(nums)


@pipeline(tags=["nightly"])
def recorded(n: int = 3, label: str = "x") -> None:
    chatty(make(n), label=label)


def test_run_records_head_commit_branch_and_clean_tree(project_dir: Path) -> None:
    head = commit_all(project_dir)
    record = run(Project(project_dir), recorded)

    assert record.code.commit == head
    assert record.code.dirty is False
    assert record.code.branch == "main"


def test_modified_tracked_file_marks_the_run_dirty(project_dir: Path) -> None:
    commit_all(project_dir)
    path = project_dir / "pipelines" / "__init__.py"
    path.write_text(path.read_text() + "\n# local experiment\n")

    record = run(Project(project_dir), recorded)

    assert record.code.dirty is True
    assert read_run(Project(project_dir), record.id)["code"]["dirty"] is True


def test_untracked_file_does_not_mark_the_run_dirty(project_dir: Path) -> None:
    commit_all(project_dir)
    (project_dir / "notes.txt").write_text("scratch\n")

    assert run(Project(project_dir), recorded).code.dirty is False


def test_run_without_any_commit_records_no_code_commit(project: Project) -> None:
    record = run(project, recorded)

    assert record.code.commit is None and record.code.patch is None
    assert record.code.dirty is True and "pipelines/__init__.py" in record.code.dirty_files


def test_run_records_parameters_stack_tags_and_per_step_timings(project: Project) -> None:
    record = run(project, recorded, n=4, label="hello")
    stored = read_run(project, record.id)

    assert stored["status"] == "completed"
    assert stored["parameters"] == {"n": 4, "label": "hello"}
    assert stored["stack"] == "local" and stored["orchestrator"] == "local"
    assert stored["tags"] == ["nightly"]
    assert stored["pipeline"] == "recorded"
    assert [s["name"] for s in stored["steps"]] == ["make", "chatty"]
    assert step_of(record, "chatty").upstream == ["make"]
    assert step_of(record, "chatty").parameters == {"label": "hello"}
    for s in record.steps:
        assert s.started_at is not None and s.finished_at is not None
        assert s.started_at <= s.finished_at
        assert s.duration is not None and s.duration >= 0
    assert record.started_at <= record.steps[0].started_at  # type: ignore[operator]
    assert record.finished_at is not None and record.finished_at >= record.steps[-1].finished_at  # type: ignore[operator]


def test_print_and_logging_inside_a_step_are_stored_as_its_log(project: Project) -> None:
    record = run(project, recorded, label="hello")

    log = step_of(record, "chatty").log
    assert log is not None
    text = project.artifacts.read_bytes(DvcPointer(**log.model_dump())).decode()
    assert "printed hello 3" in text
    assert "to stderr" in text
    assert "INFO user.code: logged hello" in text
    other = step_of(record, "make").log
    assert other is None or "printed" not in project.artifacts.read_bytes(other).decode()


def test_step_output_does_not_leak_to_the_test_process(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    run(project, recorded, label="quiet")

    assert "printed quiet" not in capsys.readouterr().out


@step
def same_a() -> Annotated[list[int], "copy_a"]:
    return [1, 2, 3]


@step
def same_b() -> Annotated[list[int], "copy_b"]:
    return [1, 2, 3]


@pipeline
def twins() -> None:
    same_a()
    same_b()


def test_identical_outputs_are_two_versions_stored_once_in_the_dvc_cache(
    project: Project,
) -> None:
    run(project, twins)

    a = Client(project).get_artifact_version("copy_a").record
    b = Client(project).get_artifact_version("copy_b").record
    assert a.id != b.id
    assert a.pointer.md5 == b.pointer.md5
    objects = cache_objects(project.root)
    assert a.pointer.md5 in objects
    digests = [hashlib.md5(p.read_bytes()).hexdigest() for p in objects.values()]
    assert digests.count(a.pointer.md5) == 1


def test_run_leaves_head_branches_and_work_tree_untouched(project_dir: Path) -> None:
    commit_all(project_dir)
    (project_dir / "mlx.toml").write_text((project_dir / "mlx.toml").read_text() + "# wip\n")
    git(project_dir, "status")
    before = worktree_state(project_dir)

    run(Project(project_dir), recorded)

    after = worktree_state(project_dir)
    assert {k: after[k] for k in ("head", "branches", "status")} == {
        k: before[k] for k in ("head", "branches", "status")}  # fmt: skip
    assert fsck_problems(project_dir) == []


def test_run_does_not_rewrite_the_git_index_file(project_dir: Path) -> None:
    # regression: `git status` refreshing stale stat data used to rewrite .git/index
    commit_all(project_dir)
    path = project_dir / "pipelines" / "__init__.py"
    stamp = path.stat().st_mtime - 1000
    os.utime(path, (stamp, stamp))  # same content, new mtime: the index's stat data is stale
    before = worktree_state(project_dir)
    assert before["status"] == ""

    run(Project(project_dir), recorded)

    assert worktree_state(project_dir)["index"] == before["index"]


def test_run_is_listed_by_the_cli_with_its_steps(project: Project) -> None:
    record = run(project, recorded)
    proc = mlx_cli(project.root, "runs", "list", "--json")

    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [(r["id"], r["status"], r["steps_total"], r["steps_done"]) for r in rows] == [
        (record.id, "completed", 2, 2)]  # fmt: skip
    assert statuses(record) == {"make": "completed", "chatty": "completed"}
