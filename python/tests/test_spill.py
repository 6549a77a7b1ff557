"""A build that spills past DuckDB's memory limit goes on: the node after the first spill opens a
new cursor, and the project's profile must not set the spill folder again there (DuckDB refuses
to change `temp_directory` once a query has used it, which failed large builds)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT_DIR

PROJECT = """
name: spill_check
version: "1.0"
profile: trainset
models:
  spill_check:
    +materialized: table
"""
# Sorting four million hashes needs far more than the 100 MB the build may hold, so it spills.
SPILLED = "select range as n, md5(cast(range as varchar)) as h from range(4000000) order by h"
AFTER = "select count(*) as n from {{ ref('spilled') }}"


def test_the_node_after_a_spill_still_runs(tmp_path: Path):
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(PROJECT)
    (project / "models" / "spilled.sql").write_text(SPILLED)
    (project / "models" / "after_spill.sql").write_text(AFTER)
    shutil.copy(PROJECT_DIR / "profiles.yml", project / "profiles.yml")
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "TRAINSET_DUCKDB_PATH": str(tmp_path / "spill.duckdb"),
        "TRAINSET_DUCKDB_MEMORY_LIMIT": "100MB",
        "DBT_TARGET_PATH": str(tmp_path / "target"),
    }
    env.pop("TRAINSET_DUCKDB_TEMP_DIR", None)
    env.pop("TRAINSET_TARGET", None)
    run = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "build", "--profiles-dir", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "Cannot switch temporary directory" not in run.stdout
    assert "PASS=2" in run.stdout, run.stdout[-3000:]
