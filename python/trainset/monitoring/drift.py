"""Drift of a current data set against a reference export, computed by the dbt drift model.

The reference is an exported version of the task (LATEST, the last accepted export, unless one
is named). The current is, by default, the training set of the last build; or another exported
version; or Parquet files (a file, or a folder of them such as the serving request log) holding
the feature columns. The drift model (`mon_<...>_drift`, found in dbt's manifest as the model
carrying the `drift_within_threshold` test over the task's training model) is compiled by dbt
with those inputs as vars and its SQL runs on DuckDB, so the numbers are the ones the build's
gate computes.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..dbt import DRIFT_VARIABLE, DbtError, read_artifact, run_dbt
from ..errors import InputError
from ..export import TrainingModel, find_training_model
from ..gates import GateError
from ..project import Paths, connect_duckdb
from ..store import LATEST_FILE, MANIFEST_FILE

DRIFT_TEST = "drift_within_threshold"
DRIFT_TARGET = "drift"


class DriftInputError(InputError):
    """Raised when a reference or current data set cannot be found or read."""


class DriftRefusedError(GateError):
    """Raised when an export meets an `error`-level drift that was not accepted."""


@dataclass
class DriftReport:
    """Per-feature drift and the data set's verdict, as computed by the drift model."""

    task: str
    reference_version: str | None
    current_source: str
    features: list[dict[str, Any]]
    drifted_share: float | None
    dataset_drifted: bool
    label: dict[str, Any] = field(default_factory=dict)
    histograms: list[dict[str, Any]] = field(default_factory=list)
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def error_drifts(self) -> list[dict[str, Any]]:
        return [row for row in self.features if row["is_drifted"] and row["severity"] == "error"]

    def to_json(self) -> dict[str, Any]:
        """One record per feature (feature, method, score, threshold, drifted, ...) and the
        data set's verdict."""
        payload = asdict(self)
        payload.pop("histograms")
        payload["features"] = [
            {
                "feature": row["feature_name"],
                "kind": row["feature_kind"],
                "method": row["method"],
                "score": _finite(row["score"]),
                "statistic": _finite(row["statistic"]),
                "p_value": _finite(row["p_value"]),
                "threshold": _finite(row["threshold"]),
                "drifted": bool(row["is_drifted"]),
                "severity": row["severity"],
                "reference_count": int(row["reference_count"] or 0),
                "current_count": int(row["current_count"] or 0),
            }
            for row in self.features
        ]
        return payload


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def drift_model_name(manifest: dict[str, Any], model: TrainingModel) -> str:
    """The model carrying the drift test over `model`'s training set."""
    nodes = manifest.get("nodes", {})
    for node in nodes.values():
        if node.get("resource_type") != "test":
            continue
        if (node.get("test_metadata") or {}).get("name") != DRIFT_TEST:
            continue
        for parent_id in node.get("depends_on", {}).get("nodes", []):
            parent = nodes.get(parent_id) or {}
            if model.unique_id in parent.get("depends_on", {}).get("nodes", []):
                return parent["name"]
    raise DriftInputError(
        f"No drift model over {model.unique_id}: a model under models/monitoring/ that calls "
        f"`feature_drift` on it and carries the `{DRIFT_TEST}` test."
    )


def export_folder(paths: Paths, task: str, version: str | None) -> Path:
    """The folder of an exported version (LATEST when `version` is None)."""
    task_dir = paths.exports_dir / task
    if version in (None, "latest", "LATEST"):
        latest = task_dir / LATEST_FILE
        if not latest.is_file():
            raise DriftInputError(
                f"No export of {task!r} in {task_dir} to compare against: export a training set "
                "first (`trainset export`), or name a reference with --reference."
            )
        version = latest.read_text(encoding="utf-8").strip()
    folder = task_dir / str(version)
    if not (folder / MANIFEST_FILE).is_file():
        known = sorted(
            entry.name for entry in task_dir.glob("*") if (entry / MANIFEST_FILE).is_file()
        )
        raise DriftInputError(
            f"No exported version {version!r} of {task!r} in {task_dir}; known: {known or 'none'}"
        )
    return folder


def _data_file(folder: Path) -> Path:
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    return folder / manifest.get("data_file", "data.parquet")


def resolve_current(paths: Paths, task: str, current: str | None) -> tuple[str | None, str]:
    """(Parquet path or glob for the drift model, label). None means the built training set."""
    if current is None:
        return None, "training set of the last build"
    candidate = Path(current)
    if candidate.is_dir():
        files = sorted(candidate.rglob("*.parquet"))
        if not files:
            raise DriftInputError(f"{candidate} holds no .parquet files to compare.")
        return str(candidate.resolve() / "**" / "*.parquet"), str(candidate)
    if candidate.is_file():
        return str(candidate.resolve()), str(candidate)
    try:
        folder = export_folder(paths, task, current)
    except DriftInputError as error:
        raise DriftInputError(
            f"--current {current!r} is neither an exported version of {task!r} nor a Parquet "
            f"file or folder: {error}"
        ) from error
    return str(_data_file(folder).resolve()), f"export {folder.name}"


def histogram_model_name(manifest: dict[str, Any], drift_model: str) -> str | None:
    """The histogram model beside a drift model (`..._drift` -> `..._histogram`), if any."""
    name = drift_model.removesuffix("_drift") + "_histogram"
    found = any(
        node.get("resource_type") == "model" and node.get("name") == name
        for node in manifest.get("nodes", {}).values()
    )
    return name if found else None


_COMPILED: dict[tuple, dict[str, str]] = {}


def _compile_models(
    paths: Paths, model_names: list[str], variables: dict[str, str]
) -> dict[str, str]:
    """The compiled SQL of the models for these inputs; compiled once per process (a daily
    comparison of a request log runs the same SQL on each day's file)."""
    key = (str(paths.project_dir), str(paths.target_dir), tuple(model_names), json.dumps(variables))
    if key not in _COMPILED:
        _COMPILED[key] = _compile_models_now(paths, model_names, variables)
    return _COMPILED[key]


def _compile_models_now(
    paths: Paths, model_names: list[str], variables: dict[str, str]
) -> dict[str, str]:
    private = Paths(
        project_dir=paths.project_dir,
        duckdb_path=paths.duckdb_path,
        landing_dir=paths.landing_dir,
        exports_dir=paths.exports_dir,
        target_dir=paths.target_dir / DRIFT_TARGET,
    )
    # The build's saved parse starts the private target; the inputs go to dbt in an
    # environment variable the models read only while executing (`drift_var`), not as --vars,
    # which would make dbt parse the whole project again for every comparison.
    saved, private_saved = (
        where.target_dir / "partial_parse.msgpack" for where in (paths, private)
    )
    if saved.is_file() and not private_saved.is_file():
        private.target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(saved, private_saved)
    run = run_dbt(
        [
            "compile",
            "--select",
            *model_names,
            "--quiet",
            "--log-path",
            str(private.target_dir / "logs"),
        ],
        private,
        environment={DRIFT_VARIABLE: json.dumps(variables, sort_keys=True)},
    )
    if not run.success:
        raise DbtError(f"dbt could not compile {model_names} (see the dbt output above).")
    sql = {}
    for name in model_names:
        compiled = list((private.target_dir / "compiled").rglob(f"{name}.sql"))
        if not compiled:
            raise DbtError(f"dbt compiled nothing for {name} in {private.target_dir}.")
        sql[name] = compiled[0].read_text(encoding="utf-8")
    return sql


def _connect(paths: Paths):
    import duckdb

    if paths.duckdb_path.is_file():
        try:
            connection = connect_duckdb(paths.duckdb_path, read_only=True)
        except duckdb.IOException as error:
            raise DbtError(
                f"Cannot open {paths.duckdb_path}: {error}. Another process (a build?) holds "
                "it; wait for it to finish."
            ) from error
    else:
        connection = connect_duckdb()
    return connection


def _label_share(connection, source: str, label: str) -> dict[str, Any] | None:
    columns = connection.sql(f"select * from {source} limit 0").columns
    if label not in columns:
        return None
    rows, positives = connection.sql(
        f'select count("{label}"), sum(case when "{label}" then 1 else 0 end) from {source}'
    ).fetchone()
    return {
        "rows": int(rows),
        "positive": int(positives or 0),
        "positive_share": (positives or 0) / rows if rows else None,
    }


def compute_drift(
    task: str,
    paths: Paths | None = None,
    *,
    reference: str | None = None,
    current: str | None = None,
) -> DriftReport:
    """Drift of `current` (default: the last build's training set) against the export
    `reference` (default: LATEST) for every feature of the task."""
    paths = paths or Paths.resolve()
    manifest_path = paths.target_dir / "manifest.json"
    if not manifest_path.is_file():
        run_dbt(["parse", "--quiet"], paths)
    manifest = read_artifact(paths.target_dir, "manifest.json")
    model = find_training_model(manifest, task)
    model_name = drift_model_name(manifest, model)
    reference_folder = export_folder(paths, task, reference)
    reference_file = _data_file(reference_folder)
    current_path, current_label = resolve_current(paths, task, current)
    if current_path is None and not paths.duckdb_path.is_file():
        raise DriftInputError(
            f"No build at {paths.duckdb_path} to take the current training set from: run "
            "`trainset build`, or name the current data with --current."
        )
    variables = {
        "drift_reference_path": str(reference_file.resolve()),
        "drift_reference_version": reference_folder.name,
        "drift_current_path": current_path or "",
    }
    histogram_name = histogram_model_name(manifest, model_name)
    names = [model_name] + ([histogram_name] if histogram_name else [])
    sql = _compile_models(paths, names, variables)
    connection = _connect(paths)
    try:
        rows = _records(connection, sql[model_name])
        histograms = _records(connection, sql[histogram_name]) if histogram_name else []
        reference_source = f"read_parquet('{reference_file.resolve()}')"
        current_source = (
            f"read_parquet('{current_path}', union_by_name = true)"
            if current_path
            else model.relation
        )
        label = {
            "column": model.label_column,
            "reference": _label_share(connection, reference_source, model.label_column),
            "current": _label_share(connection, current_source, model.label_column),
        }
    finally:
        connection.close()
    rows.sort(key=lambda row: _sort_key(row))
    share = rows[0]["drifted_share"] if rows else None
    return DriftReport(
        task=task,
        reference_version=reference_folder.name,
        current_source=current_label,
        features=rows,
        drifted_share=share,
        dataset_drifted=bool(rows and rows[0]["is_dataset_drifted"]),
        label=label,
        histograms=histograms,
    )


def _records(connection, sql: str) -> list[dict[str, Any]]:
    result = connection.sql(sql)
    return [dict(zip(result.columns, row, strict=True)) for row in result.fetchall()]


def _sort_key(row: dict[str, Any]) -> tuple:
    """Most drifted first: drifted before not, then by how far past the threshold."""
    score, threshold = row.get("score"), row.get("threshold")
    if score is None or threshold is None or (isinstance(score, float) and math.isnan(score)):
        return (1, 0.0, row["feature_name"])
    if row.get("p_value") is not None:  # a test: smaller p is further
        distance = -math.log10(max(score, 1e-300)) + math.log10(threshold)
    else:
        distance = math.log10(max(score, 1e-300)) - math.log10(max(threshold, 1e-300))
    return (0 if row["is_drifted"] else 1, -distance, row["feature_name"])
