"""The runs ref: sharded append-only records, compare-and-swap, and no side effects on the user's
repository (work tree, index, HEAD, branches), against real git repositories."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from _core_helpers import add_run

from store.gitobj import Git
from store.project import Project
from store.records import ArtifactVersionRecord, RunRecord, load_record
from store.runs_ref import RunsRef, TipView
from tests.support import assert_fsck_clean, commit_all, git, ref_paths

REF = "refs/mlx/runs"
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_commit_run_stores_run_under_two_hex_shard_and_artifacts_by_version(
    project: Project,
) -> None:
    run_id = "ab" + uuid.uuid4().hex[2:]
    committed = add_run(project.runs, run_id=run_id, artifacts=("model", "metrics"))

    paths = ref_paths(project.root)
    assert f"runs/ab/{run_id}.json" in paths
    assert {"artifacts/model/0/1.json", "artifacts/metrics/0/1.json"} <= set(paths)
    stored = load_record(RunRecord, project.runs.read(f"runs/ab/{run_id}.json") or b"")
    assert stored == committed.run
    assert {ref.version for ref in stored.steps[0].outputs.values()} == {1}


def test_second_append_keeps_earlier_records_and_numbers_next_version(project: Project) -> None:
    first = add_run(project.runs)
    second = add_run(project.runs)

    paths = ref_paths(project.root)
    assert f"runs/{first.run.id[:2]}/{first.run.id}.json" in paths
    assert f"runs/{second.run.id[:2]}/{second.run.id}.json" in paths
    assert [a.version for a in second.artifacts] == [2]
    record = load_record(
        ArtifactVersionRecord, project.runs.read("artifacts/model/0/2.json") or b""
    )
    assert record.id == second.artifacts[0].id
    assert git(project.root, "rev-list", "--count", REF).strip() == "2"


def test_update_ref_with_stale_old_value_returns_false_and_leaves_ref(project: Project) -> None:
    old_tip = project.runs.commit(lambda view: {"a.json": b"{}"}, "first")
    new_tip = project.runs.commit(lambda view: {"b.json": b"{}"}, "second")
    tree = project.git.commit_tree_of(new_tip)
    candidate = project.git.commit_tree(tree, [old_tip], "lost race")

    assert project.git.update_ref(REF, candidate, old_tip) is False
    assert project.runs.tip() == new_tip
    assert project.git.update_ref(REF, candidate, None) is False  # "must not exist" is stale too
    assert project.runs.tip() == new_tip


def test_update_ref_with_current_old_value_moves_ref(project: Project) -> None:
    tip = project.runs.commit(lambda view: {"a.json": b"{}"}, "first")
    child = project.git.commit_tree(project.git.commit_tree_of(tip), [tip], "next")

    assert project.git.update_ref(REF, child, tip) is True
    assert project.runs.tip() == child


def test_commit_rebuilds_onto_a_tip_that_moved_during_build(project: Project) -> None:
    base = project.runs.commit(lambda view: {"base.json": b"1"}, "base")
    rival = RunsRef(Git(project.root), REF)
    seen: list[str | None] = []

    def build(view: TipView) -> dict[str, bytes]:
        seen.append(view.tip)
        if len(seen) == 1:  # another writer wins the race while we build
            rival.commit(lambda v: {"rival.json": b"2"}, "rival")
        return {"mine.json": b"3"}

    mine = project.runs.commit(build, "mine")

    rival_tip = git(project.root, "rev-parse", f"{mine}^").strip()
    assert seen[0] == base and seen[1] == rival_tip and len(seen) == 2
    assert git(project.root, "rev-parse", f"{rival_tip}^").strip() == base
    assert project.runs.tip() == mine
    assert {"base.json", "rival.json", "mine.json"} <= set(ref_paths(project.root))


def test_view_next_number_counts_existing_and_taken_numbers(project: Project) -> None:
    add_run(project.runs, artifacts=("model",))
    add_run(project.runs, artifacts=("model",))
    view = project.runs.view()

    assert view.names("artifacts/model/0") == ["1.json", "2.json"]
    assert view.next_number("artifacts/model") == 3
    assert view.next_number("artifacts/model", {3, 7}) == 8
    assert view.next_number("artifacts/absent") == 1
    assert view.read("artifacts/model/0/9.json") is None


_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path[:0] = [{repo!r}, {helpers!r}]
    from store.project import Project
    from _core_writer import add_runs
    go = Path({go!r})
    while not go.exists():
        time.sleep(0.005)
    add_runs(Project(Path({root!r})), 10)
    """
)


def test_commit_run_numbers_never_repeat_under_four_concurrent_processes(
    project: Project, tmp_path: Path
) -> None:
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "_core_writer.py").write_text(
        textwrap.dedent(
            """
            import uuid
            from datetime import UTC, datetime
            from store.recorder import commit_run
            from store.records import ArtifactRef, RunRecord, StepRecord

            def add_runs(project, count):
                for _ in range(count):
                    run_id, art_id, now = uuid.uuid4().hex, uuid.uuid4().hex, datetime.now(UTC)
                    draft = {
                        "id": art_id, "name": "shared", "type": "builtins.int",
                        "materializer": "engine.materializers.JsonMaterializer",
                        "pointer": {"md5": art_id, "size": 1}, "run_id": run_id,
                        "step": "make", "created_at": now.isoformat(),
                    }
                    step = StepRecord(name="make", status="completed",
                                      outputs={"shared": ArtifactRef(id=art_id, name="shared")})
                    run = RunRecord(id=run_id, pipeline="race", status="completed",
                                    started_at=now, finished_at=now, steps=[step])
                    commit_run(project.runs, run, [draft])
            """
        )
    )
    go = tmp_path / "go"
    script = _WRITER.format(repo=str(REPO_ROOT), helpers=str(helpers), go=str(go),
                            root=str(project.root))  # fmt: skip
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    go.touch()
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors

    paths = ref_paths(project.root)
    runs = [p for p in paths if p.startswith("runs/")]
    versions = sorted(int(Path(p).stem) for p in paths if p.startswith("artifacts/shared/"))
    assert len(runs) == 40
    assert versions == list(range(1, 41))
    ids = set()
    for number in versions:
        record = json.loads(project.runs.read(f"artifacts/shared/0/{number}.json") or b"")
        assert record["version"] == number
        ids.add(record["id"])
        run = json.loads(project.runs.read(f"runs/{record['run_id'][:2]}/{record['run_id']}.json")
                         or b"")  # fmt: skip
        assert run["steps"][0]["outputs"]["shared"] == {
            "id": record["id"], "name": "shared", "version": number}  # fmt: skip
    assert len(ids) == 40
    assert git(project.root, "rev-list", "--count", REF).strip() == "40"
    assert_fsck_clean(project.root)


def test_appends_leave_fsck_strict_clean(project: Project) -> None:
    for _ in range(5):
        add_run(project.runs, artifacts=("model", "data"))

    assert_fsck_clean(project.root)
    assert git(project.root, "cat-file", "-t", REF).strip() == "commit"


def _repo_state(repo: Path) -> dict[str, str]:
    status = git(repo, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all")
    return {
        "head": git(repo, "rev-parse", "HEAD"),
        "symbolic": git(repo, "symbolic-ref", "HEAD"),
        "branches": git(repo, "for-each-ref", "refs/heads", "refs/tags"),
        "status": status,
        "index": hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest(),
        "stash": git(repo, "stash", "list"),
    }


def test_appends_leave_work_tree_index_head_and_branches_untouched(project_dir: Path) -> None:
    commit_all(project_dir, "user commit")
    git(project_dir, "branch", "feature")
    (project_dir / "mlx.toml").write_text((project_dir / "mlx.toml").read_text() + "# edited\n")
    (project_dir / "staged.txt").write_text("staged\n")
    git(project_dir, "add", "staged.txt")
    (project_dir / "untracked.txt").write_text("untracked\n")
    git(project_dir, "status")  # refresh the index's stat data before the snapshot
    before = _repo_state(project_dir)
    assert before["status"].strip()  # the snapshot holds real changes to protect

    project = Project(project_dir)
    for _ in range(3):
        add_run(project.runs)

    assert _repo_state(project_dir) == before
    assert (project_dir / "staged.txt").read_text() == "staged\n"


def test_append_in_repo_without_commit_leaves_head_unborn(project: Project) -> None:
    assert project.git.head_commit() is None
    before = git(project.root, "--no-optional-locks", "status", "--porcelain")

    add_run(project.runs)

    assert project.runs.tip() is not None
    proc = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=project.root,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode != 0
    assert git(project.root, "for-each-ref", "refs/heads") == ""
    assert git(project.root, "--no-optional-locks", "status", "--porcelain") == before


def test_append_works_without_any_git_identity(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("GIT_") and k != "GIT_CONFIG_NOSYSTEM"]:
        monkeypatch.delenv(key)
    empty_home = tmp_path / "empty-home"
    empty_home.mkdir()
    monkeypatch.setenv("HOME", str(empty_home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("EMAIL", "")
    # and forbid guessing one from the user name and host name
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "user.useConfigOnly")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "true")
    plain = subprocess.run(["git", "commit", "--allow-empty", "-qm", "x"], cwd=project_dir,
                           capture_output=True, text=True)  # fmt: skip
    assert plain.returncode != 0  # a plain commit needs an identity here

    project = Project(project_dir)
    committed = add_run(project.runs)

    assert project.runs.tip() is not None
    author = git(project_dir, "log", "-1", "--format=%an <%ae>|%cn <%ce>", REF).strip()
    assert author == "mlx <mlx@localhost>|mlx <mlx@localhost>"
    assert project.runs.read(f"runs/{committed.run.id[:2]}/{committed.run.id}.json")
    from engine.discovery import get_pipeline
    from engine.runner import run_pipeline

    example = get_pipeline(project, "example")
    assert run_pipeline(project, example, example.bind((), {})).status == "completed"
    assert_fsck_clean(project_dir)
