"""The DVC configuration the artifact store reads: ``.dvc/config`` overlaid by ``config.local``.

Read with :mod:`configparser` (DVC's files are INI), never by importing DVC. Global and system
DVC config files are not read here; remotes that need them (s3, ...) are opened through
``dvc.repo.Repo``, which honours them (:mod:`store.artifacts`).
"""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from store.errors import ArtifactError

__all__ = ["REMOTE_SECTION", "local_path", "read_config"]

_SECTION_QUOTES = re.compile(r"""^'(.*)'$""")
#: A ``[remote "NAME"]`` section.
REMOTE_SECTION = re.compile(r'^remote\s+"(?P<name>.+)"$')


def local_path(base: Path, url: str) -> Path | None:
    """Return the directory a local URL or path names (relative to ``base``), else None."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:  # "s3://", "ssh://"; one letter is a drive
        return None
    return (base / os.path.expanduser(url)).resolve()


def read_config(dvc_dir: Path) -> dict[str, dict[str, str]]:
    """Read ``.dvc/config`` then ``.dvc/config.local`` (which wins) into section -> key -> value."""
    merged: dict[str, dict[str, str]] = {}
    for name in ("config", "config.local"):
        parser = configparser.ConfigParser(
            interpolation=None, strict=False, inline_comment_prefixes=("#", ";")
        )
        path = dvc_dir / name
        try:
            parser.read(path, encoding="utf-8")
        except configparser.Error as exc:
            raise ArtifactError(f"cannot read the DVC config {path}: {exc}") from exc
        for section in parser.sections():
            key = _SECTION_QUOTES.sub(r"\1", section.strip())
            values: dict[str, Any] = dict(parser.items(section))
            merged.setdefault(key, {}).update({k: _unquote(v) for k, v in values.items()})
    return merged


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
