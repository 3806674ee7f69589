"""The artifact store: artifact bytes in the DVC cache and DVC remotes, addressed by md5.

mlx keeps every artifact's bytes in the project's DVC cache (``<cache>/files/md5/xx/yyyy``, the
layout DVC 3 uses) and records only a :class:`~store.records.DvcPointer` on the runs ref. This
module (with :mod:`store.odb_io` and :mod:`store.dvc_config`) is the one place that talks to
DVC. It is shaped by three facts:

* ``dvc add`` writes ``.dvc`` files and ``.gitignore`` lines; we call dvc-data's ``build`` and
  ``transfer`` directly instead, so nothing is ever written to the work tree.
* DVC's own push is shallow and a ``.dir`` pushed alone poisons the remote (DVC then assumes its
  entries are there), so every transfer here is ``shallow=False``: a directory always travels
  with all of its entries.
* Importing DVC is slow (0.2-0.4 s), so nothing DVC-related is imported at module import. Local
  remotes (a path or ``file://`` URL) are opened with dvc-data alone; only other remotes (s3, ...)
  open ``dvc.repo.Repo`` to honour the user's full DVC configuration and credentials.

The configuration read here is ``.dvc/config`` overlaid by ``.dvc/config.local``; global and
system DVC config files are only honoured for non-local remotes (through ``Repo``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from store.dvc_config import REMOTE_SECTION, local_path, read_config
from store.errors import (
    ArtifactError,
    ArtifactMissingError,
    DvcRemoteError,
    MlxError,
    NotFoundError,
    ValidationError,
)
from store.odb_io import (
    entry_oids,
    hash_info,
    local_odb,
    manifest_oids,
    mtime,
    object_path,
    tmp_files,
    touch_oids,
    transfer_errors,
)  # fmt: skip
from store.pointers import PointerLike
from store.verify import Verifier

if TYPE_CHECKING:
    from dvc_data.hashfile.db import HashFileDB
    from dvc_data.hashfile.db.local import LocalHashFileDB

    from store.records import DvcPointer

__all__ = ["ArtifactStore"]

P = TypeVar("P", bound=PointerLike)

_OID = re.compile(r"^[0-9a-f]{32}(\.dir)?$")


class ArtifactStore:
    """Bytes of artifacts in the DVC cache; nothing is ever written to the work tree."""

    def __init__(self, root: Path) -> None:
        """Open the store of the project at ``root`` (the directory holding ``.dvc/``)."""
        self.root = Path(root).resolve()
        self._dvc_dir = self.root / ".dvc"
        self._config = read_config(self._dvc_dir)
        configured = self._config.get("cache", {}).get("dir")
        cache_dir = local_path(self._dvc_dir, configured) if configured else None
        self.cache_dir: Path = cache_dir or self._dvc_dir / "cache"
        self._remote_odbs: dict[str, HashFileDB] = {}
        self.last_fetched = 0  # objects the last fetch() brought, also when it then raised

    # -- configuration -------------------------------------------------------------------

    def remotes(self) -> dict[str, str]:
        """Return the configured DVC remotes, name -> URL (local paths made absolute)."""
        found: dict[str, str] = {}
        for section, values in self._config.items():
            match = REMOTE_SECTION.match(section)
            if match and "url" in values:
                url = values["url"]
                local = local_path(self._dvc_dir, url)
                found[match["name"]] = str(local) if local is not None else url
        return found

    def default_remote(self) -> str | None:
        """Return the name in ``[core] remote``, or None when no default is set."""
        return self._config.get("core", {}).get("remote") or None

    # -- local cache ---------------------------------------------------------------------

    def save(self, path: Path) -> DvcPointer:
        """Hash a file or directory into the cache and return its pointer.

        Identical content is stored once. The source is copied (never moved or linked), so it
        stays writable and the cache stays read-only.
        """
        from dvc_data.hashfile.build import build
        from dvc_data.hashfile.transfer import transfer

        cache = self._cache_odb()
        source = Path(path).resolve()
        if not source.exists():
            raise ArtifactError(f"cannot save {source} to the DVC cache: it does not exist")
        where = f"saving {source} to the DVC cache {self.cache_dir}"
        with _wrapped(where), transfer_errors() as errors:
            staging, meta, obj = build(cache, str(source), cache.fs, "md5")
            oids = {str(obj.hash_info.value)} | entry_oids(obj)
            touch_oids(cache, oids)  # content already cached: young now, a gc spares it
            before = tmp_files(cache, oids)
            for _ in range(3):  # an object that vanished meanwhile (a gc, a racing writer) is
                result = transfer(staging, cache, {obj.hash_info}, shallow=False,
                                  hardlink=False)  # fmt: skip
                if result.failed or all(cache.exists(oid) for oid in oids):
                    break  # copied again from the staging area
        if result.failed or not all(cache.exists(oid) for oid in oids):
            for leftover in tmp_files(cache, oids) - before:  # what the failed copy left
                leftover.unlink(missing_ok=True)
            cause = errors[0] if errors else "some objects are missing after the copy"
            raise ArtifactError(f"{where} failed: {cause}")
        oid = obj.hash_info.value
        assert oid is not None and meta.size is not None
        is_dir = obj.hash_info.isdir
        from store.records import DvcPointer

        self._touch(DvcPointer(md5=oid, size=meta.size), cache)  # see gc(older_than=)
        return DvcPointer(md5=oid, size=meta.size, nfiles=meta.nfiles if is_dir else None)

    def verified(self, pointer: DvcPointer) -> bool:
        """Whether the pointer's objects are cached with bytes that match their md5.

        Cheap after the first call for an unchanged object (see :mod:`store.verify`); corrupt
        objects are removed from the cache so a fetch can replace them.
        """
        return self._verifier().pointer_ok(pointer)

    def exists(self, pointer: PointerLike) -> bool:
        """Return True when the pointer's bytes (a ``.dir`` and all its entries) are cached.

        Plain file checks on DVC 3's cache layout, without importing dvc-data: a fully cached
        run asks this for every output it reuses and loads nothing.
        """
        if not self._cache_path(pointer.md5).is_file():
            return False
        if not pointer.is_dir:
            return True
        oids = manifest_oids(self._cache_path(pointer.md5))
        return oids is not None and all(self._cache_path(oid).is_file() for oid in oids)

    def _cache_path(self, oid: str) -> Path:
        """Where DVC 3 keeps object ``oid`` in the cache (``files/md5/xx/yyyy``)."""
        return self.cache_dir / "files" / "md5" / oid[:2] / oid[2:]

    def cache_file(self, pointer: DvcPointer, remote: str | None = None) -> Path:
        """Return the read-only path of a single file's object in the cache.

        Fetches it from ``remote`` (default: ``[core] remote``) first if it is not cached.

        Raises:
            ValidationError: the pointer is a directory (use :meth:`checkout`).
            ArtifactMissingError: the bytes are in neither the cache nor the remote.
        """
        if pointer.is_dir:
            raise ValidationError(
                f"artifact {pointer.md5} is a directory, not a file; use checkout() instead"
            )
        self._ensure_cached(pointer, remote)
        return Path(object_path(self._cache_odb(), pointer.md5))

    def read_bytes(self, pointer: DvcPointer, remote: str | None = None) -> bytes:
        """Return the content of a small single-file artifact (a log, a metrics file)."""
        return self.cache_file(pointer, remote).read_bytes()

    def checkout(self, pointer: DvcPointer, dest: Path, remote: str | None = None) -> Path:
        """Materialise a file or directory at ``dest`` as writable copies; return ``dest``.

        Fetches missing objects first. ``dest`` must not exist; it appears whole or not at all
        (the copy is made next to it and renamed into place).
        """
        from dvc_data.hashfile.checkout import checkout
        from dvc_data.hashfile.tree import Tree

        dest = Path(dest).absolute()
        if dest.exists() or dest.is_symlink():
            raise ArtifactError(f"cannot check out artifact {pointer.md5} to {dest}: it exists")
        self._ensure_cached(pointer, remote)
        cache = self._cache_odb()
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        try:
            target = staging / "out"
            with _wrapped(f"checking out artifact {pointer.md5} to {dest}"):
                obj = (
                    Tree.load(cache, hash_info(pointer))
                    if pointer.is_dir
                    else cache.get(pointer.md5)
                )
                checkout(str(target), cache.fs, obj, cache, force=True, quiet=True)
                if pointer.is_dir:
                    target.mkdir(exist_ok=True)  # an empty tree creates nothing
                os.replace(target, dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return dest

    def gc(
        self, keep: Iterable[PointerLike], dry: bool = False, older_than: float | None = None
    ) -> list[str]:
        """Delete every cache object not referenced by ``keep``; return the removed object ids.

        Directories in ``keep`` keep their ``.dir`` and all entries. With ``older_than`` (a
        POSIX time), an object modified at or after it is kept too: a run may have saved it
        and not referenced it yet (:meth:`save` refreshes the time of content it finds
        already cached). The time is checked again just before each deletion.
        """
        cache = self._cache_odb()
        kept: set[str] = set()
        for pointer in keep:
            kept.add(pointer.md5)
            kept |= self._oids(pointer, cache) or set()  # .dir not cached: entries unknown
        with _wrapped(f"collecting garbage in the DVC cache {self.cache_dir}"):
            stored: Iterable[str] = cache.all()  # type: ignore[no-untyped-call]
            doomed = sorted(oid for oid in stored if _OID.match(oid) and oid not in kept)
            if older_than is not None:
                doomed = [oid for oid in doomed if mtime(object_path(cache, oid)) < older_than]
            if not dry:
                for oid in doomed:
                    path = object_path(cache, oid)
                    if older_than is None or mtime(path) < older_than:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(path)
        return doomed

    # -- remotes -------------------------------------------------------------------------

    def fetch(
        self, pointers: Iterable[PointerLike], remote: str | None = None, callback: Any = None
    ) -> int:
        """Download the pointers' missing objects from ``remote``; return how many objects
        arrived (a ``.dir`` manifest and each of its entries count one).

        ``callback`` (an fsspec ``Callback``) is told of each object transferred.

        Raises:
            ArtifactMissingError: some bytes are in neither the cache nor the remote.
        """
        from dvc_data.hashfile.transfer import transfer

        missing = [p for p in pointers if not self.exists(p)]
        if not missing:
            return 0
        before = self.cached_oids(missing)
        name = self._remote_name(remote, missing[0])
        odb = self._remote_odb(name)
        with _wrapped(f"fetching from DVC remote {name!r}", DvcRemoteError):
            # dvc-data fails outright on a .dir the remote lacks; leave those to the check below.
            his = {hash_info(p) for p in missing if self._oids(p, odb) is not None}
            extra = {"callback": callback} if callback is not None else {}
            # its result counts are unreliable with cache_odb: count what arrived instead
            transfer(odb, self._cache_odb(), his, shallow=False, cache_odb=odb, **extra)
        self.last_fetched = len(self.cached_oids(missing) - before)
        still = [p.md5 for p in missing if not self.exists(p)]
        if still:
            raise ArtifactMissingError(
                f"artifact(s) {', '.join(still)} are in neither the local DVC cache nor DVC "
                f"remote {name!r} ({self._describe(name)}); push them from a machine that has them"
            )
        return self.last_fetched

    def cached_oids(self, pointers: Iterable[PointerLike]) -> set[str]:
        """The object ids of ``pointers`` (with the entries of cached manifests) in the cache."""
        found: set[str] = set()
        for pointer in pointers:
            oids = {pointer.md5}
            if pointer.is_dir:
                oids |= manifest_oids(self._cache_path(pointer.md5)) or set()
            found |= {oid for oid in oids if self._cache_path(oid).is_file()}
        return found

    def push(
        self, pointers: Iterable[PointerLike], remote: str | None = None, callback: Any = None
    ) -> int:
        """Upload the pointers' objects (a ``.dir`` always with all its entries); return count.

        ``callback`` (an fsspec ``Callback``) is told of each object transferred.

        Raises:
            ArtifactMissingError: a pointer's bytes are not fully in the local cache.
        """
        from dvc_data.hashfile.transfer import transfer

        pointers = list(pointers)
        absent = [p.md5 for p in pointers if not self.exists(p)]
        if absent:
            raise ArtifactMissingError(
                f"cannot push artifact(s) {', '.join(absent)}: not (fully) in the local DVC "
                f"cache {self.cache_dir}"
            )
        if not pointers:
            return 0
        name = self._remote_name(remote)
        odb = self._remote_odb(name)
        with _wrapped(f"pushing to DVC remote {name!r}", DvcRemoteError):
            his = {hash_info(p) for p in pointers}
            extra = {"callback": callback} if callback is not None else {}
            result = transfer(self._cache_odb(), odb, his, shallow=False, **extra)
        if result.failed:
            raise DvcRemoteError(
                f"{len(result.failed)} object(s) failed to upload to DVC remote {name!r}: "
                + ", ".join(sorted(str(h.value) for h in result.failed))
            )
        return len(result.transferred)

    def absent_from_remote(self, pointers: Iterable[P], remote: str | None = None) -> list[P]:
        """The pointers whose bytes ``remote`` lacks (a ``.dir`` counts with all its entries).

        A local-directory remote is answered with plain file checks (no dvc-data import);
        others with one batched existence query. A ``.dir`` manifest is read from the cache,
        else the remote.
        """
        pointers = list(pointers)
        if not pointers:
            return []
        name = self._remote_name(remote)
        local = self._local_remote_dir(name)
        if local is not None:
            return [p for p in pointers if not self._in_dir(p, local)]
        odb = self._remote_odb(name)
        cache = self._cache_odb()
        with _wrapped(f"querying DVC remote {name!r}", DvcRemoteError):
            present = set(odb.oids_exist(sorted({p.md5 for p in pointers})))  # type: ignore[no-untyped-call]
            needs: dict[str, set[str] | None] = {}
            for p in pointers:
                if p.is_dir and p.md5 in present:
                    needs[p.md5] = self._oids(p, cache) or self._oids(p, odb)
            entries = set().union(*(n for n in needs.values() if n)) - present
            if entries:
                present |= set(odb.oids_exist(sorted(entries)))  # type: ignore[no-untyped-call]
        absent = []
        for p in pointers:
            oids = needs.get(p.md5, {p.md5}) if p.is_dir else {p.md5}
            if p.md5 not in present or oids is None or not oids <= present:
                absent.append(p)
        return absent

    def _local_remote_dir(self, name: str) -> Path | None:
        """The directory of a local-directory remote (None for others); raises when missing."""
        local = local_path(self._dvc_dir, self.remotes()[name])
        if local is not None and not local.is_dir():
            self._remote_odb(name)  # raises the "does not exist" error
        return local

    def _in_dir(self, pointer: PointerLike, remote_dir: Path) -> bool:
        """Whether a local-directory remote (DVC 3 layout) holds all of the pointer's objects."""

        def there(oid: str) -> bool:
            return (remote_dir / "files" / "md5" / oid[:2] / oid[2:]).is_file()

        if not there(pointer.md5):
            return False
        if not pointer.is_dir:
            return True
        oids = manifest_oids(self._cache_path(pointer.md5))
        if oids is None:
            oids = manifest_oids(remote_dir / "files" / "md5" / pointer.md5[:2] / pointer.md5[2:])
        return oids is not None and all(there(oid) for oid in oids)

    def in_remote(self, pointer: DvcPointer, remote: str | None = None) -> bool:
        """Return True when ``remote`` holds the pointer's bytes (a ``.dir`` and all entries)."""
        name = self._remote_name(remote)
        odb = self._remote_odb(name)
        with _wrapped(f"querying DVC remote {name!r}", DvcRemoteError):
            if not odb.exists(pointer.md5):
                return False
            # The local manifest is cheaper to read; the remote's is the fallback.
            oids = self._oids(pointer, self._cache_odb()) or self._oids(pointer, odb)
            if oids is None:
                return False
            present = odb.oids_exist(sorted(oids))  # type: ignore[no-untyped-call]
            return set(present) == oids

    # -- internals -----------------------------------------------------------------------

    def _touch(self, pointer: PointerLike, cache: HashFileDB) -> None:
        """Mark a just-saved object (and a ``.dir``'s entries) as recently used, for gc.

        Content that was already cached keeps its old time otherwise, and a concurrent
        ``mlx gc`` could delete it between this save and the run's commit.
        """
        touch_oids(cache, self._oids(pointer, cache) or {pointer.md5})

    def _cache_odb(self) -> LocalHashFileDB:
        # Made afresh each time (it is cheap): an ODB remembers which prefix directories it
        # created, and would fail to write after someone deleted the cache under it.
        # "copy" so checkout never links into the read-only cache whatever [cache] type says.
        return local_odb(self.cache_dir, type=["copy"])

    def _remote_name(self, remote: str | None, wanted: PointerLike | None = None) -> str:
        """Resolve ``remote`` (None: the default) to a configured name, or raise."""
        known = self.remotes()
        name = remote or self.default_remote()
        if name is None:
            what = f"artifact {wanted.md5} is not in the local DVC cache and " if wanted else ""
            error = ArtifactMissingError if wanted else ArtifactError
            if known:
                raise error(
                    f"{what}no default DVC remote is set; pass a remote name or run "
                    f"`dvc remote default NAME` (configured: {', '.join(sorted(known))})"
                )
            raise error(f"{what}no DVC remote is configured; run `dvc remote add -d NAME URL`")
        if name not in known:
            hint = "" if remote else "(it is the [core] remote in .dvc/config)"
            raise NotFoundError("DVC remote", name, known, hint=hint)
        return name

    def _remote_odb(self, name: str) -> HashFileDB:
        url = self.remotes()[name]
        local = local_path(self._dvc_dir, url)
        if local is not None:  # not memoised, for the same reason as the cache's ODB
            if not local.is_dir():  # a typo must not silently create a new, empty remote
                raise DvcRemoteError(
                    f"DVC remote {name!r} is the directory {local}, which does not exist; "
                    f"create it or fix the URL (`dvc remote modify {name} url PATH`)"
                )
            return local_odb(local, passive=True)
        if name not in self._remote_odbs:  # memoised: opening a Repo costs 0.3-0.4 s
            with _wrapped(f"opening DVC remote {name!r} ({url})", DvcRemoteError):
                self._remote_odbs[name] = self._repo_odb(name)
        return self._remote_odbs[name]

    def _repo_odb(self, name: str) -> HashFileDB:
        from dvc.repo import Repo  # slow; only for non-local remotes, which need DVC's config

        with Repo(str(self.root)) as repo:
            odb: HashFileDB = repo.cloud.get_remote_odb(name, "push", hash_name="md5")
        return odb

    def _describe(self, name: str) -> str:
        return self.remotes().get(name, "?")

    def _ensure_cached(self, pointer: DvcPointer, remote: str | None) -> None:
        """Make the pointer's verified bytes available: check, else fetch and check again."""
        verifier = self._verifier()
        if verifier.pointer_ok(pointer):
            return
        corrupt = f"cached object(s) {', '.join(verifier.corrupt)} did not match their md5 " \
            "and were removed; " if verifier.corrupt else ""  # fmt: skip
        try:
            self.fetch([pointer], remote)
        except ArtifactMissingError as exc:
            raise ArtifactMissingError(f"{corrupt}{exc}") from exc
        if not verifier.pointer_ok(pointer):
            raise ArtifactError(
                f"artifact {pointer.md5}: the bytes fetched from the DVC remote do not match "
                f"their md5 ({', '.join(verifier.corrupt)}); they were removed from the cache. "
                "The remote holds corrupt or forged objects: push them again from a good copy"
            )

    def _verifier(self) -> Verifier:
        return Verifier(self.cache_dir, self._dvc_dir / "tmp" / "mlx-verified.sqlite")

    @staticmethod
    def _oids(pointer: PointerLike, odb: HashFileDB) -> set[str] | None:
        """The object ids a pointer needs: itself, plus the entries of a ``.dir``.

        None when the ``.dir`` manifest cannot be read from ``odb`` (absent or corrupt).
        """
        if not pointer.is_dir:
            return {pointer.md5}
        from dvc_data.hashfile.tree import Tree
        from dvc_objects.errors import ObjectFormatError

        try:
            tree = Tree.load(odb, hash_info(pointer))
        except (OSError, ObjectFormatError):
            return None
        return {pointer.md5} | {str(hi.value) for _key, _meta, hi in tree if hi is not None}


@contextmanager
def _wrapped(action: str, error: type[ArtifactError] = ArtifactError) -> Iterator[None]:
    """Turn a foreign failure while ``action`` into an :class:`ArtifactError`.

    DVC and its filesystems (fsspec, boto, ...) raise many unrelated exception types; at this
    boundary the user needs what mlx was doing and the underlying message, with the cause chained.
    """
    try:
        yield
    except MlxError:
        raise
    except Exception as exc:
        raise error(f"{action} failed: {type(exc).__name__}: {exc}") from exc
