"""Faults injected into the landing zone or the project, each with its expected outcome."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import trainset
from conftest import PROJECT_DIR, make_paths
from trainset.availability import BlockedError
from trainset.build import latest_record
from trainset.dbt import DbtError, read_artifact, run_dbt
from trainset.export import export_training_set
from trainset.landing import LandingError
from trainset.pipeline import build
from trainset.project import connect_duckdb

pytestmark = pytest.mark.integration
QUIET = {"progress": lambda message: None}


def rows(paths, sql: str) -> list[tuple]:
    connection = connect_duckdb(paths.duckdb_path, read_only=True)
    try:
        return connection.sql(sql).fetchall()
    finally:
        connection.close()


def failed_nodes(paths) -> dict[str, str]:
    results = read_artifact(paths.target_dir, "run_results.json")["results"]
    return {r["unique_id"]: r["status"] for r in results if r["status"] not in {"success", "pass"}}


def rewrite(path: Path, change) -> None:
    """Apply `change` to every Parquet part of a landing table."""
    for part in sorted(path.glob("*.parquet")):
        pq.write_table(change(pq.read_table(part)), part)


def append_part(folder: Path, table: pa.Table, name: str = "part-injected.parquet") -> None:
    pq.write_table(table, folder / name)


def test_missing_column_is_named_with_its_file(fresh_copy):
    paths = fresh_copy.paths
    rewrite(paths.landing_dir / "orders", lambda table: table.drop_columns(["amount"]))
    with pytest.raises(LandingError) as error:
        build(paths, **QUIET)
    assert "orders" in str(error.value) and "'amount' is missing" in str(error.value)
    assert not paths.duckdb_path.exists()


def test_retyped_column_is_named_with_expected_and_found_types(fresh_copy):
    paths = fresh_copy.paths
    part = sorted((paths.landing_dir / "orders").glob("*.parquet"))[0]
    table = pq.read_table(part)
    index = table.schema.get_field_index("amount")
    pq.write_table(table.set_column(index, "amount", table["amount"].cast(pa.string())), part)
    with pytest.raises(LandingError, match=r"'amount' is string, declared double"):
        build(paths, **QUIET)


def test_new_column_is_tolerated_and_reported(fresh_copy):
    paths = fresh_copy.paths
    rewrite(
        paths.landing_dir / "web_events",
        lambda table: table.append_column("referrer", pa.array(["ads"] * table.num_rows)),
    )
    warnings: list[str] = []
    result = build(
        paths,
        select=["+stg_shop__web_events"],
        extra_args=["--indirect-selection", "cautious"],
        progress=warnings.append,
    )
    assert result.success
    assert any("'referrer' is not declared" in warning for warning in warnings)


def test_empty_source_blocks_the_training_set(fresh_copy):
    """An orders table delivered empty: the availability check blocks everything downstream of
    it before dbt runs (the labels and the training set are not built, the rest is), the build
    record names the table, and the export refuses, naming it."""
    paths = fresh_copy.paths
    folder = paths.landing_dir / "orders"
    schema = pq.read_schema(sorted(folder.glob("*.parquet"))[0])
    for part in folder.glob("*.parquet"):
        part.unlink()
    pq.write_table(schema.empty_table(), folder / "part-empty.parquet")
    build(paths, **QUIET)

    record = latest_record(paths.target_dir)
    assert "shop.orders" in record.landing["availability"]["blocked"]
    results = read_artifact(paths.target_dir, "run_results.json")["results"]
    ran = {result["unique_id"] for result in results}
    assert not any("lbl_churn_30d" in node or "train_churn_30d" in node for node in ran)
    assert "model.trainset.stg_shop__web_events" in ran
    assert not failed_nodes(paths)
    with pytest.raises(BlockedError, match="shop.orders"):
        export_training_set("churn_30d", paths, **QUIET)


def test_a_label_leaked_into_a_feature_is_caught(small_landing, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(
        PROJECT_DIR,
        project,
        ignore=shutil.ignore_patterns(
            ".venv", "data", "exports", "target", "logs", ".git", "dbt_packages"
        ),
    )
    (project / "dbt_packages").mkdir()
    (project / "dbt_packages" / "dbt_expectations").symlink_to(
        PROJECT_DIR / "local_packages" / "dbt_expectations"
    )
    model = project / "models" / "training" / "train_churn_30d.sql"
    sql = model.read_text()
    # The 30-day order count quietly looks at the label horizon instead of the past.
    leaky = sql.replace(
        "    select * from features\n",
        "    select * replace (\n"
        "        case when is_churned then 0 else orders_count_30d + 1 end as orders_count_30d\n"
        "    )\n"
        "    from features\n",
        1,
    )
    assert leaky != sql
    model.write_text(leaky)
    paths = replace(make_paths(tmp_path), project_dir=project)
    shutil.copytree(small_landing[0], paths.landing_dir)
    assert not build(paths, **QUIET).success
    failed = failed_nodes(paths)
    assert any("assert_train_churn_30d_matches_reference" in node for node in failed), failed
    assert any(node.startswith("unit_test.") for node in failed), failed


def test_the_leakage_check_plans_no_nested_loop(built):
    """The no-future-information test joins each sampled training row to its customer's feature
    rows by hash: a nested loop compares every row with every session of every customer, which
    took most of a 50k-customer build and grows with the whole feature table."""
    compiled = (
        built.paths.target_dir
        / "compiled"
        / "trainset"
        / "tests"
        / "assert_train_churn_30d_has_no_future_information.sql"
    )
    plan = "\n".join(row[1] for row in rows(built.paths, f"explain {compiled.read_text()}"))
    assert "HASH_JOIN" in plan
    for operator in ("NESTED_LOOP_JOIN", "BLOCKWISE_NL_JOIN", "CROSS_PRODUCT", "PIECEWISE_MERGE"):
        assert operator not in plan, plan


def test_a_correction_changes_only_cutoffs_after_it_became_known(built, tmp_path):
    """Correct a completed order to cancelled, known between two cutoffs: training rows before
    that moment are unchanged, later ones lose the order from their windows."""
    base = built.paths
    before = rows(
        base,
        "select customer_id, cutoff_at, orders_count_90d from training.train_churn_30d "
        "order by customer_id, cutoff_at",
    )
    # An order that is the latest completed version and has two cutoffs within 90 days after it.
    candidate = rows(
        base,
        """
        select orders.order_id, orders.customer_id, orders.effective_at, min(training.cutoff_at)
        from features.feat_customer__orders as orders
        inner join training.train_churn_30d as training
            on orders.customer_id = training.customer_id
            and training.cutoff_at > orders.known_at
            and training.cutoff_at <= orders.effective_at + interval 60 days
        where orders.is_completed and orders.superseded_at is null
        group by all
        having count(*) >= 2
        order by 1
        limit 1
        """,
    )
    assert candidate, "no order with two later cutoffs in the small data set"
    order_id, customer_id, ordered_at, first_cutoff = candidate[0]
    known_at = first_cutoff + timedelta(days=3)

    paths = make_paths(tmp_path)
    shutil.copytree(base.landing_dir, paths.landing_dir)
    orders_folder = paths.landing_dir / "orders"
    template = pq.read_table(sorted(orders_folder.glob("*.parquet"))[0])
    correction = pa.table(
        {
            "order_id": pa.array([order_id], pa.int64()),
            "customer_id": pa.array([customer_id], pa.int64()),
            "ordered_at": pa.array([ordered_at.isoformat() + "+00:00"]),
            "status": pa.array(["cancelled"]),
            "amount": pa.array([0.0]),
            "_loaded_at": pa.array([known_at], pa.timestamp("us", tz="UTC")),
        }
    ).cast(template.schema)
    append_part(orders_folder, correction)
    assert build(paths, **QUIET).success, failed_nodes(paths)
    after = rows(
        paths,
        "select customer_id, cutoff_at, orders_count_90d from training.train_churn_30d "
        "order by customer_id, cutoff_at",
    )
    before_map = {(c, t): n for c, t, n in before}
    after_map = {(c, t): n for c, t, n in after}
    lowered = 0
    for (customer, cutoff), count in before_map.items():
        affected = customer == customer_id and known_at <= cutoff < ordered_at + timedelta(days=90)
        if not affected:
            assert after_map.get((customer, cutoff)) == count, (customer, cutoff)
        elif (customer, cutoff) in after_map:
            # Still active: the cancelled order left its 90-day window.
            assert after_map[(customer, cutoff)] == count - 1, (customer, cutoff)
            lowered += 1
    assert lowered >= 1


def test_interrupted_export_leaves_no_partial_version(built, tmp_path):
    paths = replace(built.paths, exports_dir=tmp_path / "exports")
    first = export_training_set("churn_30d", paths, **QUIET)
    latest_before = (paths.exports_dir / "churn_30d" / "LATEST").read_text()
    # Make the next export's content differ, then crash the process just before publishing.
    script = textwrap.dedent(
        f"""
        import os, json
        from pathlib import Path
        from dataclasses import replace
        import pyarrow as pa
        from trainset import export
        from trainset.project import Paths
        paths = Paths(project_dir=Path({str(paths.project_dir)!r}), duckdb_path=Path({str(paths.duckdb_path)!r}),
                      landing_dir=Path({str(paths.landing_dir)!r}), exports_dir=Path({str(paths.exports_dir)!r}),
                      target_dir=Path({str(paths.target_dir)!r}))
        original = export.read_training_table
        export.read_training_table = lambda p, m, *rest: original(p, m, *rest).slice(1)
        def crash(folder):
            assert (folder / "data.parquet").exists()
            os._exit(9)
        export.export_training_set("churn_30d", paths, progress=lambda m: None, _before_publish=crash)
        """
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert completed.returncode == 9, completed.stderr
    task_dir = paths.exports_dir / "churn_30d"
    assert (task_dir / "LATEST").read_text() == latest_before
    assert [v["version"] for v in trainset.list_versions("churn_30d", paths.exports_dir)] == [
        first.version
    ]
    frame = trainset.load("churn_30d", exports_dir=paths.exports_dir)
    assert len(frame) == first.manifest["row_count"]
    # The next export cleans nothing it should not and publishes normally.
    again = export_training_set("churn_30d", paths, **QUIET)
    assert again.reused and again.version == first.version


def test_second_build_on_a_held_database_fails_fast_and_changes_nothing(built, tmp_path):
    paths = make_paths(tmp_path)
    shutil.copytree(built.paths.landing_dir, paths.landing_dir)
    shutil.copy(built.paths.duckdb_path, paths.duckdb_path)
    before = paths.duckdb_path.read_bytes()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(paths.duckdb_path)!r}); "
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DbtError, match=r"in use by another process \(PID"):
            run_dbt(["build"], paths)
    finally:
        holder.kill()
        holder.wait()
    assert paths.duckdb_path.read_bytes() == before


def test_the_same_build_twice_gives_the_same_export_hash(built, tmp_path):
    first = export_training_set(
        "churn_30d", replace(built.paths, exports_dir=tmp_path / "a"), **QUIET
    )
    paths = make_paths(tmp_path / "again")
    shutil.copytree(built.paths.landing_dir, paths.landing_dir)
    assert build(paths, **QUIET).success
    second = export_training_set("churn_30d", paths, **QUIET)
    assert second.manifest["content_sha256"] == first.manifest["content_sha256"]
    assert second.manifest["row_count"] == first.manifest["row_count"]


def test_a_stale_source_blocks_the_build_or_only_warns_per_configuration(fresh_copy, monkeypatch):
    from trainset.pipeline import FreshnessError

    paths = fresh_copy.paths
    # The simulated data is from the past: with the default bounds every table is stale.
    with pytest.raises(FreshnessError, match="Stale landing tables") as error:
        build(paths, freshness=True, **QUIET)
    assert "orders" in str(error.value)
    assert not paths.duckdb_path.exists() or not rows(
        paths, "select 1 from information_schema.tables where table_name = 'train_churn_30d'"
    )
    # Raised error bound, same warn bound: a warning, and the build goes on.
    monkeypatch.setenv("TRAINSET_FRESHNESS_ERROR_HOURS", str(24 * 365 * 20))
    warnings: list[str] = []
    result = build(
        paths,
        select=["+stg_shop__orders"],
        extra_args=["--indirect-selection", "cautious"],
        freshness=True,
        progress=warnings.append,
    )
    assert result.success
    assert any("getting stale" in warning for warning in warnings)


def test_a_type_change_in_a_feature_mart_fails_its_contract(small_landing, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(
        PROJECT_DIR,
        project,
        ignore=shutil.ignore_patterns(
            ".venv", "data", "exports", "target", "logs", ".git", "dbt_packages"
        ),
    )
    (project / "dbt_packages").mkdir()
    (project / "dbt_packages" / "dbt_expectations").symlink_to(
        PROJECT_DIR / "local_packages" / "dbt_expectations"
    )
    model = project / "models" / "features" / "customer" / "feat_customer__orders.sql"
    sql = model.read_text()
    retyped = sql.replace(
        "        order_amount,\n", "        cast(order_amount as varchar) as order_amount,\n", 1
    )
    assert retyped != sql
    model.write_text(retyped)
    paths = replace(make_paths(tmp_path), project_dir=project)
    shutil.copytree(small_landing[0], paths.landing_dir)
    assert not build(paths, **QUIET).success
    results = read_artifact(paths.target_dir, "run_results.json")["results"]
    failed = {r["unique_id"]: r for r in results if r["status"] == "error"}
    assert "model.trainset.feat_customer__orders" in failed
    assert "contract" in failed["model.trainset.feat_customer__orders"]["message"].lower()
    skipped = {r["unique_id"] for r in results if r["status"] == "skipped"}
    assert "model.trainset.train_churn_30d" in skipped
