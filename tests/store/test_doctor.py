"""`mlx doctor` on a healthy project and on each kind of problem (real git, DVC, CLI)."""

from __future__ import annotations

import pytest
from _repo_helpers import Sandbox, record_model_version

from store.doctor import diagnose
from store.errors import MlxWarning
from store.sync import push
from tests.support import git, mlx_cli


def test_a_healthy_project_passes_every_check(box: Sandbox) -> None:
    work = box.project()
    record_model_version(work, "iris", {"accuracy": 0.95})
    push(work)
    proc = mlx_cli(box.work, "doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [line.split()[:2] for line in proc.stdout.splitlines()[:5]] == [
        ["refs", "ok"], ["records", "ok"], ["bytes", "ok"], ["stages", "ok"], ["config", "ok"],
    ]  # fmt: skip


def test_doctor_finds_each_problem_and_says_what_to_do(box: Sandbox) -> None:
    work = box.project()
    made = record_model_version(work, "iris", {"accuracy": 0.95})
    lost = made.artifacts[0].pointer.md5
    (work.artifacts.cache_dir / "files" / "md5" / lost[:2] / lost[2:]).unlink()  # never pushed
    text = (box.work / "models" / "iris.toml").read_text()
    (box.work / "models" / "iris.toml").write_text(text.replace("production = 1", "production = 9"))
    (box.work / "stacks").mkdir()
    (box.work / "stacks" / "broken.toml").write_text("[orchestrator\n")
    git(box.work, "add", "-A")
    git(box.work, "commit", "-qm", "damage")

    def bad(view: object) -> dict[str, bytes]:
        return {"runs/ab/abcdef.json": b'{"not": "a run"}'}

    work.runs.commit(bad, "a hand-made record")
    with pytest.warns(MlxWarning, match="skipped invalid record runs/ab/abcdef.json"):
        report = diagnose(box.project())
    assert {f.check for f in report.findings} == {"records", "bytes", "stages", "config"}
    assert any(lost in f.problem for f in report.failed("bytes"))
    assert any("production = 9" in f.problem for f in report.failed("stages"))
    assert any("runs/ab/abcdef.json" in f.problem for f in report.failed("records"))
    proc = mlx_cli(box.work, "doctor")
    assert proc.returncode == 1
    assert "bytes   FAIL" in proc.stdout and "-> run `mlx push`" in proc.stdout


def test_a_provisional_stage_line_is_reported(box: Sandbox) -> None:
    work = box.project()
    record_model_version(work, "iris", {"accuracy": 0.95})  # v1, not pushed: provisional
    findings = diagnose(box.project()).failed("stages")
    assert [f.problem for f in findings] == [
        "models/iris.toml: production = 1 names provisional v1*: a merge may renumber it"
    ]


def test_a_corrupt_runs_ref_fails_the_refs_check_with_exit_1(box: Sandbox) -> None:
    work = box.project()
    record_model_version(work, "iris", {"accuracy": 0.95})
    tip = work.runs.tip()
    assert tip is not None
    record = next(b for p, b in work.git.ls_tree(tip) if p.startswith("runs/"))
    loose = box.work / ".git" / "objects" / record[:2] / record[2:]
    assert loose.is_file()  # records are written as loose objects
    loose.unlink()
    assert not work.git.run_ok("fsck", "--no-dangling", "refs/mlx/runs")
    proc = mlx_cli(box.work, "doctor")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "refs    FAIL" in proc.stdout
    assert record in proc.stdout
    assert "Traceback" not in proc.stderr


def test_objects_without_a_pointer_file_on_the_runs_ref_are_reported_until_a_push(
    box: Sandbox,
) -> None:
    work = box.project()
    record_model_version(work, "iris", {"accuracy": 0.95})
    push(work)
    assert diagnose(box.project()).ok
    tip = work.runs.tip()
    assert tip is not None
    dvc_paths = [p for p, _ in work.git.ls_tree(tip, "dvc")]
    tree = work.git.update_tree(work.git.commit_tree_of(tip), dict.fromkeys(dvc_paths))
    older = work.git.commit_tree(tree, [], "as an older mlx left it")
    git(box.work, "update-ref", "refs/mlx/runs", older, tip)
    found = diagnose(box.project()).failed("bytes")
    assert [f.problem for f in found] == [
        f"{len(dvc_paths)} object(s) of older records have no DVC pointer file on the runs ref, "
        "so `dvc gc --rev refs/mlx/runs` would delete them"
    ]
    assert mlx_cli(box.work, "push").returncode == 0
    assert diagnose(box.project()).ok
