"""Checks on the landing zone before dbt reads it: every declared table has files, and every
file has the declared columns with compatible types.

The declared columns are the ones documented on the dbt sources (`data_type` on each column of
`models/staging/**/_*__sources.yml`), so the check and the dbt project share one definition.
A missing or retyped column is an error naming the file and the column; an extra column is
tolerated (staging selects columns by name) and reported as a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from .project import Paths

# Arrow types a landing file may use for each declared dbt data type.
COMPATIBLE = {
    "bigint": (pa.types.is_integer,),
    "integer": (pa.types.is_integer,),
    "double": (pa.types.is_floating, pa.types.is_integer, pa.types.is_decimal),
    "varchar": (pa.types.is_string, pa.types.is_large_string),
    "timestamptz": (pa.types.is_timestamp,),
    "timestamp": (pa.types.is_timestamp,),
    "boolean": (pa.types.is_boolean,),
}


class LandingError(ValueError):
    """Raised when landing files do not match the declared sources."""


@dataclass
class LandingReport:
    """Problems (block the build) and warnings (tolerated) found in the landing zone."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: int = 0


def declared_tables(project_dir: Path) -> dict[str, dict[str, str]]:
    """Table name → {column: data_type} from every `_*__sources.yml` of the project."""
    tables: dict[str, dict[str, str]] = {}
    for path in sorted((project_dir / "models").rglob("_*__sources.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for source in document.get("sources", []):
            for table in source.get("tables", []):
                tables[table["name"]] = {
                    column["name"]: str(column.get("data_type", "")).lower()
                    for column in table.get("columns", [])
                    if column.get("data_type")
                }
    return tables


def check_landing(paths: Paths) -> LandingReport:
    """Inspect every landing file's schema (metadata only, no data read)."""
    report = LandingReport()
    if not paths.landing_dir.is_dir():
        report.problems.append(
            f"{paths.landing_dir} does not exist: run `trainset generate` or set "
            "TRAINSET_LANDING_DIR to your landing files."
        )
        return report
    for table, columns in declared_tables(paths.project_dir).items():
        folder = paths.landing_dir / table
        files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        if not files:
            report.problems.append(
                f"{folder}/ has no Parquet files: every declared source table needs at least "
                "one file (an empty table is a file with zero rows)."
            )
            continue
        for file in files:
            report.files += 1
            try:
                schema = pq.read_schema(file)
            except (pa.ArrowInvalid, OSError) as error:
                report.problems.append(f"{file}: not a readable Parquet file ({error}).")
                continue
            found = {name: schema.field(name).type for name in schema.names}
            for name, declared in columns.items():
                if name not in found:
                    report.problems.append(
                        f"{file}: column {name!r} is missing (declared {declared} in the "
                        f"{table!r} source); add it to the file or fix the source YAML."
                    )
                    continue
                checks = COMPATIBLE.get(declared, ())
                if checks and not any(check(found[name]) for check in checks):
                    report.problems.append(
                        f"{file}: column {name!r} is {found[name]}, declared {declared}; "
                        "fix the file's type (a cast in staging is not enough: DuckDB fails on "
                        "mixed types across files)."
                    )
            for name in sorted(set(found) - set(columns)):
                report.warnings.append(
                    f"{file}: column {name!r} is not declared in the {table!r} source; it is "
                    "ignored (declare it in the source YAML to use it)."
                )
    return report


def require_landing(paths: Paths) -> LandingReport:
    """Raise LandingError listing every problem; return the report (with warnings) otherwise."""
    report = check_landing(paths)
    if report.problems:
        raise LandingError(
            "The landing zone does not match the declared sources:\n  - "
            + "\n  - ".join(report.problems)
        )
    return report
