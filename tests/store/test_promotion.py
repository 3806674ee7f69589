"""Promotion (pull-request and direct) and the CI promotion check, on real git + DVC."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from _repo_helpers import IRIS_TOML, OLD_IRIS_TOML, Sandbox, record_model_version, record_run

from store.errors import GateError, NotFoundError, PromotionError, ValidationError
from store.models import load_model_config
from store.project import Project
from store.promotion import preview, promote, push_branch
from store.promotion_check import CheckReport, check_promotions
from store.sync import push
from tests.support import git, mlx_cli, sh, worktree_state


@pytest.fixture
def project(box: Sandbox) -> Project:
    """iris v1 (production, accuracy 0.91) and v2 (accuracy 0.95) on the runs ref."""
    project = box.project()
    record_model_version(project, "iris", {"accuracy": 0.91}, seed="1")
    record_model_version(project, "iris", {"accuracy": 0.95, "loss": 0.1}, seed="2")
    return project


def diff_lines(repo: Path, a: str, b: str) -> list[str]:
    out = git(repo, "diff", "--unified=0", a, b)
    return [
        line for line in out.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]


# -- pull-request mode -------------------------------------------------------------------
def test_pull_request_promotion_is_one_commit_changing_only_the_stage_line(
    box: Sandbox, project: Project
) -> None:
    head = git(box.work, "rev-parse", "HEAD")
    result = promote(project, "iris", 2, "staging")
    assert result.mode == "pull-request"
    assert result.branch == "mlx/promote/iris/v2-staging"
    assert git(box.work, "rev-parse", f"refs/heads/{result.branch}") == result.commit
    assert git(box.work, "rev-parse", f"{result.commit}^") == head
    assert git(box.work, "diff", "--name-only", head, result.commit) == "models/iris.toml"
    assert diff_lines(box.work, head, result.branch) == ["-# staging = (unset)", "+staging = 2"]
    text = git(box.work, "show", f"{result.branch}:models/iris.toml")
    # every comment and line survives
    assert text + "\n" == IRIS_TOML.replace("# staging = (unset)", "staging = 2")
    assert result.archived_version is None
    assert "+staging = 2" in result.diff


def test_pull_request_mode_never_touches_work_tree_index_head_or_branch(
    box: Sandbox, project: Project
) -> None:
    (box.work / "scratch.txt").write_text("untracked work in progress\n")
    (box.work / "mlx.toml").write_text('[project]\nname = "demo"  # edited\n')
    git(box.work, "add", "mlx.toml")
    git(box.work, "status")  # refresh the index's stat data now, not during the snapshot
    before = worktree_state(box.work)
    promote(project, "iris", 2, "production", force=True)
    after = worktree_state(box.work)
    assert after.pop("branches") != before.pop("branches")  # the promotion branch, nothing else
    assert after == before
    assert (box.work / "models" / "iris.toml").read_text() == IRIS_TOML


def test_promotion_commit_uses_the_users_git_identity(box: Sandbox, project: Project) -> None:
    result = promote(project, "iris", 2, "staging")
    author = git(box.work, "log", "-1", "--format=%an <%ae>|%cn", result.commit)
    assert author == "Test Author <author@example.com>|Test Author"
    assert git(box.work, "log", "-1", "--format=%s", result.commit) == (
        "mlx: promote iris v2 to staging"
    )
    git(box.work, "fsck", "--strict")


def test_occupied_stage_is_refused_without_force(project: Project) -> None:
    with pytest.raises(PromotionError, match=r"'production' .* held by version 1; pass --force"):
        promote(project, "iris", 2, "production")


def test_force_moves_the_previous_holder_to_archived(box: Sandbox, project: Project) -> None:
    head = git(box.work, "rev-parse", "HEAD")
    result = promote(project, "iris", 2, "production", force=True)
    assert result.archived_version == 1
    assert diff_lines(box.work, head, result.commit) == [
        "-production = 1  # first release",
        "+production = 2  # first release",
        "-# archived = (unset)",
        "+archived = 1",
    ]


def test_promoting_the_current_holder_again_is_refused(project: Project) -> None:
    with pytest.raises(PromotionError, match="version 1 of model 'iris' already holds stage"):
        promote(project, "iris", 1, "production", force=True)


def test_stages_table_is_added_when_missing(box: Sandbox) -> None:
    project = box.project()
    record_model_version(project, "plain", {"f1": 0.8})
    head = git(box.work, "rev-parse", "HEAD")
    result = promote(project, "plain", 1, "staging")
    layout = git(box.work, "rev-parse", f"{result.commit}^")
    assert git(box.work, "rev-parse", f"{layout}^") == head
    assert diff_lines(box.work, layout, result.commit) == ["-# staging = (unset)", "+staging = 1"]
    assert "\n[stages]\n" in git(box.work, "show", f"{layout}:models/plain.toml")


@pytest.mark.parametrize("stage_it", [False, True])
def test_dirty_model_config_is_refused(box: Sandbox, project: Project, stage_it: bool) -> None:
    path = box.work / "models" / "iris.toml"
    path.write_text(path.read_text() + "# local note\n")
    if stage_it:
        git(box.work, "add", "models/iris.toml")
    with pytest.raises(PromotionError, match=r"models/iris\.toml has uncommitted changes"):
        promote(project, "iris", 2, "staging")
    assert git(box.work, "branch", "--list", "mlx/*") == ""


def test_unknown_version_and_model_are_not_found(project: Project) -> None:
    with pytest.raises(NotFoundError, match=r"unknown version of model 'iris' '7' \(known: 1, 2\)"):
        promote(project, "iris", 7, "staging")
    with pytest.raises(NotFoundError, match=r"unknown model 'irsi'; did you mean 'iris'\?"):
        promote(project, "irsi", 1, "staging")


def test_latest_is_not_a_promotion_target(project: Project) -> None:
    with pytest.raises(ValidationError, match="'latest' is always the newest version"):
        promote(project, "iris", 2, "latest")


def test_undeclared_stage_is_refused_with_did_you_mean(box: Sandbox, project: Project) -> None:
    with pytest.raises(
        ValidationError, match=r"unknown stage 'prodution'; did you mean 'production'"
    ):
        promote(project, "iris", 2, "prodution")
    with pytest.raises(ValidationError, match=r"unknown stage 'bogus'.*\[models\] stages"):
        promote(project, "iris", 2, "bogus")
    assert git(box.work, "branch", "--list", "mlx/*") == ""


def test_stage_declared_in_mlx_toml_is_accepted(box: Sandbox) -> None:
    path = box.work / "mlx.toml"
    path.write_text(path.read_text() + '\n[models]\nstages = ["canary"]\n')
    project = box.project()
    record_model_version(project, "iris", {"accuracy": 0.95}, seed="c")
    assert promote(project, "iris", 1, "canary").branch == "mlx/promote/iris/v1-canary"


# -- gates -------------------------------------------------------------------------------
def test_failing_gate_is_refused_and_lists_the_gate(box: Sandbox, project: Project) -> None:
    record_model_version(project, "iris", {"accuracy": 0.5}, seed="weak")
    for direct in (False, True):
        with pytest.raises(
            GateError, match=r"version 3 .* fails its gates: accuracy >= 0.9 \(got 0.5\)"
        ):
            promote(project, "iris", 3, "staging", direct=direct)
    assert GateError.exit_code == 1
    assert git(box.work, "branch", "--list", "mlx/*") == ""
    assert "\nstaging =" not in (box.work / "models" / "iris.toml").read_text()


def test_missing_gated_metric_is_refused(project: Project) -> None:
    record_model_version(project, "iris", {"loss": 0.1}, seed="nometric")
    with pytest.raises(GateError, match=r"accuracy >= 0.9 \(got missing\)"):
        promote(project, "iris", 3, "staging")


def test_forced_promotion_past_a_failing_gate_is_recorded(box: Sandbox, project: Project) -> None:
    record_model_version(project, "iris", {"accuracy": 0.5}, seed="weak")
    shown = preview(project, "iris", 3, "staging")
    assert shown.refusal and "fails its gates" in shown.refusal and shown.needs_force
    result = promote(project, "iris", 3, "staging", force=True)
    assert [g.metric for g in result.forced_gates] == ["accuracy"]
    message = git(box.work, "log", "-1", "--format=%B", result.commit)
    assert message.startswith("mlx: promote iris v3 to staging (forced past failing gates)")
    assert (
        "Forced with --force: promoted although its gates fail: accuracy >= 0.9 (got 0.5)"
        in message
    )
    assert "Forced with --force" in result.body
    direct = promote(project, "iris", 3, "production", force=True, direct=True)
    assert "forced past failing gates" in git(box.work, "log", "-1", "--format=%s", direct.commit)


def test_existing_promotion_branch_is_refused(project: Project) -> None:
    promote(project, "iris", 2, "staging")
    with pytest.raises(PromotionError, match="branch 'mlx/promote/iris/v2-staging' already exists"):
        promote(project, "iris", 2, "staging")


def test_body_compares_candidate_with_incumbent_and_links_lineage(
    tmp_path: Path, project: Project
) -> None:
    body_file = tmp_path / "body.md"
    result = promote(project, "iris", 2, "production", force=True, body_file=body_file)
    body = body_file.read_text()
    assert body == result.body
    assert body.startswith("## Promote `iris` v2 to `production`")
    assert "| metric | candidate v2 | incumbent v1 | change |" in body
    assert "| accuracy | 0.95 | 0.91 | +0.04 |" in body
    assert "| `accuracy >= 0.9` | 0.95 | pass |" in body
    assert "of pipeline `training`, status completed, code commit" in body
    assert "- Model artifacts: `trained_model:2`" in body
    assert "- Data artifacts: `dataset:2`" in body
    assert "git push origin mlx/promote/iris/v2-production" in body
    assert "Version 1 moves to `archived`." in body


# -- direct mode -------------------------------------------------------------------------
def test_direct_mode_commits_only_the_model_config_on_the_current_branch(
    box: Sandbox, project: Project
) -> None:
    head = git(box.work, "rev-parse", "HEAD")
    (box.work / "notes.txt").write_text("staged, not part of the promotion\n")
    git(box.work, "add", "notes.txt")
    result = promote(project, "iris", 2, "staging", direct=True)
    assert result.mode == "direct" and result.branch == "main"
    assert git(box.work, "rev-parse", "HEAD") == result.commit
    assert git(box.work, "rev-parse", "HEAD^") == head
    assert git(box.work, "diff", "--name-only", head, "HEAD") == "models/iris.toml"
    assert diff_lines(box.work, head, "HEAD") == ["-# staging = (unset)", "+staging = 2"]
    assert git(box.work, "status", "--porcelain") == "A  notes.txt"
    assert (box.work / "models" / "iris.toml").read_text() == IRIS_TOML.replace(
        "# staging = (unset)", "staging = 2"
    )


def test_direct_mode_follows_the_project_setting(box: Sandbox) -> None:
    (box.work / "mlx.toml").write_text('[project]\nname = "demo"\npromotion = "direct"\n')
    git(box.work, "commit", "-qam", "direct promotions")
    project = box.project()
    record_model_version(project, "iris", {"accuracy": 0.99})
    assert promote(project, "iris", 1, "staging").mode == "direct"
    assert git(box.work, "branch", "--list", "mlx/*") == ""


# -- preview -----------------------------------------------------------------------------
def test_preview_has_no_side_effects_and_explains_a_refusal(box: Sandbox, project: Project) -> None:
    git(box.work, "status")
    before = worktree_state(box.work), git(box.work, "for-each-ref")
    shown = preview(project, "iris", 2, "production")
    assert (worktree_state(box.work), git(box.work, "for-each-ref")) == before
    assert shown.incumbent == 1 and shown.needs_force
    assert shown.refusal is not None and "--force" in shown.refusal
    assert "+production = 2  # first release" in shown.diff
    assert [(g.metric, g.passed) for g in shown.gate_results] == [("accuracy", True)]
    assert preview(project, "iris", 2, "production", force=True).refusal is None


# -- promotion check ---------------------------------------------------------------------
def check_branch(box: Sandbox, project: Project, branch: str) -> CheckReport:
    return check_promotions(project, "main", f"refs/heads/{branch}")


def test_check_passes_for_a_good_version_whose_artifacts_are_pushed(
    box: Sandbox, project: Project
) -> None:
    push(project)
    result = promote(project, "iris", 2, "production", force=True)
    report = check_branch(box, project, str(result.branch))
    assert report.ok, report.markdown()
    stages = [(c.stage, c.version, c.previous) for c in report.checks]
    assert stages == [("production", 2, 1), ("archived", 1, None)]
    assert "## mlx promotion check passed" in report.markdown()


def test_check_fails_when_artifacts_are_not_in_the_dvc_remote(
    box: Sandbox, project: Project
) -> None:
    result = promote(project, "iris", 2, "staging")  # publishes the runs and their bytes first
    shutil.rmtree(box.dvc_remote / "files")  # ... which the DVC remote then lost
    report = check_branch(box, project, str(result.branch))
    assert not report.ok
    (check,) = report.checks
    assert any("trained_model:2" in p and "not in the DVC remote" in p for p in check.problems)
    assert "FAIL" in report.markdown()


def test_check_fails_for_a_failing_gate(box: Sandbox, project: Project) -> None:
    record_model_version(project, "iris", {"accuracy": 0.5}, seed="weak")
    push(project)
    result = promote(project, "iris", 3, "staging", force=True)  # CI still catches a forced one
    report = check_branch(box, project, str(result.branch))
    assert not report.ok
    assert report.checks[0].problems == ("gate failed: accuracy >= 0.9 (got 0.5)",)


def test_check_fails_for_a_version_missing_from_the_runs_ref(box: Sandbox) -> None:
    path = box.work / "models" / "iris.toml"
    git(box.work, "checkout", "-qb", "hand-edit")
    path.write_text(IRIS_TOML.replace("production = 1", "production = 9"))
    git(box.work, "commit", "-qam", "typo'd promotion")
    report = check_promotions(box.project(), "main")
    assert not report.ok
    assert "version 9 of model 'iris' is not on the runs ref" in report.checks[0].problems[0]


def test_check_reports_an_invalid_config_and_no_changes(box: Sandbox, project: Project) -> None:
    assert check_promotions(project, "main", "main").ok
    git(box.work, "checkout", "-qb", "broken")
    (box.work / "models" / "iris.toml").write_text("[stages]\nproduction = -1\n")
    git(box.work, "commit", "-qam", "broken")
    report = check_promotions(project, "main")
    assert not report.ok
    assert "iris.toml:2 [stages.production]" in report.errors[0]


def test_check_of_an_unknown_base_is_not_found(project: Project) -> None:
    with pytest.raises(NotFoundError, match="unknown git revision 'origin/nope'"):
        check_promotions(project, "origin/nope")


def test_push_branch_publishes_the_branch_and_the_runs_ref(box: Sandbox, project: Project) -> None:
    result = promote(project, "iris", 2, "staging")
    push_branch(project, str(result.branch))
    assert git(box.origin, "rev-parse", f"refs/heads/{result.branch}") == result.commit
    assert git(box.origin, "rev-parse", "refs/mlx/runs") == project.runs.tip()


# -- the check does not trust the pull request ---------------------------------------------
def _promotion_branch(box: Sandbox, branch: str, stage_line: str, gates: str | None) -> None:
    """A hand-made pull request: a stage line, and maybe gates rewritten in the same commit."""
    git(box.work, "checkout", "-qb", branch)
    text = IRIS_TOML.replace("production = 1", stage_line)
    if gates is not None:
        text = text.replace('accuracy = ">= 0.9"', gates)
    (box.work / "models" / "iris.toml").write_text(text)
    git(box.work, "commit", "-qam", "promote")
    git(box.work, "checkout", "-q", "main")


@pytest.mark.parametrize(
    "gates", ['accuracy = ">= 0.1"', "", 'accuracy = ">= 0.1"\nloss = "< 1"'], ids=str
)
def test_check_applies_the_base_gates_when_the_pr_lowers_or_drops_them(
    box: Sandbox, project: Project, gates: str
) -> None:
    record_model_version(project, "iris", {"accuracy": 0.5, "loss": 0.2}, seed="weak")
    push(project)
    _promotion_branch(box, "lower", "production = 3", gates)

    report = check_branch(box, project, "lower")

    assert not report.ok
    assert "gate failed: accuracy >= 0.9 (got 0.5)" in report.checks[0].problems
    assert any("changes the gates" in note for note in report.notes)


def test_check_applies_a_stricter_gate_added_by_the_pr(box: Sandbox, project: Project) -> None:
    push(project)
    _promotion_branch(box, "stricter", "production = 2", 'accuracy = ">= 0.99"')

    report = check_branch(box, project, "stricter")

    assert report.checks[0].problems == ("gate failed: accuracy >= 0.99 (got 0.95)",)


def _forge_version(project: Project, **fields: object) -> None:
    """A model-version record written straight to the runs ref (no run made it)."""
    record = {
        "id": "f" * 32, "name": "iris", "version": 3, "created_at": "2026-01-01T00:00:00Z",
        "metadata": {"accuracy": 0.99}, "run_id": None, **fields,
    }  # fmt: skip
    data = json.dumps(record).encode()
    project.runs.commit(lambda view: {"models/iris/0/3.json": data}, "forged version")


@pytest.mark.parametrize("forgery", ["no run", "other run", "inflated metric", "foreign artifact"])
def test_check_fails_a_version_record_inconsistent_with_its_run(
    box: Sandbox, project: Project, forgery: str
) -> None:
    real = project.index.model_version_json("iris", 2)
    assert real is not None
    other = record_run(project, {"junk": b"junk"}).run
    junk = project.index.artifact_json("junk", 1)
    fields = {
        "no run": {},
        "other run": {"run_id": other.id},
        "inflated metric": {"run_id": real["run_id"], "model_artifacts": real["model_artifacts"]},
        "foreign artifact": {
            "run_id": real["run_id"], "metadata": real["metadata"],
            "model_artifacts": {"m": {"id": junk["id"], "name": "junk", "version": 1}},
        },
    }[forgery]  # fmt: skip
    _forge_version(project, **fields)
    push(project)
    _promotion_branch(box, "forged", "production = 3", None)

    report = check_branch(box, project, "forged")

    assert not report.ok
    problems = " | ".join(report.checks[0].problems)
    expected = {
        "no run": "names no run",
        "other run": "did not record v3 of 'iris' as its model version",
        "inflated metric": "metric accuracy = 0.99 of v3 of 'iris' was not logged by run",
        "foreign artifact": "artifact junk:1 linked to v3 of 'iris' was not produced by run",
    }[forgery]
    assert expected in problems
    assert report.checks[0].recorded_by.startswith("Test Author <author@example.com> in commit")
    assert "was recorded by Test Author" in report.markdown()


def test_check_without_any_dvc_remote_checks_the_local_cache_and_says_so(
    box: Sandbox, project: Project
) -> None:
    sh(box.work, sys.executable, "-m", "dvc", "remote", "remove", "store")
    git(box.work, "commit", "-qam", "no DVC remote")
    git(box.work, "remote", "remove", "origin")  # no git remote either: numbers are final
    local = Project(box.work)
    result = promote(local, "iris", 2, "staging")
    report = check_promotions(local, "main", str(result.branch))
    assert report.ok, report.markdown()
    assert any("checked in the local DVC cache" in n for n in report.notes)
    tree = local.index.artifact_json("trained_model", 2)["pointer"]["md5"]
    (local.artifacts.cache_dir / "files" / "md5" / tree[:2] / tree[2:]).unlink()
    report = check_promotions(Project(box.work), "main", str(result.branch))
    assert not report.ok
    assert "not in the local DVC cache (no DVC remote is configured)" in report.markdown()


@pytest.mark.parametrize("order", [("staging", "production"), ("production", "staging")])
def test_promotions_to_different_stages_from_one_base_merge_without_conflict(
    box: Sandbox, order: tuple[str, str]
) -> None:
    from store.models import load_model_config, register_model

    project = box.project()
    register_model(project, "clf")
    git(box.work, "add", "models/clf.toml")
    git(box.work, "commit", "-qm", "register clf")
    for _ in range(2):
        record_model_version(project, "clf")
    push(project)  # final numbers
    branches = {
        "staging": promote(project, "clf", 1, "staging").branch,
        "production": promote(project, "clf", 2, "production").branch,
    }
    for stage in order:
        git(box.work, "merge", "-q", "--no-edit", str(branches[stage]))  # plain git, no conflict
    text = (box.work / "models" / "clf.toml").read_text()
    assert "<<<<<<<" not in text
    config = load_model_config(Project(box.work), "clf")
    assert dict(config.stages) == {"staging": 1, "production": 2}
    assert "# archived = (unset)" in text


@pytest.mark.parametrize("order", [("staging", "archived"), ("archived", "staging")])
def test_promotions_opened_from_an_old_layout_file_are_laid_out_and_merge_in_either_order(
    box: Sandbox, order: tuple[str, str]
) -> None:
    (box.work / "models" / "iris.toml").write_text(OLD_IRIS_TOML)
    git(box.work, "commit", "-qam", "iris.toml as an older mlx wrote it")
    head = git(box.work, "rev-parse", "HEAD")
    project = box.project()
    for _ in range(3):
        record_model_version(project, "iris", {"accuracy": 0.95})
    push(project)  # final numbers
    branches = {
        "staging": promote(project, "iris", 2, "staging").branch,
        "archived": promote(project, "iris", 3, "archived").branch,
    }
    layouts = {git(box.work, "rev-parse", f"{b}^") for b in branches.values()}
    assert len(layouts) == 1  # both promotions share one layout commit
    (layout,) = layouts
    assert git(box.work, "rev-parse", f"{layout}^") == head
    assert git(box.work, "log", "-1", "--format=%an", layout) == "mlx"
    laid_out = git(box.work, "show", f"{layout}:models/iris.toml")
    assert laid_out + "\n" == IRIS_TOML  # comments kept, one slot per stage
    for stage, branch in branches.items():  # each promotion commit changes its own line only
        assert diff_lines(box.work, layout, str(branch)) == [
            f"-# {stage} = (unset)", f"+{stage} = {2 if stage == 'staging' else 3}"
        ]  # fmt: skip
    for stage in order:
        git(box.work, "merge", "-q", "--no-edit", str(branches[stage]))  # plain git
    text = (box.work / "models" / "iris.toml").read_text()
    assert "<<<<<<<" not in text
    config = load_model_config(Project(box.work), "iris")
    assert dict(config.stages) == {"production": 1, "staging": 2, "archived": 3}
    assert "# first release" in text and "# production is what the API serves" in text
    checked = mlx_cli(box.work, "promotion", "check", "--base", head)
    assert checked.returncode == 0, checked.stdout + checked.stderr
