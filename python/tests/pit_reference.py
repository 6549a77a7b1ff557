"""Brute-force definitions of the point-in-time contract: slow, plain, obviously right.

An instant is an int of nanoseconds since 1970-01-01 UTC (microsecond data are whole
thousands), or +/-math.inf for the infinite timestamps; None stands for SQL null. Interval
arithmetic is SQL's: `t - interval` subtracts the months first (clamping the day to the end of
a shorter month: Mar 31 - 1 month = Feb 29), then the days, then the time.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

EPOCH = datetime(1970, 1, 1)
Instant = int | float  # float only for +/-math.inf


@dataclass(frozen=True)
class Interval:
    months: int = 0
    days: int = 0
    micros: int = 0

    @property
    def text(self) -> str:
        parts = [
            f"{amount} {unit}"
            for amount, unit in (
                (self.months, "months"),
                (self.days, "days"),
                (self.micros, "microseconds"),
            )
            if amount
        ]
        return " ".join(parts) or "0 days"


def instant(moment: datetime, nanos: int = 0) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000 + nanos


def to_datetime(value: int) -> tuple[datetime, int]:
    """(naive UTC datetime at the microsecond, nanoseconds within it)."""
    micros, nanos = divmod(value, 1000)
    return EPOCH + timedelta(microseconds=micros), nanos


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def minus(value: Instant, interval: Interval | None) -> Instant:
    """`value - interval` as SQL computes it, keeping the nanoseconds."""
    if interval is None or math.isinf(value):
        return value
    moment, nanos = to_datetime(int(value))
    moment = add_months(moment, -interval.months)
    moment -= timedelta(days=interval.days, microseconds=interval.micros)
    return instant(moment, nanos)


@dataclass(frozen=True)
class SpineRow:
    spine_row: int
    entity_id: int | None
    cutoff_at: Instant | None


@dataclass(frozen=True)
class FeatureRow:
    row_id: int | None
    entity_id: int | None
    effective_at: Instant | None
    known_at: Instant | None
    value: float | None
    label: str | None
    superseded_at: Instant | None = None
    amount: int | None = None


def _low(value):
    """Sort key where None loses to everything."""
    return (value is not None, value if value is not None else 0)


def point_in_time_join(
    spine: list[SpineRow],
    features: list[FeatureRow],
    *,
    ttl: Interval | None,
    embargo: Interval | None,
    strict: bool,
    bitemporal: bool,
) -> dict[int, tuple[float | None, str | None]]:
    """spine_row → (value, label) of the winning feature row, or (None, None)."""
    result = {}
    for row in spine:
        winner = None
        if row.entity_id is not None and row.cutoff_at is not None:
            end = minus(row.cutoff_at, embargo)
            start = minus(row.cutoff_at, ttl) if ttl else None
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
                and (start is None or feature.effective_at >= start)
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
    embargo: Interval | None,
    bitemporal: bool,
    use_superseded: bool,
    measure: str = "value",
) -> dict[int, dict[str, float | int | None]]:
    """spine_row → count, count_distinct, sum, mean, min, max of `measure` (count_distinct of
    `label`) over the trailing window, with the documented empty-window defaults. `sum` is the
    exact (fsum) total, `scale` the sum of absolute values (to bound floating rounding)."""
    result = {}
    for row in spine:
        values: list[float | int] = []
        labels: set[str] = set()
        if row.entity_id is not None and row.cutoff_at is not None:
            end = minus(row.cutoff_at, embargo)
            start = minus(end, Interval(days=window_days))
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
                    value = getattr(event, measure)
                    if value is not None:
                        values.append(value)
                    if event.label is not None:
                        labels.add(event.label)
        exact_sum = sum(values) if all(isinstance(v, int) for v in values) else math.fsum(values)
        result[row.spine_row] = {
            "count": len(values),
            "count_distinct": len(labels),
            "sum": exact_sum if values else 0,
            "mean": exact_sum / len(values) if values else None,
            "min": min(values) if values else None,
            "max": max(values) if values else None,
            "scale": math.fsum(abs(v) for v in values),
            "n": len(values),
        }
    return result


def scd2_join(
    spine: list[SpineRow], history: list[tuple[int, Instant, Instant | None, str]]
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
