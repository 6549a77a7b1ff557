"""Running dbt from Python through dbt's programmatic runner, and reading its artifacts."""

from __future__ import annotations

import gc
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .project import Paths, connect_duckdb


class DbtError(RuntimeError):
    """Raised when a dbt command fails to run at all or reports failures."""


@dataclass(frozen=True)
class DbtRun:
    """Outcome of one dbt invocation."""

    success: bool
    args: list[str]
    target_dir: Path
    invocation_id: str | None = None


def _environment(paths: Paths) -> dict[str, str]:
    env = {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "TRAINSET_DUCKDB_PATH": str(paths.duckdb_path),
        "TRAINSET_LANDING_DIR": str(paths.landing_dir),
        "TRAINSET_EXPORTS_DIR": str(paths.exports_dir),
    }
    return env


def ensure_database_free(database: Path) -> None:
    """Fail fast, with the holder's PID, when another process holds the DuckDB file: two
    builds on one file would otherwise fail midway with a lock error from dbt."""
    import duckdb

    if not database.exists():
        return
    try:
        connect_duckdb(database).close()
    except duckdb.IOException as error:
        text = str(error)
        if "lock" not in text.lower():
            raise
        holder = text.split("PID", 1)[1].split(")")[0].strip() if "PID" in text else "unknown"
        raise DbtError(
            f"{database} is in use by another process (PID {holder}), probably another "
            "build or an open notebook. Wait for it to finish or close it, or point "
            "TRAINSET_DUCKDB_PATH at another file. Nothing was changed."
        ) from error


def run_dbt(args: list[str], paths: Paths | None = None) -> DbtRun:
    """Run `dbt <args>` in the project, with the project's profiles and this process's paths.

    dbt prints its own progress, one line per node. Returns a DbtRun; `success` is False when
    any node failed or errored (a failing test included).
    """
    from dbt.cli.main import dbtRunner

    paths = paths or Paths.resolve()
    paths.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    if args and args[0] in {"build", "run", "seed", "snapshot", "test", "show", "compile"}:
        ensure_database_free(paths.duckdb_path)
    previous_env = {key: os.environ.get(key) for key in _environment(paths)}
    os.environ.update(_environment(paths))
    previous_cwd = Path.cwd()
    full_args = [
        *args,
        "--project-dir",
        str(paths.project_dir),
        "--profiles-dir",
        str(paths.project_dir),
        "--target-path",
        str(paths.target_dir),
    ]
    try:
        os.chdir(paths.project_dir)
        result = dbtRunner().invoke(full_args)
    finally:
        _release_duckdb()
        os.chdir(previous_cwd)
        for key, value in previous_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if result.exception is not None:
        raise DbtError(f"dbt {' '.join(args)} could not run: {result.exception}")
    from dbt_common.invocation import get_invocation_id

    return DbtRun(
        success=bool(result.success),
        args=full_args,
        target_dir=paths.target_dir,
        invocation_id=get_invocation_id(),
    )


def _release_duckdb() -> None:
    """dbt-duckdb keeps its database open for the life of the process; close it after each
    invocation so the file is free for readers (the export, tests, a notebook) and for the next
    build."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        try:
            environment.close()
        finally:
            DuckDBConnectionManager._ENV = None
    gc.collect()


def read_artifact(target_dir: Path, name: str) -> dict[str, Any]:
    """Load `target/<name>` (manifest.json, run_results.json), with a clear error if absent."""
    path = Path(target_dir) / name
    if not path.is_file():
        raise DbtError(
            f"{path} does not exist: run `trainset build` (or `dbt build`) first so dbt "
            "writes its artifacts."
        )
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)
