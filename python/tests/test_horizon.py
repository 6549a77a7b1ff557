"""The label horizon is declared once (`churn_horizon_days` in `dbt_project.yml`): a build with
another value moves the labels, the split purge and the export manifest together."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import timedelta

import pandas as pd
import pytest
import yaml

import trainset
from conftest import PROJECT_DIR, build, make_paths
from trainset.dbt import read_artifact
from trainset.export import ExportError, export_training_set, training_models
from trainset.project import connect_duckdb

pytestmark = pytest.mark.integration

# Month-start cutoffs are 28 to 31 days apart: a 45-day horizon purges the last cutoff before
# every split boundary, where 30 days purges only after a 28- or 29-day month.
HORIZON_DAYS = 45


@pytest.fixture(scope="module")
def rebuilt(small_landing, tmp_path_factory):
    """The small landing zone built and exported with the horizon var changed on the command
    line, and nothing else."""
    landing, _ = small_landing
    paths = make_paths(tmp_path_factory.mktemp("horizon"))
    shutil.copytree(landing, paths.landing_dir)
    assert build(paths, "--vars", json.dumps({"churn_horizon_days": HORIZON_DAYS}))
    result = export_training_set("churn_30d", paths, progress=lambda message: None)
    with connect_duckdb(paths.duckdb_path, read_only=True) as connection:
        labels = connection.sql("select * from labels.lbl_churn_30d").df()
        orders = connection.sql(
            "select customer_id, effective_at from intermediate.int_orders__versioned "
            "where is_latest_version and is_completed"
        ).df()
    return paths, result, labels, orders


def reference_labels(labels: pd.DataFrame, orders: pd.DataFrame, days: int) -> pd.Series:
    """Churned: no completed order (latest version) in (cutoff_at, cutoff_at + days], by a
    plain loop over the spine."""
    by_customer = {key: group["effective_at"] for key, group in orders.groupby("customer_id")}
    horizon = pd.Timedelta(days=days)
    churned = []
    for row in labels.itertuples():
        times = by_customer.get(row.customer_id, pd.Series([], dtype="datetime64[us]"))
        churned.append(not ((times > row.cutoff_at) & (times <= row.cutoff_at + horizon)).any())
    return pd.Series(churned, index=labels.index)


def test_labels_follow_the_horizon_var(rebuilt):
    _, _, labels, orders = rebuilt
    assert len(labels)
    assert (labels["horizon_end_at"] - labels["cutoff_at"] == timedelta(days=HORIZON_DAYS)).all()
    expected = reference_labels(labels, orders, HORIZON_DAYS)
    assert (labels["is_churned"] == expected).all()
    # The check can tell the horizons apart: 30 days would label some of these rows otherwise.
    assert (reference_labels(labels, orders, 30) != expected).any()
    # No censored label: every horizon ends inside the observed orders.
    assert labels["horizon_end_at"].max() <= orders["effective_at"].max()


def test_split_purge_and_manifest_follow_the_horizon_var(rebuilt):
    paths, result, _, _ = rebuilt
    splits = result.manifest["splits"]
    assert splits["horizon_days"] == HORIZON_DAYS
    on_disk = json.loads((result.path / "manifest.json").read_text())
    assert on_disk["splits"]["horizon_days"] == HORIZON_DAYS
    frame = trainset.load("churn_30d", exports_dir=paths.exports_dir)
    month = [pd.Timestamp(f"2025-{number:02d}-01") for number in range(5, 10)]
    # The small landing zone has five month-start cutoffs, May to September 2025.
    assert sorted(pd.Timestamp(cutoff) for cutoff in frame["cutoff_at"].unique()) == month
    # By hand: 70/15/15 of five cutoffs is May-Jul | Aug | Sep. Each split's last cutoff lies
    # 31 days before the next split's first, inside a 45-day horizon, so July and August are
    # purged (a 30-day horizon purges none: see `test_manifest_reads_the_declared_horizon`).
    expected = {"train": month[:2], "validation": [], "test": month[4:]}
    for name, cutoffs in expected.items():
        assert [pd.Timestamp(cutoff) for cutoff in splits[name]["cutoffs"]] == cutoffs
        loaded = trainset.load("churn_30d", exports_dir=paths.exports_dir, split=name)
        assert sorted(pd.Timestamp(cutoff) for cutoff in loaded["cutoff_at"].unique()) == cutoffs
    assert [pd.Timestamp(cutoff) for cutoff in splits["purged_cutoffs"]] == month[2:4]
    assert splits["purged_rows"] == int(frame["cutoff_at"].isin(month[2:4]).sum())


def test_manifest_reads_the_declared_horizon(built, tmp_path):
    declared = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    manifest = read_artifact(built.paths.target_dir, "manifest.json")
    model = training_models(manifest)["churn_30d"]
    assert model.horizon_days == declared["churn_horizon_days"]
    assert model.horizon_days != HORIZON_DAYS
    # The same five cutoffs are at least 30 days apart: nothing reaches the next split.
    paths = replace(built.paths, exports_dir=tmp_path / "exports")
    result = export_training_set("churn_30d", paths, progress=lambda message: None)
    assert result.manifest["splits"]["horizon_days"] == declared["churn_horizon_days"]
    assert result.manifest["splits"]["purged_cutoffs"] == []


def test_a_training_model_without_a_horizon_is_refused_by_name():
    node = {
        "resource_type": "model",
        "name": "train_x",
        "schema": "training",
        "original_file_path": "models/training/train_x.yml",
        "config": {"meta": {"trainset": {"task": "x", "label_column": "y"}}},
    }
    with pytest.raises(ExportError, match=r"models/training/train_x\.yml.*horizon_days"):
        training_models({"nodes": {"model.trainset.train_x": node}})
