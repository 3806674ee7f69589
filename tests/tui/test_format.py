"""tui/format.py: the one way times, durations, sizes and statuses are shown."""

from __future__ import annotations

from datetime import UTC, datetime

from tui.format import format_age, format_duration, format_size, glyph, parse_time, span, table

NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)


def test_ages_use_the_largest_whole_unit_up_to_weeks() -> None:
    cases = {
        "2026-01-15T11:59:18+00:00": "42s ago",
        "2026-01-15T11:55:00+00:00": "5m ago",
        "2026-01-15T09:00:00Z": "3h ago",
        "2026-01-09T12:00:00": "6d ago",  # naive means UTC
        "2026-01-01T12:00:00+00:00": "2w ago",
        "2026-01-15T12:00:05+00:00": "0s ago",  # a clock a little ahead is not negative
    }
    assert {when: format_age(when, NOW) for when in cases} == cases
    assert format_age(None, NOW) == format_age("not a time", NOW) == "-"


def test_durations_go_from_milliseconds_to_hours() -> None:
    shown = [format_duration(s) for s in (None, 0.0042, 0.35, 4.25, 187, 7500)]
    assert shown == ["-", "4ms", "350ms", "4.2s", "3m07s", "2h05m"]
    assert span("2026-01-15T12:00:00Z", "2026-01-15T12:00:02.5Z") == 2.5
    assert span(None, "2026-01-15T12:00:00Z") is None
    assert parse_time("2026-01-15T12:00:00Z") == NOW


def test_sizes_use_binary_units() -> None:
    shown = [format_size(n) for n in (None, 0, 512, 1536, 12 * 1024**2, 3 * 1024**5)]
    assert shown == ["-", "0B", "512B", "1.5K", "12M", "3072T"]


def test_statuses_have_one_glyph_each_and_tables_align() -> None:
    assert glyph("completed") == "✔" and glyph("cached") == "↺" and glyph("odd") == "?"
    assert table(["A", "BB"], [("xyz", 1)]).splitlines() == ["A    BB", "xyz  1"]
