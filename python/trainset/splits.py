"""Time-based train/validation/test splits with a purge gap of the label horizon.

Splits are made over the distinct cutoffs, oldest first. A row's label looks at
`(cutoff_at, cutoff_at + horizon]`, closed at the end (the label model counts orders at or
before `cutoff_at + horizon`). The next split's period starts at its first cutoff `s`, and its
rows' features include events at `s` itself (known at or before the cutoff). So a row whose
label window reaches `s` (`cutoff_at + horizon >= s`, the exact boundary included: an event at
`s` would be in both) is purged; a row is kept only when `cutoff_at + horizon < s`. The result
is recorded in the manifest as the cutoffs of each split, so `load(split=...)` is exact.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .errors import InputError, UsageError

SPLITS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)


def assign_splits(
    cutoffs: list[datetime],
    horizon_days: int,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
) -> dict[str, Any]:
    """Split the distinct cutoffs in time order; return each split's cutoffs and the purged
    ones. Needs at least three distinct cutoffs."""
    if abs(sum(fractions) - 1.0) > 1e-9 or any(f <= 0 for f in fractions):
        raise UsageError(f"fractions must be three positive shares summing to 1, got {fractions}")
    distinct = sorted(set(cutoffs))
    if len(distinct) < 3:
        raise InputError(
            f"time splits need at least 3 distinct cutoffs, got {len(distinct)}: widen the "
            "data's time range"
        )
    count = len(distinct)
    n_train = max(1, round(fractions[0] * count))
    n_validation = max(1, round(fractions[1] * count))
    n_train = min(n_train, count - 2)
    n_validation = min(n_validation, count - n_train - 1)
    groups = {
        "train": distinct[:n_train],
        "validation": distinct[n_train : n_train + n_validation],
        "test": distinct[n_train + n_validation :],
    }
    horizon = timedelta(days=horizon_days)
    result: dict[str, Any] = {
        "horizon_days": horizon_days,
        "fractions": list(fractions),
        "purged_cutoffs": [],
    }
    for index, name in enumerate(SPLITS):
        kept = groups[name]
        if index + 1 < len(SPLITS):
            next_start = groups[SPLITS[index + 1]][0]
            purged = [cutoff for cutoff in kept if cutoff + horizon >= next_start]
            kept = [cutoff for cutoff in kept if cutoff + horizon < next_start]
            result["purged_cutoffs"] += purged
        result[name] = kept
    return result


def describe_splits(
    assignment: dict[str, Any], rows_per_cutoff: dict[datetime, int]
) -> dict[str, Any]:
    """The manifest's `splits` section: per split its cutoffs, bounds and rows."""
    described: dict[str, Any] = {
        "method": "time",
        "horizon_days": assignment["horizon_days"],
        "fractions": assignment["fractions"],
        "purged_cutoffs": [cutoff.isoformat() for cutoff in assignment["purged_cutoffs"]],
        "purged_rows": sum(
            rows_per_cutoff.get(cutoff, 0) for cutoff in assignment["purged_cutoffs"]
        ),
    }
    for name in SPLITS:
        cutoffs = assignment[name]
        described[name] = {
            "cutoffs": [cutoff.isoformat() for cutoff in cutoffs],
            "cutoff_min": cutoffs[0].isoformat() if cutoffs else None,
            "cutoff_max": cutoffs[-1].isoformat() if cutoffs else None,
            "rows": sum(rows_per_cutoff.get(cutoff, 0) for cutoff in cutoffs),
        }
    return described
