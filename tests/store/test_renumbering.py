"""The renumbering scenario end to end: stage lines, promotion branches and PR text keep
naming the content their author meant, or the command fails loudly (real clones, bare origin,
local DVC remote, real `mlx` processes)."""

from __future__ import annotations

from pathlib import Path

from _repo_helpers import Sandbox, record_model_version

from store.project import Project
from store.renumbering import run_trailer, version_of_run
from tests.support import git, mlx_cli

GOOD = {"accuracy": 0.95}


def stage_line(repo: Path, rev: str, stage: str) -> int:
    text = git(repo, "show", f"{rev}:models/iris.toml")
    line = next(ln for ln in text.splitlines() if ln.startswith(f"{stage} ="))
    return int(line.split("=")[1].split("#")[0])


def legacy_promotion(repo: Path, branch: str | None, stage: str, version: int, run: str) -> None:
    """What an older mlx wrote: a stage line naming a provisional number (with its run)."""
    if branch:
        git(repo, "checkout", "-q", "-b", branch)
    path = repo / "models" / "iris.toml"
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith(f"{stage} =")]
    lines.append(f"{stage} = {version}")
    path.write_text("\n".join(lines) + "\n")
    message = f"mlx: promote iris v{version} to {stage}\n\nMlx-Run: {run}\n"
    git(repo, "commit", "-q", "-am", message)
    if branch:
        git(repo, "checkout", "-q", "main")


def test_renumbering_never_silently_repoints_stage_lines_or_branches(box: Sandbox) -> None:
    a = box.project()
    b_root = box.clone("b")
    b = Project(b_root)
    for _ in range(3):
        record_model_version(a, "iris", GOOD)
    assert mlx_cli(box.work, "push").returncode == 0
    mine = [record_model_version(b, "iris", GOOD).run.id for _ in range(3)]
    legacy_promotion(b_root, "mlx/promote/iris/v2-production", "production", 2, mine[1])
    legacy_promotion(b_root, None, "staging", 3, mine[2])

    pushed = mlx_cli(b_root, "push")
    assert pushed.returncode == 1, pushed.stdout + pushed.stderr
    for old, new in ((1, 4), (2, 5), (3, 6)):
        assert f"model iris v{old} -> v{new}" in pushed.stdout
    assert ("rewrote unpushed promotion branch mlx/promote/iris/v2-production -> "
            "mlx/promote/iris/v5-production") in pushed.stdout  # fmt: skip
    assert "main: models/iris.toml sets staging = 3" in pushed.stderr
    assert "mlx model promote iris 6 --to staging --direct --force" in pushed.stderr
    assert {v["run_id"]: v["version"] for v in b.index.model_versions("iris")}[mine[2]] == 6

    # the rewritten branch names B's content under its final number; its PR subject follows
    branch = "mlx/promote/iris/v5-production"
    assert git(b_root, "branch", "--list", "mlx/promote/iris/v2-production") == ""
    assert stage_line(b_root, branch, "production") == 5
    assert git(b_root, "log", "-1", "--format=%s", branch) == "mlx: promote iris v5 to production"
    assert version_of_run(b, "iris", run_trailer(b, branch) or "") == 5
    checked = mlx_cli(b_root, "promotion", "check", "--base", "main", "--head", branch)
    assert checked.returncode == 0, checked.stdout

    # the stale stage line at HEAD: the printed fix works
    fixed = mlx_cli(b_root, "model", "promote", "iris", "6", "--to", "staging", "--direct",
                    "--force")  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr
    assert stage_line(b_root, "HEAD", "staging") == 6
    assert version_of_run(b, "iris", run_trailer(b, "HEAD") or "") == 6


def test_a_promotion_publishes_provisional_versions_first_and_uses_the_final_number(
    box: Sandbox,
) -> None:
    a = box.project()
    b_root = box.clone("b")
    b = Project(b_root)
    run = record_model_version(b, "iris", GOOD).run.id  # B's provisional v1
    record_model_version(a, "iris", GOOD)  # A's v1, published first
    assert mlx_cli(box.work, "push").returncode == 0

    proc = mlx_cli(b_root, "model", "promote", "iris", "1", "--to", "staging")
    assert proc.returncode == 0, proc.stderr
    assert "published the runs to origin first" in proc.stderr
    assert "model iris v1 -> v2" in proc.stderr
    assert "iris v1 is v2 now that it is published" in proc.stderr
    branch = "mlx/promote/iris/v2-staging"
    assert stage_line(b_root, branch, "staging") == 2
    assert run_trailer(b, branch) == run
    assert "v2" in proc.stdout and "v1 " not in proc.stdout.split("###")[0]  # PR text
    assert git(box.origin, "rev-parse", "refs/mlx/runs") == b.runs.tip()


def test_promotion_check_fails_when_the_stage_line_is_not_its_runs_version(
    box: Sandbox,
) -> None:
    work = box.project()
    runs = [record_model_version(work, "iris", GOOD).run.id for _ in range(2)]
    assert mlx_cli(box.work, "push").returncode == 0
    legacy_promotion(box.work, "tampered", "staging", 1, runs[1])  # run 2 made v2, not v1
    proc = mlx_cli(box.work, "promotion", "check", "--base", "main", "--head", "tampered")
    assert proc.returncode == 1
    assert "promoted run" in proc.stdout and "which is v2" in proc.stdout


def test_without_any_git_remote_numbers_are_final_and_nothing_is_pushed(box: Sandbox) -> None:
    work = box.project()
    git(box.work, "remote", "remove", "origin")
    record_model_version(work, "iris", GOOD)
    proc = mlx_cli(box.work, "model", "promote", "iris", "1", "--to", "staging")
    assert proc.returncode == 0, proc.stderr
    assert "published" not in proc.stderr
    assert stage_line(box.work, "mlx/promote/iris/v1-staging", "staging") == 1


def test_a_rewritten_promotion_branch_carries_a_regenerated_pull_request_text(
    box: Sandbox,
) -> None:
    a = box.project()
    b_root = box.clone("b")
    b = Project(b_root)
    record_model_version(a, "iris", GOOD)
    record_model_version(a, "iris", GOOD)
    assert mlx_cli(box.work, "push").returncode == 0
    git(b_root, "remote", "remove", "origin")  # no git remote: numbers are final here
    record_model_version(b, "iris", GOOD)
    run = record_model_version(b, "iris", GOOD).run.id  # B's v2
    made = mlx_cli(b_root, "model", "promote", "iris", "2", "--to", "staging")
    assert made.returncode == 0, made.stderr
    old = "mlx/promote/iris/v2-staging"
    assert "## Promote `iris` v2 to `staging`" in git(b_root, "log", "-1", "--format=%b", old)
    git(b_root, "remote", "add", "origin", str(box.origin))

    pushed = mlx_cli(b_root, "push")
    assert f"rewrote unpushed promotion branch {old} -> mlx/promote/iris/v4-staging" in (
        pushed.stdout
    ), pushed.stdout + pushed.stderr
    new = "mlx/promote/iris/v4-staging"
    message = git(b_root, "log", "-1", "--format=%B", new)
    assert message.startswith("mlx: promote iris v4 to staging\n")
    assert "## Promote `iris` v4 to `staging`" in message
    assert "candidate v4" in message and "v2" not in message
    assert f"Run `{run}`" in message
    assert git(b_root, "show", "-s", "--format=%an", new) == git(
        b_root, "show", "-s", "--format=%an", "HEAD"
    )
    assert run_trailer(b, new) == run
    assert stage_line(b_root, new, "staging") == 4
    checked = mlx_cli(b_root, "promotion", "check", "--base", "main", "--head", new)
    assert checked.returncode == 0, checked.stdout
