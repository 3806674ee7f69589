"""Reading configuration files as text and parsing TOML or YAML, with errors users can act on.

Every problem becomes a :class:`~store.errors.ConfigError` naming the file and, for syntax
errors, the line. No pydantic here: read-only commands read ``mlx.toml`` through this module
without paying for it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from store.errors import ConfigError

__all__ = ["parse_toml", "parse_yaml", "read_config_text"]

_LINE_RE = re.compile(r"at line (\d+)")


def read_config_text(path: Path, what: str = "") -> str:
    """The UTF-8 text of ``path``; ``what`` names the file in the message ("cannot read<what>")."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read{what}: {exc.strerror}") from exc


def parse_toml(text: str, label: str) -> dict[str, Any]:
    """``text`` parsed as TOML; a syntax error names ``label`` (a path or ``rev:path``) and line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _LINE_RE.search(str(exc))
        raise ConfigError(
            label, f"invalid TOML: {exc}", line=int(match.group(1)) if match else None
        ) from exc


def parse_yaml(text: str, label: str) -> Any:
    """``text`` parsed as YAML (safe loader); a syntax error names ``label`` and the line."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(label, f"invalid YAML: {getattr(exc, 'problem', exc)}",
                          line=mark.line + 1 if mark else None) from exc  # fmt: skip
