"""Is the landing zone's data there before a build reads it?

Per table named in the `landing_availability` var of `dbt_project.yml` (the tables that land
every day; the one place the thresholds below are declared):
- the rows loaded per UTC day are counted from the landing files themselves, with DuckDB, over
  the `_loaded_at` column of every file the dbt source reads (however the files are laid out);
- the build's reference time is `--as-of` when given, otherwise the newest load of the landing
  zone: the newest `_loaded_at` of the last day any of these tables delivered in full (a few
  late rows that land after the last full day are not a delivery of their own);
- `stale`: the table's newest load is more than `max_age_hours` older than the reference time;
- `missing`: a day of the last `window_days` up to the reference day with no row at all, while
  the `trailing_days` before it held rows;
- `half_delivered`: a day of that window with fewer rows than `min_share` of the median of its
  trailing days; judged only where that median is at least `min_median_rows`, since below it a
  day's count varies too much on its own.
Rows without a `_loaded_at` belong to no day: staging quarantines them, and the reconciliation
test counts them.

A table with a gap blocks what depends on it: `trainset build` excludes the table's downstream
nodes (`--exclude source:<source>.<table>+`), names table and day on one line each, builds the
rest, and writes the gaps into the build record; the export refuses a training set downstream
of a blocked table.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, RefusedError
from .project import Paths, connect_duckdb

VAR = "landing_availability"
SETTINGS = ("daily_tables", "max_age_hours", "window_days", "trailing_days", "min_share")
SETTINGS_OPTIONAL = ("min_median_rows",)
LOADED_AT = "_loaded_at"
STALE, MISSING, HALF_DELIVERED = "stale", "missing", "half_delivered"


class AvailabilityError(InputError):
    """Raised when the availability settings or the landing files cannot be read."""


class BlockedError(RefusedError):
    """Raised when an export needs a table that the last build blocked."""


@dataclass(frozen=True)
class Settings:
    """The `landing_availability` var."""

    daily_tables: tuple[str, ...]
    max_age_hours: float
    window_days: int
    trailing_days: int
    min_share: float
    min_median_rows: float = 0

    @classmethod
    def from_project(cls, project_dir: Path) -> Settings:
        project_file = project_dir / "dbt_project.yml"
        document = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
        values = (document.get("vars") or {}).get(VAR)
        if not isinstance(values, dict):
            raise AvailabilityError(
                f"{project_file}: vars.{VAR} is missing; declare it with "
                f"{', '.join(SETTINGS)} (see the README's data availability section)"
            )
        missing = [name for name in SETTINGS if name not in values]
        unknown = sorted(set(values) - set(SETTINGS) - set(SETTINGS_OPTIONAL))
        if missing or unknown:
            raise AvailabilityError(
                f"{project_file}: vars.{VAR} "
                + (f"lacks {', '.join(missing)}" if missing else "")
                + ("; " if missing and unknown else "")
                + (f"has unknown keys {', '.join(unknown)}" if unknown else "")
                + f"; it takes {', '.join(SETTINGS + SETTINGS_OPTIONAL)}"
            )
        try:
            settings = cls(
                daily_tables=tuple(str(name) for name in values["daily_tables"]),
                max_age_hours=float(values["max_age_hours"]),
                window_days=int(values["window_days"]),
                trailing_days=int(values["trailing_days"]),
                min_share=float(values["min_share"]),
                min_median_rows=float(values.get("min_median_rows", 0)),
            )
        except (TypeError, ValueError) as error:
            raise AvailabilityError(f"{project_file}: vars.{VAR}: {error}") from error
        if settings.window_days < 1 or settings.trailing_days < 1:
            raise AvailabilityError(
                f"{project_file}: vars.{VAR}: window_days and trailing_days must be at least 1"
            )
        if not 0 < settings.min_share <= 1 or settings.max_age_hours <= 0:
            raise AvailabilityError(
                f"{project_file}: vars.{VAR}: min_share must be in (0, 1] and max_age_hours above 0"
            )
        return settings


@dataclass(frozen=True)
class Gap:
    """One reason a table blocks its dependents."""

    source: str
    table: str
    kind: str
    day: str
    rows: int
    expected: float

    def line(self) -> str:
        name = f"{self.source}.{self.table}"
        if self.kind == STALE:
            return (
                f"landing table {name}: stale, newest load on {self.day}, older than the "
                "max_age_hours bound before the reference time"
            )
        if self.kind == MISSING:
            return (
                f"landing table {name}: day {self.day} missing (0 rows loaded; trailing median "
                f"{self.expected:g})"
            )
        return (
            f"landing table {name}: day {self.day} half-delivered ({self.rows} rows loaded; "
            f"trailing median {self.expected:g})"
        )


@dataclass
class AvailabilityReport:
    """Rows per load day of each checked table, the reference time, and the gaps found."""

    reference_at: str | None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def blocked(self) -> list[str]:
        """`source.table` of every table with a gap, each once, in order."""
        return list(dict.fromkeys(f"{gap.source}.{gap.table}" for gap in self.gaps))

    def exclude_args(self) -> list[str]:
        """dbt arguments that leave out everything downstream of a blocked table."""
        if not self.blocked:
            return []
        return ["--exclude", *(f"source:{name}+" for name in self.blocked)]

    def to_record(self) -> dict[str, Any]:
        return {
            "reference_at": self.reference_at,
            "blocked": self.blocked,
            "gaps": [asdict(gap) | {"line": gap.line()} for gap in self.gaps],
        }


def source_names(project_dir: Path) -> dict[str, str]:
    """Table name → its dbt source name, from every `_*__sources.yml` of the project."""
    names: dict[str, str] = {}
    for path in sorted((project_dir / "models").rglob("_*__sources.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for source in document.get("sources", []):
            for table in source.get("tables", []):
                names[table["name"]] = source["name"]
    return names


def utc_day(column: str) -> str:
    """SQL for the UTC day of a timestamp column by integer arithmetic on its epoch: the same
    day as `cast(column as date)` in a UTC session without a time zone conversion per row
    (about a quarter of its time over the page views of a million customers). The division floors in
    integers (a double loses the microseconds of year 9999); an infinite time has no epoch and
    keeps the cast's day. The build's daily source test uses the same SQL from the `utc_date`
    macro (macros/utils/timestamps.sql); a test holds the two equal."""
    micros, day = f"epoch_us({column})", "cast(86400000000 as bigint)"
    floored = f"({micros} - (({micros} % {day}) + {day}) % {day}) // {day}"
    return f"coalesce(date '1970-01-01' + cast({floored} as integer), cast({column} as date))"


def daily_counts(paths: Paths, table: str, pattern: str) -> dict[date, tuple[int, datetime]]:
    """Rows per UTC load day of one table, with that day's newest `_loaded_at`, read by DuckDB
    from every file the table's source reads."""
    files = sorted(str(path) for path in paths.landing_dir.glob(pattern) if path.is_file())
    if not files:
        return {}
    connection = connect_duckdb()
    try:
        relation = connection.read_parquet(files, union_by_name=True)
        if LOADED_AT not in relation.columns:
            raise AvailabilityError(
                f"{paths.landing_dir / pattern}: no {LOADED_AT} column; every landing file "
                "carries the time it was loaded (UTC)"
            )
        rows = connection.execute(
            f"select {utc_day(LOADED_AT)} as load_day, count(*), max({LOADED_AT}) "
            f"from read_parquet(?, union_by_name = true) where {LOADED_AT} is not null "
            "group by all",
            [files],
        ).fetchall()
    finally:
        connection.close()
    return {day: (count, _utc(newest)) for day, count, newest in rows}


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _median_before(counts: dict[date, int], day: date, trailing: int) -> float:
    return statistics.median(counts.get(day - timedelta(days=k), 0) for k in range(1, trailing + 1))


def last_full_day(counts: dict[date, int], settings: Settings) -> date | None:
    """The latest day delivered in full: walking forward from the first load day, a day is
    full when its rows reach `min_share` of the median of the last `trailing_days` full days
    (so a run of days holding only a few late rows never becomes the yardstick)."""
    full: list[int] = []
    last = None
    for day in sorted(counts):
        rows = counts[day]
        if rows > 0 and (not full or rows >= settings.min_share * statistics.median(full)):
            full = [*full, rows][-settings.trailing_days :]
            last = day
    return last


def find_gaps(
    source: str,
    table: str,
    counts: dict[date, int],
    newest: datetime | None,
    reference_at: datetime,
    settings: Settings,
) -> list[Gap]:
    """The gaps of one table before the reference time (see the module's rules)."""
    if newest is None or reference_at - newest > timedelta(hours=settings.max_age_hours):
        day = newest.date().isoformat() if newest else "never"
        return [Gap(source, table, STALE, day, 0, 0)]
    gaps = []
    # The day the reference time falls in; a reference at midnight ends the day before.
    last = (reference_at - timedelta(microseconds=1)).date()
    for offset in range(settings.window_days - 1, -1, -1):
        day = last - timedelta(days=offset)
        median = _median_before(counts, day, settings.trailing_days)
        rows = counts.get(day, 0)
        if median == 0 or median < settings.min_median_rows:
            continue
        if rows == 0:
            gaps.append(Gap(source, table, MISSING, day.isoformat(), 0, median))
        elif rows < settings.min_share * median:
            gaps.append(Gap(source, table, HALF_DELIVERED, day.isoformat(), rows, median))
    return gaps


def check_availability(paths: Paths, as_of: datetime | None = None) -> AvailabilityReport:
    """Count each daily table's rows per load day and find its gaps before the reference time."""
    from .landing import declared_sources

    settings = Settings.from_project(paths.project_dir)
    declared = declared_sources(paths.project_dir)
    sources = source_names(paths.project_dir)
    unknown = [name for name in settings.daily_tables if name not in declared]
    if unknown:
        raise AvailabilityError(
            f"{paths.project_dir / 'dbt_project.yml'}: vars.{VAR}.daily_tables names "
            f"{', '.join(unknown)}, not declared in any sources YAML; use the table names of "
            "the sources"
        )
    per_day = {
        table: daily_counts(paths, table, declared[table].pattern)
        for table in settings.daily_tables
    }
    counts = {
        table: {day: count for day, (count, _) in days.items()} for table, days in per_day.items()
    }
    if as_of is None:
        ends = []
        for table, days in per_day.items():
            full = last_full_day(counts[table], settings)
            if full is not None:
                ends.append(days[full][1])
        reference_at = max(ends, default=None)
    else:
        reference_at = _utc(as_of)
    report = AvailabilityReport(
        reference_at=reference_at.isoformat() if reference_at else None,
        counts={
            table: {day.isoformat(): count for day, count in sorted(days.items())}
            for table, days in counts.items()
        },
    )
    if reference_at is None:
        return report
    for table, days in per_day.items():
        loaded = [newest for day, (_, newest) in days.items() if newest <= reference_at]
        report.gaps += find_gaps(
            sources[table], table, counts[table], max(loaded, default=None), reference_at, settings
        )
    return report


def blocked_upstream(record_availability: dict[str, Any] | None, manifest: dict, model_id: str):
    """The gaps of the build record whose table is upstream of `model_id`."""
    from .gates import upstream_nodes

    if not record_availability:
        return []
    upstream = upstream_nodes(manifest, model_id)
    sources = {node.split(".", 2)[-1] for node in upstream if node.startswith("source.")}
    return [
        gap
        for gap in record_availability.get("gaps", [])
        if gap["source"] + "." + gap["table"] in sources
    ]


def require_available(record_availability: dict[str, Any] | None, manifest: dict, model_id: str):
    """Raise BlockedError, one line per gap, when the build blocked a table the model reads."""
    gaps = blocked_upstream(record_availability, manifest, model_id)
    if gaps:
        raise BlockedError(
            f"Export of {model_id} refused: the last build blocked landing tables it depends "
            "on:\n  - "
            + "\n  - ".join(gap["line"] for gap in gaps)
            + "\nDeliver the missing rows to the landing zone, run `trainset build` again, "
            "then export. Earlier exports are untouched."
        )


def require_nothing_blocked(paths: Paths) -> None:
    """Raise BlockedError, naming each table and day, when the newest build blocked a table."""
    from .build import latest_record

    record = latest_record(paths.target_dir)
    availability = ((record.landing or {}) if record else {}).get("availability") or {}
    gaps = availability.get("gaps", [])
    if gaps:
        raise BlockedError(
            "the build left out everything downstream of "
            + ", ".join(availability.get("blocked", []))
            + ": "
            + "; ".join(gap["line"] for gap in gaps)
            + ". The rest is built; deliver the missing rows and build again before exporting"
        )
