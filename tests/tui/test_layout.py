"""Column sizing from content: full values when they fit, ellipsis (never a silent cut) else."""

from __future__ import annotations

from tui.layout import allocate, ellipsize, ideal_width


def test_ideal_widths_are_granted_when_they_fit() -> None:
    assert allocate([(33, 8), (12, 8), (16, 5)], available=100) == [33, 12, 16]


def test_the_widest_column_shrinks_first_down_to_its_minimum() -> None:
    widths = allocate([(33, 8), (5, 5), (16, 5)], available=40)
    assert sum(widths) + 2 == 40
    assert widths == [17, 5, 16]
    assert allocate([(33, 8), (5, 5)], available=3) == [8, 5]  # never below the minimum


def test_first_columns_give_up_their_extra_before_names_shrink() -> None:
    assert allocate([(20, 8), (12, 8)], available=30, first=[1]) == [20, 9]
    assert allocate([(20, 8), (12, 8)], available=26, first=[1]) == [17, 8]


def test_ellipsize_pads_or_ends_with_an_ellipsis() -> None:
    assert ellipsize("train", 8) == "train   "
    assert ellipsize("feature_engineering", 8) == "feature…"
    assert ellipsize("anything", 0) == ""


def test_ideal_width_counts_the_header_and_caps() -> None:
    assert ideal_width(["a", "abc"], header="Pipeline") == 8
    assert ideal_width(["x" * 100], cap=48) == 48
