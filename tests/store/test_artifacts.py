"""ArtifactStore against real git + DVC repositories (no mocks).

A git+DVC template repository is made once per session and copied into each test; its remote
``store`` has the relative URL ``../remote``, so every copy gets its own ``<tmp>/remote``.
"""

from __future__ import annotations

import filecmp
import hashlib
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from store.artifacts import ArtifactStore
from store.errors import ArtifactError, ArtifactMissingError, NotFoundError, ValidationError
from store.records import DvcPointer
from tests.support import dvc_objects, isolated_environ, prepare_home, sh

DVC = [sys.executable, "-m", "dvc"]
TREE = {
    "a.txt": "alpha\n",
    "sub/b.txt": "beta\n",
    "sub/deep/c.bin": "gamma" * 100,
    "d.csv": "1,2\n",
}


def _run(cmd: list[str], cwd: Path) -> str:
    home = cwd.parent / "home"
    prepare_home(home)
    return sh(cwd, *cmd, env=isolated_environ(home))


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("artifact-templates")
    bare = base / "bare" / "repo"
    bare.mkdir(parents=True)
    _run(["git", "init", "-q"], bare)
    _run([*DVC, "init", "-q"], bare)
    _run(["git", "commit", "-q", "-m", "init"], bare)
    remote = base / "remote" / "repo"
    shutil.copytree(bare, remote, symlinks=True)
    _run([*DVC, "remote", "add", "-d", "store", "../remote"], remote)
    return {"bare": bare, "remote": remote}


def _copy(template: Path, tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(template, repo, symlinks=True)
    return repo


@pytest.fixture
def repo(_templates: dict[str, Path], tmp_path: Path) -> Path:
    """A git+DVC repo whose default remote ``store`` is the empty directory ``<tmp>/remote``."""
    (tmp_path / "remote").mkdir()  # a local remote must exist: mlx never creates one
    return _copy(_templates["remote"], tmp_path)


@pytest.fixture
def bare_repo(_templates: dict[str, Path], tmp_path: Path) -> Path:
    """A git+DVC repo with no DVC remote."""
    return _copy(_templates["bare"], tmp_path)


def _write_tree(root: Path, files: dict[str, str] = TREE) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _objects(root: Path) -> list[str]:
    return sorted(dvc_objects(root))


def _git_status(repo: Path) -> str:
    return _run(["git", "status", "--porcelain", "--untracked-files=all"], repo)


def test_save_file_returns_md5_pointer_and_read_only_object(repo: Path) -> None:
    data = repo / "model.bin"
    data.write_bytes(b"\x00weights" * 1000)
    store = ArtifactStore(repo)

    pointer = store.save(data)

    digest = hashlib.md5(data.read_bytes()).hexdigest()
    assert pointer == DvcPointer(md5=digest, size=8000, nfiles=None, hash="md5")
    obj = repo / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]
    assert obj.read_bytes() == data.read_bytes()
    assert not obj.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert store.exists(pointer)
    assert data.stat().st_mode & stat.S_IWUSR, "the source stays writable"


def test_save_nested_dir_returns_dir_pointer(repo: Path) -> None:
    source = _write_tree(repo / "features")
    store = ArtifactStore(repo)

    pointer = store.save(source)

    assert pointer.is_dir and pointer.md5.endswith(".dir")
    assert pointer.nfiles == 4
    assert pointer.size == sum(len(t.encode()) for t in TREE.values())
    assert len(_objects(store.cache_dir)) == 5  # the .dir manifest and 4 entries
    assert store.exists(pointer)


def test_identical_content_is_stored_once(repo: Path) -> None:
    store = ArtifactStore(repo)
    (repo / "one.txt").write_text("same\n")
    (repo / "two.txt").write_text("same\n")
    source = _write_tree(repo / "dups", {"x.txt": "same\n", "y/z.txt": "same\n"})

    first, second = store.save(repo / "one.txt"), store.save(repo / "two.txt")
    tree = store.save(source)

    assert first == second
    assert store.save(source) == tree
    assert _objects(store.cache_dir) == sorted([first.md5, tree.md5])


def test_save_and_checkout_leave_git_status_unchanged(repo: Path, tmp_path: Path) -> None:
    (repo / "model.bin").write_bytes(b"m" * 10)
    _write_tree(repo / "features")
    before = _git_status(repo)
    store = ArtifactStore(repo)

    for pointer in (store.save(repo / "model.bin"), store.save(repo / "features")):
        store.checkout(pointer, tmp_path / "out" / pointer.md5)

    assert _git_status(repo) == before
    assert not [p for p in repo.rglob("*.dvc") if p.is_file()]
    assert not (repo / ".gitignore").exists() and not (repo / "features" / ".gitignore").exists()


def test_cache_file_reads_straight_from_cache(repo: Path) -> None:
    (repo / "log.txt").write_text("step 1 ok\n")
    store = ArtifactStore(repo)
    pointer = store.save(repo / "log.txt")
    (repo / "log.txt").unlink()

    path = store.cache_file(pointer)

    assert path.is_relative_to(store.cache_dir)
    assert path.read_text() == "step 1 ok\n"
    assert store.read_bytes(pointer) == b"step 1 ok\n"


def test_cache_file_of_a_directory_is_rejected(repo: Path) -> None:
    store = ArtifactStore(repo)
    pointer = store.save(_write_tree(repo / "features"))

    with pytest.raises(ValidationError, match="is a directory, not a file; use checkout"):
        store.cache_file(pointer)


def test_checkout_of_a_dir_equals_the_source_and_is_writable(repo: Path, tmp_path: Path) -> None:
    source = _write_tree(repo / "features")
    store = ArtifactStore(repo)
    pointer = store.save(source)

    dest = store.checkout(pointer, tmp_path / "restored" / "features")

    compared = filecmp.dircmp(source, dest)
    assert not (compared.left_only or compared.right_only or compared.diff_files)
    assert filecmp.cmp(source / "sub/deep/c.bin", dest / "sub/deep/c.bin", shallow=False)
    (dest / "a.txt").write_text("changed")  # a copy: writable and detached from the cache
    assert store.exists(pointer)
    assert store.checkout(pointer, tmp_path / "again").joinpath("a.txt").read_text() == "alpha\n"
    assert [p.name for p in dest.parent.iterdir()] == ["features"], "no staging dir left"


def test_checkout_refuses_an_existing_destination(repo: Path, tmp_path: Path) -> None:
    (repo / "f.txt").write_text("x")
    store = ArtifactStore(repo)
    pointer = store.save(repo / "f.txt")

    with pytest.raises(ArtifactError, match="f.txt: it exists"):
        store.checkout(pointer, repo / "f.txt")


def test_push_then_fetch_into_a_fresh_clone(repo: Path, tmp_path: Path) -> None:
    (repo / "model.bin").write_bytes(b"w" * 100)
    source = _write_tree(repo / "features")
    store = ArtifactStore(repo)
    pointers = [store.save(repo / "model.bin"), store.save(source)]

    assert store.push(pointers) == 6
    assert store.push(pointers) == 0
    clone = tmp_path / "clone"
    shutil.copytree(repo, clone, ignore=shutil.ignore_patterns("cache"), symlinks=True)
    fresh = ArtifactStore(clone)
    assert not any(fresh.exists(p) for p in pointers)

    assert fresh.fetch(pointers) == 6
    assert fresh.fetch(pointers) == 0
    assert fresh.read_bytes(pointers[0]) == b"w" * 100
    dest = fresh.checkout(pointers[1], tmp_path / "loaded")
    assert not filecmp.dircmp(source, dest).diff_files
    assert (dest / "sub/deep/c.bin").read_text() == TREE["sub/deep/c.bin"]


def test_cache_file_and_checkout_fetch_missing_objects_on_demand(
    repo: Path, tmp_path: Path
) -> None:
    (repo / "log.txt").write_text("hello\n")
    store = ArtifactStore(repo)
    log, tree = store.save(repo / "log.txt"), store.save(_write_tree(repo / "features"))
    store.push([log, tree])
    shutil.rmtree(store.cache_dir)

    assert store.cache_file(log).read_text() == "hello\n"
    assert (store.checkout(tree, tmp_path / "t") / "sub/b.txt").read_text() == "beta\n"


def test_pushing_a_dir_pushes_its_entries(repo: Path, tmp_path: Path) -> None:
    store = ArtifactStore(repo)
    pointer = store.save(_write_tree(repo / "features"))
    store.push([pointer])
    assert store.in_remote(pointer)
    entry = hashlib.md5(b"beta\n").hexdigest()
    (tmp_path / "remote" / "files" / "md5" / entry[:2] / entry[2:]).unlink()

    assert not store.in_remote(pointer)
    assert store.push([pointer]) == 1, "the missing entry is re-uploaded though the .dir is there"
    assert store.in_remote(pointer)


def test_missing_object_without_remote_raises_actionable_error(bare_repo: Path) -> None:
    store = ArtifactStore(bare_repo)
    ghost = DvcPointer(md5=hashlib.md5(b"never saved").hexdigest(), size=11)

    with pytest.raises(ArtifactMissingError, match=r"not in the local DVC cache and no DVC remote"):
        store.cache_file(ghost)
    with pytest.raises(ArtifactMissingError, match=r"run `dvc remote add -d NAME URL`"):
        store.checkout(ghost, bare_repo.parent / "out")
    with pytest.raises(ArtifactError, match=r"no DVC remote is configured"):
        store.in_remote(ghost)


def test_object_absent_from_cache_and_remote_raises(repo: Path) -> None:
    store = ArtifactStore(repo)
    ghost = DvcPointer(md5=hashlib.md5(b"never pushed").hexdigest(), size=12)

    with pytest.raises(
        ArtifactMissingError, match=r"neither the local DVC cache nor DVC remote 'store'"
    ):
        store.fetch([ghost])
    assert not store.in_remote(ghost)


def test_pushing_an_uncached_pointer_raises(repo: Path) -> None:
    store = ArtifactStore(repo)
    ghost = DvcPointer(md5=hashlib.md5(b"x").hexdigest(), size=1)

    with pytest.raises(
        ArtifactMissingError, match="cannot push artifact.*not \\(fully\\) in the local"
    ):
        store.push([ghost])


def test_unknown_remote_raises_not_found_with_suggestion(repo: Path) -> None:
    (repo / "f.txt").write_text("x")
    store = ArtifactStore(repo)
    pointer = store.save(repo / "f.txt")

    with pytest.raises(NotFoundError, match=r"unknown DVC remote 'stor'; did you mean 'store'"):
        store.push([pointer], remote="stor")
    with pytest.raises(NotFoundError, match=r"unknown DVC remote 'elsewhere'"):
        store.in_remote(pointer, remote="elsewhere")


def test_remotes_read_config_and_config_local(repo: Path, tmp_path: Path) -> None:
    store = ArtifactStore(repo)
    assert store.remotes() == {"store": str(tmp_path / "remote")}
    assert store.default_remote() == "store"

    backup = tmp_path / "backup dir"
    backup.mkdir()
    _run([*DVC, "remote", "add", "--local", "backup", backup.as_uri()], repo)
    _run([*DVC, "remote", "default", "--local", "backup"], repo)
    store = ArtifactStore(repo)

    assert store.remotes() == {"store": str(tmp_path / "remote"), "backup": str(backup)}
    assert store.default_remote() == "backup"
    (repo / "f.txt").write_text("x")
    pointer = store.save(repo / "f.txt")
    assert store.push([pointer]) == 1
    assert store.in_remote(pointer, remote="backup") and not store.in_remote(pointer, "store")


def test_cache_dir_comes_from_dvc_config(repo: Path, tmp_path: Path) -> None:
    _run([*DVC, "cache", "dir", str(tmp_path / "shared-cache")], repo)
    (repo / "f.txt").write_text("x")
    store = ArtifactStore(repo)

    pointer = store.save(repo / "f.txt")

    assert store.cache_dir == tmp_path / "shared-cache"
    assert _objects(store.cache_dir) == [pointer.md5]
    assert not (repo / ".dvc" / "cache").exists()


def test_gc_keeps_kept_objects_and_removes_the_others(repo: Path) -> None:
    (repo / "old.txt").write_text("old\n")
    (repo / "orphan.txt").write_text("orphan\n")
    store = ArtifactStore(repo)
    old, orphan = store.save(repo / "old.txt"), store.save(repo / "orphan.txt")
    tree = store.save(_write_tree(repo / "features"))

    assert store.gc([tree], dry=True) == sorted([old.md5, orphan.md5])
    assert store.exists(old) and store.exists(orphan)

    assert store.gc([tree]) == sorted([old.md5, orphan.md5])
    assert store.exists(tree)
    assert not store.exists(old) and not store.exists(orphan)
    assert store.gc([tree]) == []


def test_importing_the_module_does_not_import_dvc() -> None:
    code = (
        "import sys, store.artifacts; "
        "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('dvc')))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_plain_dvc_cli_pulls_what_the_store_pushed(repo: Path, tmp_path: Path) -> None:
    source = _write_tree(repo / "features")
    store = ArtifactStore(repo)
    pointer = store.save(source)
    store.push([pointer])
    clone = tmp_path / "clone"
    shutil.copytree(repo, clone, ignore=shutil.ignore_patterns("cache", "features"), symlinks=True)
    (clone / "features.dvc").write_text(
        f"outs:\n- md5: {pointer.md5}\n  size: {pointer.size}\n  nfiles: {pointer.nfiles}\n"
        "  hash: md5\n  path: features\n"
    )

    _run([*DVC, "pull", "-q", "features.dvc"], clone)

    assert not filecmp.dircmp(source, clone / "features").diff_files
    assert (clone / "features/sub/deep/c.bin").read_text() == TREE["sub/deep/c.bin"]


def test_a_corrupt_dir_manifest_counts_as_absent(repo: Path) -> None:
    store = ArtifactStore(repo)
    pointer = store.save(_write_tree(repo / "features"))
    manifest = store.cache_dir / "files" / "md5" / pointer.md5[:2] / pointer.md5[2:]
    manifest.chmod(0o644)
    manifest.write_text("not json")

    assert not store.exists(pointer)
    with pytest.raises(ArtifactMissingError, match=r"neither the local DVC cache nor DVC remote"):
        store.checkout(pointer, repo.parent / "out")


def test_fetching_a_dir_the_remote_lacks_raises_missing(repo: Path, tmp_path: Path) -> None:
    (repo / "f.txt").write_text("pushed\n")
    store = ArtifactStore(repo)
    pushed, tree = store.save(repo / "f.txt"), store.save(_write_tree(repo / "features"))
    store.push([pushed])
    shutil.rmtree(store.cache_dir)

    with pytest.raises(ArtifactMissingError, match=rf"artifact\(s\) {tree.md5} are in neither"):
        store.fetch([pushed, tree])
    assert store.exists(pushed), "what the remote has is still fetched"
