"""The one rule for names mlx turns into paths, refs and record keys, and the shapes of ids.

Step, output, artifact, pipeline, model, stack and stage names all end up as a git tree entry,
a file name under ``.git/mlx`` or a key in a record that a teammate's clone reads back. One rule
covers them all, so a name that is accepted when written is accepted when pulled, and a name
that could escape a directory, break ``git fsck --strict`` or truncate a C string is refused
at the first place it appears (decoration, config load, record validation) with a clear error:

* 1 to :data:`MAX_NAME` characters of letters, digits, ``_``, ``.`` and ``-``;
* not starting with ``.`` or ``-`` (no ``.``/``..``/``.git`` entries, no option-like names),
  no ``..`` anywhere, not ending in ``.lock`` (git reserves it).

This excludes ``/``, ``\\``, NUL and every other control character. md5 values (DVC object ids)
and runs refs have their own exact shapes here too. This module imports no pydantic (the CLI's
fast paths use it); the record models wrap these checks as annotated field types.
"""

from __future__ import annotations

import re

from store.errors import ValidationError

__all__ = [
    "MAX_NAME",
    "check_md5",
    "check_name",
    "check_runs_ref",
    "md5_problem",
    "name_problem",
    "valid_name",
]

MAX_NAME = 100
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_MD5_RE = re.compile(r"^[0-9a-f]{32}(\.dir)?$")
_REF_RE = re.compile(r"^refs/mlx/[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")


def name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid name, or None when it is."""
    if not isinstance(name, str):
        return f"must be a string, not {type(name).__name__}"
    if not name:
        return "must not be empty"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long; the limit is {MAX_NAME}"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "must not contain control characters (NUL, newline, ...)"
    if "/" in name or "\\" in name:
        return "must not contain '/' or '\\'"
    if ".." in name:
        return "must not contain '..'"
    if not _NAME_RE.match(name):
        return "may only use letters, digits, '_', '.', '-' and must not start with '.' or '-'"
    if name.endswith(".lock"):
        return "must not end in '.lock' (git reserves it)"
    return None


def valid_name(name: object) -> bool:
    """Whether ``name`` follows the name rule."""
    return name_problem(name) is None


def check_name(kind: str, name: object) -> str:
    """Return ``name`` when valid.

    Raises:
        ValidationError: the message names the kind (``step name``), the value and the rule.
    """
    problem = name_problem(name)
    if problem is not None:
        raise ValidationError(f"{kind} {name!r} {problem}")
    return str(name)


def md5_problem(md5: object, allow_dir: bool = True) -> str | None:
    """Why ``md5`` is not a DVC md5 object id (32 lowercase hex, ``.dir`` for a tree)."""
    if not isinstance(md5, str) or not _MD5_RE.match(md5):
        return "must be 32 lowercase hex digits (with '.dir' for a directory)"
    if md5.endswith(".dir") and not allow_dir:
        return "must be a file's md5 (32 lowercase hex digits), not a directory"
    return None


def check_md5(md5: object) -> str:
    """Return ``md5`` when it is a valid DVC object id.

    Raises:
        ValidationError: anything else (a path, ``..``, uppercase, a short value).
    """
    problem = md5_problem(md5)
    if problem is not None:
        raise ValidationError(f"md5 {md5!r} {problem}")
    return str(md5)


def check_runs_ref(ref: str) -> str:
    """Return ``ref`` when it is a ref under ``refs/mlx/`` (never a branch, a tag or HEAD).

    Raises:
        ValidationError: it is anywhere else or is not a well-formed ref name.
    """
    if not _REF_RE.match(ref) or ".." in ref or ref.endswith(".lock"):
        raise ValidationError(
            f"runs_ref {ref!r} must be a ref under refs/mlx/ (e.g. 'refs/mlx/runs'): records are "
            "never written to a branch, a tag or HEAD"
        )
    return ref
