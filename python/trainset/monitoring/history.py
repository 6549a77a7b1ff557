"""Drift history: every comparison `trainset drift` makes is kept as a Parquet file under
`<exports>/<task>/drift_history/`, which the `mon_drift_history` model reads (with the drift of
every build), so a trend can be drawn. Daily comparisons of a request log run the drift model's
SQL, compiled once, on each day's rows in turn.
"""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..project import Paths, connect_duckdb
from .drift import DriftInputError, DriftReport, compute_drift

HISTORY_DIR = "drift_history"
COLUMNS = [
    ("compared_at", pa.timestamp("us", tz="UTC")),
    ("reference_version", pa.string()),
    ("current_label", pa.string()),
    ("feature_name", pa.string()),
    ("method", pa.string()),
    ("score", pa.float64()),
    ("threshold", pa.float64()),
    ("is_drifted", pa.bool_()),
    ("severity", pa.string()),
    ("reference_count", pa.int64()),
    ("current_count", pa.int64()),
]
SCHEMA = pa.schema(COLUMNS)


def history_dir(paths: Paths, task: str) -> Path:
    return paths.exports_dir / task / HISTORY_DIR


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


def record(paths: Paths, report: DriftReport, label: str | None = None) -> Path:
    """Append one comparison to the task's history (one Parquet file, written then renamed)."""
    compared_at = datetime.now(UTC)
    rows = [
        {
            "compared_at": compared_at,
            "reference_version": report.reference_version,
            "current_label": label or report.current_source,
            "feature_name": row["feature_name"],
            "method": row["method"],
            "score": _finite(row["score"]),
            "threshold": _finite(row["threshold"]),
            "is_drifted": bool(row["is_drifted"]),
            "severity": row["severity"],
            "reference_count": int(row["reference_count"] or 0),
            "current_count": int(row["current_count"] or 0),
        }
        for row in report.features
    ]
    folder = history_dir(paths, report.task)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{compared_at.strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:8]}.parquet"
    temporary = folder / f".tmp-{name}"
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), temporary)
    temporary.rename(folder / name)
    return folder / name


def read_history(paths: Paths, task: str) -> list[dict[str, Any]]:
    """Every recorded comparison of the task, oldest first."""
    folder = history_dir(paths, task)
    files = sorted(path for path in folder.glob("*.parquet") if not path.name.startswith("."))
    if not files:
        return []
    table = pa.concat_tables([pq.read_table(path, schema=SCHEMA) for path in files])
    return sorted(table.to_pylist(), key=lambda row: (row["compared_at"], row["feature_name"]))


def daily_drift(
    task: str,
    paths: Paths,
    log_folder: Path,
    day_column: str,
    *,
    reference: str | None = None,
) -> list[tuple[str, DriftReport]]:
    """Drift of each day of a request log (grouped by the UTC day of `day_column`)."""

    files = sorted(Path(log_folder).rglob("*.parquet"))
    if not files:
        raise DriftInputError(f"{log_folder} holds no .parquet files to compare.")
    source = f"read_parquet('{Path(log_folder).resolve()}/**/*.parquet', union_by_name = true)"
    connection = connect_duckdb()
    try:
        columns = connection.sql(f"select * from {source} limit 0").columns
        if day_column not in columns:
            raise DriftInputError(
                f"{log_folder}: no column {day_column!r} to split the days by (columns: "
                f"{', '.join(columns)})"
            )
        days = [
            row[0]
            for row in connection.sql(
                f'select distinct cast(cast("{day_column}" as timestamptz) as date) as day '
                f'from {source} where "{day_column}" is not null order by day'
            ).fetchall()
        ]
        results = []
        with tempfile.TemporaryDirectory(prefix="trainset-drift-day-") as scratch:
            day_file = Path(scratch) / "day.parquet"
            for day in days:
                connection.execute(
                    f'copy (select * from {source} where cast(cast("{day_column}" as timestamptz) '
                    f"as date) = ?) to '{day_file}' (format parquet)",
                    [day],
                )
                report = compute_drift(task, paths, reference=reference, current=str(day_file))
                report.current_source = f"{log_folder} {day_column} day {day}"
                results.append((str(day), report))
    finally:
        connection.close()
    return results
