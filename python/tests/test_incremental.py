"""Incremental builds equal full refreshes: a base load, then daily loads with late orders,
corrections of earlier orders, re-delivered rows, a re-delivered file, a file that lands after
a later day's file, and rows naming a customer or an order that lands only with a later load;
after each increment every staging table and view (the quarantine among them) and every mart
equals a full refresh of the same landing files, row for row, and the exported training set
has the same content hash."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import build, make_paths, with_saved_parse
from trainset.build import read_records
from trainset.cli import main
from trainset.dbt import run_dbt
from trainset.errors import UsageError
from trainset.export import export_training_set
from trainset.incremental import bounds_environment
from trainset.pipeline import build as build_pipeline
from trainset.project import connect_duckdb
from trainset.sim import SCHEMAS, generate_next_day

pytestmark = pytest.mark.integration

# The schemas compared: staging (the bases, the classified rows, the valid rows and the
# quarantine) and the marts. Snapshots record the build's time and seeds are loaded whole.
MART_SCHEMAS = ("staging", "intermediate", "features", "labels", "training", "serving")
MODELS_ONLY = ("--exclude-resource-type", "test", "unit_test")
# Monitoring reads exports and the training set, feeds no mart compared here, and is a fifth
# of every build: left out of each one to keep the test cheap.
NO_MONITORING = ("--exclude", "tag:monitoring")
QUIET = {"progress": lambda message: None}


def _mart_rows(database: Path) -> dict[str, Counter]:
    """Every row of every staging and mart table or view, as a multiset of value tuples per
    relation."""
    connection = connect_duckdb(database, read_only=True)
    try:
        tables = connection.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type in ('BASE TABLE', 'VIEW') and table_catalog = current_database() "
            "order by all"
        ).fetchall()
        rows = {}
        for schema, table in tables:
            if not any(schema.endswith(name) for name in MART_SCHEMAS):
                continue
            result = connection.execute(f'select * from "{schema}"."{table}"').fetchall()
            rows[f"{schema}.{table}"] = Counter(result)
        return rows
    finally:
        connection.close()


def _differences(left: dict[str, Counter], right: dict[str, Counter]) -> dict[str, int]:
    assert left.keys() == right.keys()
    return {
        name: sum(((left[name] - right[name]) + (right[name] - left[name])).values())
        for name in left
        if left[name] != right[name]
    }


def _reference(root: Path, landing: Path, *extra: str) -> Path:
    """A full build from scratch of a copy of `landing` in a database of its own."""
    paths = make_paths(root)
    shutil.copytree(landing, paths.landing_dir)
    assert build(paths, *NO_MONITORING, *extra)
    return paths


def _late_correction(landing: Path, loaded_at: datetime) -> int:
    """Write a file of corrected orders loaded at `loaded_at`, landing after later files:
    a completed order of the base load comes back as returned. Returns the order id."""
    base = pq.read_table(landing / "orders" / "part-00000.parquet").to_pandas()
    completed = base[(base["status"] == "completed") & base["amount"].between(1, 1000)]
    row = completed.iloc[[len(completed) // 2]].copy()
    row["status"] = "returned"
    row["_loaded_at"] = loaded_at
    table = pa.Table.from_pandas(row, preserve_index=False).cast(SCHEMAS["orders"])
    pq.write_table(table, landing / "orders" / "part-late-correction.parquet")
    return int(row["order_id"].iloc[0])


def _write(landing: Path, table: str, name: str, frame) -> None:
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False).cast(SCHEMAS[table]),
        landing / table / name,
    )


def _newest_load(landing: Path) -> datetime:
    """The newest load time in the landing files, faulty future ones aside: the watermark of a
    build of them."""
    now = datetime.now(UTC)
    return max(
        value
        for table in SCHEMAS
        for value in pq.read_table(landing / table, columns=["_loaded_at"])[0].to_pylist()
        if value is not None and value <= now
    )


def _rows_naming_later_entities(landing: Path, loaded_at: datetime) -> dict[str, int]:
    """Files loaded at `loaded_at` with an order of a customer not in the customers file yet and
    an order line of an order not landed yet: staging quarantines both until the entity lands
    (`_entities_land`). Returns the new keys."""
    orders = pq.read_table(landing / "orders" / "part-00000.parquet").to_pandas()
    items = pq.read_table(landing / "order_items" / "part-00000.parquet").to_pandas()
    customers = pq.read_table(landing / "customers" / "part-current.parquet").to_pandas()
    all_orders = pq.read_table(landing / "orders", columns=["order_id"])[0].to_pylist()
    all_items = pq.read_table(landing / "order_items", columns=["order_item_id"])[0].to_pylist()
    # Far above the keys the simulator's next days take.
    keys = {
        "customer_id": int(customers["customer_id"].max()) + 1_000_000,
        "order_id": max(key for key in all_orders if key is not None) + 1_000_000,
        "late_order_id": max(key for key in all_orders if key is not None) + 1_000_001,
        "order_item_id": max(key for key in all_items if key is not None) + 1_000_000,
    }
    completed = orders[(orders["status"] == "completed") & orders["amount"].between(1, 1000)]
    order = completed.iloc[[0]].copy()
    order["order_id"], order["customer_id"] = keys["order_id"], keys["customer_id"]
    order["_loaded_at"] = loaded_at
    _write(landing, "orders", "part-early-order.parquet", order)
    line = items[items["order_id"].isin(completed["order_id"])].iloc[[0]].copy()
    line["order_item_id"], line["order_id"] = keys["order_item_id"], keys["late_order_id"]
    line["_loaded_at"] = loaded_at
    _write(landing, "order_items", "part-early-line.parquet", line)
    return keys


def _entities_land(landing: Path, keys: dict[str, int], loaded_at: datetime) -> None:
    """The customer and the order named by `_rows_naming_later_entities` land, loaded at
    `loaded_at`: the customer in the rewritten current-state file with its first change, the
    order in a file of its own."""
    current = landing / "customers" / "part-current.parquet"
    customers = pq.read_table(current).to_pandas()
    customer = customers.iloc[[0]].copy()
    model_customer = int(customer["customer_id"].iloc[0])
    customer["customer_id"] = keys["customer_id"]
    _write(landing, "customers", "part-current.parquet", pd.concat([customers, customer]))
    changes = pq.read_table(landing / "customer_changes").to_pandas()
    change = changes[changes["customer_id"] == model_customer].iloc[[0]].copy()
    change["change_id"] = int(changes["change_id"].max()) + 1_000_000
    change["customer_id"] = keys["customer_id"]
    change["_loaded_at"] = loaded_at
    _write(landing, "customer_changes", "part-late-customer.parquet", change)
    orders = pq.read_table(landing / "orders" / "part-00000.parquet").to_pandas()
    order = orders[(orders["status"] == "completed") & orders["amount"].between(1, 1000)]
    order = order.iloc[[1]].copy()
    order["order_id"] = keys["late_order_id"]
    order["_loaded_at"] = loaded_at
    _write(landing, "orders", "part-late-order.parquet", order)


def _staged(database: Path, table: str, column: str, key: int) -> list[tuple]:
    """(quarantine reason, duplicate rank) of every classified row of `table` with that key."""
    connection = connect_duckdb(database, read_only=True)
    try:
        schema = connection.execute(
            "select table_schema from information_schema.tables where table_name = ?",
            [f"stg_shop__{table}_classified"],
        ).fetchone()[0]
        return connection.execute(
            f'select quarantine_reason, duplicate_rank from "{schema}".stg_shop__{table}_classified '
            f"where {column} = ? order by all",
            [key],
        ).fetchall()
    finally:
        connection.close()


def _passed(paths) -> list:
    return [record for record in read_records(paths.target_dir) if record.state == "passed"]


def test_daily_increments_equal_full_refreshes(small_landing, tmp_path):
    messages: list[str] = []
    landing, _ = small_landing
    paths = make_paths(tmp_path / "incremental")
    shutil.copytree(landing, paths.landing_dir)
    assert build(paths, *NO_MONITORING)
    assert _passed(paths)[-1].mode == "full"
    base_orders = set(
        pq.read_table(paths.landing_dir / "orders", columns=["order_id"])[0].to_pylist()
    )

    # Two daily increments, each compared with a full refresh of the same files; the second
    # also takes a late file of corrections.
    for day in (1, 2):
        summary = generate_next_day(paths.landing_dir, **QUIET)
        day_end = datetime.fromisoformat(summary["end"])
        day_index = summary["params"]["days"] + summary["extra_days"] - 1
        day_file = paths.landing_dir / "orders" / f"part-day-{day_index:05d}.parquet"
        delivered = pq.read_table(day_file).to_pandas()
        ordered = delivered["ordered_at"].map(
            lambda text: datetime.fromisoformat(text).astimezone(UTC)
        )
        # The day's file carries late orders, corrections and re-deliveries of earlier orders.
        assert (ordered < day_end - timedelta(days=2)).any()
        assert delivered["order_id"].isin(base_orders).sum() >= 2
        watermark = _passed(paths)[-1].watermark
        day_load = _newest_load(paths.landing_dir)
        if day == 1:
            later = _rows_naming_later_entities(paths.landing_dir, day_load)
        if day == 2:
            _entities_land(paths.landing_dir, later, day_load)
            # The first day's file of orders delivered again under another name.
            first_day = paths.landing_dir / "orders" / f"part-day-{day_index - 1:05d}.parquet"
            shutil.copy(first_day, paths.landing_dir / "orders" / "part-redelivered.parquet")
            # A file of an earlier load (two days before the last build's newest load) lands
            # only now: within the lookback, so the increment must take it.
            late_order = _late_correction(
                paths.landing_dir,
                datetime.fromisoformat(watermark).replace(tzinfo=UTC) - timedelta(days=2),
            )
            # With no lookback the same increment misses it: the proof can fail.
            broken = make_paths(tmp_path / "broken")
            shutil.copytree(paths.landing_dir, broken.landing_dir)
            shutil.copy(paths.duckdb_path, broken.duckdb_path)
            variables = {"incremental_watermark": watermark, "incremental_lookback_days": 0}
            assert run_dbt(["run", *NO_MONITORING, "--vars", json.dumps(variables)], broken).success
        assert build(paths, *NO_MONITORING)
        record = _passed(paths)[-1]
        assert record.mode == "new", record
        assert record.watermark > watermark
        reference = _reference(
            tmp_path / f"reference-{day}", paths.landing_dir, *(() if day == 2 else MODELS_ONLY)
        )
        expected = _mart_rows(reference.duckdb_path)
        assert _differences(_mart_rows(paths.duckdb_path), expected) == {}
        order = _staged(paths.duckdb_path, "orders", "order_id", later["order_id"])
        line = _staged(paths.duckdb_path, "order_items", "order_item_id", later["order_item_id"])
        if day == 1:
            # Quarantined until the customer and the order land.
            assert (order, line) == ([("unknown_customer", 1)], [("unknown_order", 1)])
        else:
            assert (order, line) == ([(None, 1)], [(None, 1)])
            # Every row of the re-delivered file is staged, each a copy of an earlier row.
            connection = connect_duckdb(paths.duckdb_path, read_only=True)
            try:
                first_copies, rows = connection.execute(
                    "select count(*) filter (quarantine_reason is null and duplicate_rank = 1), "
                    "count(*) from staging.stg_shop__orders_classified "
                    "where landing_file = 'orders/part-redelivered.parquet'"
                ).fetchone()
            finally:
                connection.close()
            assert (first_copies, rows) == (0, len(pq.read_table(first_day)))

    # The increments' bounds reached dbt without changing its vars (dbt parses the project
    # again from scratch when --vars changes), and the landing folder is read only when
    # executing: every dbt start on this database, the first build's included, parsed nothing.
    log = (paths.target_dir / "logs" / "dbt.log").read_text()
    starts = log.count("Running with dbt=")
    assert starts >= 3
    assert log.count("Partial parsing enabled, no changes found, skipping parsing") == starts
    assert "Unable to do partial parsing" not in log

    missed = _differences(_mart_rows(broken.duckdb_path), expected)
    assert any(name.endswith(".int_orders__versioned") for name in missed), missed
    connection = connect_duckdb(paths.duckdb_path, read_only=True)
    try:
        versions = connection.execute(
            "select count(*) from intermediate.int_orders__versioned where order_id = ?",
            [late_order],
        ).fetchone()[0]
    finally:
        connection.close()
    assert versions >= 2

    # A backfill of the late file's load day repairs the database that missed it.
    late_day = (datetime.fromisoformat(watermark) - timedelta(days=2)).date()
    repaired = build_pipeline(
        broken,
        since=late_day.isoformat(),
        until=(late_day + timedelta(days=1)).isoformat(),
        extra_args=["--log-path", str(broken.target_dir / "logs"), *NO_MONITORING, *MODELS_ONLY],
        progress=messages.append,
    )
    assert repaired.success
    assert any(message.startswith("backfill: batch 1/1") for message in messages), messages
    assert _differences(_mart_rows(broken.duckdb_path), expected) == {}

    # The exported training sets of the incremental and the full build are the same content.
    incremental_export = export_training_set("churn_30d", paths)
    reference_export = export_training_set("churn_30d", reference)
    assert (
        incremental_export.manifest["content_sha256"] == reference_export.manifest["content_sha256"]
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["build", "--since", "yesterday"], "--since 'yesterday' is not a date or time"),
        (["build", "--since", "2025-01-01", "--full-refresh"], "exclude each other"),
        (["backfill", "--from", "2025-02-01", "--to", "2025-01-01"], "must be after --from"),
        (["backfill", "--from", "2025-13-01", "--to", "2026-01-01"], "--from '2025-13-01'"),
    ],
)
def test_bad_increment_arguments_exit_2_with_the_reason(
    argv, message, capsys, tmp_path, monkeypatch
):
    monkeypatch.setenv("TRAINSET_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("TRAINSET_DUCKDB_PATH", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.duckdb").exists()


def test_watermark_is_the_newest_load_not_a_faulty_future_one(tmp_path):
    """The watermark is the newest `_loaded_at` of the files read; a load time after the wall
    clock (a faulty row, quarantined by staging) would move every later batch past the rows
    it should take, so it does not count, even when it hides in a row group's statistics."""
    from trainset.incremental import newest_load
    from trainset.landing import LandingFile, LandingReport

    loads = [datetime(2025, 3, day, 6, tzinfo=UTC) for day in (1, 4, 2)]
    future = [datetime(2099, 1, 1, tzinfo=UTC), None]
    folder = tmp_path / "orders"
    folder.mkdir()
    schema = pa.schema([("_loaded_at", pa.timestamp("us", tz="UTC"))])
    pq.write_table(pa.table({"_loaded_at": loads[:2]}, schema), folder / "part-a.parquet")
    pq.write_table(pa.table({"_loaded_at": [loads[2], *future]}, schema), folder / "part-b.parquet")
    report = LandingReport(
        inventory=[
            LandingFile(f"orders/{name}", 0, 0, "") for name in ("part-a.parquet", "part-b.parquet")
        ]
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert newest_load(tmp_path, report, now) == "2025-03-04 06:00:00"
    (folder / "part-a.parquet").unlink()
    report.inventory.pop(0)
    assert newest_load(tmp_path, report, now) == "2025-03-02 06:00:00"


def test_plan_takes_a_late_file_whole_and_rebuilds_a_rewritten_history(tmp_path):
    """A plain build starts at the last passed build's newest load, or earlier when a file it
    did not read holds older loads (a late delivery); a changed file it read, or changed code,
    rebuilds from scratch."""
    from conftest import PROJECT_DIR
    from trainset.build import BuildRecord, write_record
    from trainset.incremental import plan
    from trainset.landing import LandingFile, LandingReport
    from trainset.project import Paths

    paths = Paths(
        project_dir=PROJECT_DIR,
        duckdb_path=tmp_path / "x.duckdb",
        landing_dir=tmp_path / "landing",
        exports_dir=tmp_path / "exports",
        target_dir=tmp_path / "target",
    )
    # Before the database exists, --since and a backfill build everything: a batch would
    # recompute into tables nothing has made.
    nothing = LandingReport(inventory=[])
    assert plan(paths, nothing, "code", since="2025-03-01").mode == "full"
    backfill = plan(paths, nothing, "code", since="2025-03-01", until="2025-03-03")
    assert (backfill.mode, backfill.batches) == ("full", [])
    with pytest.raises(UsageError, match="must be after --from"):
        plan(paths, nothing, "code", since="2025-03-03", until="2025-03-01")
    paths.duckdb_path.touch()
    assert plan(paths, nothing, "code", since="2025-03-01", until="2025-03-03").mode == "backfill"
    (paths.landing_dir / "orders").mkdir(parents=True)
    schema = pa.schema([("_loaded_at", pa.timestamp("us", tz="UTC"))])
    late = [datetime(2025, 3, 9, tzinfo=UTC), datetime(2025, 3, 2, 12, tzinfo=UTC)]
    pq.write_table(
        pa.table({"_loaded_at": late}, schema), paths.landing_dir / "orders" / "b.parquet"
    )
    read = {"path": "orders/a.parquet", "sha256": "a1", "size": 1, "rows": 1}
    write_record(
        paths.target_dir,
        BuildRecord(
            build_id="20250310T000000000000Z-00000000",
            state="passed",
            started_at="2025-03-10T00:00:00+00:00",
            pid=1,
            host="h",
            database=str(paths.duckdb_path),
            target_dir=str(paths.target_dir),
            landing_dir=str(paths.landing_dir),
            select=None,
            code_hash="code",
            landing={"fingerprint": "f", "files": [read]},
            mode="full",
            watermark="2025-03-10 00:00:00",
        ),
    )
    same = LandingFile("orders/a.parquet", 1, 1, "a1")
    only_old = LandingReport(inventory=[same])
    with_late = LandingReport(inventory=[same, LandingFile("orders/b.parquet", 1, 2, "b1")])
    assert plan(paths, only_old, "code").vars == {"incremental_watermark": "2025-03-10 00:00:00"}
    assert plan(paths, with_late, "code").vars == {"incremental_watermark": "2025-03-02 12:00:00"}
    rewritten = LandingReport(inventory=[LandingFile("orders/a.parquet", 1, 1, "a2")])
    assert plan(paths, rewritten, "code").mode == "full"
    assert "orders/a.parquet" in plan(paths, rewritten, "code").reason
    assert plan(paths, only_old, "other code").mode == "full"
    assert plan(paths, only_old, "code", full_refresh=True).mode == "full"


def test_bounds_reach_the_batch_from_the_environment_and_a_var_wins(built, tmp_path):
    """`incremental_bound` as the compiled batch of an incremental model shows it: the bounds
    a run is handed in the environment, a dbt var given by hand over them, and without either
    the model's own newest `known_at` minus the lookback."""
    assert built.success
    # The copy keeps the file's name: the compiled SQL names the database after it.
    paths = replace(
        built.paths,
        duckdb_path=tmp_path / built.paths.duckdb_path.name,
        target_dir=tmp_path / "target",
    )
    shutil.copyfile(built.paths.duckdb_path, paths.duckdb_path)
    # dbt's saved parse: the two runs without a var parse nothing; the one with a var, given
    # last, parses the project again
    with_saved_parse(paths)
    model = "int_orders__versioned"

    def batch_sql(bounds: dict[str, str], *args: str) -> str:
        run = run_dbt(
            ["compile", "--select", model, *args], paths, environment=bounds_environment(bounds)
        )
        assert run.success, run.errors
        return next((paths.target_dir / "compiled").rglob(f"{model}.sql")).read_text()

    sql = batch_sql({})
    assert "2001-02" not in sql and "1999-12" not in sql
    assert "(select max(known_at) from " in sql and "- interval '3 days'" in sql
    handed = {"incremental_since": "2001-02-03 04:05:06", "incremental_until": "2001-02-04"}
    sql = batch_sql(handed)
    assert ">= cast('2001-02-03 04:05:06' as timestamp)" in sql
    assert "< cast('2001-02-04' as timestamp)" in sql
    by_hand = json.dumps({"incremental_since": "1999-12-31 00:00:00"})
    sql = batch_sql(handed, "--vars", by_hand)
    assert ">= cast('1999-12-31 00:00:00' as timestamp)" in sql and "2001-02-03" not in sql
