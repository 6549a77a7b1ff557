"""The drift gate: what the build's drift tests decided, and the export's decision about it.

A drifted feature of severity `error` fails its `drift_within_threshold` test, so `dbt build`
reports a failure. That failure is about the data having moved, not about the data being
wrong: the build still vouches for what it built when the drift tests are its only failures,
and `trainset export` refuses the set until someone accepts the drift (`--accept-drift`), which
the export's manifest records with the drifted features.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..dbt import read_artifact
from ..project import Paths
from .drift import DRIFT_TEST, DriftRefusedError
from .manifest import open_built_models

FAILING = {"fail", "error", "runtime error"}
_ACCEPTED: ContextVar[bool] = ContextVar("trainset_accept_drift", default=False)


@contextmanager
def accepting_drift(accept: bool = True) -> Iterator[None]:
    """Within this block an export accepts an `error`-level drift (and records that it did):
    `with accepting_drift(): export_training_set(task)`."""
    token = _ACCEPTED.set(accept)
    try:
        yield
    finally:
        _ACCEPTED.reset(token)


def _is_drift_test(node: dict[str, Any]) -> bool:
    return (node.get("test_metadata") or {}).get("name") == DRIFT_TEST


def failures(target_dir: Path) -> tuple[list[str], list[str]]:
    """(failing drift tests, every other failing node) of the last dbt invocation."""
    manifest = read_artifact(target_dir, "manifest.json")
    run_results = read_artifact(target_dir, "run_results.json")
    nodes = manifest.get("nodes", {})
    drift, other = [], []
    for result in run_results.get("results", []):
        if result.get("status") not in FAILING:
            continue
        node = nodes.get(result["unique_id"], {})
        if _is_drift_test(node) and result.get("status") == "fail":
            drift.append(result["unique_id"])
        else:
            other.append(result["unique_id"])
    return drift, other


def only_drift_failed(target_dir: Path) -> bool:
    """True when the last dbt invocation failed only on drift tests (the data moved)."""
    try:
        drift, other = failures(target_dir)
    except (RuntimeError, OSError, ValueError, KeyError):
        return False
    return bool(drift) and not other


def _drift_models(manifest: dict[str, Any], training_model_id: str) -> dict[str, dict[str, Any]]:
    """Drift models over the training model, each with its drift tests' unique ids."""
    nodes = manifest.get("nodes", {})
    found: dict[str, dict[str, Any]] = {}
    for test_id, node in nodes.items():
        if node.get("resource_type") != "test" or not _is_drift_test(node):
            continue
        for parent_id in node.get("depends_on", {}).get("nodes", []):
            parent = nodes.get(parent_id) or {}
            if training_model_id in parent.get("depends_on", {}).get("nodes", []):
                entry = found.setdefault(parent_id, {"node": parent, "tests": []})
                entry["tests"].append(test_id)
    return found


def export_drift_decision(
    paths: Paths, training_model_id: str, *, accept: bool | None = None
) -> dict[str, Any]:
    """What the last build's drift tests said about the training model, for the manifest.
    Raises DriftRefusedError when an `error`-level drift failed and it was not accepted
    (`accept`, or an enclosing `accepting_drift()` block)."""

    accept = _ACCEPTED.get() if accept is None else accept
    manifest = read_artifact(paths.target_dir, "manifest.json")
    run_results = read_artifact(paths.target_dir, "run_results.json")
    statuses = {result["unique_id"]: result.get("status") for result in run_results["results"]}
    models = _drift_models(manifest, training_model_id)
    if not models:
        return {"checked": False, "reason": "no drift model over the training set"}
    decision: dict[str, Any] = {"checked": True, "models": {}}
    refused: list[str] = []
    built = [
        entry["node"] for model_id, entry in models.items() if statuses.get(model_id) == "success"
    ]
    connection = open_built_models(paths, manifest, built)
    try:
        for model_id, entry in sorted(models.items()):
            node = entry["node"]
            test_status = {test_id: statuses.get(test_id) for test_id in entry["tests"]}
            relation = f'"{node["schema"]}"."{node.get("alias") or node["name"]}"'
            if statuses.get(model_id) not in {"success"}:
                decision["models"][node["name"]] = {
                    "ran": False,
                    "status": statuses.get(model_id),
                }
                continue
            result = connection.sql(
                f"select feature_name, method, score, threshold, severity, is_drifted, "
                f"reference_version from {relation} order by feature_name"
            )
            rows = [dict(zip(result.columns, row, strict=True)) for row in result.fetchall()]
            drifted = [row for row in rows if row["is_drifted"]]
            errors = [row for row in drifted if row["severity"] == "error"]
            decision["models"][node["name"]] = {
                "ran": True,
                "tests": test_status,
                "reference_version": rows[0]["reference_version"] if rows else None,
                "error_features": [_brief(row) for row in errors],
                "warn_features": [_brief(row) for row in drifted if row["severity"] != "error"],
            }
            failed_error_test = any(status == "fail" for status in test_status.values())
            if errors and failed_error_test:
                refused += [f"{node['name']}: {_describe(row)}" for row in errors]
    finally:
        connection.close()
    decision["error_drift"] = bool(refused)
    decision["accepted"] = bool(refused) and accept
    if refused and not accept:
        raise DriftRefusedError(
            "Export refused: features drifted past an `error` threshold against the reference "
            "export:\n  - "
            + "\n  - ".join(refused)
            + "\nLook at `trainset drift --html report.html`; if the shift is expected, export "
            "with `--accept-drift` (the manifest records the decision), or change the "
            "feature's `meta.drift` in its YAML."
        )
    if decision["accepted"]:
        decision["accepted_at"] = datetime.now(UTC).isoformat()
    return decision


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "feature": row["feature_name"],
        "method": row["method"],
        "score": row["score"],
        "threshold": row["threshold"],
    }


def _describe(row: dict[str, Any]) -> str:
    return (
        f"{row['feature_name']} ({row['method']} score {row['score']:.4g}, threshold "
        f"{row['threshold']:g}, reference {row['reference_version']})"
    )
