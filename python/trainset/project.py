"""Where things live: the dbt project, the DuckDB file, the landing zone and the exports.

Every path has a default relative to the project root and an environment variable that
overrides it, the same variables that `profiles.yml` and `dbt_project.yml` read, so the
Python package and dbt always agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:
    import duckdb

# Every DuckDB session the package opens compares and converts timestamps in UTC, the zone of
# every `_at` column; DuckDB's default is the machine's zone, which would shift naive values
# mixed with offset ones. dbt's sessions get the same setting from `profiles.yml`.
SESSION_TIME_ZONE = "UTC"


def connect_duckdb(
    database: str | Path | None = None, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection (in memory when `database` is None) with the session time zone
    pinned to UTC. Every DuckDB connection of the project goes through here."""
    import duckdb

    connection = duckdb.connect(
        ":memory:" if database is None else str(database), read_only=read_only
    )
    try:
        connection.execute(f"set TimeZone = '{SESSION_TIME_ZONE}'")
    except BaseException:
        connection.close()
        raise
    return connection


class ProjectNotFoundError(InputError):
    """Raised when no dbt project can be found."""


def find_project_dir(start: Path | None = None) -> Path:
    """Return the trainset dbt project root: TRAINSET_PROJECT_DIR, else the nearest parent of
    `start` (default: the working directory, then this file) holding a `dbt_project.yml`."""
    explicit = os.environ.get("TRAINSET_PROJECT_DIR")
    if explicit:
        path = Path(explicit).resolve()
        if not (path / "dbt_project.yml").is_file():
            raise ProjectNotFoundError(
                f"TRAINSET_PROJECT_DIR={explicit} has no dbt_project.yml; point it at the "
                "folder that holds the trainset dbt project."
            )
        return path
    candidates = [Path(start or Path.cwd()).resolve(), Path(__file__).resolve()]
    for candidate in candidates:
        for folder in [candidate, *candidate.parents]:
            if (folder / "dbt_project.yml").is_file() and (folder / "profiles.yml").is_file():
                return folder
    raise ProjectNotFoundError(
        "No trainset dbt project found: run from the repository (the folder with "
        "dbt_project.yml) or set TRAINSET_PROJECT_DIR."
    )


@dataclass(frozen=True)
class Paths:
    """Resolved locations for one project."""

    project_dir: Path
    duckdb_path: Path
    landing_dir: Path
    exports_dir: Path
    target_dir: Path

    @classmethod
    def resolve(cls, project_dir: Path | None = None) -> Paths:
        root = Path(project_dir).resolve() if project_dir else find_project_dir()

        def env_path(name: str, default: str) -> Path:
            value = Path(os.environ.get(name, default))
            return value if value.is_absolute() else root / value

        return cls(
            project_dir=root,
            duckdb_path=env_path("TRAINSET_DUCKDB_PATH", "data/trainset.duckdb"),
            landing_dir=env_path("TRAINSET_LANDING_DIR", "data/landing"),
            exports_dir=env_path("TRAINSET_EXPORTS_DIR", "exports"),
            target_dir=env_path("DBT_TARGET_PATH", "target"),
        )
