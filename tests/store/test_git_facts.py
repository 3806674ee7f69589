"""What a run asks git about the work tree, answered with few processes but git's meaning.

HEAD and the branch are read from files and must agree with git's own answers (branch,
detached, linked work tree); dirtiness uses plumbing first and must not call a merely touched
file a change; ``gc --auto`` starts only when git's own estimate says it has work.
"""

from __future__ import annotations

import os
from pathlib import Path

from _repo_helpers import Sandbox

from store.gitobj import MODE_FILE, Git, TreeEntry
from store.runs_ref import _gc_warranted
from tests.support import git


def _git_says(cwd: Path) -> tuple[str, str]:
    head = git(cwd, "rev-parse", "HEAD").strip()
    branch = git(cwd, "branch", "--show-current").strip()
    return head, branch


def test_head_and_branch_read_from_files_agree_with_git(box: Sandbox) -> None:
    work = box.work
    head, branch = _git_says(work)

    assert (Git(work).head_commit(), Git(work).current_branch()) == (head, branch)

    git(work, "checkout", "-q", "--detach")
    assert (Git(work).head_commit(), Git(work).current_branch()) == (head, None)

    git(work, "worktree", "add", "-q", "-b", "side", str(box.base / "side"))
    (box.base / "side" / "extra.txt").write_text("x\n")
    git(box.base / "side", "add", "extra.txt")
    git(box.base / "side", "commit", "-qm", "side work")
    side_head, _ = _git_says(box.base / "side")
    assert (Git(box.base / "side").head_commit(), Git(box.base / "side").current_branch()) == (
        side_head,
        "side",
    )
    assert Git(work).head_commit() == head  # each work tree has its own HEAD


def test_head_of_a_packed_branch_is_found(box: Sandbox) -> None:
    head, _ = _git_says(box.work)
    git(box.work, "pack-refs", "--all")

    assert Git(box.work).head_commit() == head


def test_a_touched_but_unchanged_file_is_not_dirty(box: Sandbox) -> None:
    path = box.work / "mlx.toml"
    later = path.stat().st_mtime + 60
    os.utime(path, (later, later))

    assert Git(box.work).is_dirty() is False


def test_modified_and_staged_files_are_dirty(box: Sandbox) -> None:
    path = box.work / "mlx.toml"
    path.write_text(path.read_text() + "# edited\n")
    assert Git(box.work).is_dirty() is True

    git(box.work, "add", "mlx.toml")
    assert Git(box.work).is_dirty() is True

    index = (box.work / ".git" / "index").read_bytes()
    Git(box.work).is_dirty()
    assert (box.work / ".git" / "index").read_bytes() == index  # the user's index is untouched


def _loose_in_17(objects: Path) -> int:
    return len(os.listdir(objects / "17")) if (objects / "17").is_dir() else 0


def test_gc_starts_only_when_git_would_find_loose_objects_to_pack(box: Sandbox) -> None:
    g = Git(box.work)
    git(box.work, "config", "gc.autoDetach", "false")  # pack in the foreground, no waiting
    assert not _gc_warranted(g.objects_dir)

    entries = []
    while _loose_in_17(g.objects_dir) <= 27:  # git's own threshold: 6700 / 256
        sha = g.write_object("blob", f"loose {len(entries)}\n".encode())
        entries.append(TreeEntry(MODE_FILE, f"b{len(entries)}", sha))
    commit = g.commit_tree(g.write_tree(entries), [], "reachable loose objects")
    assert g.update_ref("refs/mlx/loose", commit, None)
    assert _gc_warranted(g.objects_dir)

    box.project().runs.maintain()

    assert list((g.objects_dir / "pack").glob("*.pack"))
    assert _loose_in_17(g.objects_dir) == 0 and not _gc_warranted(g.objects_dir)
