"""Training sets as products: splits on load, verify, diff, catalog, CLI and a training job."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import trainset
from conftest import PROJECT_DIR
from trainset.catalog import features
from trainset.cli import main
from trainset.dbt import read_artifact
from trainset.export import export_training_set
from trainset.verify import compare_tables, diff_versions, verify

pytestmark = pytest.mark.integration
QUIET = {"progress": lambda message: None}


@pytest.fixture(scope="module")
def exported(built, tmp_path_factory):
    paths = replace(built.paths, exports_dir=tmp_path_factory.mktemp("exports"))
    return paths, export_training_set("churn_30d", paths, **QUIET)


def test_splits_on_load_are_disjoint_ordered_and_purged(exported):
    paths, result = exported
    manifest = result.manifest
    horizon = timedelta(days=manifest["splits"]["horizon_days"])
    parts = {
        name: trainset.load("churn_30d", exports_dir=paths.exports_dir, split=name)
        for name in ("train", "validation", "test")
    }
    assert all(len(frame) for frame in parts.values())
    assert (
        sum(len(frame) for frame in parts.values()) + manifest["splits"]["purged_rows"]
        == manifest["row_count"]
    )
    assert parts["train"]["cutoff_at"].max() + horizon < parts["validation"]["cutoff_at"].min()
    assert parts["validation"]["cutoff_at"].max() + horizon < parts["test"]["cutoff_at"].min()
    for name, frame in parts.items():
        assert len(frame) == manifest["splits"][name]["rows"]


def test_manifest_records_statistics_gates_and_sources(exported):
    _, result = exported
    manifest = result.manifest
    stats = manifest["feature_statistics"]["orders_count_30d"]
    frame = trainset.load("churn_30d", exports_dir=exported[0].exports_dir)
    assert stats["mean"] == pytest.approx(frame["orders_count_30d"].mean())
    assert stats["null_rate"] == 0
    assert manifest["feature_statistics"]["days_since_last_order"]["null_rate"] == pytest.approx(
        frame["days_since_last_order"].isna().mean()
    )
    sources = {
        f["name"]: f["meta"]["feature"]["source_model"]
        for f in manifest["feature_definitions"]["features"]
    }
    assert sources["spend_sum_30d"] == "feat_customer__orders"
    assert any(
        "assert_train_churn_30d_matches_reference" in test
        for test in manifest["dbt"]["tests_passed"]
    )


def test_verify_rebuilds_the_same_hash(exported):
    paths, result = exported
    report = verify("churn_30d", result.version, paths, **QUIET)
    assert report.ok, report.differences
    assert report.actual_hash == result.manifest["content_sha256"]


def test_compare_tables_names_rows_columns_and_values(exported):
    paths, result = exported
    table = pq.read_table(result.path / "data.parquet")
    changed = table.set_column(
        table.schema.get_field_index("orders_count_30d"),
        "orders_count_30d",
        pa.array(table["orders_count_30d"].to_pandas().add(1).astype("int32")),
    ).slice(1)
    lines = compare_tables(table, changed, ["customer_id", "cutoff_at"])
    assert any(line.startswith("rows:") for line in lines)
    assert any("keys only in the export" in line for line in lines)
    assert any(f"'orders_count_30d': {table.num_rows - 1:,} rows differ" in line for line in lines)


def test_diff_reports_row_and_statistic_changes(exported, tmp_path):
    paths, result = exported
    # A second version: the same set without its first cutoff.
    second = replace(paths, exports_dir=tmp_path / "exports")
    import shutil

    shutil.copytree(paths.exports_dir, second.exports_dir)
    from trainset import export

    original = export.read_training_table
    try:
        export.read_training_table = lambda p, m, *rest: original(p, m, *rest).slice(500)
        newer = export_training_set("churn_30d", second, **QUIET)
    finally:
        export.read_training_table = original
    lines = diff_versions("churn_30d", result.version, newer.version, second.exports_dir)
    assert (
        f"rows: {result.manifest['row_count']:,} → {result.manifest['row_count'] - 500:,} (-500)"
        in lines
    )
    assert any(line.startswith("feature ") for line in lines)


def test_catalog_comes_from_the_dbt_manifest(built):
    manifest = read_artifact(built.paths.target_dir, "manifest.json")
    items = {item.name: item for item in features(manifest)}
    declared = [
        name
        for name, column in manifest["nodes"]["model.trainset.train_churn_30d"]["columns"].items()
        if column.get("config", {}).get("meta", {}).get("feature")
    ]
    assert sorted(items) == sorted(declared)
    spend = items["spend_sum_30d"]
    assert spend.training_sets == ["churn_30d"]
    assert "source.trainset.shop.orders" in spend.lineage
    assert "model.trainset.stg_shop__orders" in spend.lineage


def test_cli_exit_codes_and_help(exported, capsys, monkeypatch):
    paths, result = exported
    monkeypatch.setenv("TRAINSET_EXPORTS_DIR", str(paths.exports_dir))
    monkeypatch.setenv("DBT_TARGET_PATH", str(paths.target_dir))
    assert main(["--project-dir", str(PROJECT_DIR), "list"]) == 0
    assert result.version in capsys.readouterr().out
    assert (
        main(["--project-dir", str(PROJECT_DIR), "diff", "churn_30d", result.version, "nope"]) == 4
    )
    assert "No complete version 'nope'" in capsys.readouterr().err
    assert (
        main(
            ["--project-dir", str(PROJECT_DIR), "features", "--search", "spend", "--format", "json"]
        )
        == 0
    )
    names = {item["name"] for item in json.loads(capsys.readouterr().out)}
    assert names == {
        "spend_sum_7d",
        "spend_sum_30d",
        "spend_sum_90d",
        "spend_mean_30d",
        "spend_mean_90d",
    }
    completed = subprocess.run(
        [sys.executable, "-m", "trainset.cli", "--help"], capture_output=True, text=True
    )
    assert completed.returncode == 0
    for command in (
        "generate",
        "build",
        "export",
        "list",
        "verify",
        "diff",
        "features",
        "catalog",
        "demo",
    ):
        assert command in completed.stdout


def test_training_job_beats_a_constant_baseline(exported, tmp_path):
    paths, result = exported
    completed = subprocess.run(
        [
            sys.executable,
            str(PROJECT_DIR / "python" / "examples" / "train_churn.py"),
            "--exports-dir",
            str(paths.exports_dir),
            "--out",
            str(tmp_path / "model"),
        ],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    card = json.loads((tmp_path / "model" / "model_card.json").read_text())
    assert card["training_set_version"] == result.version
    assert card["training_set_sha256"] == result.manifest["content_sha256"]
    # A constant score has AUC 0.5; the features carry real signal (recent orders, sessions).
    assert card["metrics"]["validation"]["roc_auc"] >= 0.6
    assert card["metrics"]["test"]["roc_auc"] >= 0.6
    assert datetime.fromisoformat(card["splits"]["train"]["cutoff_max"]) < datetime.fromisoformat(
        card["splits"]["test"]["cutoff_min"]
    )
