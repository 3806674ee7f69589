"""The merge-friendly layout of a model file's ``[stages]`` table, and bringing old files to it.

Git conflicts when two branches change the same or adjacent lines. :func:`store.models.
stage_slots` therefore lays ``[stages]`` out as one line per stage (a ``# <stage> = (unset)``
slot when unset) with blank lines between, and a promotion edits only its own line.

Files written by older versions, or by hand, lack the slots (``production = 1`` right under
``[stages]``, other stages absent). Two promotions of such a file would both insert their
line under the header: a conflict. :func:`slotted` rewrites the table into the slot layout,
deterministically (the same base gives the same bytes in every clone); :mod:`store.promotion`
commits that as a commit of its own with a fixed identity and date (so two promotions from the
same base share it, and git merges them with only their own stage line differing).
"""

from __future__ import annotations

import re
import tomllib

__all__ = ["SLOT_COMMENT", "UNSET_SLOT", "slotted"]

UNSET_SLOT = "# {stage} = (unset)"
SLOT_COMMENT = (
    "# One line per stage, blank lines between: promotions to different stages merge cleanly."
)

_HEADER = re.compile(r"^\s*\[\s*stages\s*\]\s*(#.*)?$")
_TABLE = re.compile(r"^\s*\[")
_LINE = re.compile(r"^\s*(?P<key>[A-Za-z0-9_-]+)\s*=\s*\d+\s*(#.*)?$")
_SLOT = re.compile(r"^#\s*(?P<key>[A-Za-z0-9_-]+)\s*=\s*\(unset\)\s*$")


def slotted(text: str, stages: list[str]) -> str:
    """``text`` with its ``[stages]`` table in the slot layout for ``stages`` (and any other
    stage it sets); ``text`` itself when it already is, or cannot be rewritten safely
    (values and comments are kept; the result must parse to the same data)."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if _HEADER.match(ln)), None)
    if start is None:
        try:
            if "stages" in tomllib.loads(text):  # an inline table or dotted keys: leave it
                return text
        except tomllib.TOMLDecodeError:
            return text
        lines += [] if not lines or not lines[-1].strip() else [""]
        start = len(lines)
        lines.append("[stages]")
    end = next((i for i in range(start + 1, len(lines)) if _TABLE.match(lines[i])), len(lines))
    entries: dict[str, list[str]] = {}  # stage -> its comments and line (or slot)
    comments: list[str] = []  # not above a stage line: kept under the header
    pending: list[str] = []
    order: list[str] = []  # "entry" / "blank": whether entries are already apart
    for line in lines[start + 1 : end]:
        stripped = line.strip()
        slot, match = _SLOT.match(stripped), _LINE.match(line)
        if not stripped:
            order.append("blank")
            comments += pending
            pending = []
        elif slot and slot["key"] not in entries:
            entries[slot["key"]] = [*pending, stripped]
            pending = []
            order.append("entry")
        elif match and (match["key"] not in entries or _SLOT.match(entries[match["key"]][-1])):
            slot_of = entries.pop(match["key"], [])  # a set line replaces a leftover slot
            entries[match["key"]] = [*slot_of[:-1], *pending, stripped]
            pending = []
            order.append("entry")
            if slot_of:
                order.append("blank")  # the slot's place is gone: do not count adjacency
        elif stripped.startswith("#"):
            if stripped != SLOT_COMMENT:
                pending.append(stripped)
        else:
            return text  # a layout we do not understand: edit it as TOML instead
    comments += pending
    apart = "entry,entry" not in ",".join(o for o in order)
    if all(s in entries for s in stages) and apart:
        return text
    keys = list(dict.fromkeys([*stages, *entries]))
    body = ["\n".join(entries.get(k, [UNSET_SLOT.format(stage=k)])) for k in keys]
    block = [lines[start], SLOT_COMMENT, *comments, "\n\n".join(body)]
    tail = lines[end:]
    new_lines = lines[:start] + block + ([""] if tail else []) + tail
    new_text = "\n".join(new_lines) + "\n"
    try:
        same = _meaning(new_text) == _meaning(text)
    except tomllib.TOMLDecodeError:
        return text
    return new_text if same else text


def _meaning(text: str) -> dict[str, object]:
    data = tomllib.loads(text)
    data.setdefault("stages", {})  # an added empty table means nothing
    return data
