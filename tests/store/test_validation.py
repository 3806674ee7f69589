"""Validation at write and at ingest: the name rule, md5s, runs refs, stacks, invalid records,
and derived state (index, journals) that heals itself."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated

import pydantic
import pytest
from _core_helpers import add_run
from _repo_helpers import Sandbox

from store.errors import ConfigError, InvalidRecordsError, MlxWarning, ValidationError
from store.index import Index
from store.journal import read_journals
from store.names import check_md5, check_name, check_runs_ref
from store.paths import journal_dir
from store.project import Project
from store.records import DvcPointer, record_at
from store.sync import pull
from tests.support import git, mlx_cli

BAD_NAMES = ["a\x00b", "..", "../x", "a/b", "a\\b", "", "x" * 101, ".git", "-x", "a.lock",
             "a..b", "tab\there", "new\nline"]  # fmt: skip


@pytest.mark.parametrize("name", BAD_NAMES)
def test_the_name_rule_refuses_names_that_could_escape_or_break_git(name: str) -> None:
    with pytest.raises(ValidationError, match="step name"):
        check_name("step name", name)


@pytest.mark.parametrize("name", ["train", "iris_classifier", "a.b-c", "v2", "x" * 100])
def test_the_name_rule_accepts_plain_names(name: str) -> None:
    assert check_name("artifact name", name) == name


@pytest.mark.parametrize("md5", ["1e/../../../../victim.txt", "A" * 32, "0" * 31, "0" * 32 + ".x"])
def test_md5_must_be_32_lowercase_hex(md5: str) -> None:
    with pytest.raises(ValidationError, match="32 lowercase hex"):
        check_md5(md5)
    with pytest.raises(pydantic.ValidationError, match="32 lowercase hex"):
        DvcPointer(md5=md5, size=1)


def test_md5_of_a_directory_keeps_its_dir_suffix() -> None:
    assert DvcPointer(md5="0" * 32 + ".dir", size=1, nfiles=1).is_dir


@pytest.mark.parametrize("ref", ["refs/heads/main", "HEAD", "refs/mlx/../heads/x", "refs/tags/v"])
def test_runs_ref_must_live_under_refs_mlx(ref: str) -> None:
    with pytest.raises(ValidationError, match="under refs/mlx/"):
        check_runs_ref(ref)


def test_a_step_or_output_name_is_checked_at_decoration() -> None:
    from engine.step import step

    with pytest.raises(ValidationError, match=r"step name '\.\./\.\./outside'"):

        @step(name="../../outside")
        def escape() -> int:
            return 1

    with pytest.raises(ValidationError, match="output name 'a\\\\x00b'"):

        @step
        def nul() -> tuple[Annotated[int, "a\x00b"], Annotated[int, "ok"]]:
            return 1, 2


def test_runs_ref_outside_refs_mlx_is_a_config_error(project_dir: Path) -> None:
    (project_dir / "mlx.toml").write_text('[project]\nname = "p"\nruns_ref = "refs/heads/main"\n')

    with pytest.raises(ConfigError, match=r"mlx.toml:3 \[project.runs_ref\].*refs/mlx/"):
        Project(project_dir)


def test_stack_names_resolve_inside_stacks_only(project: Project) -> None:
    outside = project.root.parent / "outside.toml"
    outside.write_text("[orchestrator]\nflavor = 'local'\n")

    with pytest.raises(ValidationError, match="stack name '../outside'"):
        project.load_stack("../outside")
    result = mlx_cli(project.root, "run", "example", "--stack", "../outside")
    assert result.returncode == 2 and "stack name" in result.stderr


def test_a_stack_naming_an_unknown_dvc_remote_is_a_config_error(project: Project) -> None:
    (project.stacks_dir / "remote.toml").write_text('[artifact_store]\nremote = "nope"\n')

    with pytest.raises(ConfigError, match=r"remote.toml:2 .*DVC remote 'nope' is not configured"):
        project.load_stack("remote")


def test_record_at_checks_the_schema_and_the_path(project: Project) -> None:
    run = add_run(project.runs).run
    raw = project.runs.read(f"runs/{run.id[:2]}/{run.id}.json")
    assert raw is not None

    assert record_at(f"runs/{run.id[:2]}/{run.id}.json", raw).id == run.id  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="belongs at"):
        record_at("runs/ff/ffff.json", raw)
    with pytest.raises(ValidationError, match="id: Field required"):
        record_at("runs/ab/abcd.json", b'{"pipeline": "x"}')


def _forge(project: Project, files: dict[str, bytes]) -> None:
    project.runs.commit(lambda view: files, "forged")


def test_invalid_records_are_skipped_with_one_warning_and_listed(project: Project) -> None:
    good = add_run(project.runs).run
    _forge(project, {"runs/ab/abcd.json": b'{"pipeline": "x"}', "runs/cd/cdef.json": b"\xff{"})

    with pytest.warns(MlxWarning, match=r"skipped invalid record runs/ab/abcd.json .* and 1 more"):
        assert [r.id for r in project.index.list_runs()] == [good.id]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the warning came once; later queries are quiet
        fresh = Index(project.index.path, project.runs)
        assert [r.path for r in fresh.invalid_records()] == [
            "runs/ab/abcd.json",
            "runs/cd/cdef.json",
        ]
    for args in (("runs", "list"), ("artifacts", "list"), ("runs", "show", good.id[:8])):
        result = mlx_cli(project.root, *args)
        assert result.returncode == 0, result.stderr


def test_a_corrupted_index_page_is_rebuilt_with_a_warning(project: Project) -> None:
    for _ in range(30):
        add_run(project.runs)
    project.index.count_runs()
    project.index.db.close()
    with project.index.path.open("r+b") as file:  # trash pages after the header
        file.seek(4096 * 2)
        file.write(b"\x13" * 4096 * 3)

    result = mlx_cli(project.root, "runs", "list", "--json")

    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 30
    assert "mlx: warning:" in result.stderr and "rebuilt" in result.stderr


def test_a_non_utf8_journal_line_is_skipped_with_a_warning(project: Project) -> None:
    directory = journal_dir(project.git.common_dir)
    directory.mkdir(parents=True, exist_ok=True)
    header = {"event": "run_started", "pid": 1 << 22, "host": "elsewhere", "run": {"id": "j1"}}
    (directory / "j1.jsonl").write_bytes(
        json.dumps(header).encode() + b"\n\xff\xfe garbage\n" + b'{"event": "x"}\n'
    )
    (directory / "j2.jsonl").write_bytes(b"\xff\xfe\n")

    with pytest.warns(MlxWarning):
        states = read_journals(directory)

    assert [s.run_id for s in states] == ["j1"] and len(states[0].events) == 1
    assert (directory / "j2.jsonl.bad").exists()
    result = mlx_cli(project.root, "runs", "list")
    assert result.returncode == 0, result.stderr


def test_pull_refuses_a_remote_ref_holding_invalid_records(box: Sandbox) -> None:
    work = box.project()
    add_run(work.runs)
    git(box.work, "push", "-q", "origin", "refs/mlx/runs:refs/mlx/runs")
    clone = Project(box.clone("victim"))
    pull(clone)
    before = clone.runs.tip()
    _forge(work, {"runs/ab/abcd.json": b'{"pipeline": "x"}'})
    git(box.work, "push", "-q", "origin", "refs/mlx/runs:refs/mlx/runs")

    with pytest.raises(InvalidRecordsError, match=r"runs/ab/abcd.json: id: Field required"):
        pull(clone)
    assert clone.runs.tip() == before
    result = mlx_cli(clone.root, "pull")
    assert result.returncode == 1 and "runs/ab/abcd.json" in result.stderr
    assert clone.runs.tip() == before
