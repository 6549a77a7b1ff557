"""Time splits: ordered, purged by the label horizon, exact on load."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from trainset.splits import assign_splits, describe_splits


def month_starts(count: int) -> list[datetime]:
    return [datetime(2025 + (month // 12), month % 12 + 1, 1) for month in range(count)]


def test_no_label_window_reaches_into_the_next_split():
    cutoffs = [
        day for day in (datetime(2025, 1, 1) + timedelta(days=7 * week) for week in range(40))
    ]
    assignment = assign_splits(cutoffs, horizon_days=30)
    names = ["train", "validation", "test"]
    for earlier, later in zip(names, names[1:], strict=False):
        start = min(assignment[later])
        assert all(cutoff + timedelta(days=30) < start for cutoff in assignment[earlier])
        assert max(assignment[earlier]) < start
    # Purged: exactly the cutoffs whose label window straddles the start of a later split.
    starts = [min(assignment["validation"]), min(assignment["test"])]
    kept = set(assignment["train"]) | set(assignment["validation"]) | set(assignment["test"])
    purged = set(assignment["purged_cutoffs"])
    assert kept | purged == set(cutoffs) and not kept & purged
    straddling = {c for c in cutoffs if any(c < s <= c + timedelta(days=30) for s in starts)}
    assert purged == straddling
    assert len(purged) == 8  # four weekly cutoffs before each of the two boundaries


def test_monthly_cutoffs_keep_a_full_month_before_each_boundary():
    cutoffs = month_starts(10)
    assignment = assign_splits(cutoffs, horizon_days=30)
    # 2025-02-01 + 30 days = 2025-03-03 reaches a March boundary, and 2025-09-01 + 30 days is
    # exactly 2025-10-01: both are purged.
    for cutoff in assignment["purged_cutoffs"]:
        assert cutoff + timedelta(days=30) >= min(
            c for name in ("validation", "test") for c in assignment[name] if c > cutoff
        )
    described = describe_splits(assignment, {cutoff: 10 for cutoff in cutoffs})
    total = sum(described[name]["rows"] for name in ("train", "validation", "test"))
    assert total + described["purged_rows"] == 100


def test_too_few_cutoffs_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 3 distinct cutoffs"):
        assign_splits(month_starts(2), horizon_days=30)
    with pytest.raises(ValueError, match="summing to 1"):
        assign_splits(month_starts(5), horizon_days=30, fractions=(0.5, 0.5, 0.5))


def test_a_label_window_ending_exactly_at_the_next_split_is_purged():
    # Five cutoffs, fractions 0.6/0.2/0.2: three train cutoffs around the boundary, one
    # validation cutoff `start`, one test cutoff. The label window (c, c + 30 days] is closed
    # at its end, and the validation rows' features include events at `start` itself.
    start = datetime(2025, 6, 1)
    horizon = timedelta(days=30)
    just_before = start - horizon - timedelta(seconds=1)  # window ends 1 s before start: kept
    exactly = start - horizon  # window ends at start: it reaches the next split, purged
    just_after = start - horizon + timedelta(seconds=1)  # window ends 1 s after start: purged
    test_start = start + timedelta(days=60)
    assignment = assign_splits(
        [just_after, test_start, exactly, start, just_before],
        horizon_days=30,
        fractions=(0.6, 0.2, 0.2),
    )
    assert assignment["train"] == [just_before]
    assert assignment["purged_cutoffs"] == [exactly, just_after]
    assert assignment["validation"] == [start]  # start + 30 days < test_start: kept
    assert assignment["test"] == [test_start]


def test_a_validation_window_ending_exactly_at_the_test_split_is_purged():
    start = datetime(2025, 6, 1)
    cutoffs = [
        start - timedelta(days=90),
        start - timedelta(days=60),
        start,
        start + timedelta(days=30),
    ]
    assignment = assign_splits(cutoffs, horizon_days=30, fractions=(0.5, 0.25, 0.25))
    # train: the two early cutoffs; validation: start, whose window ends at the test cutoff.
    assert assignment["train"] == cutoffs[:2]
    assert assignment["validation"] == []
    assert assignment["purged_cutoffs"] == [start]
    assert assignment["test"] == [cutoffs[3]]
