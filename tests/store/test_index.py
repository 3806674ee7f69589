"""The SQLite index under .git/mlx: a derived cache of the runs ref that catches up, rebuilds
and never outranks the ref."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from _core_helpers import add_run

from store.errors import MlxWarning, NotFoundError, ValidationError
from store.index import Index
from store.project import Project
from tests.support import git

REF = "refs/mlx/runs"


def _fresh_index(project: Project) -> Index:
    return Index(project.state_dir / "index.sqlite", project.runs)


def _snapshot(index: Index) -> tuple[object, ...]:
    return (
        index.list_runs(),
        index.artifact_names(),
        index.artifact_versions("model"),
        index.steps_with_key("key-1"),
        index.pipelines(),
    )


def test_index_catches_up_with_new_commits_incrementally(project: Project) -> None:
    first = add_run(project.runs, pipeline="a")
    index = project.index
    assert [r.id for r in index.list_runs()] == [first.run.id]
    # a row only the old index has: a rebuild would drop it, an incremental catch-up keeps it
    index.db.execute("INSERT INTO artifacts VALUES ('sentinel','sentinel',1,'','','','{}')")

    second = add_run(project.runs, pipeline="b")
    other = Index(index.path, project.runs)  # a second reader of the same file, e.g. the TUI

    assert {r.id for r in other.list_runs()} == {first.run.id, second.run.id}
    assert ("sentinel", 1, 1) in other.artifact_names()
    assert other.db.execute("SELECT value FROM meta WHERE key='tip'").fetchone()[0] == (
        project.runs.tip())  # fmt: skip
    assert index.pipelines() == ["a", "b"]  # the first reader catches up too


def test_index_rebuilt_after_file_deleted_gives_same_results(project: Project) -> None:
    for n in range(3):
        add_run(project.runs, pipeline=f"p{n % 2}", cache_key="key-1")
    index = project.index
    before = _snapshot(index)
    assert len(before[0]) == 3 and len(before[3]) == 3  # type: ignore[arg-type]
    index.db.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(index.path) + suffix).unlink(missing_ok=True)

    rebuilt = _fresh_index(project)

    assert _snapshot(rebuilt) == before
    assert rebuilt.path.is_file()


def test_corrupt_index_file_is_rebuilt_from_the_ref(project: Project) -> None:
    run = add_run(project.runs).run
    index = project.index
    assert index.count_runs() == 1
    index.db.close()
    for suffix in ("-wal", "-shm"):
        Path(str(index.path) + suffix).unlink(missing_ok=True)
    index.path.write_bytes(b"this is not a database" * 200)

    with pytest.warns(MlxWarning, match="was unreadable .*; rebuilt it"):
        rebuilt = _fresh_index(project)
        assert [r.id for r in rebuilt.list_runs()] == [run.id]
    assert rebuilt.artifact_json("model")["version"] == 1


def test_index_forgets_everything_when_the_ref_is_deleted(project: Project) -> None:
    add_run(project.runs)
    assert project.index.count_runs() == 1
    git(project.root, "update-ref", "-d", REF)

    assert _fresh_index(project).list_runs() == []
    assert project.index.artifact_names() == []


def test_run_id_prefix_resolves_to_the_full_id(project: Project) -> None:
    target = "abc1" + uuid.uuid4().hex[4:]
    add_run(project.runs, run_id=target)
    add_run(project.runs, run_id="abd2" + uuid.uuid4().hex[4:])

    assert project.index.resolve_run_id("abc") == target
    assert project.index.resolve_run_id(target) == target
    assert project.index.run_json("abc1")["id"] == target


def test_ambiguous_run_id_prefix_is_rejected_with_candidates(project: Project) -> None:
    add_run(project.runs, run_id="abc1" + uuid.uuid4().hex[4:])
    add_run(project.runs, run_id="abc2" + uuid.uuid4().hex[4:])

    with pytest.raises(
        ValidationError, match=r"run id prefix 'abc' is ambiguous \(abc[12].*abc[12]"
    ):
        project.index.resolve_run_id("abc")


def test_unknown_run_raises_not_found_with_did_you_mean(project: Project) -> None:
    add_run(project.runs, run_id="abcdef12" + uuid.uuid4().hex[8:])

    with pytest.raises(NotFoundError, match=r"unknown run 'abcdef13'; did you mean 'abcdef12'\?"):
        project.index.resolve_run_id("abcdef13")


def test_unknown_artifact_version_lists_known_versions(project: Project) -> None:
    add_run(project.runs, artifacts=("model",))
    add_run(project.runs, artifacts=("model",))

    with pytest.raises(NotFoundError, match=r"unknown version of artifact 'model' '7'.*1, 2"):
        project.index.artifact_json("model", 7)
    with pytest.raises(NotFoundError, match=r"unknown artifact 'modle'; did you mean 'model'"):
        project.index.artifact_json("modle")


def test_index_lists_runs_by_pipeline_and_status(project: Project) -> None:
    done = add_run(project.runs, pipeline="train").run
    failed = add_run(project.runs, pipeline="train", status="failed").run
    add_run(project.runs, pipeline="infer")

    assert [r.id for r in project.index.list_runs(pipeline="train", status="failed")] == [
        failed.id]  # fmt: skip
    assert {r.id for r in project.index.list_runs(pipeline="train")} == {done.id, failed.id}
    assert project.index.count_runs() == 3


def test_index_file_lives_under_git_mlx_not_the_work_tree(project: Project) -> None:
    status = git(project.root, "status", "--porcelain", "--untracked-files=all")
    add_run(project.runs)
    project.index.list_runs()

    assert project.index.path == project.root / ".git" / "mlx" / "index.sqlite"
    db = sqlite3.connect(project.index.path)
    assert db.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    assert git(project.root, "status", "--porcelain", "--untracked-files=all") == status


def test_threads_sharing_one_index_wait_for_each_other_and_never_rebuild_it(
    project: Project,
) -> None:
    import threading
    import time

    for _ in range(3):
        add_run(project.runs)
    index = project.index
    rebuilt: list[str] = []
    errors: list[BaseException] = []
    original = index.rebuild
    index.rebuild = lambda reason: (rebuilt.append(reason), original(reason))[1]  # type: ignore[method-assign]

    start = threading.Barrier(5)

    def read() -> None:
        start.wait()
        try:
            for _ in range(300):
                assert len(index.list_runs()) == 3
                assert index.artifact_json("model")["version"] == 3
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(4)]

    def close() -> None:
        start.wait()
        while any(reader.is_alive() for reader in readers):
            index.close()  # as the app does on exit while a worker still reads
            time.sleep(0)

    threads = [*readers, threading.Thread(target=close)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and rebuilt == []
