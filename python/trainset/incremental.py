"""What a build recomputes: everything, what loaded since the last passed build, what loaded
since a given time, or a backfill of a time range in daily batches.

The intermediate and feature models are incremental by key (see `macros/incremental`): a
batch recomputes every row of each key with a row loaded in the batch's bounds. The bounds
are named as dbt vars, and this module hands them to dbt in the TRAINSET_INCREMENTAL
environment variable (BOUNDS_VARIABLE; `--vars` would make dbt parse the whole project on
every build):
- a plain build passes `incremental_watermark`, the newest `_loaded_at` in the landing files
  of the last passed build (recorded in its build record); the models subtract the lookback
  (`var('incremental_lookback_days')`) from it;
- `--since T` passes `incremental_since` (no lookback: T is taken as given);
- `backfill --from T1 --to T2` runs one batch per day of [T1, T2) with `incremental_since` and
  `incremental_until`, then one build of the rest with an empty batch.
Staging needs no bounds: it takes the landing files no earlier build staged (see
`macros/incremental/staging_batch.sql`), which is exact because an appended file is never
rewritten without the rebuild below.
A plain build rebuilds from scratch (`--full-refresh`) when there is no earlier passed build
of the database, when the project's code changed since it, or when a landing file it read
changed or went away (except in the current-state tables named by
`var('current_state_tables')`, which are rewritten with every load): appended files are
what an incremental batch can take; a rewritten history is not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from . import build as records
from .dbt import BOUNDS_VARIABLE
from .errors import UsageError
from .landing import LandingReport
from .project import Paths

FULL, NEW, SINCE, BACKFILL = "full", "new", "since", "backfill"
LOADED_AT_COLUMN = "_loaded_at"
INCREMENTAL_SELECTOR = "config.materialized:incremental"
MAX_BACKFILL_DAYS = 3660


def bounds_environment(bounds: dict[str, str]) -> dict[str, str]:
    """The environment that hands a dbt run these bounds (see BOUNDS_VARIABLE)."""
    return {BOUNDS_VARIABLE: json.dumps(bounds, sort_keys=True)}


@dataclass
class Increment:
    """The plan of one build: its mode, the batch bounds (dbt vars) and flags it passes, why,
    and the daily batches of a backfill."""

    mode: str
    reason: str
    vars: dict[str, str] = field(default_factory=dict)
    batches: list[tuple[str, str]] = field(default_factory=list)

    @property
    def full_refresh(self) -> bool:
        return self.mode == FULL

    def dbt_args(self) -> list[str]:
        """Arguments of the final `dbt build`."""
        return ["--full-refresh"] if self.full_refresh else []

    def environment(self) -> dict[str, str]:
        """The environment of the final `dbt build`: its bounds (an empty batch after a
        backfill's batches)."""
        if self.full_refresh:
            return bounds_environment({})
        if self.batches:
            end = self.batches[-1][1]
            return bounds_environment({"incremental_since": end, "incremental_until": end})
        return bounds_environment(self.vars)

    def batch_args(self) -> list[str]:
        """Arguments of the `dbt run` of a backfill batch."""
        return ["run", "--select", INCREMENTAL_SELECTOR]

    def batch_environment(self, since: str, until: str) -> dict[str, str]:
        """The environment of the `dbt run` of the batch [since, until)."""
        return bounds_environment({"incremental_since": since, "incremental_until": until})


def parse_instant(text: str, option: str) -> datetime:
    """An ISO date or date-time (naive = UTC) as an aware UTC datetime, or a UsageError."""
    try:
        parsed = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise UsageError(
            f"{option} {text!r} is not a date or time: give an ISO 8601 value such as "
            "2025-06-01 or 2025-06-01T06:00:00+00:00"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _literal(instant: datetime) -> str:
    """A UTC instant as the naive timestamp literal the models compare with `loaded_at`."""
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def daily_batches(start: datetime, end: datetime) -> list[tuple[str, str]]:
    """[start, end) cut at each UTC midnight: the batches of a backfill."""
    if end <= start:
        raise UsageError(
            f"backfill --to ({end.isoformat()}) must be after --from ({start.isoformat()})"
        )
    if end - start > timedelta(days=MAX_BACKFILL_DAYS):
        raise UsageError(
            f"backfill range {start.isoformat()} to {end.isoformat()} is longer than "
            f"{MAX_BACKFILL_DAYS} days: use `trainset build --full-refresh` instead"
        )
    batches = []
    low = start
    while low < end:
        midnight = datetime(low.year, low.month, low.day, tzinfo=UTC) + timedelta(days=1)
        high = min(midnight, end)
        batches.append((_literal(low), _literal(high)))
        low = high
    return batches


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def newest_load(
    landing_dir: Path, report: LandingReport, now: datetime | None = None
) -> str | None:
    """The newest `_loaded_at` over the landing files a build read, as a naive UTC timestamp
    literal. A load time after `now` (the wall clock) is a faulty row staging quarantines, not
    a load: it is skipped, or every later batch would start after the rows it should take.
    Read from the Parquet column statistics, else from the column itself."""
    limit = (now or datetime.now(UTC)) + timedelta(hours=1)
    newest: datetime | None = None
    for item in report.inventory:
        path = Path(landing_dir) / item.path
        if path.suffix != ".parquet":
            continue
        file = pq.ParquetFile(path)
        if LOADED_AT_COLUMN not in file.schema_arrow.names:
            continue
        index = file.schema_arrow.get_field_index(LOADED_AT_COLUMN)
        values: list[datetime | None] | None = []
        for group in range(file.metadata.num_row_groups):
            statistics = file.metadata.row_group(group).column(index).statistics
            largest = _aware(statistics.max) if statistics and statistics.has_min_max else None
            if largest is None or largest > limit:
                values = None
                break
            values.append(largest)
        if values is None:
            column = file.read(columns=[LOADED_AT_COLUMN]).column(0)
            values = [_aware(value) for value in column.to_pylist()]
        for value in values:
            if value is not None and value <= limit and (newest is None or value > newest):
                newest = value
    return _literal(newest) if newest else None


def oldest_load(landing_dir: Path, files: list[str]) -> str | None:
    """The oldest `_loaded_at` in these landing files (relative paths), read whole: a new file
    may hold rows loaded long before the last build's newest load (a late delivery)."""
    oldest: datetime | None = None
    for name in files:
        path = Path(landing_dir) / name
        if path.suffix != ".parquet":
            continue
        file = pq.ParquetFile(path)
        if LOADED_AT_COLUMN not in file.schema_arrow.names:
            continue
        for value in file.read(columns=[LOADED_AT_COLUMN]).column(0).to_pylist():
            value = _aware(value)
            if value is not None and (oldest is None or value < oldest):
                oldest = value
    return _literal(oldest) if oldest else None


def current_state_tables(project_dir: Path) -> set[str]:
    """`var('current_state_tables')` from dbt_project.yml."""
    config = yaml.safe_load((Path(project_dir) / "dbt_project.yml").read_text(encoding="utf-8"))
    return set(((config or {}).get("vars") or {}).get("current_state_tables") or [])


def last_passed(paths: Paths) -> records.BuildRecord | None:
    """The newest passed build of the whole project on this database that brought it up to
    date (full or plain): a failed build, a partial selection, `--since` and a backfill leave
    the watermark where it was."""
    passed = [
        record
        for record in records.read_records(paths.target_dir)
        if record.state == records.PASSED
        and record.mode in (FULL, NEW)
        and not record.select
        and Path(record.database) == Path(paths.duckdb_path)
    ]
    return passed[-1] if passed else None


def _rewritten_files(
    before: dict[str, Any] | None, now: LandingReport, current_state: set[str]
) -> list[str]:
    files_now = {item.path: item.sha256 for item in now.inventory}
    changed = []
    for item in (before or {}).get("files", []):
        if item["path"].split("/", 1)[0] in current_state:
            continue
        if files_now.get(item["path"]) != item["sha256"]:
            changed.append(item["path"])
    return changed


def plan(
    paths: Paths,
    report: LandingReport,
    code: str,
    *,
    since: str | None = None,
    until: str | None = None,
    full_refresh: bool = False,
) -> Increment:
    """The plan of a build of `paths` on the landing files of `report` with project code hash
    `code`. `since` alone: one build of what loaded from then; `since` and `until`: a backfill
    in daily batches; `full_refresh`: everything."""
    if until is not None and since is None:
        raise UsageError("backfill needs --from as well as --to")
    if full_refresh:
        return Increment(FULL, "--full-refresh asked for")
    # Arguments are checked first: a wrong one is an error whatever the database holds.
    start = parse_instant(since, "--from" if until is not None else "--since") if since else None
    batches = daily_batches(start, parse_instant(until, "--to")) if until is not None else []
    last = last_passed(paths)
    exists = Path(paths.duckdb_path).exists()
    if start is not None and not exists:
        # A batch recomputes the incremental models into the tables of an existing database;
        # without one there is nothing to recompute into, so everything is built.
        asked = "--from/--to" if batches else "--since"
        return Increment(FULL, f"no database yet to apply {asked} to")
    if batches:
        return Increment(
            BACKFILL,
            f"backfill of rows loaded from {batches[0][0]} to {batches[-1][1]} in "
            f"{len(batches)} daily batches",
            batches=batches,
        )
    if start is not None:
        return Increment(
            SINCE,
            f"rows loaded since {_literal(start)}",
            vars={"incremental_since": _literal(start)},
        )
    if last is None or not exists:
        return Increment(FULL, "no earlier passed build of this database")
    if last.code_hash != code:
        return Increment(FULL, f"the project's code changed since build {last.build_id}")
    rewritten = _rewritten_files(last.landing, report, current_state_tables(paths.project_dir))
    if rewritten:
        return Increment(
            FULL,
            f"landing files read by build {last.build_id} changed or went away "
            f"({', '.join(rewritten[:5])}{' …' if len(rewritten) > 5 else ''})",
        )
    if not last.watermark:
        return Increment(FULL, f"build {last.build_id} recorded no watermark")
    # The batch starts at the last build's newest load, or at the oldest load in a file that
    # build did not read, whichever is earlier: a file delivered after later loads is taken
    # whole. The models subtract the lookback from it.
    read_before = {item["path"] for item in (last.landing or {}).get("files", [])}
    new_files = [item.path for item in report.inventory if item.path not in read_before]
    oldest_new = oldest_load(paths.landing_dir, new_files)
    start = min(last.watermark, oldest_new) if oldest_new else last.watermark
    return Increment(
        NEW,
        f"rows loaded since build {last.build_id} (from {start}, minus the lookback; "
        f"{len(new_files)} new files)",
        vars={"incremental_watermark": start},
    )
