"""Data generated with another seed gives the same training set on Spark and on DuckDB.

The second landing zone of the Spark comparison (test_spark_training_set.py builds the first,
the shared small one, whole on Spark through `trainset build` in a JVM of its own, every test
and the gated export included). This one checks the data alone: dbt builds the training model
and what it reads on the shared Spark session of this process (spark_harness.py), without the
data tests and unit tests the first zone already runs on Spark, in a warm JVM (a new one costs
its start and the compilation of Spark's code again). Its training table is read and hashed
the way the export reads the Spark table's Parquet files, then compared with the DuckDB build
of the same files, exported through the gate: the same multiset of rows, hashed here from the
Parquet files, and the export's content hash.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import build, make_paths, project_snapshot
from spark_harness import dbt, spark_session, spark_state_dir
from test_spark_training_set import TASK, assert_same_rows, environment, spark_training_table
from trainset.export import export_training_set
from trainset.sim import generate
from trainset.store import content_hash

pytestmark = pytest.mark.spark

OTHER_SEED = {"customers": 300, "days": 240, "seed": 5}
# The monitoring models read the training set and feed nothing the export needs: the first
# zone builds and compares them, so the DuckDB build here leaves them out.
NO_MONITORING = ("--exclude", "tag:monitoring")
# The training model and its upstream alone (28 of 45 models: no serving, quarantine or
# monitoring model), no data tests and no unit tests: the first zone runs them all on Spark.
TRAINING_UPSTREAM = ("--select", f"+train_{TASK}", "--exclude-resource-type", "test", "unit_test")


def spark_dbt_build(landing: Path, root: Path):
    """`dbt build` of the training model's upstream on the shared session; the paths of the
    build (its target folder holds the manifest the export reads)."""
    spark_session()
    paths = make_paths(root)
    with environment(TRAINSET_LANDING_DIR=str(landing)):
        dbt(project_snapshot(), root, "build", *TRAINING_UPSTREAM)
    return paths


def test_another_seed_gives_the_same_training_set_on_spark_and_duckdb(tmp_path_factory):
    root = tmp_path_factory.mktemp("other_seed")
    generate(root / "landing", progress=lambda message: None, **OTHER_SEED)
    spark_paths = spark_dbt_build(root / "landing", root / "spark_build")
    # the shared session's warehouse, where spark_training_table reads the table's files
    assert os.environ["TRAINSET_SPARK_DIR"] == str(spark_state_dir())
    spark_table = spark_training_table(spark_paths)

    paths = make_paths(root / "duckdb_build")
    shutil.copytree(root / "landing", paths.landing_dir)
    assert build(paths, *NO_MONITORING), f"DuckDB build failed; see {paths.target_dir}/logs"
    duckdb_result = export_training_set(TASK, paths, progress=lambda message: None)
    duckdb_file = duckdb_result.path / duckdb_result.manifest["data_file"]
    spark_file = root / "spark_training_set.parquet"
    pq.write_table(spark_table, spark_file)
    assert_same_rows(spark_file, duckdb_file)
    assert content_hash(spark_table) == duckdb_result.manifest["content_sha256"]
