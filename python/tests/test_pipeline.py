"""End to end on a real DuckDB file: generate → dbt build → gated export → verified load."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest

import trainset
from trainset.build import records_dir
from trainset.dbt import read_artifact
from trainset.export import export_training_set
from trainset.gates import GateError
from trainset.project import connect_duckdb

pytestmark = pytest.mark.integration

TABLES = [
    "customers",
    "customer_changes",
    "products",
    "orders",
    "order_items",
    "web_events",
    "refunds",
]


def query(built, sql: str) -> list[tuple]:
    connection = connect_duckdb(built.paths.duckdb_path, read_only=True)
    try:
        return connection.sql(sql).fetchall()
    finally:
        connection.close()


def test_build_passes_every_model_and_test(built):
    results = read_artifact(built.paths.target_dir, "run_results.json")["results"]
    failed = [
        (r["unique_id"], r["status"])
        for r in results
        if r["status"] not in {"success", "pass"}
        and not (r["unique_id"].startswith("exposure.") and r["status"] == "no-op")
    ]
    assert built.success, failed
    assert failed == []
    kinds = {r["unique_id"].split(".")[0] for r in results}
    assert {"model", "test", "unit_test", "snapshot"} <= kinds


def test_every_raw_row_is_staged_collapsed_or_quarantined(built):
    landing = built.paths.landing_dir
    for table in TABLES:
        raw = pq.read_table(landing / table).num_rows
        staged, collapsed = query(
            built,
            f"select count(*) filter (where quarantine_reason is null and duplicate_rank = 1), "
            f"count(*) filter (where quarantine_reason is null and duplicate_rank > 1) "
            f"from staging.stg_shop__{table}_classified",
        )[0]
        (quarantined,) = query(built, f"select count(*) from staging.stg_shop__{table}_quarantine")[
            0
        ]
        (stg_rows,) = query(built, f"select count(*) from staging.stg_shop__{table}")[0]
        assert stg_rows == staged
        assert raw == staged + collapsed + quarantined, table


def materialized_ctes(plan: list[dict]) -> set[str]:
    """The CTEs a DuckDB plan (`explain (format json)`) writes to a temporary table."""
    names, nodes = set(), list(plan)
    while nodes:
        node = nodes.pop()
        if node["name"].strip() == "CTE":
            names.add(node["extra_info"]["CTE Name"])
        nodes.extend(node.get("children", []))
    return names


def test_the_classifications_run_their_checks_again_instead_of_storing_them(built):
    """Each staging classification reads its checked rows three times (the keys with several
    rows, the rows of the others, the rows of those keys): the checks must be inlined at each
    read (`inline_cte`), not written whole to a temporary table, which took longer than the
    checks at scale. Only the small set of shared keys, and what DuckDB shares by itself
    (`__common_subplan_…`, e.g. the distinct customer keys), may be materialized."""
    compiled = built.paths.target_dir / "compiled" / "trainset" / "models" / "staging" / "shop"
    models = sorted(compiled.glob("stg_shop__*_classified.sql"))
    assert [model.name for model in models] == [
        f"stg_shop__{table}_classified.sql" for table in sorted(TABLES)
    ]
    connection = connect_duckdb(built.paths.duckdb_path, read_only=True)
    try:
        stored = {
            model.stem: sorted(
                name
                for name in materialized_ctes(
                    json.loads(
                        connection.execute(f"explain (format json) {model.read_text()}").fetchall()[
                            0
                        ][1]
                    )
                )
                if not name.startswith("__common_subplan")
            )
            for model in models
        }
    finally:
        connection.close()
    assert stored == {model.stem: ["shared_keys"] for model in models}


def test_injected_faults_land_in_quarantine_with_their_reason(built):
    faults = built.summary["faults"]["orders"]
    reasons = dict(
        query(
            built,
            "select quarantine_reason, count(*) from staging.stg_shop__orders_quarantine group by 1",
        )
    )
    for reason in ["unparseable_timestamp", "negative_amount", "absurd_amount", "future_timestamp"]:
        assert faults.get(reason, 0) > 0, f"the generator injected no {reason}"
        assert reasons.get(reason, 0) == faults[reason], reason
    assert reasons.get("conflicting_duplicate", 0) == 2 * faults.get("conflicting_duplicate", 0)


def test_offsets_are_converted_to_utc(built):
    # '…+02:00' and '…Z' strings for the same instant must stage to the same UTC timestamp (the
    # base keeps every row's raw string; the classified model only a quarantined row's).
    rows = query(
        built,
        "select ordered_at_raw, ordered_at from staging.base_shop__orders "
        "where row_quarantine_reason is null and ordered_at_raw like '%+0%:%' "
        "and ordered_at_raw not like '%+00:00' limit 20",
    )
    assert rows, "no non-UTC offsets in the generated data"
    from datetime import UTC, datetime

    for raw, staged in rows:
        expected = (
            datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
        )
        assert staged == expected, raw


def test_training_set_has_one_row_per_label_and_balanced_labels(built):
    (labels,) = query(built, "select count(*) from labels.lbl_churn_30d")[0]
    (rows, positives) = query(
        built, "select count(*), count(*) filter (where is_churned) from training.train_churn_30d"
    )[0]
    assert rows == labels > 0
    assert 0 < positives < rows


def test_export_then_load_verifies_the_hash(built, tmp_path):
    paths = built.paths
    result = export_training_set("churn_30d", paths, progress=lambda message: None)
    manifest = result.manifest
    frame = trainset.load("churn_30d", exports_dir=paths.exports_dir)
    assert len(frame) == manifest["row_count"]
    assert list(frame.columns) == [column["name"] for column in manifest["schema"]]
    assert manifest["label_balance"]["positive"] == int(frame["is_churned"].sum())
    assert manifest["cutoff_bounds"]["min"] == frame["cutoff_at"].min().isoformat()
    features = {feature["name"] for feature in manifest["feature_definitions"]["features"]}
    assert "orders_count_30d" in features and "is_churned" not in features

    again = export_training_set("churn_30d", paths, progress=lambda message: None)
    assert again.reused and again.version == result.version

    # A changed file no longer matches its manifest.
    copy = tmp_path / "exports"
    shutil.copytree(paths.exports_dir, copy)
    data = copy / "churn_30d" / result.version / "data.parquet"
    table = pq.read_table(data)
    pq.write_table(table.slice(1), data)
    with pytest.raises(trainset.IntegrityError, match="content hash"):
        trainset.load("churn_30d", exports_dir=copy)


def test_export_refuses_when_an_upstream_test_failed(built, tmp_path):
    paths = built.paths
    target = tmp_path / "target"
    shutil.copytree(paths.target_dir, target, ignore=shutil.ignore_patterns("logs"))
    # The build record goes with the artifacts it vouches for.
    shutil.copytree(records_dir(paths.target_dir), records_dir(target))
    run_results = json.loads((target / "run_results.json").read_text())
    manifest = read_artifact(paths.target_dir, "manifest.json")
    failing = next(
        r
        for r in run_results["results"]
        if manifest["nodes"].get(r["unique_id"], {}).get("attached_node")
        == "model.trainset.stg_shop__orders"
    )
    failing["status"] = "fail"
    failing["failures"] = 3
    (target / "run_results.json").write_text(json.dumps(run_results))
    from dataclasses import replace

    gated = replace(paths, target_dir=target, exports_dir=tmp_path / "exports")
    with pytest.raises(GateError) as error:
        export_training_set("churn_30d", gated, progress=lambda message: None)
    assert failing["unique_id"] in str(error.value)
    assert "3 failing rows" in str(error.value)
    assert not (tmp_path / "exports" / "churn_30d").exists() or not any(
        (tmp_path / "exports" / "churn_30d").iterdir()
    )


def test_snapshot_records_changes_of_a_second_day(fresh_copy):
    from trainset.pipeline import build
    from trainset.sim import generate_next_day

    paths = fresh_copy.paths
    quiet = {"progress": lambda message: None}
    assert build(
        paths, select=["+snap_customers"], extra_args=["--indirect-selection", "cautious"], **quiet
    ).success
    before = pq.read_table(paths.landing_dir / "customers").to_pandas().set_index("customer_id")
    generate_next_day(paths.landing_dir, **quiet)
    after = pq.read_table(paths.landing_dir / "customers").to_pandas().set_index("customer_id")
    shared = before.index.intersection(after.index)
    changed = set(
        shared[
            (
                before.loc[shared, ["plan", "segment", "country"]]
                != after.loc[shared, ["plan", "segment", "country"]]
            ).any(axis=1)
        ].dropna()
    )
    assert changed, "the second day changed no customer"
    assert build(
        paths, select=["+snap_customers"], extra_args=["--indirect-selection", "cautious"], **quiet
    ).success
    connection = connect_duckdb(paths.duckdb_path, read_only=True)
    try:
        closed = {
            row[0]
            for row in connection.sql(
                "select customer_id from snapshots.snap_customers where dbt_valid_to is not null"
            ).fetchall()
        }
        current = connection.sql(
            "select count(*), count(distinct customer_id) from snapshots.snap_customers "
            "where dbt_valid_to is null"
        ).fetchone()
    finally:
        connection.close()
    assert closed == changed
    assert current[0] == current[1] > 0
