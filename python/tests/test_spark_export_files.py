"""Reading a Spark table's Parquet files for the export, without Spark (no JVM: cheap).

A folder laid out as Spark writes a table (part files, `_SUCCESS`, hidden checksum files, UTC
instants as `timestamp[us, tz=UTC]`) must come back whole, in the canonical order (entity,
cutoff, then every other column), with naive UTC microsecond timestamps, the type DuckDB
exports; a timestamp in another zone is refused by name. The expected rows are computed here
with plain Python from the rows written.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import PROJECT_DIR
from trainset.engines import (
    EngineError,
    adapter_type,
    read_parquet_table,
    spark_table_location,
)


def spark_like_folder(folder, rows):
    folder.mkdir()
    schema = pa.schema(
        [
            ("customer_id", pa.int64()),
            ("cutoff_at", pa.timestamp("us", tz="UTC")),
            ("spend", pa.decimal128(18, 2)),
            ("is_churned", pa.bool_()),
        ]
    )
    half = len(rows) // 2
    for index, part in enumerate([rows[:half], rows[half:]]):
        columns = list(zip(*part, strict=True))
        table = pa.table([pa.array(values) for values in columns], schema=schema)
        pq.write_table(table, folder / f"part-0000{index}-abc.snappy.parquet")
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / ".part-00000-abc.snappy.parquet.crc").write_bytes(b"not parquet")


def test_spark_files_come_back_whole_sorted_and_as_naive_utc(tmp_path):
    generator = random.Random(5)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [
        (
            generator.randint(1, 20),
            start + timedelta(days=generator.randint(0, 90), microseconds=generator.randint(0, 9)),
            None if generator.random() < 0.1 else generator.randint(0, 10**6) / 100,
            generator.random() < 0.5,
        )
        for _ in range(300)
    ]
    from decimal import Decimal

    rows = [(a, b, None if c is None else Decimal(f"{c:.2f}"), d) for a, b, c, d in rows]
    spark_like_folder(tmp_path / "train_churn_30d", rows)

    table = read_parquet_table(tmp_path / "train_churn_30d", ["customer_id", "cutoff_at"])

    assert table.schema.field("cutoff_at").type == pa.timestamp("us")
    assert table.schema.field("spend").type == pa.decimal128(18, 2)
    naive = [(a, b.astimezone(UTC).replace(tzinfo=None), c, d) for a, b, c, d in rows]

    def key(row):  # DuckDB's default order: ascending, nulls last
        return tuple((value is None, value if value is not None else 0) for value in row)

    assert [tuple(row.values()) for row in table.to_pylist()] == sorted(naive, key=key)


def test_an_instant_in_another_zone_comes_back_as_its_utc_time(tmp_path):
    folder = tmp_path / "table"
    folder.mkdir()
    berlin = datetime(2025, 3, 30, 3, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
    moment = pa.array([berlin], pa.timestamp("us", tz="Europe/Berlin"))
    pq.write_table(pa.table({"customer_id": [1], "cutoff_at": moment}), folder / "part-0.parquet")
    table = read_parquet_table(folder, ["customer_id", "cutoff_at"])
    assert table.schema.field("cutoff_at").type == pa.timestamp("us")
    assert table.column("cutoff_at").to_pylist() == [datetime(2025, 3, 30, 3, 30)]


def test_a_missing_order_column_is_named(tmp_path):
    folder = tmp_path / "table"
    folder.mkdir()
    pq.write_table(pa.table({"customer_id": [1]}), folder / "part-0.parquet")
    with pytest.raises(EngineError, match="no column cutoff_at"):
        read_parquet_table(folder, ["customer_id", "cutoff_at"])


def test_engine_comes_from_the_manifest_and_the_table_from_the_warehouse(tmp_path, monkeypatch):
    assert adapter_type({"metadata": {"adapter_type": "spark"}}) == "spark"
    assert adapter_type({"metadata": {"adapter_type": "duckdb"}}) == "duckdb"
    monkeypatch.setenv("TRAINSET_SPARK_DIR", str(tmp_path))
    with pytest.raises(EngineError, match="training.db/train_churn_30d does not exist"):
        spark_table_location(PROJECT_DIR, "training", "train_churn_30d")
    (tmp_path / "warehouse" / "training.db" / "train_churn_30d").mkdir(parents=True)
    location = spark_table_location(PROJECT_DIR, "Training", "TRAIN_churn_30d")
    assert location == tmp_path / "warehouse" / "training.db" / "train_churn_30d"
