"""Compile calls of the project's macros outside the project, once, for reuse as plain SQL.

The property tests and the benchmarks run macro SQL hundreds of times on prepared tables; a dbt
invocation per run would cost seconds. Each call is written as an analysis of a throwaway dbt
project named `trainset` (so `adapter.dispatch(..., 'trainset')` resolves as in the real
project) holding copies of the given macro folders, and all are compiled in one `dbt compile`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .dbt import DbtError
from .project import ProjectNotFoundError, find_project_dir

PROFILE = """
trainset_compile:
  target: dev
  outputs:
    dev:
      type: duckdb
      # Compiling reads no table: an in-memory database leaves no file open in this process.
      path: ":memory:"
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


def compile_macro_calls(
    calls: dict[str, str],
    workdir: Path,
    *,
    target: str = "dev",
    pg_port: int = 5432,
    macro_folders: tuple[str, ...] = ("point_in_time", "spark"),
    project_dir: Path | None = None,
) -> dict[str, str]:
    """Compile each `{name: jinja}`; return `{name: sql}`. `target` is `dev` (DuckDB), `pg` or
    `spark` (a Spark session in this process: an existing one is reused). The macro folders
    are read from `project_dir` (default: `find_project_dir()`); a folder it lacks is an error.

    Changes nothing in this process's environment and leaves no database file open; the
    compiled SQL is read from the throwaway project's own target folder, whatever
    DBT_TARGET_PATH says."""
    from dbt.cli.main import dbtRunner

    source = Path(project_dir) if project_dir is not None else find_project_dir()
    missing = [folder for folder in macro_folders if not (source / "macros" / folder).is_dir()]
    if missing:
        raise ProjectNotFoundError(
            f"{source / 'macros'} has no folder {', '.join(missing)}: pass the trainset "
            "project's folder as project_dir, or set TRAINSET_PROJECT_DIR."
        )
    project = Path(workdir) / f"compile_project_{target}"
    if project.exists():
        shutil.rmtree(project)
    (project / "analyses").mkdir(parents=True)
    for folder in macro_folders:
        shutil.copytree(source / "macros" / folder, project / "macros" / folder)
    (project / "dbt_project.yml").write_text(
        "name: trainset\nversion: '1.0'\nconfig-version: 2\nprofile: trainset_compile\n"
        "macro-paths: ['macros']\nanalysis-paths: ['analyses']\nmodel-paths: ['models']\n"
    )
    (project / "profiles.yml").write_text(PROFILE.format(pg_port=pg_port))
    for name, call in calls.items():
        (project / "analyses" / f"{name}.sql").write_text(call)
    target_dir = project / "target"
    args = ["--no-send-anonymous-usage-stats", "compile", "--project-dir", str(project)]
    args += ["--profiles-dir", str(project), "--target", target, "--target-path", str(target_dir)]
    args += ["--log-path", str(project / "logs"), "--quiet"]
    result = dbtRunner().invoke(args)
    if not result.success:
        raise DbtError(f"dbt compile of the macro calls failed: {result.exception}")
    compiled = target_dir / "compiled" / "trainset" / "analyses"
    return {name: (compiled / f"{name}.sql").read_text() for name in calls}
