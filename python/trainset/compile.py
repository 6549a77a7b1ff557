"""Compile calls of the project's macros outside the project, once, for reuse as plain SQL.

The property tests and the benchmarks run macro SQL hundreds of times on prepared tables; a dbt
invocation per run would cost seconds. Each call is written as an analysis of a throwaway dbt
project named `trainset` (so `adapter.dispatch(..., 'trainset')` resolves as in the real
project) holding copies of the given macro folders, and all are compiled in one `dbt compile`.
"""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path

from .project import find_project_dir

PROFILE = """
trainset_compile:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{duckdb_path}"
      settings:
        timezone: UTC
    pg:
      type: postgres
      host: 127.0.0.1
      port: {pg_port}
      user: postgres
      password: ""
      dbname: trainset
      schema: public
      threads: 1
    spark:
      type: spark
      method: session
      host: localhost
      schema: main
      threads: 1
      server_side_parameters:
        spark.sql.session.timeZone: UTC
"""


def _release_duckdb() -> None:
    """dbt-duckdb keeps its database open for the life of the process; close it after an
    in-process invocation so the file is free. Only this in-process compile (which must share
    the caller's Spark session) needs it: `trainset.dbt.run_dbt` runs dbt in a child process."""
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


def compile_macro_calls(
    calls: dict[str, str],
    workdir: Path,
    *,
    target: str = "dev",
    pg_port: int = 5432,
    macro_folders: tuple[str, ...] = ("point_in_time", "spark"),
) -> dict[str, str]:
    """Compile each `{name: jinja}`; return `{name: sql}`. `target` is `dev` (DuckDB), `pg` or
    `spark` (a Spark session in this process: an existing one is reused)."""
    from dbt.cli.main import dbtRunner

    project = Path(workdir) / f"compile_project_{target}"
    if project.exists():
        shutil.rmtree(project)
    (project / "analyses").mkdir(parents=True)
    for folder in macro_folders:
        if not (find_project_dir() / "macros" / folder).is_dir():
            continue
        shutil.copytree(find_project_dir() / "macros" / folder, project / "macros" / folder)
    (project / "dbt_project.yml").write_text(
        "name: trainset\nversion: '1.0'\nconfig-version: 2\nprofile: trainset_compile\n"
        "macro-paths: ['macros']\nanalysis-paths: ['analyses']\nmodel-paths: ['models']\n"
    )
    (project / "profiles.yml").write_text(
        PROFILE.format(duckdb_path=project / "compile.duckdb", pg_port=pg_port)
    )
    for name, call in calls.items():
        (project / "analyses" / f"{name}.sql").write_text(call)
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    args = ["compile", "--project-dir", str(project), "--profiles-dir", str(project)]
    args += ["--target", target, "--log-path", str(project / "logs"), "--quiet"]
    try:
        result = dbtRunner().invoke(args)
    finally:
        _release_duckdb()
    if not result.success:
        raise RuntimeError(f"dbt compile of the macro calls failed: {result.exception}")
    compiled = project / "target" / "compiled" / "trainset" / "analyses"
    return {name: (compiled / f"{name}.sql").read_text() for name in calls}
