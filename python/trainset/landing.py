"""Checks on the landing zone before dbt reads it, and the inventory that ties a build to the
files it read.

The contract comes from the dbt sources (`models/staging/**/_*__sources.yml`): each table's
`external_location` names the files DuckDB reads (`{landing_dir}/{name}/*.parquet`), and the
`data_type` of each column names its type. The check refuses, naming the file:
- anything in the landing zone the sources would not read (a CSV beside the Parquet files, a
  sub-folder, `.PARQUET` in upper case, a folder of no declared table), since dbt would skip it
  without a word; only `_`-prefixed files at the top (the generator's `_generator.json`) are
  tolerated as metadata;
- a missing or retyped column;
- a file whose data pages fail their checksums or cannot be decoded.
An extra column is tolerated (staging selects columns by name) and reported as a warning.

Each file read is recorded with its path (relative to the landing zone), size, row count and
SHA-256; the landing fingerprint is a hash over the paths, sizes and hashes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from .errors import InputError
from .project import Paths

HASH_CHUNK_BYTES = 8 * 1024 * 1024
# Top-level files with this prefix are metadata about the landing zone, not data.
METADATA_PREFIX = "_"

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


class LandingError(InputError):
    """Raised when landing files do not match the declared sources."""


@dataclass(frozen=True)
class LandingFile:
    """One file a build reads: path relative to the landing zone, size, rows, SHA-256."""

    path: str
    size: int
    rows: int
    sha256: str


@dataclass
class LandingReport:
    """Problems (block the build), warnings (tolerated) and the files found in the landing zone."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    inventory: list[LandingFile] = field(default_factory=list)

    @property
    def files(self) -> int:
        return len(self.inventory)

    @property
    def rows(self) -> int:
        return sum(file.rows for file in self.inventory)

    @property
    def fingerprint(self) -> str:
        return landing_fingerprint(self.inventory)

    def to_record(self) -> dict[str, Any]:
        """The landing part of a build record and of an export manifest."""
        return {
            "fingerprint": self.fingerprint,
            "files": [asdict(file) for file in self.inventory],
        }


@dataclass(frozen=True)
class SourceTable:
    """A declared source table: its columns with their types, and the files it reads as a
    pattern relative to the landing zone (`orders/*.parquet`)."""

    name: str
    columns: dict[str, str]
    pattern: str


def _location_pattern(location: str, table: str, where: Path) -> str:
    """`read_parquet('{landing_dir}/{name}/*.parquet', …)` → `orders/*.parquet`."""
    quoted = re.search(r"'([^']*)'", location)
    prefix = "{landing_dir}/"
    if not quoted or not quoted.group(1).startswith(prefix):
        raise LandingError(
            f"{where}: external_location of {table!r} ({location}) does not read "
            "'{landing_dir}/…'; the landing check cannot tell which files it reads."
        )
    pattern = quoted.group(1)[len(prefix) :].replace("{name}", table)
    if "**" in pattern or "{" in pattern or pattern.count("/") != 1 or "*" in pattern.split("/")[0]:
        raise LandingError(
            f"{where}: external_location of {table!r} ({location}) uses a pattern the landing "
            "check does not understand; use one folder per table with a file pattern, such as "
            "'{landing_dir}/{name}/*.parquet'."
        )
    return pattern


def declared_sources(project_dir: Path) -> dict[str, SourceTable]:
    """Every table of every `_*__sources.yml` of the project, with its columns and file pattern."""
    tables: dict[str, SourceTable] = {}
    for path in sorted((project_dir / "models").rglob("_*__sources.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for source in document.get("sources", []):
            source_meta = {
                **(source.get("meta") or {}),
                **(source.get("config", {}).get("meta") or {}),
            }
            for table in source.get("tables", []):
                table_meta = {
                    **source_meta,
                    **(table.get("meta") or {}),
                    **(table.get("config", {}).get("meta") or {}),
                }
                location = table_meta.get("external_location")
                if not location:
                    raise LandingError(
                        f"{path}: table {table['name']!r} has no external_location in its meta; "
                        "the landing check reads it to know which files dbt reads."
                    )
                tables[table["name"]] = SourceTable(
                    name=table["name"],
                    columns={
                        column["name"]: str(column.get("data_type", "")).lower()
                        for column in table.get("columns", [])
                        if column.get("data_type")
                    },
                    pattern=_location_pattern(location, table["name"], path),
                )
    return tables


def declared_tables(project_dir: Path) -> dict[str, dict[str, str]]:
    """Table name → {column: data_type} from every `_*__sources.yml` of the project."""
    return {name: table.columns for name, table in declared_sources(project_dir).items()}


def _matches(relative: str, pattern: str) -> bool:
    """Glob match component by component, case-sensitive, `*` never crossing a `/` (as DuckDB
    reads it; a leading dot is matched too, as DuckDB does)."""
    parts, globs = relative.split("/"), pattern.split("/")
    return len(parts) == len(globs) and all(
        fnmatch.fnmatchcase(part, glob) for part, glob in zip(parts, globs, strict=True)
    )


def _why_not_read(path: Path, relative: str, pattern: str) -> str:
    if path.is_dir():
        return (
            f"{path}/: a sub-folder; the source reads only {pattern}, so its files would be "
            "skipped. Move the files up into the table folder or remove the sub-folder."
        )
    if _matches(relative.lower(), pattern.lower()):
        return (
            f"{path}: the name differs from {pattern} only in letter case, so it would be "
            "skipped; rename it (e.g. to lower-case `.parquet`)."
        )
    if path.name.startswith("."):
        return (
            f"{path}: a hidden or temporary file, not matched by {pattern}; if a copy is still "
            "being written, wait for it to finish, otherwise remove it."
        )
    return (
        f"{path}: not read by the source (it reads {pattern} only), so its rows would be "
        "skipped; convert it to Parquet in the table folder, or move it out of the landing zone."
    )


def contract_files(paths: Paths, tables: dict[str, SourceTable]) -> tuple[list[Path], list[str]]:
    """The files the sources read, and a problem for every other entry of the landing zone."""
    root = paths.landing_dir
    problems: list[str] = []
    files: list[Path] = []
    folders = {table.pattern.split("/")[0]: table for table in tables.values()}
    for entry in sorted(root.iterdir()):
        if entry.name in folders and entry.is_dir():
            continue
        if entry.is_file() and entry.name.startswith(METADATA_PREFIX):
            continue
        kind = "folder" if entry.is_dir() else "file"
        problems.append(
            f"{entry}: a {kind} that no declared source reads (tables: "
            f"{', '.join(sorted(folders))}); declare a source table for it in "
            "models/staging/**/_*__sources.yml or move it out of the landing zone."
        )
    for folder, table in sorted(folders.items()):
        base = root / folder
        if not base.is_dir():
            problems.append(
                f"{base}/ is missing: every declared source table needs at least one file "
                f"matching {table.pattern} (an empty table is a file with zero rows)."
            )
            continue
        found = []
        for path in sorted(base.iterdir()):
            relative = path.relative_to(root).as_posix()
            if path.is_file() and _matches(relative, table.pattern):
                found.append(path)
            else:
                problems.append(_why_not_read(path, relative, table.pattern))
        if not found:
            problems.append(
                f"{base}/ has no file matching {table.pattern}: every declared source table "
                "needs at least one (an empty table is a file with zero rows)."
            )
        files.extend(sorted(found))
    return files, problems


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def landing_fingerprint(files: list[LandingFile]) -> str:
    """SHA-256 over every file's relative path, size and content hash, in path order."""
    listing = [[file.path, file.size, file.sha256] for file in sorted(files, key=lambda f: f.path)]
    return hashlib.sha256(json.dumps(listing).encode("utf-8")).hexdigest()


def _unreadable(path: Path, error: Exception) -> str:
    return (
        f"{path}: corrupt or unreadable Parquet (a data page fails its checksum or cannot be "
        f"decoded: {error}); replace it with an intact copy from its source."
    )


def _hash_and_count(path: Path, root: Path) -> tuple[LandingFile | None, int, str | None]:
    """Hash the file and read its footer: its entry, its number of row groups, or a problem."""
    try:
        size = path.stat().st_size
        sha256 = file_sha256(path)
        metadata = pq.read_metadata(path)
    except (pa.ArrowException, OSError) as error:
        return None, 0, _unreadable(path, error)
    entry = LandingFile(path.relative_to(root).as_posix(), size, metadata.num_rows, sha256)
    return entry, metadata.num_row_groups, None


def _verify_row_group(path: Path, group: int) -> str | None:
    """Decode one row group with every page's checksum checked: None, or the problem."""
    try:
        pq.ParquetFile(path, page_checksum_verification=True).read_row_group(group)
    except (pa.ArrowException, OSError) as error:
        return _unreadable(path, error)
    return None


def _read_verified(cache: Path | None) -> frozenset[str]:
    if cache is None or not cache.is_file():
        return frozenset()
    try:
        return frozenset(json.loads(cache.read_text(encoding="utf-8")).get("sha256", []))
    except (OSError, ValueError, AttributeError):
        return frozenset()


def _write_verified(cache: Path, hashes: set[str]) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    temporary = cache.with_name(f".tmp-{cache.name}-{os.getpid()}")
    temporary.write_text(json.dumps({"sha256": sorted(hashes)}) + "\n", encoding="utf-8")
    os.replace(temporary, cache)


def inventory(
    paths: Paths, *, verify_pages: bool = False, verified_cache: Path | None = None
) -> LandingReport:
    """The files the sources read, each hashed (pages verified with `verify_pages`), and a
    problem for everything else in the landing zone. No schema check.

    `verified_cache` names a file of SHA-256 hashes whose pages passed verification before:
    those files are only hashed, and the hashes of files verified now are added to it."""
    report = LandingReport()
    if not paths.landing_dir.is_dir():
        report.problems.append(
            f"{paths.landing_dir} does not exist: run `trainset generate` or set "
            "TRAINSET_LANDING_DIR to your landing files."
        )
        return report
    tables = declared_sources(paths.project_dir)
    files, report.problems = contract_files(paths, tables)
    verified = _read_verified(verified_cache) if verify_pages else frozenset()
    # Every file is hashed first; then the row groups of the files not verified before (a file
    # with the same SHA-256 had the same bytes) are decoded one task each, so one large table
    # keeps every core busy instead of one.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        hashed = list(pool.map(lambda path: _hash_and_count(path, paths.landing_dir), files))
        checks = [
            (path, group)
            for path, (entry, groups, _) in zip(files, hashed, strict=True)
            if verify_pages and entry is not None and entry.sha256 not in verified
            for group in range(groups)
        ]
        failed: dict[Path, str] = {}
        for (path, _), problem in zip(
            checks, pool.map(lambda check: _verify_row_group(*check), checks), strict=True
        ):
            if problem is not None:
                failed.setdefault(path, problem)
    for path, (entry, _, problem) in zip(files, hashed, strict=True):
        problem = problem or failed.get(path)
        if problem:
            report.problems.append(problem)
        elif entry:
            report.inventory.append(entry)
    if verify_pages and verified_cache is not None:
        current = {entry.sha256 for entry in report.inventory}
        if not current <= verified:
            # Only the files of this landing zone: the cache never grows past one zone.
            _write_verified(verified_cache, current)
    return report


def check_landing(paths: Paths, verified_cache: Path | None = None) -> LandingReport:
    """The whole check: contract, schemas (declared columns and types) and page checksums
    (skipped for files whose bytes `verified_cache` lists as verified before)."""
    report = inventory(paths, verify_pages=True, verified_cache=verified_cache)
    if not paths.landing_dir.is_dir():
        return report
    tables = declared_sources(paths.project_dir)
    folders = {table.pattern.split("/")[0]: table for table in tables.values()}
    for entry in report.inventory:
        table = folders[entry.path.split("/")[0]]
        file = paths.landing_dir / entry.path
        schema = pq.read_schema(file)
        found = {name: schema.field(name).type for name in schema.names}
        for name, declared in table.columns.items():
            if name not in found:
                report.problems.append(
                    f"{file}: column {name!r} is missing (declared {declared} in the "
                    f"{table.name!r} source); add it to the file or fix the source YAML."
                )
                continue
            checks = COMPATIBLE.get(declared, ())
            if checks and not any(check(found[name]) for check in checks):
                report.problems.append(
                    f"{file}: column {name!r} is {found[name]}, declared {declared}; "
                    "fix the file's type (a cast in staging is not enough: DuckDB fails on "
                    "mixed types across files)."
                )
        for name in sorted(set(found) - set(table.columns)):
            report.warnings.append(
                f"{file}: column {name!r} is not declared in the {table.name!r} source; it is "
                "ignored (declare it in the source YAML to use it)."
            )
    return report


def require_landing(paths: Paths, verified_cache: Path | None = None) -> LandingReport:
    """Raise LandingError listing every problem; return the report (with warnings) otherwise."""
    report = check_landing(paths, verified_cache)
    if report.problems:
        raise LandingError(
            "The landing zone does not match the declared sources:\n  - "
            + "\n  - ".join(report.problems)
        )
    return report
