"""Drift end to end on real builds and exports: the gate, the export's refusal and record, the
profile in the manifest, equality with Evidently's preset, the CLI's JSON and HTML report (in a
real headless Chromium), the history, the retraining trigger, and lineage from an MLflow model.

Two landing zones are built: A (the small shared one: the session's build, reused) is exported
first; B (more customers,
two and a half times the order rate) is built with every feature at `error` severity, so its
build fails on drift only, and its export is refused until the drift is accepted.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import make_paths
from drift_reference import drift as reference_drift
from trainset.cli import main
from trainset.export import export_training_set
from trainset.monitoring.drift import DRIFT_TARGET, DriftRefusedError, compute_drift
from trainset.monitoring.gate import accepting_drift, failures
from trainset.pipeline import build
from trainset.reader import load, load_manifest
from trainset.sim import generate

ARTIFACTS = Path(os.environ.get("TRAINSET_TEST_ARTIFACTS", "/tmp/trainset-test-artifacts"))


def _quiet(message: str) -> None:
    pass


@pytest.fixture(scope="module")
def world(built, tmp_path_factory):
    root = tmp_path_factory.mktemp("drift_world")
    exports = root / "exports"
    # A is the session's shared build of the small landing zone, exported here
    assert built.success, "the shared build failed"
    a = dataclasses.replace(built.paths, exports_dir=exports)
    version_a = export_training_set("churn_30d", a, progress=_quiet).version

    b = dataclasses.replace(make_paths(root / "b"), exports_dir=exports)
    generate(b.landing_dir, customers=600, days=300, seed=12, order_rate=2.5, progress=_quiet)
    previous = os.environ.get("TRAINSET_DRIFT_SEVERITY")
    os.environ["TRAINSET_DRIFT_SEVERITY"] = "error"
    try:
        run_b = build(b, progress=_quiet)
        drift_failures, other_failures = failures(b.target_dir)
        with pytest.raises(DriftRefusedError) as refused:
            export_training_set("churn_30d", b, progress=_quiet)
        latest_after_refusal = (exports / "churn_30d" / "LATEST").read_text().strip()
        with accepting_drift():
            version_b = export_training_set("churn_30d", b, progress=_quiet).version
    finally:
        if previous is None:
            os.environ.pop("TRAINSET_DRIFT_SEVERITY", None)
        else:
            os.environ["TRAINSET_DRIFT_SEVERITY"] = previous
    return {
        "a": a,
        "b": b,
        "exports": exports,
        "version_a": version_a,
        "version_b": version_b,
        "run_b_success": run_b.success,
        "drift_failures": drift_failures,
        "other_failures": other_failures,
        "refusal": str(refused.value),
        "latest_after_refusal": latest_after_refusal,
    }


def test_error_drift_fails_the_build_on_drift_tests_only(world) -> None:
    assert not world["run_b_success"]
    assert world["drift_failures"], "the error-level drift test should fail"
    assert all("drift_within_threshold_error" in node for node in world["drift_failures"])
    assert world["other_failures"] == []


def test_export_refuses_error_drift_until_accepted(world) -> None:
    assert "Export refused" in world["refusal"] and "--accept-drift" in world["refusal"]
    assert world["latest_after_refusal"] == world["version_a"]
    manifest = load_manifest("churn_30d", world["version_b"], world["exports"])
    decision = manifest["drift"]
    assert decision["accepted"] is True and decision["error_drift"] is True
    model = decision["models"]["mon_training_drift"]
    assert model["reference_version"] == world["version_a"]
    assert model["error_features"], "the accepted features are recorded"
    named = {entry["feature"] for entry in model["error_features"]}
    assert any(name.startswith(("orders_count", "spend_sum")) for name in named), named
    first = load_manifest("churn_30d", world["version_a"], world["exports"])["drift"]
    assert first["error_drift"] is False and first["accepted"] is False


@pytest.mark.parametrize("version", ["version_a", "version_b"])
def test_manifest_profile_matches_a_recomputation(world, version) -> None:
    """The second export's profile and histogram (bins fixed by the first export), and the
    first's (no reference yet: its own range fixes the bins, one relation on both sides)."""
    manifest = load_manifest("churn_30d", world[version], world["exports"])
    profile = manifest["feature_profile"]
    assert profile["profiled"]
    if version == "version_b":
        assert profile["bins_fixed_by"] == world["version_a"]
    data = load("churn_30d", world[version], exports_dir=world["exports"])
    reference = load(
        "churn_30d",
        world["version_a" if version == "version_b" else version],
        exports_dir=world["exports"],
    )
    features = [f["name"] for f in manifest["feature_definitions"]["features"]]
    assert sorted(profile["features"]) == sorted(features)
    for name in features:
        entry, column = profile["features"][name], data[name]
        assert entry["row_count"] == len(column)
        assert entry["null_count"] == int(column.isna().sum())
        assert entry["distinct_count"] == column.dropna().nunique()
        if entry["feature_kind"] == "numeric":
            values = column.dropna().astype(float).to_numpy()
            assert entry["mean_value"] == pytest.approx(values.mean(), rel=1e-9)
            assert entry["std_value"] == pytest.approx(values.std(ddof=1), rel=1e-9)
            assert entry["min_value"] == values.min() and entry["max_value"] == values.max()
            for quantile in (1, 5, 25, 50, 75, 95, 99):
                expected = np.percentile(values, quantile)
                assert entry[f"p{quantile:02d}"] == pytest.approx(expected, rel=1e-9, abs=1e-9)
            low = reference[name].dropna().astype(float).min()
            high = reference[name].dropna().astype(float).max()
            bins = {bin_["bin_label"]: bin_["row_count"] for bin_ in entry["histogram"]}
            inside = values[(values >= low) & (values <= high)]
            if high > low:
                index = np.minimum(np.floor((inside - low) / ((high - low) / 20)), 19)
                counts = pd.Series(index.astype(int)).value_counts()
                for position, count in counts.items():
                    assert bins[str(position)] == count, (name, position)
            assert bins.get("below reference", 0) == int((values < low).sum())
            assert bins.get("above reference", 0) == int((values > high).sum())
        else:
            top = {bin_["bin_label"]: bin_["row_count"] for bin_ in entry["top_categories"]}
            counts = column.value_counts()
            for label, count in top.items():
                if label not in ("other", "null"):
                    assert counts[label] == count


@pytest.fixture(scope="module")
def drift_of_b_against_a(world):
    """compute_drift of export B against export A, made once for the tests that check it."""
    return compute_drift(
        "churn_30d", world["b"], reference=world["version_a"], current=world["version_b"]
    )


def to_list(series: pd.Series) -> list:
    return [None if pd.isna(value) else value for value in series.tolist()]


def _export_file(world, version: str) -> Path:
    return world["exports"] / "churn_30d" / version / "data.parquet"


@pytest.mark.parametrize("direction", ["small reference", "large reference"])
def test_same_method_score_and_verdict_as_evidently(
    world, direction, drift_of_b_against_a, tmp_path
) -> None:
    """Evidently 0.7.23 runs in its own virtual environment on the same two exports."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import evidently_drift

    if direction == "small reference":
        reference, current = world["version_a"], world["version_b"]
    else:
        reference, current = world["version_b"], world["version_a"]
    reference_rows = pq.read_metadata(_export_file(world, reference)).num_rows
    assert (reference_rows <= 1000) == (direction == "small reference"), reference_rows
    if direction == "small reference":
        ours = drift_of_b_against_a
    else:
        ours = compute_drift("churn_30d", world["b"], reference=reference, current=current)
    kinds = {row["feature_name"]: row["feature_kind"] for row in ours.features}
    theirs = evidently_drift.run(
        _export_file(world, reference), _export_file(world, current), kinds, tmp_path / "ev.json"
    )
    assert sorted(theirs["features"]) == sorted(kinds)
    methods = set()
    for row in ours.features:
        peer = theirs["features"][row["feature_name"]]
        methods.add(row["method"])
        assert row["method"] == peer["method"], (row["feature_name"], row, peer)
        assert math.isclose(row["score"], peer["score"], rel_tol=1e-9, abs_tol=1e-9), (
            row["feature_name"],
            row["score"],
            peer["score"],
        )
        assert row["threshold"] == pytest.approx(peer["threshold"])
        assert bool(row["is_drifted"]) == peer["drifted"], row["feature_name"]
    assert ours.dataset_drifted == theirs["dataset_drift"]
    expected = {"small reference": {"ks", "chisquare"}, "large reference": {"wasserstein"}}
    assert expected[direction] <= methods, methods


def test_sql_scores_match_the_scipy_reference_on_exports(world, drift_of_b_against_a) -> None:
    ours = drift_of_b_against_a
    reference = load("churn_30d", world["version_a"], exports_dir=world["exports"])
    current = load("churn_30d", world["version_b"], exports_dir=world["exports"])
    for row in ours.features:
        name = row["feature_name"]
        expected = reference_drift(
            to_list(reference[name]), to_list(current[name]), row["feature_kind"]
        )
        assert row["method"] == expected["method"]
        assert math.isclose(row["score"], expected["score"], rel_tol=1e-9, abs_tol=1e-9), name


def test_cli_json_html_and_retraining_trigger(world, tmp_path) -> None:
    paths = world["b"]
    env = {
        "TRAINSET_DUCKDB_PATH": str(paths.duckdb_path),
        "TRAINSET_LANDING_DIR": str(paths.landing_dir),
        "TRAINSET_EXPORTS_DIR": str(paths.exports_dir),
        "DBT_TARGET_PATH": str(paths.target_dir),
        "TRAINSET_DRIFT_SEVERITY": "error",
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        report_file, json_file = tmp_path / "report.html", tmp_path / "drift.json"
        code = main(
            [
                "drift",
                "--reference",
                world["version_a"],
                "--json",
                str(json_file),
                "--html",
                str(report_file),
                "--fail-on",
                "error",
            ]
        )
        assert code == 1, "an error-level drift must fail --fail-on error"
        same = main(
            [
                "drift",
                "--reference",
                world["version_a"],
                "--current",
                world["version_a"],
                "--fail-on",
                "error",
            ]
        )
        assert same == 0, "a set compared with itself does not drift"
        history_file = tmp_path / "history.html"
        assert main(["drift", "--history", "--html", str(history_file)]) == 0
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    payload = json.loads(json_file.read_text())
    direct = compute_drift("churn_30d", paths, reference=world["version_a"])
    assert payload["dataset_drifted"] == direct.dataset_drifted
    by_name = {row["feature_name"]: row for row in direct.features}
    assert len(payload["features"]) == len(by_name)
    for record in payload["features"]:
        assert set(record) >= {"feature", "method", "score", "threshold", "drifted"}
        assert record["score"] == pytest.approx(by_name[record["feature"]]["score"], abs=1e-12)
    html = report_file.read_text()
    assert len(html.encode()) <= 300 * 1024
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html and "<script" not in html
    _check_in_chromium(report_file, expected_charts=len(by_name), name="drift-report")
    history_html = history_file.read_text()
    assert history_html.count('class="chart"') == len(by_name)


def _check_in_chromium(page_file: Path, expected_charts: int, name: str) -> None:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(executable).exists(), "install Debian's chromium (`apt-get install -y chromium`)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_file.resolve().as_uri())
            page.wait_for_load_state("load")
            charts = page.locator("svg.feature-chart").count()
            rows = page.locator("#summary tbody tr").count()
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert charts == expected_charts and rows == expected_charts
    assert [url for url in requests if not url.startswith("file://")] == []


def test_daily_drift_of_a_request_log(world, tmp_path) -> None:
    """A folder of served vectors (feature columns plus a request time) is compared day by day;
    every day lands in the history with its own scores."""
    from trainset.monitoring.history import daily_drift, read_history, record

    served = load("churn_30d", world["version_b"], exports_dir=world["exports"]).head(900)
    served["requested_at"] = pd.Timestamp("2026-03-01", tz="UTC") + pd.to_timedelta(
        np.arange(len(served)) % 3, unit="D"
    )
    log = tmp_path / "log"
    log.mkdir()
    for part, frame in served.groupby(np.arange(len(served)) % 2):
        frame.to_parquet(log / f"part-{part}.parquet")
    days = daily_drift("churn_30d", world["b"], log, "requested_at", reference=world["version_a"])
    assert [day for day, _ in days] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    before = len(read_history(world["b"], "churn_30d"))
    for day, report in days:
        record(world["b"], report, label=f"day {day}")
        day_rows = served[served["requested_at"].dt.strftime("%Y-%m-%d") == day]
        reference = load("churn_30d", world["version_a"], exports_dir=world["exports"])
        row = next(r for r in report.features if r["feature_name"] == "tenure_days")
        expected = reference_drift(
            reference["tenure_days"].tolist(), day_rows["tenure_days"].tolist(), "numeric"
        )
        assert row["method"] == expected["method"]
        assert row["score"] == pytest.approx(expected["score"], rel=1e-9, abs=1e-9)
    after = read_history(world["b"], "churn_30d")
    assert len(after) - before == 3 * len(days[0][1].features)


def test_lineage_from_a_registered_model_to_landing_files(world, tmp_path) -> None:
    import hashlib
    import importlib.util

    from trainset.monitoring.lineage import lineage

    spec = importlib.util.spec_from_file_location(
        "train_churn", Path(__file__).resolve().parents[1] / "examples" / "train_churn.py"
    )
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    card = job.main(
        [
            "--exports-dir",
            str(world["exports"]),
            "--version",
            world["version_b"],
            "--out",
            str(tmp_path / "model"),
            "--tracking-uri",
            tracking,
        ]
    )
    version = card["mlflow"]["model_version"]
    trail = lineage(f"models:/churn_30d/{version}", "churn_30d", world["b"], tracking_uri=tracking)
    assert trail["verified"], trail["problems"]
    data = trail["training_set"]
    assert data["version"] == world["version_b"]
    manifest_path = world["exports"] / "churn_30d" / world["version_b"] / "manifest.json"
    assert data["manifest_sha256"] == hashlib.sha256(manifest_path.read_bytes()).hexdigest()
    assert any(node["unique_id"] == "model.trainset.train_churn_30d" for node in trail["dbt_nodes"])
    assert any(node["unique_id"].startswith("source.") for node in trail["dbt_nodes"])
    landing = {Path(entry["path"]).resolve(): entry for entry in trail["landing_files"]}
    files = [path for path in world["b"].landing_dir.rglob("*") if path.is_file()]
    assert files and all(path.resolve() in landing for path in files if path.suffix == ".parquet")
    for path in files:
        entry = landing.get(path.resolve())
        if entry:
            assert entry["sha256_now"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert trail["model"]["metrics"]["test_roc_auc"] == pytest.approx(
        card["metrics"]["test"]["roc_auc"]
    )


def test_comparisons_never_make_dbt_parse_the_project_again(world, drift_of_b_against_a) -> None:
    """Each comparison hands dbt its inputs in the environment, not as vars: no compile of the
    drift models parsed the project from scratch, the first one starting from the build's
    saved parse (dbt logs why whenever it cannot parse partially)."""
    more = compute_drift("churn_30d", world["b"], reference=world["version_b"])
    assert more.reference_version == world["version_b"]
    log = (world["b"].target_dir / DRIFT_TARGET / "logs" / "dbt.log").read_text()
    assert log.count("Running with dbt=") >= 2
    assert "Unable to do partial parsing" not in log
