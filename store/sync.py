"""Sharing the runs ref and artifact bytes with a git remote.

* Fetch with ``+refs/mlx/*:refs/remotes/<remote>/mlx/*`` (a tracking namespace, so a diverged
  local ref is never overwritten), then fast-forward or merge into the local ref by CAS.
* Diverged histories merge as a two-parent commit whose tree is the three-way union of both
  sides. Records are immutable, so the only expected clash is two clones that numbered a new
  artifact or model version the same: the local record (the one the remote has not seen) is
  renumbered after the remote's numbers and every local record pointing at it is rewritten in
  the merge commit, so a version number is never used twice across clones. An existing
  model-version record both sides added to (metadata of a used version, artifacts of a named
  one) keeps both sides' additions (:mod:`store.record_merge`). Any other path with two
  contents is a :class:`RefConflictError`.
* Push DVC objects first (every object the ref's records reference, incrementally: see
  :mod:`store.remote_objects`), then the ref, never forced; a push that lost a race (rejected
  as non-fast-forward, or ``cannot lock ref`` when pushes collide) is fetched, merged and
  retried after a random backoff. ``remote.<r>.push`` is never set (it would silently replace
  ``push.default``).
"""

from __future__ import annotations

import json
import random
import time
from contextlib import suppress
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from store.backfill import backfill_pointers
from store.errors import (
    ArtifactMissingError,
    GitError,
    GitRemoteError,
    InvalidRecordError,
    InvalidRecordsError,
    PushRefusedError,
    RefConflictError,
)
from store.git_progress import run_with_progress
from store.gitobj import MODE_DIR, ZERO, Git, TreeEntry
from store.paths import (
    DVC_DIR,
    parse_record_path,
    version_of,
    versioned_dir,
    versioned_path,
)
from store.publication import tracking_ref
from store.record_merge import merge_additions, mergeable
from store.remote_objects import (
    Progress,
    changed_blobs,
    complete_remote,
    pointers_in,
    transfer_callback,
)
from store.renumbering import StaleStage, follow_moves

if TYPE_CHECKING:
    from store.project import Project

__all__ = ["SyncResult", "merge_runs", "pull", "push", "tracking_ref"]

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
Action = Literal["up-to-date", "fast-forward", "merged", "ahead"]
_LOST_RACE = (
    "[rejected]", "(non-fast-forward)", "(fetch first)", "[remote rejected]", "cannot lock ref",
    "failed to update ref", "incorrect old value", "unable to update local ref",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a push or pull did."""

    remote: str
    action: Action  # how the local ref was brought up to date with the remote's
    before: str | None  # local runs ref tip before
    after: str | None  # local runs ref tip after
    remote_tip: str | None  # the remote's tip after the operation (as far as we know)
    pushed: bool = False  # the ref was sent to the remote
    renumbered: tuple[tuple[str, str], ...] = ()  # (old path, new path) of local records
    objects_pushed: int = 0
    objects_fetched: int = 0
    objects_missing: tuple[str, ...] = ()  # md5s neither here nor in the DVC remote
    attempts: int = 1
    rewritten_branches: tuple[tuple[str, str], ...] = ()  # unpushed promotion branches renamed
    stale_stages: tuple[StaleStage, ...] = ()  # stage lines naming a moved number: fix them
    pointers_added: int = 0  # .dvc files added for older records (store.backfill)
    bytes_pushed: int = 0  # total size of the pointers uploaded to the DVC remote
    bytes_fetched: int = 0  # total size of the pointers fetched from the DVC remote


@dataclass
class _Merge:
    action: Action
    tip: str | None
    renumbered: list[tuple[str, str]] = field(default_factory=list)
    validated: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (path, blob) -> raw


# -- public API ------------------------------------------------------------------------------
def pull(
    project: Project,
    remote: str = "origin",
    all_objects: bool = False,
    dvc_remote: str | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Fetch the remote's runs ref and bring the local one up to date (ff or union merge).

    Args:
        all_objects: also fetch every artifact's bytes from the DVC remote (default: lazily,
            when an artifact is loaded). Objects the DVC remote lacks are reported in
            ``objects_missing``, not raised.
        dvc_remote: DVC remote for ``all_objects`` (default: DVC's default remote).
        progress: told ``(what, done, total)`` while objects move.

    Raises:
        GitRemoteError: the git remote could not be fetched from.
    """
    before = project.runs.tip()
    theirs = _fetch(project, remote, progress)
    merged = _integrate(project, theirs, remote)
    fetched = fetched_bytes = 0
    missing: tuple[str, ...] = ()
    if all_objects and merged.tip:
        pointers = pointers_in(project.git, changed_blobs(project.git, None, merged.tip))
        wanted = [p for p in pointers if not project.artifacts.exists(p)]
        if wanted:
            size = sum(p.size for p in wanted)
            callback = transfer_callback(progress, "downloading", len(wanted), size)
            with suppress(ArtifactMissingError):  # report which below, after the rest came
                project.artifacts.fetch(wanted, dvc_remote, callback)
            fetched = project.artifacts.last_fetched
            still = [p for p in wanted if not project.artifacts.exists(p)]
            missing = tuple(sorted(p.md5 for p in still))
            fetched_bytes = size - sum(p.size for p in still)
            if progress:
                progress("downloading", len(wanted) - len(still), len(wanted))
                progress("downloading bytes", fetched_bytes, size)
    if merged.tip != before:  # pay for the index here, not at the first `runs list`
        project.index.sync(validated=merged.validated)  # validated once, by _refuse_invalid
    moved = tuple(merged.renumbered)
    follow = follow_moves(project, moved, remote)
    return SyncResult(
        remote, merged.action, before, merged.tip, theirs, renumbered=moved,
        objects_fetched=fetched, objects_missing=missing, rewritten_branches=follow.rewritten,
        stale_stages=follow.stale, bytes_fetched=fetched_bytes,
    )  # fmt: skip


def push(
    project: Project,
    remote: str = "origin",
    dvc_remote: str | None = None,
    retries: int = 30,
    allow_missing: bool = False,
    progress: Progress | None = None,
) -> SyncResult:
    """Publish the runs ref: complete the DVC remote first, then the ref, never forced.

    Every object referenced by a record on the ref to push goes to the DVC remote first
    (see :mod:`store.remote_objects`), also for records pushed earlier. When the remote moved
    meanwhile (the push lost a race), fetch, merge and try again after a random backoff.

    Args:
        allow_missing: push the ref even when records reference bytes that are neither in the
            local cache nor on the DVC remote (they are still listed in ``objects_missing``).

    Raises:
        PushRefusedError: records to publish reference bytes that exist nowhere (nothing was
            pushed to git); pass ``allow_missing`` to push anyway.
        DvcRemoteError: the DVC remote failed or does not exist (the ref is then not pushed).
        GitRemoteError: git push/fetch failed for another reason than a lost race.
        RefConflictError: the histories conflict, or the remote kept moving.
    """
    ref = project.runs.ref
    before = project.runs.tip()
    renumbered: list[tuple[str, str]] = []
    uploaded = uploaded_bytes = backfilled = 0
    missing: tuple[str, ...] = ()
    for attempt in range(1, retries + 1):
        theirs = _fetch(project, remote, progress)
        merged = _integrate(project, theirs, remote)
        renumbered += merged.renumbered
        if merged.tip is not None:
            backfilled += backfill_pointers(project)  # so `dvc gc --rev` keeps older runs' bytes
        local = project.runs.tip() if backfilled else merged.tip
        if local is None:
            return SyncResult(remote, merged.action, before, local, theirs, attempts=attempt)
        done = complete_remote(project, local, theirs, dvc_remote, progress)
        uploaded += done.uploaded
        uploaded_bytes += done.uploaded_bytes
        missing = tuple(sorted(p.md5 for p in done.missing))
        if done.blocking and not allow_missing:
            raise PushRefusedError(
                f"refusing to push {ref} to {remote}: {len(done.blocking)} object(s) its "
                "records reference are neither in the local DVC cache nor on the DVC remote: "
                + ", ".join(done.blocking)
                + "; push from a clone that still has them, or pass --allow-missing to publish "
                "the records without their bytes",
                done.blocking,
            )
        result = partial(
            SyncResult, remote, merged.action, before, local, renumbered=tuple(renumbered),
            objects_pushed=uploaded, objects_missing=missing, attempts=attempt,
            pointers_added=backfilled, bytes_pushed=uploaded_bytes,
        )  # fmt: skip
        if local == theirs:
            return _followed(project, result(remote_tip=theirs))
        if _push_ref(project.git, remote, ref, progress):
            old = theirs or ZERO  # CAS: a concurrent fetch may already know a newer tip
            project.git.run_ok("update-ref", tracking_ref(ref, remote), local, old)
            return _followed(project, result(remote_tip=local, pushed=True))
        time.sleep(random.uniform(0.05, 0.1 + min(0.05 * 2**attempt, 2.0)))  # backoff + jitter
    raise RefConflictError(
        f"{remote} kept moving {ref}: gave up after {retries} push attempts; try again"
    )


def _followed(project: Project, result: SyncResult) -> SyncResult:
    """``result`` with the renumbering's consequences handled (:mod:`store.renumbering`)."""
    follow = follow_moves(project, result.renumbered, result.remote)
    return replace(result, rewritten_branches=follow.rewritten, stale_stages=follow.stale)


# -- git transport ---------------------------------------------------------------------------
def _fetch(project: Project, remote: str, progress: Progress | None = None) -> str | None:
    """Fetch the remote's mlx refs into the tracking namespace; the tracking tip or None."""
    ref = project.runs.ref
    spec = f"+{ref}:{tracking_ref(ref, remote)}"
    for attempt in range(1, 11):
        try:
            if not ref.startswith("refs/mlx/"):
                if not project.git.run("ls-remote", remote, ref).strip():
                    return None
            else:
                spec = f"+refs/mlx/*:refs/remotes/{remote}/mlx/*"  # a glob: no error when absent
            if progress is None:
                project.git.run("fetch", "--quiet", "--no-tags", "--prune", remote, spec)
            else:
                run_with_progress(project.git, "fetch", ["--no-tags", "--prune", remote, spec],
                                  progress)  # fmt: skip
            break
        except GitError as exc:
            # another mlx process of this clone is fetching into the same tracking refs
            if attempt < 10 and any(m in str(exc) for m in _LOST_RACE):
                time.sleep(random.uniform(0.02, 0.05 * attempt))
                continue
            raise GitRemoteError(f"could not fetch {ref} from {remote!r}: {exc}") from exc
    return project.git.rev_parse(tracking_ref(ref, remote))


def _push_ref(git: Git, remote: str, ref: str, progress: Progress | None = None) -> bool:
    """``git push REMOTE REF:REF`` (never forced); False when it lost a race to another push.

    Lost races show up as a non-fast-forward rejection, or, when two pushes reach the remote
    at the same moment, as ``[remote rejected] ... cannot lock ref``.
    """
    try:
        if progress is None:
            git.run("push", remote, f"{ref}:{ref}")  # not --quiet: the status line tells why
        else:
            run_with_progress(git, "push", [remote, f"{ref}:{ref}"], progress)
    except GitError as exc:
        if any(marker in str(exc) for marker in _LOST_RACE):
            return False
        raise GitRemoteError(f"could not push {ref} to git remote {remote!r}: {exc}") from exc
    return True


# -- merging ---------------------------------------------------------------------------------
def _integrate(project: Project, theirs: str | None, remote: str) -> _Merge:
    """Bring the local runs ref up to date with ``theirs`` by CAS (retried if it moves)."""
    git, runs = project.git, project.runs
    for _ in range(50):
        local = runs.tip()
        if theirs is None or local == theirs:
            return _Merge("up-to-date", local)
        if local is not None and git.is_ancestor(theirs, local):
            return _Merge("ahead", local)
        validated = _refuse_invalid(git, local, theirs, remote)
        if local is None or git.is_ancestor(local, theirs):
            result = _Merge("fast-forward", theirs)
        else:
            result = merge_runs(git, local, theirs, f"mlx: merge runs from {remote}")
        result.validated = validated
        if git.update_ref(runs.ref, str(result.tip), local, message=f"mlx: sync with {remote}"):
            return result
    raise RefConflictError(f"{runs.ref} kept moving while merging {remote}'s runs; try again")


def _refuse_invalid(
    git: Git, local: str | None, theirs: str, remote: str
) -> dict[tuple[str, str], bytes]:
    """Validate every record ``theirs`` adds or changes; refuse the whole ref if one is bad.

    Returns the records that passed (``(path, blob id) -> bytes``), so the index can store
    them without reading and validating them again.

    Records are data from the wire: each must validate with the schema that wrote it and sit
    at its own path (:func:`store.records.record_at`), and nothing but records may be on the ref.

    Raises:
        InvalidRecordsError: the list of bad paths and why; the local ref is not touched.
    """
    from store.records import check_dvc_file, record_at

    if local is None:
        rows = git.ls_tree(theirs)
    else:
        rows = [(p, b) for s, p, b in git.diff_tree(local, theirs) if s != "D"]
    raws = git.read_blobs(sorted({b for _, b in rows}))
    problems: list[tuple[str, str]] = []
    for path, blob in rows:
        try:
            if path.startswith(f"{DVC_DIR}/"):
                check_dvc_file(path, raws.get(blob, b""))
            else:
                record_at(path, raws.get(blob, b""))
        except InvalidRecordError as exc:
            problems.append((path, exc.reason))
    if problems:
        raise InvalidRecordsError(f"{remote}'s runs ref", problems)
    return {(p, b): raws[b] for p, b in rows if b in raws and parse_record_path(p)}


def merge_runs(git: Git, ours: str, theirs: str, message: str) -> _Merge:
    """A merge commit (parents: theirs, ours) whose tree is the three-way union of both.

    Conflicting new version records of ours are renumbered (see the module docstring).
    """
    base_out = git.run("merge-base", ours, theirs, check=False).strip()
    base_tree = git.commit_tree_of(base_out) if base_out else None
    ours_tree, theirs_tree = git.commit_tree_of(ours), git.commit_tree_of(theirs)
    conflicts: list[tuple[str, str | None, str | None, str | None]] = []
    tree = _merge3(git, base_tree, ours_tree, theirs_tree, "", conflicts)
    renumbered: list[tuple[str, str]] = []
    additions = [c for c in conflicts if mergeable(c)]  # both sides added to one version
    clashes = [c for c in conflicts if not mergeable(c)]
    if clashes:
        tree, renumbered = _renumber(git, tree, base_tree, ours_tree, theirs_tree, clashes)
    if additions and tree:
        tree = merge_additions(git, tree, additions)
    commit = git.commit_tree(tree or git.write_tree([]), [theirs, ours], message)
    return _Merge("merged", commit, renumbered)


def _merge3(
    git: Git, base: str | None, ours: str | None, theirs: str | None, prefix: str,
    conflicts: list[tuple[str, str | None, str | None, str | None]],
) -> str | None:  # fmt: skip
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    b, o, t = ({e.name: e for e in git.tree_entries(s)} for s in (base, ours, theirs))
    out: list[TreeEntry] = []
    for name in sorted(o.keys() | t.keys() | b.keys()):
        eb, eo, et = b.get(name), o.get(name), t.get(name)
        sb, so, st = (e.sha if e else None for e in (eb, eo, et))
        if so == st or st == sb:
            pick = eo
        elif so == sb:
            pick = et
        elif all(e is None or e.is_dir for e in (eb, eo, et)):
            sub = _merge3(git, sb, so, st, f"{prefix}{name}/", conflicts)
            pick = TreeEntry(MODE_DIR, name, sub) if sub else None
        else:  # keep the remote's side; the caller renumbers ours or raises
            conflicts.append((f"{prefix}{name}", sb, so, st))
            pick = et or eo
        if pick is not None:
            out.append(pick)
    return git.write_tree(out) if out else None


def _renumber(
    git: Git, tree: str | None, base: str | None, ours: str, theirs: str,
    conflicts: list[tuple[str, str | None, str | None, str | None]],
) -> tuple[str, list[tuple[str, str]]]:  # fmt: skip
    """Move our clashing new version records after the remote's numbers; fix references."""
    clash: dict[str, set[int]] = {}  # "artifacts/x" -> clashing numbers
    for path, sb, so, st in conflicts:
        parsed = parse_record_path(path)
        if parsed is None or parsed[0] == "run" or sb is not None or not so or not st:
            raise RefConflictError(
                f"the local runs ref and the remote's disagree on {path} (both changed it); "
                "records are immutable, so one side rewrote it: inspect with `git log --all "
                f"-- {path}` and keep one version by hand"
            )
        clash.setdefault(versioned_dir(path), set()).add(int(parsed[2]))
    # Our side's records the remote has not seen: added or changed since the base, not identical.
    since_base = {p: s for s, p, _ in git.diff_tree(base or EMPTY_TREE, ours) if s != "D"}
    ours_only = since_base.keys() & {p for s, p, _ in git.diff_tree(theirs, ours) if s != "D"}
    added = {p for p in ours_only if since_base[p] == "A"}
    blobs = dict(git.ls_tree(ours))
    moves: dict[str, str] = {}
    for directory, numbers in clash.items():
        mine = sorted(  # our new records in that directory from the first clash on
            n for p in added
            if versioned_dir(p) == directory
            and (n := version_of(p)) is not None and n >= min(numbers)
        )  # fmt: skip
        taken = {n for n in _numbers(git, tree, directory) if n not in mine or n in numbers}
        start = max(taken, default=0) + 1
        for offset, old in enumerate(mine):  # keep our order, after everything of theirs
            moves[versioned_path(directory, old)] = versioned_path(directory, start + offset)
    records = git.read_blobs(sorted({blobs[p] for p in ours_only if p in blobs}))
    art_ids, model_map = _renumber_maps(moves, {p: records[blobs[p]] for p in moves})
    clashing = {versioned_path(d, n) for d, ns in clash.items() for n in ns}  # hold theirs now
    changes: dict[str, str | None] = {old: None for old in moves if old not in clashing}
    for path in sorted(ours_only):
        if parse_record_path(path) is None or path not in blobs:
            continue
        raw = records[blobs[path]]
        new = _rewrite(path, raw, art_ids, model_map)
        target = moves.get(path, path)
        if new != raw or target != path:
            changes[target] = git.write_object("blob", new)
    return git.update_tree(tree, changes), sorted(moves.items())


def _numbers(git: Git, tree: str | None, directory: str) -> set[int]:
    sha = tree
    for part in directory.split("/"):
        entry = next((e for e in git.tree_entries(sha) if e.name == part), None)
        sha = entry.sha if entry and entry.is_dir else None
        if sha is None:
            return set()
    numbers: set[int] = set()
    for bucket in git.tree_entries(sha):
        if bucket.is_dir and bucket.name.isdigit():
            names = [e.name[:-5] for e in git.tree_entries(bucket.sha) if e.name.endswith(".json")]
            numbers |= {int(n) for n in names if n.isdigit()}
    return numbers


def _renumber_maps(
    moves: dict[str, str], raws: dict[str, bytes]
) -> tuple[dict[str, int], dict[tuple[str, int], int]]:
    art_ids: dict[str, int] = {}
    model_map: dict[tuple[str, int], int] = {}
    for old, new in moves.items():
        kind, name, number = parse_record_path(old) or ("", "", "")
        new_number = version_of(new) or 0
        if kind == "artifact":
            art_ids[json.loads(raws[old])["id"]] = new_number
        elif kind == "model":
            model_map[(name, int(number))] = new_number
    return art_ids, model_map


def _rewrite(
    path: str, raw: bytes, art_ids: dict[str, int], model_map: dict[tuple[str, int], int]
) -> bytes:
    """One of our records with renumbered artifact/model references (and its own number)."""
    from store.records import (
        ArtifactVersionRecord,
        ModelVersionRecord,
        Record,
        RunRecord,
        dump_record,
    )

    kind = (parse_record_path(path) or ("",))[0]
    data: dict[str, Any] = json.loads(raw)

    def fix_art(ref: dict[str, Any]) -> dict[str, Any]:
        return {**ref, "version": art_ids[ref["id"]]} if ref.get("id") in art_ids else ref

    def fix_model(ref: dict[str, Any] | None) -> dict[str, Any] | None:
        new = model_map.get((ref["name"], ref.get("version") or 0)) if ref else None
        return ref if ref is None or new is None else {**ref, "version": new}

    cls: type[Record]
    if kind == "run":
        cls = RunRecord
        for step in data.get("steps", []):
            for role in ("inputs", "outputs"):
                step[role] = {k: fix_art(r) for k, r in (step.get(role) or {}).items()}
        data["model"] = fix_model(data.get("model"))
    elif kind == "artifact":
        cls = ArtifactVersionRecord
        data = fix_art(data)
        data["model"] = fix_model(data.get("model"))
    else:
        cls = ModelVersionRecord
        data["version"] = model_map.get((data["name"], data["version"]), data["version"])
        for key in ("artifacts", "model_artifacts"):
            data[key] = {k: fix_art(r) for k, r in (data.get(key) or {}).items()}
    if json.loads(raw) == data:
        return raw
    return dump_record(cls.model_validate(data))
