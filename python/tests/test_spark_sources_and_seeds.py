"""Spark's landing-table registration and seed loading (macros/spark/) read what the files hold.

`register_landing_sources` must declare every landing folder so that Spark reads every row of
every file, a column missing from one file as nulls in that file's rows (never a dropped row
or a dropped column), and files that arrive later once it runs again. The seed macros must load
every CSV value as written: text with quotes, backslashes and accents, empty cells as null,
numbers and booleans as such, and `varchar` columns as Spark strings. Each is checked against
the files read here with pyarrow and the csv module, on the shared Spark session.
"""

from __future__ import annotations

import csv
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from conftest import project_snapshot
from spark_harness import dbt, fetch, spark_session

pytestmark = pytest.mark.spark

FIXTURE_SEED = """\
fixture_key,label,amount,is_active
1,Côte d'Ivoire,1.5,true
2,back\\slash and 'quote',-0.25,false
3,,7,
4,"comma, and ""double quote\""",,true
"""
FIXTURE_SEED_YAML = """\
version: 2
seeds:
  - name: spark_fixture_values
    config:
      column_types:
        label: varchar
"""


@pytest.fixture(scope="module")
def spark_project(small_landing, tmp_path_factory):
    """A copy of the project with a fixture seed, a landing zone whose orders folder has a file
    without the `status` column, and the environment dbt reads."""
    spark_session()
    root = tmp_path_factory.mktemp("spark_sources")
    project = root / "project"
    shutil.copytree(project_snapshot(), project, symlinks=True)
    (project / "seeds" / "spark_fixture_values.csv").write_text(FIXTURE_SEED, encoding="utf-8")
    (project / "seeds" / "_spark_fixture__seeds.yml").write_text(FIXTURE_SEED_YAML)
    landing = root / "landing"
    shutil.copytree(small_landing[0], landing)
    orders = pq.read_table(next(iter(sorted((landing / "orders").glob("*.parquet")))))
    pq.write_table(
        orders.slice(0, 7).drop_columns(["status"]), landing / "orders" / "no_status.parquet"
    )
    saved = os.environ.get("TRAINSET_LANDING_DIR")
    os.environ["TRAINSET_LANDING_DIR"] = str(landing)
    yield project, landing, root
    if saved is None:
        os.environ.pop("TRAINSET_LANDING_DIR", None)
    else:
        os.environ["TRAINSET_LANDING_DIR"] = saved


def landing_rows(folder: Path) -> pa.Table:
    return ds.dataset(str(folder), format="parquet").to_table()


def test_landing_files_are_read_whole_with_missing_columns_as_nulls(spark_project):
    project, landing, root = spark_project
    dbt(project, root, "run-operation", "register_landing_sources")

    for folder in sorted(path for path in landing.iterdir() if path.is_dir()):
        files = sorted(folder.glob("*.parquet"))
        expected = sum(pq.ParquetFile(path).metadata.num_rows for path in files)
        columns = {name for path in files for name in pq.read_schema(path).names}
        names, rows = fetch(f"select * from shop.{folder.name}")
        assert set(names) == columns, folder.name
        assert len(rows) == expected, folder.name

    whole = {path.name: pq.read_table(path) for path in (landing / "orders").glob("*.parquet")}
    with_status = sum(
        table.num_rows for name, table in whole.items() if name != "no_status.parquet"
    )
    non_null = sum(
        table.num_rows - table.column("status").null_count
        for name, table in whole.items()
        if name != "no_status.parquet"
    )
    _, [(total, statuses)] = fetch("select count(*), count(status) from shop.orders")
    assert total == with_status + 7
    assert statuses == non_null
    _, missing = fetch(
        "select order_id from shop.orders where input_file_name() like '%no_status.parquet'"
    )
    assert sorted(row[0] for row in missing) == sorted(
        whole["no_status.parquet"].column("order_id").to_pylist()
    )


def test_files_that_arrive_later_are_read_after_the_next_registration(spark_project):
    project, landing, root = spark_project
    dbt(project, root, "run-operation", "register_landing_sources")
    _, [(before,)] = fetch("select count(*) from shop.refunds")
    late = pq.read_table(next(iter(sorted((landing / "refunds").glob("*.parquet"))))).slice(0, 3)
    pq.write_table(late, landing / "refunds" / "late_arrival.parquet")
    try:
        dbt(project, root, "run-operation", "register_landing_sources")
        _, [(after,)] = fetch("select count(*) from shop.refunds")
    finally:
        (landing / "refunds" / "late_arrival.parquet").unlink()
    assert after == before + 3
    assert before == landing_rows(landing / "refunds").num_rows


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_seed_loads_its_csv_values_as_written(spark_project):
    project, _, root = spark_project
    dbt(project, root, "seed")
    # the project's seeds are text only: every value compares as written
    for path in sorted((project / "seeds").glob("*.csv")):
        if path.stem == "spark_fixture_values":
            continue
        expected = csv_rows(path)
        names, rows = fetch(f"select * from reference.{path.stem}")
        assert names == list(expected[0]), path.name
        loaded = sorted(tuple("" if value is None else value for value in row) for row in rows)
        assert loaded == sorted(tuple(row.values()) for row in expected), path.name


def test_seed_text_numbers_booleans_and_nulls_keep_their_values(spark_project):
    project, _, root = spark_project
    dbt(project, root, "seed", "--select", "spark_fixture_values")
    frame = spark_session().table("reference.spark_fixture_values")
    assert dict(frame.dtypes)["label"] == "string"
    _, rows = fetch("select * from reference.spark_fixture_values order by fixture_key")
    expected = csv_rows(project / "seeds" / "spark_fixture_values.csv")
    assert [row[1] for row in rows] == [row["label"] or None for row in expected]
    assert [row[2] for row in rows] == [
        Decimal(row["amount"]) if row["amount"] else None for row in expected
    ]
    assert [row[3] for row in rows] == [
        {"true": True, "false": False, "": None}[row["is_active"]] for row in expected
    ]
