"""The whole project on Apache Spark gives the training set DuckDB gives, row for row.

`trainset build` runs on the `spark` target exactly as a user runs it (landing checks, build
record, `dbt build` in a child process with its own JVM and its own metastore folder), then
`trainset export` reads the Spark table's Parquet files. The same landing files are built on
DuckDB and exported. The two exports must hold the same multiset of rows (each row hashed
here, from the Parquet files, independently of the export's own hash), the same content hash,
the same Arrow types (UTC microsecond timestamps, never INT96, the same integer, decimal and
float widths), and each manifest must name the engine that built it.

Two landing zones, each built whole (every model, seed and data test) on both engines: the
shared small one of conftest and one generated with another seed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import Built, build, make_paths
from trainset.export import export_training_set
from trainset.sim import generate

pytestmark = pytest.mark.spark

TASK = "churn_30d"
OTHER_SEED = {"customers": 300, "days": 240, "seed": 5}


@contextlib.contextmanager
def environment(**values: str):
    """Set environment variables for the duration of a block (dbt's child inherits them)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def spark_build(landing: Path, root: Path):
    """`trainset build` on the spark target (the whole project), then `trainset export`."""
    paths = make_paths(root)
    shutil.copytree(landing, paths.landing_dir)
    state = root / "spark"
    state.mkdir()
    with environment(TRAINSET_TARGET="spark", TRAINSET_SPARK_DIR=str(state)):
        assert build(paths), f"Spark build failed; see {paths.target_dir}/logs"
        return export_training_set(TASK, paths, progress=lambda message: None)


def duckdb_export(paths, exports: Path):
    return export_training_set(
        TASK, dataclasses.replace(paths, exports_dir=exports), progress=lambda message: None
    )


def row_hashes(data_file: Path) -> Counter:
    """Each row of a Parquet file as a hash of its column names and Python values."""
    table = pq.read_table(data_file)
    names = table.column_names
    hashes: Counter = Counter()
    for row in table.to_pylist():
        text = repr([(name, row[name]) for name in names])
        hashes[hashlib.sha256(text.encode()).hexdigest()] += 1
    return hashes


def physical_types(data_file: Path) -> dict[str, str]:
    schema = pq.ParquetFile(data_file).metadata.schema
    return {schema.column(i).name: schema.column(i).physical_type for i in range(len(schema))}


def assert_same_training_set(spark_result, duckdb_result) -> None:
    spark_file = spark_result.path / spark_result.manifest["data_file"]
    duckdb_file = duckdb_result.path / duckdb_result.manifest["data_file"]
    assert spark_result.manifest["engine"]["type"] == "spark"
    assert duckdb_result.manifest["engine"]["type"] == "duckdb"

    spark_schema = pq.read_schema(spark_file).remove_metadata()
    duckdb_schema = pq.read_schema(duckdb_file).remove_metadata()
    assert [(f.name, str(f.type)) for f in spark_schema] == [
        (f.name, str(f.type)) for f in duckdb_schema
    ]
    timestamps = [f.name for f in spark_schema if str(f.type).startswith("timestamp")]
    assert "cutoff_at" in timestamps
    assert all(str(spark_schema.field(name).type) == "timestamp[us]" for name in timestamps)
    assert "INT96" not in physical_types(spark_file).values()
    assert physical_types(spark_file) == physical_types(duckdb_file)

    spark_rows = row_hashes(spark_file)
    duckdb_rows = row_hashes(duckdb_file)
    assert sum(duckdb_rows.values()) >= 100
    only_spark = spark_rows - duckdb_rows
    only_duckdb = duckdb_rows - spark_rows
    assert not only_spark and not only_duckdb, (
        f"{sum(only_spark.values())} rows only on Spark, {sum(only_duckdb.values())} only on DuckDB"
    )
    assert spark_result.manifest["row_count"] == duckdb_result.manifest["row_count"]
    assert spark_result.manifest["content_sha256"] == duckdb_result.manifest["content_sha256"]


def test_whole_project_on_spark_exports_the_duckdb_training_set(
    built: Built, small_landing, tmp_path_factory
):
    assert built.success
    landing, _ = small_landing
    spark_result = spark_build(landing, tmp_path_factory.mktemp("spark_small"))
    duckdb_result = duckdb_export(built.paths, tmp_path_factory.mktemp("duckdb_small_exports"))
    assert_same_training_set(spark_result, duckdb_result)


def test_another_seed_gives_the_same_training_set_on_spark_and_duckdb(tmp_path_factory):
    root = tmp_path_factory.mktemp("other_seed")
    generate(root / "landing", progress=lambda message: None, **OTHER_SEED)
    spark_result = spark_build(root / "landing", root / "spark_build")
    paths = make_paths(root / "duckdb_build")
    shutil.copytree(root / "landing", paths.landing_dir)
    assert build(paths), f"DuckDB build failed; see {paths.target_dir}/logs"
    duckdb_result = export_training_set(TASK, paths, progress=lambda message: None)
    assert_same_training_set(spark_result, duckdb_result)
