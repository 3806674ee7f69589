"""Cron expressions as GitHub Actions reads them: five fields, checked without running them.

``minute hour day-of-month month day-of-week``; each field is ``*``, a number, a range
``a-b``, a step ``*/n`` or ``a-b/n``, or a comma list of those. Months and weekdays also take
three-letter names (``JAN``, ``MON``). Pure: no I/O, no dependency.
"""

from __future__ import annotations

__all__ = ["check_cron"]

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i for i, m in enumerate(_MONTHS, start=1)}),
    ("day of week", 0, 6, {d: i for i, d in enumerate(_DAYS)}),
)


def check_cron(expression: str) -> None:
    """Raise ``ValueError`` saying which field of ``expression`` is wrong, and why."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            f"cron {expression!r} has {len(fields)} fields; expected 5: "
            "minute hour day-of-month month day-of-week (e.g. '0 3 * * *')"
        )
    for text, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        for part in text.split(","):
            problem = _check_part(part, low, high, names)
            if problem:
                raise ValueError(f"cron {expression!r}: {name} {text!r}: {problem}")


def _check_part(part: str, low: int, high: int, names: dict[str, int]) -> str | None:
    base, slash, step = part.partition("/")
    if slash and (not step.isdigit() or int(step) == 0):
        return f"step {step!r} must be a positive number"
    if base == "*":
        return None
    first, dash, last = base.partition("-")
    values = [_value(first, names), _value(last, names) if dash else None]
    if values[0] is None or (dash and values[1] is None):
        return f"{base!r} is not a number" + (" or a name" if names else "")
    for value in values:
        if value is not None and not low <= value <= high:
            return f"{value} is outside {low}-{high}"
    if dash and values[1] is not None and values[0] is not None and values[0] > values[1]:
        return f"range {base!r} runs backwards"
    return None


def _value(text: str, names: dict[str, int]) -> int | None:
    if text.isdigit():
        return int(text)
    return names.get(text.upper())
