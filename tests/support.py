"""Helpers every test package shares: one home for each (``from tests.support import ...``).

- processes: :func:`sh`, :func:`git`, :func:`commit_all`, the real ``mlx`` in a subprocess
  (:func:`mlx_cli`, :func:`mlx_ok`, :func:`mlx_json`, :func:`mlx_run_json`);
- an isolated git/DVC environment (:func:`isolated_env_vars`, :func:`isolate`);
- repository checks: :func:`fsck_problems` / :func:`assert_fsck_clean`, :func:`ref_paths`,
  :func:`runs_tip`, :func:`cache_objects`, work-tree snapshots (:func:`tree_digest`,
  :func:`worktree_state`);
- pipelines for tests (:data:`CRASHING_PIPELINE`, :data:`FAILING_PIPELINE`,
  :func:`write_pipeline`);
- waiting on conditions, never on time: :func:`wait_until` (threads, processes, files) and
  :func:`pilot_wait` (a Textual app under ``run_test``). Their deadline is generous: it only
  decides how long a broken test takes to fail, never whether a slow machine passes;
- :func:`build_once`: a directory built by one xdist worker and reused by the others;
- the TUI app under test (:func:`make_app`, :func:`settle`) and remotes for a project
  (:func:`add_remotes`).

Package-specific builders (record factories, sandboxes, TUI fixtures) stay in their packages.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from store.project import Project

REPO = Path(__file__).resolve().parent.parent
RUNS_REF = "refs/mlx/runs"
DEADLINE = 180.0  # seconds; generous on purpose (a loaded 2-core machine is slow, not broken)

T = TypeVar("T")

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
}


# -- environment -----------------------------------------------------------------------------
def isolated_env_vars(home: Path) -> dict[str, str]:
    """The variables that cut git and DVC off from the machine's config: HOME, identity, ..."""
    return {
        **IDENTITY, "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"), "GIT_TERMINAL_PROMPT": "0",
        "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(home / "dvc-site"),
    }  # fmt: skip


def prepare_home(home: Path) -> None:
    """Create ``home`` with a git config whose default branch is ``main``."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")


def isolated_environ(home: Path) -> dict[str, str]:
    """``os.environ`` without GIT_*/DVC_* variables, plus :func:`isolated_env_vars`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "DVC_"))}
    env.pop("GITHUB_STEP_SUMMARY", None)
    return {**env, **isolated_env_vars(home)}


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Point this process at ``home`` (see :func:`isolated_environ`) for one test."""
    prepare_home(home)
    for key in [k for k in os.environ if k.startswith(("GIT_", "DVC_"))]:
        monkeypatch.delenv(key)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    for key, value in isolated_env_vars(home).items():
        monkeypatch.setenv(key, value)


# -- processes -------------------------------------------------------------------------------
def sh(cwd: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    """Run ``args`` in ``cwd``; return stdout (asserting exit 0 unless ``check=False``)."""
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd``; return stdout without surrounding whitespace (asserts exit 0)."""
    return sh(cwd, "git", *args).strip()


def commit_all(cwd: Path, message: str = "snapshot") -> str:
    """Commit everything in the work tree; return the new HEAD."""
    git(cwd, "add", "-A")
    git(cwd, "commit", "-qm", message)
    return git(cwd, "rev-parse", "HEAD")


def mlx_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an ``mlx`` subprocess: this one, with this checkout importable."""
    return {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}


def mlx_cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real ``mlx`` command line in a subprocess (``timeout``: a hang, not a budget)."""
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args], cwd=cwd, capture_output=True, text=True,
        env=mlx_env(env), timeout=timeout,
    )  # fmt: skip


def mlx_ok(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``mlx ARGS`` and assert it exited 0 (showing its output when it did not)."""
    proc = mlx_cli(cwd, *args, env=env)
    assert proc.returncode == 0, (
        f"mlx {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


def mlx_json(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run ``mlx ARGS`` (which must include --json), assert exit 0, return the parsed stdout."""
    return json.loads(mlx_ok(cwd, *args, env=env).stdout)


def mlx_run_json(cwd: Path, pipeline: str, *args: str, expect: int = 0) -> dict[str, Any]:
    """``mlx run PIPELINE ARGS --headless --json``: assert the exit code, return the run."""
    proc = mlx_cli(cwd, "run", pipeline, *args, "--headless", "--json")
    assert proc.returncode == expect, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


# -- repository checks -----------------------------------------------------------------------
def fsck_problems(repo: Path) -> list[str]:
    """Error lines of ``git fsck --strict`` (dangling objects are fine); [] when clean."""
    proc = subprocess.run(
        ["git", "fsck", "--strict", "--no-progress"], cwd=repo, capture_output=True, text=True
    )
    lines = (proc.stdout + proc.stderr).splitlines()
    bad = [ln for ln in lines if ln.startswith(("error", "warning", "missing", "broken", "bad"))]
    if proc.returncode != 0:
        bad.append(f"exit code {proc.returncode}")
    return bad


def assert_fsck_clean(repo: Path) -> None:
    """``git fsck --strict`` exits 0 and reports no error."""
    problems = fsck_problems(repo)
    assert not problems, "git fsck --strict:\n" + "\n".join(problems)


def runs_tip(cwd: Path) -> str | None:
    """The commit the runs ref points at, or None when no run was recorded yet."""
    proc = subprocess.run(["git", "rev-parse", "--verify", "-q", RUNS_REF], cwd=cwd,
                          capture_output=True, text=True)  # fmt: skip
    return proc.stdout.strip() or None


def ref_paths(repo: Path, ref: str = RUNS_REF) -> list[str]:
    """Every path in the tree at the tip of ``ref`` ([] when the ref does not exist)."""
    if subprocess.run(["git", "rev-parse", "--verify", "-q", ref], cwd=repo,
                      capture_output=True).returncode:  # fmt: skip
        return []
    return [line for line in git(repo, "ls-tree", "-r", "--name-only", ref).splitlines() if line]


def dvc_objects(cache: Path) -> dict[str, Path]:
    """``md5 -> path`` of every object in the DVC cache (or local remote) directory ``cache``."""
    base = cache / "files" / "md5"
    return {p.parent.name + p.name: p for p in base.glob("*/*")} if base.is_dir() else {}


def cache_objects(project_dir: Path) -> dict[str, Path]:
    """``md5 -> path`` of every object in the project's DVC cache."""
    return dvc_objects(project_dir / ".dvc" / "cache")


def tree_digest(root: Path) -> dict[str, str]:
    """``relative path -> sha256`` of every file under ``root`` (including ``.git``)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def worktree_state(repo: Path) -> dict[str, str]:
    """What mlx must not touch: HEAD, the current branch, every branch tip, ``git status`` and
    a checksum of ``.git/index``.

    Call ``git status`` once before the first snapshot so the index's stat data is fresh.
    """
    status = git(repo, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all")
    return {
        "head": git(repo, "rev-parse", "HEAD"),
        "branch": git(repo, "symbolic-ref", "-q", "HEAD") if _has_branch(repo) else "",
        "branches": git(repo, "for-each-ref", "refs/heads"),
        "status": status,
        "index": hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest(),
    }


def _has_branch(repo: Path) -> bool:
    return subprocess.run(["git", "symbolic-ref", "-q", "HEAD"], cwd=repo,
                          capture_output=True).returncode == 0  # fmt: skip


# -- pipelines -------------------------------------------------------------------------------
def write_pipeline(root: Path, module: str, source: str) -> Path:
    """Write ``pipelines/<module>.py`` (dedented) for the CLI to discover."""
    path = root / "pipelines" / f"{module}.py"
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return path


FAILING_PIPELINE = """
from typing import Annotated

from engine import pipeline, step


@step
def first() -> Annotated[int, "one"]:
    return 1


@step
def explode(one: int) -> Annotated[int, "two"]:
    print("about to explode")
    raise RuntimeError("kaboom in explode")


@step
def after(two: int) -> Annotated[int, "three"]:
    return two


@pipeline
def boom() -> None:
    after(explode(first()))
"""

# ``crash``: ``make`` finishes, then ``die`` kills its own process (SIGKILL) when ``really``;
# with MLX_TEST_HANG set it waits to be killed from outside instead.
CRASHING_PIPELINE = """
import os
import signal
import threading
from typing import Annotated

from engine import pipeline, step


@step
def make() -> Annotated[list[int], "made"]:
    return [41, 42, 43]


@step
def die(made: list[int], really: bool) -> Annotated[int, "after"]:
    if os.environ.get("MLX_TEST_HANG"):
        threading.Event().wait()
    if really:
        os.kill(os.getpid(), signal.SIGKILL)
    return len(made)


@pipeline
def crash(really: bool = True) -> None:
    die(make(), really=really)
"""


# -- waiting on conditions -------------------------------------------------------------------
def _describe(condition: Callable[[], Any], what: str) -> str:
    if what:
        return what
    try:
        return inspect.getsource(condition).strip()
    except (OSError, TypeError):
        return repr(condition)


def wait_until(
    condition: Callable[[], T], what: str = "", *, timeout: float = DEADLINE, every: float = 0.05
) -> T:
    """Poll ``condition`` until it returns something truthy; return that.

    Fails only when the condition never comes within ``timeout`` (generous on purpose).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f}s for: {_describe(condition, what)}")
        time.sleep(every)


async def pilot_wait(
    pilot: Any,
    condition: Callable[[], T],
    *,
    what: str = "",
    timeout: float = DEADLINE,
    every: float = 0.05,
) -> T:
    """:func:`wait_until` for a Textual app under ``run_test``: the app keeps running meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f}s for: {_describe(condition, what)}")
        await pilot.pause(every)


# -- shared fixtures across xdist workers ----------------------------------------------------
def build_once(tmp_path_factory: pytest.TempPathFactory, name: str,
               build: Callable[[Path], None]) -> Path:  # fmt: skip
    """A directory ``build`` fills once per test session, shared by every xdist worker.

    The first worker to take the lock builds ``<session base>/<name>/`` and marks it done; the
    others wait on the lock, then reuse it (treat it as read-only; copy it to modify it).
    Without xdist it is built in this process's base directory.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this session
    root = base / name
    marker = base / f"{name}.done"
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not marker.exists():
            if root.exists():  # a build that failed half-way in another worker
                shutil.rmtree(root)
            root.mkdir(parents=True)
            build(root)
            marker.write_text("done")
    return root


# -- the TUI app and remotes -----------------------------------------------------------------
def make_app(services: Any, poll: float = 0.0) -> Any:
    from tui.app import MlxApp

    return MlxApp(services, poll_interval=poll)


async def settle(pilot: Any, app: Any) -> None:
    """Wait until the app is idle: no thread worker running (never the runner: it may be
    long-lived) on two checks in a row, a message-processing pause apart.

    No fixed number of rounds: a loaded machine only makes this slower, never wrong; the
    generous deadline of :func:`pilot_wait` catches a worker that never ends.
    """
    from textual.worker import WorkerCancelled, WorkerState

    def busy() -> list[Any]:
        return [w for w in app.workers if w.group != "runner" and w.state in
                (WorkerState.PENDING, WorkerState.RUNNING)]  # fmt: skip

    quiet = 0

    async def idle_twice() -> bool:
        nonlocal quiet
        await pilot.pause()
        running = busy()
        if running:
            quiet = 0
            with suppress(WorkerCancelled):
                await app.workers.wait_for_complete(running)
            return False
        quiet += 1
        return quiet >= 2

    deadline = time.monotonic() + DEADLINE
    while not await idle_twice():
        if time.monotonic() > deadline:
            raise AssertionError(f"the app never settled: {busy()}")


def palette_top_hit(app: Any) -> str:
    """The highlighted entry of the open command palette ('' when none is open or listed)."""
    from textual.widgets import OptionList

    from tui.screens.palette import PaletteScreen

    if not isinstance(app.screen, PaletteScreen):
        return ""
    options = app.screen.query_one(OptionList)
    if not app.screen.hits or options.highlighted is None:
        return ""
    return str(options.get_option_at_index(options.highlighted).prompt)


async def palette_command(pilot: Any, app: Any, query: str, expect: str) -> None:
    """Open the palette, type ``query``, wait until ``expect`` is the top hit, run it."""
    from textual.widgets import Input

    from tui.screens.palette import PaletteScreen

    await settle(pilot, app)
    await pilot.press("ctrl+p")
    await pilot_wait(pilot, lambda: isinstance(app.screen, PaletteScreen))
    await pilot_wait(pilot, lambda: isinstance(app.screen.focused, Input))  # keys land in the box
    await pilot.press(*query)
    try:
        await pilot_wait(pilot, lambda: expect in palette_top_hit(app))
    except AssertionError as exc:
        typed = app.screen.text if isinstance(app.screen, PaletteScreen) else None
        raise AssertionError(
            f"top hit for {query!r}: {palette_top_hit(app)!r}, typed {typed!r}"
        ) from exc
    await pilot.press("enter")
    await settle(pilot, app)


def add_remotes(project: Project, base: Path) -> Path:
    """A bare git ``origin`` and a local DVC default remote (``--local``) for ``project``."""
    origin = base / "origin.git"
    git(base, "init", "-q", "--bare", str(origin))
    git(project.root, "remote", "add", "origin", str(origin))
    (base / "dvc-remote").mkdir()
    subprocess.run([sys.executable, "-m", "dvc", "remote", "add", "--local", "-d", "store",
                    str(base / "dvc-remote")], cwd=project.root, check=True,
                   capture_output=True)  # fmt: skip
    return origin
