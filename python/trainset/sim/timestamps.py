"""Timestamps of the simulation: UTC microseconds, their ISO 8601 text in the styles a landing
zone meets, and typical landing delays."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from ..errors import UsageError
from .faults import Faults
from .schema import OFFSETS_HOURS, SECOND


def iso(
    micros: np.ndarray, style: np.ndarray | None = None, offsets: np.ndarray | None = None
) -> np.ndarray:
    """Format UTC microseconds as ISO 8601 strings. `style`: 0 '+00:00', 1 'Z', 2 a non-UTC
    offset (the local time of `offsets` hours, same instant), 3 naive (taken as UTC)."""
    micros = np.asarray(micros, dtype=np.int64)
    if style is None:
        style = np.zeros(len(micros), dtype=np.int8)
    shifted = micros.copy()
    if offsets is not None:
        shifted = np.where(style == 2, micros + offsets * 3600 * SECOND, micros)
    text = np.datetime_as_string(shifted.astype("datetime64[us]"), unit="s").astype(object)
    out = np.empty(len(micros), dtype=object)
    for code, suffix in ((0, "+00:00"), (1, "Z")):
        mask = style == code
        out[mask] = text[mask] + suffix
    mask = style == 2
    if offsets is not None and mask.any():
        signs = np.where(offsets[mask] >= 0, "+", "-")
        hours = np.char.zfill(np.abs(offsets[mask]).astype(str), 2).astype(object)
        out[mask] = text[mask] + signs.astype(object) + hours + ":00"
    mask = style == 3
    if mask.any():
        out[mask] = np.char.replace(text[mask].astype(str), "T", " ").astype(object)
    return out


def timestamp_styles(
    rng: np.random.Generator, rows: int, faults: Faults, table: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row format of a timestamp column: mostly '+00:00', some 'Z', and (as counted,
    valid variations) non-UTC offsets and naive strings."""
    style = np.where(rng.random(rows) < 0.3, 1, 0).astype(np.int8)
    offsets = rng.choice(OFFSETS_HOURS, size=rows)
    if faults.enabled:
        variation = rng.random(rows)
        non_utc = variation < faults.rate * 5
        naive = (variation >= faults.rate * 5) & (variation < faults.rate * 6)
        style[non_utc] = 2
        style[naive] = 3
        faults.add(table, "non_utc_offset", int(non_utc.sum()))
        faults.add(table, "naive_timestamp", int(naive.sum()))
    return style, offsets


def loaded_after(rng: np.random.Generator, event_micros: np.ndarray) -> np.ndarray:
    """Typical landing delay: seconds to minutes."""
    return (
        event_micros + (rng.exponential(90.0, len(event_micros)) * SECOND).astype(np.int64) + SECOND
    )


def day_micros(day: str) -> int:
    try:
        parsed = datetime.fromisoformat(day)
    except ValueError as error:
        raise UsageError(f"start must be a date like 2025-01-01, got {day!r}") from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1_000_000)
