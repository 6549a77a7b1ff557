"""Brute-force definitions of the point-in-time contract: slow, plain, obviously right.

Timestamps are naive UTC datetimes; None stands for SQL null.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SpineRow:
    spine_row: int
    entity_id: int | None
    cutoff_at: datetime | None


@dataclass(frozen=True)
class FeatureRow:
    row_id: int | None
    entity_id: int | None
    effective_at: datetime | None
    known_at: datetime | None
    value: float | None
    label: str | None
    superseded_at: datetime | None = None


def _low(value):
    """Sort key where None loses to everything."""
    return (value is not None, value if value is not None else 0)


def point_in_time_join(
    spine: list[SpineRow],
    features: list[FeatureRow],
    *,
    ttl: timedelta | None,
    embargo: timedelta | None,
    strict: bool,
    bitemporal: bool,
) -> dict[int, tuple[float | None, str | None]]:
    """spine_row → (value, label) of the winning feature row, or (None, None)."""
    shift = embargo or timedelta(0)
    result = {}
    for row in spine:
        winner = None
        if row.entity_id is not None and row.cutoff_at is not None:
            end = row.cutoff_at - shift
            candidates = [
                feature
                for feature in features
                if feature.entity_id == row.entity_id
                and feature.effective_at is not None
                and (feature.effective_at < end if strict else feature.effective_at <= end)
                and (
                    not bitemporal
                    or (feature.known_at is not None and feature.known_at <= row.cutoff_at)
                )
                and (ttl is None or feature.effective_at >= row.cutoff_at - ttl)
            ]
            if candidates:
                winner = max(
                    candidates,
                    key=lambda f: (f.effective_at, _low(f.known_at), _low(f.row_id)),
                )
        result[row.spine_row] = (winner.value, winner.label) if winner else (None, None)
    return result


def window_aggregates(
    spine: list[SpineRow],
    events: list[FeatureRow],
    *,
    window_days: int,
    embargo: timedelta | None,
    bitemporal: bool,
    use_superseded: bool,
) -> dict[int, dict[str, float | int | None]]:
    """spine_row → count, count_distinct, sum, mean, min, max of `value` (count_distinct of
    `label`) over the trailing window, with the documented empty-window defaults."""
    shift = embargo or timedelta(0)
    result = {}
    for row in spine:
        values: list[float] = []
        labels: set[str] = set()
        if row.entity_id is not None and row.cutoff_at is not None:
            end = row.cutoff_at - shift
            start = end - timedelta(days=window_days)
            for event in events:
                if (
                    event.entity_id == row.entity_id
                    and event.effective_at is not None
                    and start < event.effective_at <= end
                    and (
                        not bitemporal
                        or (event.known_at is not None and event.known_at <= row.cutoff_at)
                    )
                    and (
                        not use_superseded
                        or event.superseded_at is None
                        or event.superseded_at > row.cutoff_at
                    )
                ):
                    if event.value is not None:
                        values.append(event.value)
                    if event.label is not None:
                        labels.add(event.label)
        result[row.spine_row] = {
            "count": len(values),
            "count_distinct": len(labels),
            "sum": sum(values) if values else 0,
            "mean": sum(values) / len(values) if values else None,
            "min": min(values) if values else None,
            "max": max(values) if values else None,
        }
    return result


def scd2_join(
    spine: list[SpineRow], history: list[tuple[int, datetime, datetime | None, str]]
) -> dict[int, str | None]:
    """history rows: (entity_id, valid_from, valid_to, value); latest valid_from wins."""
    result = {}
    for row in spine:
        matches = [
            entry
            for entry in history
            if row.entity_id is not None
            and row.cutoff_at is not None
            and entry[0] == row.entity_id
            and entry[1] <= row.cutoff_at
            and (entry[2] is None or row.cutoff_at < entry[2])
        ]
        result[row.spine_row] = max(matches, key=lambda entry: entry[1])[3] if matches else None
    return result
