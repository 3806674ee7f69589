"""The git backend: plumbing only, never the working tree, the index or HEAD.

Objects are written in-process as loose objects (zlib + sha1, atomic rename) and read back
in-process while loose, else through one long-lived ``git cat-file --batch`` process; refs
move only by compare-and-swap (``git update-ref REF NEW OLD``). Everything else is a short
``git`` subprocess. This keeps GitPython's import (~0.1 s) off every hot path and avoids
``IndexFile.from_tree``, which moves the user's ``.git/index`` aside.

The ``cat-file`` process and its pipes are closed deterministically: by :meth:`Git.close` (also
``with Git(...)`` and ``Project.close()``), when the object is collected, and at interpreter
exit for any instance still open.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import subprocess
import tempfile
import threading
import time
import weakref
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from store.errors import GitError, RefConflictError

__all__ = ["MODE_DIR", "MODE_FILE", "ZERO", "Git", "TreeEntry"]

ZERO = "0" * 40
MODE_FILE = "100644"
MODE_DIR = "40000"
IDENT_NAME = "mlx"
IDENT_EMAIL = "mlx@localhost"
_FEW_LOOSE = 64  # read_blobs tries loose files first up to this many (bulk reads: cat-file)
_OPEN: weakref.WeakSet[Git] = weakref.WeakSet()  # instances that may hold a cat-file process


@atexit.register
def _close_all() -> None:
    for git in list(_OPEN):
        git.close()


@dataclass(frozen=True, slots=True)
class TreeEntry:
    mode: str
    name: str
    sha: str

    @property
    def is_dir(self) -> bool:
        return self.mode == MODE_DIR


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["LC_ALL"] = "C"
    return env


def object_id(kind: str, data: bytes) -> str:
    """The id git gives an object of ``kind`` (``"blob"``, ``"tree"`` ...) holding ``data``."""
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).hexdigest()


class Git:
    """Plumbing access to one repository.

    Args:
        root: any directory inside the work tree (or the git dir of a bare repository).
    """

    def __init__(self, root: Path | str) -> None:
        self.cwd = Path(root)
        out = self.run("rev-parse", "--git-common-dir", "--git-path", "objects", "--git-dir")
        common, objects, git_dir = out.splitlines()[:3]
        self.common_dir = (self.cwd / common).resolve()
        self.objects_dir = (self.cwd / objects).resolve()
        self.git_dir = (self.cwd / git_dir).resolve()  # per work tree (HEAD lives here)
        self._batch: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._trees: dict[str, list[TreeEntry]] = {}  # objects are immutable: safe to cache
        _OPEN.add(self)
        self._author: str | None = None

    # -- subprocess ------------------------------------------------------------------------
    def run(self, *args: str, input: bytes | None = None, check: bool = True) -> str:
        """Run ``git ARGS`` in the repository and return stdout (text)."""
        proc = subprocess.run(
            ["git", *args], cwd=self.cwd, input=input, capture_output=True, env=_env()
        )
        if check and proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip()
            raise GitError(f"git {' '.join(args[:3])} failed: {err}")
        return proc.stdout.decode(errors="replace")

    def run_ok(self, *args: str) -> bool:
        """Run ``git ARGS`` and report whether it exited 0."""
        proc = subprocess.run(["git", *args], cwd=self.cwd, capture_output=True, env=_env())
        return proc.returncode == 0

    def read_ref(self, ref: str) -> str | None:
        """The object id a full ref name points at; reads the ref files directly (no fork).

        Falls back to ``git rev-parse`` for anything but a plain loose or packed ref.
        """
        try:
            value = (self.common_dir / ref).read_text().strip()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            value = ""
        except OSError:
            return self.rev_parse(ref)
        if len(value) == 40:
            return value
        if value:  # a symbolic ref: let git resolve it
            return self.rev_parse(ref)
        try:
            packed = (self.common_dir / "packed-refs").read_text()
        except FileNotFoundError:
            return None
        for line in packed.splitlines():
            if line.endswith(" " + ref) and not line.startswith(("#", "^")):
                return line.split(" ", 1)[0]
        return None

    def rev_parse(self, rev: str) -> str | None:
        """The object id ``rev`` names, or ``None`` when it does not exist."""
        spec = rev if ":" in rev else rev + "^{object}"  # "REV:path" takes no suffix
        proc = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", spec],
            cwd=self.cwd,
            capture_output=True,
            env=_env(),
        )
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    # -- objects ---------------------------------------------------------------------------
    def write_object(self, kind: str, data: bytes) -> str:
        """Write a loose object (atomically) and return its id; a no-op when it exists."""
        header = f"{kind} {len(data)}\0".encode()
        sha = object_id(kind, data)
        target = self.objects_dir / sha[:2] / sha[2:]
        if target.exists():
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix="tmp_obj_")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(zlib.compress(header + data, 1))
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def read_object(self, sha: str) -> tuple[str, bytes]:
        """Return ``(type, content)`` of an object: a loose one (what mlx writes) is read
        in-process, anything else through the persistent cat-file process."""
        loose = self._read_loose(sha)
        if loose is not None:
            return loose
        with self._lock:
            proc = self._batch_proc()
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(sha.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().decode().split()
            if len(header) != 3:
                raise GitError(f"object {sha} not found")
            data = proc.stdout.read(int(header[2]) + 1)[:-1]
            return header[1], data

    def read_blobs(self, shas: Sequence[str]) -> dict[str, bytes]:
        """Read many blobs with one pipelined ``git cat-file --batch`` (writer thread).

        A few blobs (a run's new records) are usually loose: they are read in-process.
        """
        out: dict[str, bytes] = {}
        if len(shas) <= _FEW_LOOSE:
            for sha in shas:
                loose = self._read_loose(sha)
                if loose is not None:
                    out[sha] = loose[1]
            shas = [sha for sha in shas if sha not in out]
        if not shas:
            return out
        with subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=self.cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_env(),
        ) as proc:  # closes both pipes and waits, also on an exception
            assert proc.stdin is not None and proc.stdout is not None
            stdin = proc.stdin

            def feed() -> None:
                with contextlib.suppress(BrokenPipeError), stdin:
                    stdin.write("".join(f"{s}\n" for s in shas).encode())

            writer = threading.Thread(target=feed, daemon=True)
            writer.start()
            for _ in shas:
                header = proc.stdout.readline().decode().split()
                if len(header) != 3:
                    continue
                out[header[0]] = proc.stdout.read(int(header[2]) + 1)[:-1]
            writer.join()
        return out

    def _read_loose(self, sha: str) -> tuple[str, bytes] | None:
        """``(type, content)`` of a loose object; None when it is not loose (packed, absent)."""
        if len(sha) != 40:
            return None
        try:
            data = zlib.decompress((self.objects_dir / sha[:2] / sha[2:]).read_bytes())
        except (OSError, zlib.error):
            return None
        header, _, body = data.partition(b"\0")
        kind, _, size = header.decode(errors="replace").partition(" ")
        return (kind, body) if size.isdigit() and int(size) == len(body) else None

    def _batch_proc(self) -> subprocess.Popen[bytes]:
        if self._batch is None or self._batch.poll() is not None:
            self._batch = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self.cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=_env(),
            )
        return self._batch

    def close(self) -> None:
        """End the ``cat-file`` process and close its pipes (the object stays usable)."""
        proc, self._batch = self._batch, None
        if proc is None:
            return
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # e.g. a broken pipe when git died
                    pipe.close()
        try:
            proc.wait(timeout=10)  # it exits on EOF of stdin
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> Git:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()

    # -- trees -----------------------------------------------------------------------------
    def tree_entries(self, sha: str | None) -> list[TreeEntry]:
        if sha is None:
            return []
        cached = self._trees.get(sha)
        if cached is not None:
            return cached
        kind, data = self.read_object(sha)
        if kind != "tree":
            raise GitError(f"{sha} is a {kind}, not a tree")
        entries: list[TreeEntry] = []
        pos = 0
        while pos < len(data):
            space = data.index(b" ", pos)
            nul = data.index(b"\0", space)
            mode = data[pos:space].decode()
            name = data[space + 1 : nul].decode()
            entries.append(TreeEntry(mode, name, data[nul + 1 : nul + 21].hex()))
            pos = nul + 21
        if len(self._trees) > 4096:
            self._trees.clear()
        self._trees[sha] = entries
        return entries

    def write_tree(self, entries: Sequence[TreeEntry]) -> str:
        def key(e: TreeEntry) -> bytes:
            return (e.name + "/" if e.is_dir else e.name).encode()

        ordered = sorted(entries, key=key)
        body = b"".join(
            f"{e.mode} {e.name}".encode() + b"\0" + bytes.fromhex(e.sha) for e in ordered
        )
        sha = self.write_object("tree", body)
        self._trees[sha] = ordered
        return sha

    def update_tree(self, tree: str | None, changes: Mapping[str, str | None]) -> str:
        """Return a new tree: ``tree`` with each ``path -> blob id`` set (``None`` removes it).

        Only the trees on the changed paths are rewritten.
        """
        groups: dict[str, dict[str, str | None]] = {}
        leaves: dict[str, str | None] = {}
        for path, blob in changes.items():
            head, _, rest = path.partition("/")
            if rest:
                groups.setdefault(head, {})[rest] = blob
            else:
                leaves[head] = blob
        entries = {e.name: e for e in self.tree_entries(tree)}
        for name, blob in leaves.items():
            if blob is None:
                entries.pop(name, None)
            else:
                entries[name] = TreeEntry(MODE_FILE, name, blob)
        for name, sub in groups.items():
            old = entries.get(name)
            new_sub = self.update_tree(old.sha if old and old.is_dir else None, sub)
            if self.tree_entries(new_sub):
                entries[name] = TreeEntry(MODE_DIR, name, new_sub)
            else:
                entries.pop(name, None)
        return self.write_tree(list(entries.values()))

    def commit_tree(self, tree: str, parents: Sequence[str], message: str) -> str:
        """Write a commit object with explicit parents.

        The author is the user's git identity when one is configured (so a reviewer can see
        who recorded what on the runs ref), else mlx's own; the committer is always mlx.
        """
        stamp = f"{int(time.time())} +0000"
        ident = f"{IDENT_NAME} <{IDENT_EMAIL}> {stamp}"
        author = f"{self.author_ident()} {stamp}"
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
        lines += [f"author {author}", f"committer {ident}", "", message.rstrip("\n"), ""]
        return self.write_object("commit", "\n".join(lines).encode())

    def author_ident(self) -> str:
        """``Name <email>`` of the user (``git var GIT_AUTHOR_IDENT``), else mlx's; cached."""
        if self._author is None:
            proc = subprocess.run(
                ["git", "var", "GIT_AUTHOR_IDENT"], cwd=self.cwd, capture_output=True, env=_env()
            )
            out = proc.stdout.decode("utf-8", "replace").strip()
            name, sep, _ = out.rpartition(">")
            ok = proc.returncode == 0 and sep and "\n" not in name and "<" in name
            self._author = f"{name}>" if ok else f"{IDENT_NAME} <{IDENT_EMAIL}>"
        return self._author

    def commit_tree_of(self, commit: str) -> str:
        kind, data = self.read_object(commit)
        if kind != "commit":
            raise GitError(f"{commit} is not a commit")
        return data.split(b"\n", 1)[0].split()[1].decode()

    # -- refs ------------------------------------------------------------------------------
    def update_ref(self, ref: str, new: str, old: str | None, message: str = "mlx") -> bool:
        """Compare-and-swap ``ref`` from ``old`` (``None``: must not exist) to ``new``.

        Returns False when the ref was not at ``old`` (the caller rebuilds and retries).
        """
        proc = subprocess.run(
            ["git", "update-ref", "--create-reflog", "-m", message, ref, new, old or ZERO],
            cwd=self.cwd,
            capture_output=True,
            env=_env(),
        )
        if proc.returncode == 0:
            return True
        err = proc.stderr.decode(errors="replace")
        if "but expected" in err or "reference already exists" in err or "cannot lock" in err:
            return False
        raise RefConflictError(f"git update-ref {ref} failed: {err.strip()}")

    # -- listing ---------------------------------------------------------------------------
    def ls_tree(self, treeish: str, *paths: str) -> list[tuple[str, str]]:
        """``(path, blob id)`` of every blob under ``paths`` (default: all) in ``treeish``."""
        args = ["ls-tree", "-r", "-z", "--full-tree", treeish]
        if any(paths):
            args += ["--", *(p for p in paths if p)]
        out = self.run(*args)
        rows = []
        for item in out.split("\0"):
            if not item:
                continue
            meta, _, name = item.partition("\t")
            rows.append((name, meta.split()[2]))
        return rows

    def diff_tree(self, old: str, new: str) -> list[tuple[str, str, str]]:
        """``(status, path, new blob id)`` for every path changed between two tree-ishes."""
        out = self.run("diff-tree", "-r", "-z", "--no-renames", old, new)
        parts = [p for p in out.split("\0") if p]
        rows = []
        for meta, path in zip(parts[0::2], parts[1::2], strict=False):
            fields = meta.lstrip(":").split()
            rows.append((fields[4], path, fields[3]))
        return rows

    def is_ancestor(self, a: str, b: str) -> bool:
        return self.run_ok("merge-base", "--is-ancestor", a, b)

    # -- work-tree facts (read only) -------------------------------------------------------
    def head_commit(self) -> str | None:
        """The commit HEAD points at (None on an unborn branch); read from files, no fork."""
        head = self._head()
        if head is None:
            return self.rev_parse("HEAD")
        return head if len(head) == 40 else self.read_ref(head)

    def current_branch(self) -> str | None:
        """The checked-out branch's short name (None when HEAD is detached)."""
        head = self._head()
        if head is None:
            proc = subprocess.run(["git", "symbolic-ref", "-q", "--short", "HEAD"],
                                  cwd=self.cwd, capture_output=True, env=_env())  # fmt: skip
            return proc.stdout.decode().strip() or None
        return head.removeprefix("refs/heads/") if head.startswith("refs/heads/") else None

    def _head(self) -> str | None:
        """HEAD's full ref name or commit id from the HEAD file; None: ask git instead."""
        try:
            text = (self.git_dir / "HEAD").read_text().strip()
        except OSError:
            return None
        if text.startswith("ref: refs/") and text != "ref: refs/heads/.invalid":  # not reftable
            return text.removeprefix("ref: ")
        return text if len(text) == 40 else None

    def is_dirty(self, paths: Sequence[str] = ()) -> bool:
        """Whether tracked files differ from HEAD (untracked files ignored).

        ``diff-index`` (plumbing, no index refresh) names every candidate; only when it names
        some does ``status`` check them, since a file whose stat data changed but whose content
        did not is a candidate but not a change. Neither rewrites the user's ``.git/index``.
        """
        out = self.run("diff-index", "--name-only", "-z", "HEAD", "--", *paths, check=False)
        candidates = [p for p in out.split("\0") if p]
        if not candidates:
            return False
        status = ["--no-optional-locks", "status", "--porcelain", "--untracked-files=no", "-z"]
        if len(candidates) <= 200:  # keep argv short
            status = ["--literal-pathspecs", *status, "--", *candidates]
        else:
            status += ["--", *paths]
        out = self.run(*status, check=False)
        return bool(out.strip())
