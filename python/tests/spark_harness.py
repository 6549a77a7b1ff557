"""One Spark session for every Spark test in a pytest process.

The JVM takes tens of seconds to start, so the session is made once (`spark_session`) with
the settings of the project's `spark` profile (profiles.yml is the one place they are
declared), and everything else reuses it: dbt-spark's session method calls
`SparkSession.builder.getOrCreate()`, which returns this session, so dbt builds, compiled
macro SQL and the tests' own queries share one JVM. The Hive metastore and the warehouse live
in a temporary folder of this process (TRAINSET_SPARK_DIR), never in the project.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path

import jinja2
import yaml

from trainset.project import find_project_dir


@functools.cache
def spark_state_dir() -> Path:
    """The metastore and warehouse folder of this process, removed as a whole at exit."""
    root = Path(tempfile.mkdtemp(prefix="trainset-spark-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    os.environ["TRAINSET_SPARK_DIR"] = str(root)
    return root


def profile_settings(output: str = "spark") -> dict[str, str]:
    """The `server_side_parameters` of a profile output, rendered with this environment."""
    profiles = yaml.safe_load((find_project_dir() / "profiles.yml").read_text())
    parameters = profiles["trainset"]["outputs"][output]["server_side_parameters"]

    def env_var(name: str, default: str | None = None) -> str:
        value = os.environ.get(name, default)
        if value is None:
            raise KeyError(f"profiles.yml needs the environment variable {name}")
        return value

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return {
        key: environment.from_string(str(value)).render(env_var=env_var)
        for key, value in parameters.items()
    }


@functools.cache
def spark_session():
    """The shared session, started with the `spark` profile's settings."""
    from pyspark.sql import SparkSession

    spark_state_dir()
    os.environ.setdefault("TZ", "UTC")
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in profile_settings().items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    # Stop the JVM when the test process ends, whether its tests passed or failed.
    atexit.register(session.stop)
    session.sparkContext.setLogLevel("ERROR")
    return session


def fetch(sql: str) -> tuple[list[str], list[tuple]]:
    """Run one query on the shared session: column names and rows as tuples."""
    frame = spark_session().sql(sql)
    return frame.columns, [tuple(row) for row in frame.collect()]


def dbt(project: Path, root: Path, *args: str) -> None:
    """One dbt command on the spark target in this process, on the shared session; its target
    and log folders under `root`."""
    from dbt.cli.main import dbtRunner

    command = [*args, "--project-dir", str(project), "--profiles-dir", str(project)]
    command += ["--target", "spark", "--target-path", str(root / "target")]
    command += ["--log-path", str(root / "logs"), "--quiet"]
    result = dbtRunner().invoke(command)
    assert result.success, f"dbt {' '.join(args)} failed on Spark: {result.exception}"
