"""Export a gated training set as an immutable, verifiable Parquet version.

Layout: `exports/<task>/<version>/` with `data.parquet` and `manifest.json`, and
`exports/<task>/LATEST` naming the newest complete version. A version is written into a
hidden temporary folder and renamed into place only once complete, so a failed or interrupted
export never shows a partial version and never touches earlier ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .availability import require_available
from .build import build_lock
from .dbt import DatabaseBusyError, read_artifact
from .engines import adapter_type, read_parquet_table, spark_table_location
from .errors import EXIT_USAGE, InputError
from .gates import GateReport, require_build, require_gate
from .monitoring.manifest import monitoring_record
from .output import quiet
from .project import Paths, connect_duckdb
from .splits import assign_splits, describe_splits
from .store import (
    DATA_FILE,
    LATEST_FILE,
    MANIFEST_FILE,
    TEMP_PREFIX,
    content_hash,
    write_json_atomic,
    write_text_atomic,
)


class ExportError(InputError):
    """Raised when a training set cannot be exported from what the build left."""


class UnknownTaskError(ExportError, LookupError):
    """Raised when no training model declares the requested task."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class TrainingModel:
    """A training model and its task metadata, read from dbt's manifest."""

    task: str
    unique_id: str
    relation: str
    entity_column: str
    cutoff_column: str
    label_column: str
    horizon_days: int
    node: dict[str, Any]


@dataclass(frozen=True)
class ExportResult:
    """Where a version landed and what it holds."""

    task: str
    version: str
    path: Path
    manifest: dict[str, Any]
    reused: bool


def _meta(node: dict[str, Any]) -> dict[str, Any]:
    meta = dict(node.get("meta") or {})
    meta.update(node.get("config", {}).get("meta") or {})
    return meta


def _horizon_days(node: dict[str, Any], spec: dict[str, Any]) -> int:
    """The label horizon a training model declares in `meta.trainset.horizon_days` (its YAML
    reads the label model's project var, so the label, the split purge and the manifest agree).
    There is no default: a missing horizon would purge with the wrong gap."""
    try:
        return int(spec["horizon_days"])
    except (KeyError, TypeError, ValueError) as error:
        raise ExportError(
            f"{node.get('original_file_path', node.get('name'))}: `meta.trainset.horizon_days` "
            f"must be the label horizon in whole days, got {spec.get('horizon_days')!r}; set it "
            "to the project var the label model reads, e.g. \"{{ var('churn_horizon_days') }}\"."
        ) from error


def training_models(manifest: dict[str, Any]) -> dict[str, TrainingModel]:
    """Every model declaring `meta.trainset.task`, keyed by task name."""
    models: dict[str, TrainingModel] = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") != "model":
            continue
        spec = _meta(node).get("trainset") or {}
        task = spec.get("task")
        if not task:
            continue
        models[task] = TrainingModel(
            task=task,
            unique_id=unique_id,
            relation=f'"{node["schema"]}"."{node.get("alias") or node["name"]}"',
            entity_column=spec.get("entity_column", "entity_id"),
            cutoff_column=spec.get("cutoff_column", "cutoff_at"),
            label_column=spec["label_column"],
            horizon_days=_horizon_days(node, spec),
            node=node,
        )
    return models


def find_training_model(manifest: dict[str, Any], task: str) -> TrainingModel:
    models = training_models(manifest)
    if task not in models:
        known = ", ".join(sorted(models)) or "none"
        raise UnknownTaskError(
            f"No training set named {task!r} in the dbt project (known: {known}). A training "
            "model declares it with `meta: {trainset: {task: ...}}` in its YAML."
        )
    return models[task]


def _git(project_dir: Path, *args: str) -> str | None:
    try:
        completed = subprocess.run(
            ["git", *args], cwd=project_dir, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return completed.stdout.strip()


def _package_versions() -> dict[str, str]:
    versions = {}
    for name in ["trainset", "dbt-core", "dbt-duckdb", "duckdb", "pandas", "pyarrow"]:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _sha256_text(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _definition_sources(manifest: dict[str, Any], unique_id: str) -> list[str]:
    """The code of the model, every model upstream of it and every project macro they call."""
    from .gates import upstream_nodes

    nodes = manifest.get("nodes", {})
    macros = manifest.get("macros", {})
    codes: list[str] = []
    seen_macros: set[str] = set()
    for node_id in sorted(upstream_nodes(manifest, unique_id)):
        node = nodes.get(node_id)
        if not node:
            continue
        codes.append(f"{node_id}\n{node.get('raw_code', '')}")
        stack = list(node.get("depends_on", {}).get("macros", []))
        while stack:
            macro_id = stack.pop()
            if macro_id in seen_macros or macro_id not in macros:
                continue
            seen_macros.add(macro_id)
            macro = macros[macro_id]
            if macro.get("package_name") in {"trainset", "dbt_expectations"}:
                codes.append(f"{macro_id}\n{macro.get('macro_sql', '')}")
            stack.extend(macro.get("depends_on", {}).get("macros", []))
    return codes


def feature_definitions(manifest: dict[str, Any], model: TrainingModel) -> dict[str, Any]:
    """Each feature column's documentation and a hash of the code that computes it."""
    code_hash = _sha256_text(*_definition_sources(manifest, model.unique_id))
    features = []
    skip = {model.entity_column, model.cutoff_column, model.label_column}
    for name, column in (model.node.get("columns") or {}).items():
        if name in skip:
            continue
        meta = _meta(column)
        features.append(
            {
                "name": name,
                "data_type": column.get("data_type"),
                "description": column.get("description", ""),
                "meta": meta,
                "definition_hash": _sha256_text(
                    name, str(column.get("data_type")), column.get("description", ""), code_hash
                ),
            }
        )
    return {"code_hash": code_hash, "features": features}


def feature_statistics(table: pa.Table, columns: list[str]) -> dict[str, dict[str, Any]]:
    """Null rate and summary statistics of each feature column."""
    import pyarrow.compute as pc

    statistics: dict[str, dict[str, Any]] = {}
    for name in columns:
        column = table.column(name)
        rows = len(column)
        entry: dict[str, Any] = {"null_rate": column.null_count / rows if rows else None}
        kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            as_float = pc.cast(column, pa.float64())
            entry.update(
                min=pc.min(as_float).as_py(),
                max=pc.max(as_float).as_py(),
                mean=pc.mean(as_float).as_py(),
                stddev=pc.stddev(as_float, ddof=1).as_py() if rows > 1 else None,
            )
        elif (
            pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind)
        ):
            counts = pc.value_counts(column).to_pylist()
            counts.sort(key=lambda item: (-item["counts"], str(item["values"])))
            entry.update(
                distinct=len(counts),
                top_values={str(item["values"]): item["counts"] for item in counts[:5]},
            )
        statistics[name] = entry
    return statistics


def _label_balance(table: pa.Table, label: str) -> dict[str, Any]:
    values = table.column(label).to_pylist()
    known = [value for value in values if value is not None]
    positives = sum(1 for value in known if bool(value))
    return {
        "positive": positives,
        "negative": len(known) - positives,
        "null": len(values) - len(known),
        "positive_share": positives / len(known) if known else None,
    }


def _parquet_round_trip(table: pa.Table) -> pa.Table:
    """The table as a reader of the exported Parquet will see it (types normalised by the
    format), so the hash in the manifest is the one `load` recomputes."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return pq.read_table(pa.BufferReader(sink.getvalue()))


def read_training_table(paths: Paths, model: TrainingModel, engine: str = "duckdb") -> pa.Table:
    """Read the training model in a canonical row order from the engine that built it: the
    DuckDB file, or the Parquet files of the Spark table (read directly, never collected
    through the Spark driver)."""
    if engine == "spark":
        table = model.node.get("alias") or model.node["name"]
        location = spark_table_location(paths.project_dir, model.node["schema"], table)
        return read_parquet_table(location, [model.entity_column, model.cutoff_column])
    if engine != "duckdb":
        raise ExportError(
            f"The last build ran on {engine}; `trainset export` reads DuckDB and Spark builds. "
            "Build with the dev or spark target to export."
        )
    import duckdb

    if not paths.duckdb_path.is_file():
        raise ExportError(f"{paths.duckdb_path} does not exist: run `trainset build` first.")
    try:
        connection = connect_duckdb(paths.duckdb_path, read_only=True)
    except duckdb.IOException as error:
        raise DatabaseBusyError(
            f"Cannot open {paths.duckdb_path}: {error}. Another process (a running dbt build?) "
            "holds the file; wait for it to finish and export again."
        ) from error
    try:
        columns = connection.sql(f"select * from {model.relation} limit 0").columns
        order = [model.entity_column, model.cutoff_column]
        order += [column for column in columns if column not in order]
        order_by = ", ".join(f'"{column}"' for column in order)
        return connection.sql(
            f"select * from {model.relation} order by {order_by}"
        ).to_arrow_table()
    finally:
        connection.close()


def engine_record(paths: Paths, model: TrainingModel, engine: str) -> dict[str, str]:
    """The manifest's `engine`: the adapter type of the build and where the table lives."""
    if engine == "spark":
        table = model.node.get("alias") or model.node["name"]
        location = spark_table_location(paths.project_dir, model.node["schema"], table)
        return {
            "type": engine,
            "table": f"{model.node['schema']}.{table}",
            "location": str(location),
        }
    return {"type": engine, "database": str(paths.duckdb_path)}


def export_training_set(
    task: str,
    paths: Paths | None = None,
    *,
    progress: Callable[[str], None] = quiet,
    _before_publish: Callable[[Path], None] | None = None,
) -> ExportResult:
    """Export the training set of `task` after checking the gate. Returns the version written,
    or the existing version when the same content was already exported.

    Holds the build lock shared while it reads, so no build changes the database under it."""
    paths = paths or Paths.resolve()
    with build_lock(paths.duckdb_path, "export", shared=True):
        return _export(task, paths, progress, _before_publish)


def _export(
    task: str,
    paths: Paths,
    progress: Callable[[str], None],
    _before_publish: Callable[[Path], None] | None,
) -> ExportResult:
    manifest = read_artifact(paths.target_dir, "manifest.json")
    model = find_training_model(manifest, task)
    progress(f"export {task}: checking the last build of {model.unique_id} and its upstream")
    build = require_build(paths)
    record = build.record
    require_available((record.landing or {}).get("availability"), manifest, model.unique_id)
    gate: GateReport = require_gate(paths.target_dir, model.unique_id)
    progress(
        f"export {task}: gate passed (build {record.build_id}, {len(gate.passed)} nodes and tests)"
    )

    engine = adapter_type(manifest)
    table = _parquet_round_trip(read_training_table(paths, model, engine))
    digest = content_hash(table)
    task_dir = paths.exports_dir / task
    task_dir.mkdir(parents=True, exist_ok=True)
    for existing in sorted(task_dir.iterdir()):
        manifest_path = existing / MANIFEST_FILE
        if existing.name.startswith(TEMP_PREFIX) or not manifest_path.is_file():
            continue
        previous = json.loads(manifest_path.read_text(encoding="utf-8"))
        if previous.get("content_sha256") == digest:
            write_text_atomic(task_dir / LATEST_FILE, existing.name + "\n")
            progress(f"export {task}: same content as {existing.name}; LATEST points to it")
            return ExportResult(task, existing.name, existing, previous, reused=True)

    created_at = datetime.now(UTC)
    version = f"{created_at.strftime('%Y%m%dT%H%M%SZ')}-{digest[:12]}"
    run_results = read_artifact(paths.target_dir, "run_results.json")
    cutoffs = table.column(model.cutoff_column)
    import pyarrow.compute as pc

    bounds = pc.min_max(cutoffs)
    definitions = feature_definitions(manifest, model)
    cutoff_values = cutoffs.to_pylist()
    rows_per_cutoff: dict[Any, int] = {}
    for value in cutoff_values:
        rows_per_cutoff[value] = rows_per_cutoff.get(value, 0) + 1
    try:
        splits = describe_splits(assign_splits(cutoff_values, model.horizon_days), rows_per_cutoff)
    except ValueError as error:
        splits = {"method": "none", "reason": str(error)}
    export_manifest = {
        "task": task,
        "version": version,
        "created_at": created_at.isoformat(),
        "content_sha256": digest,
        "row_count": table.num_rows,
        "data_file": DATA_FILE,
        "schema": [{"name": field.name, "type": str(field.type)} for field in table.schema],
        "entity_column": model.entity_column,
        "cutoff_column": model.cutoff_column,
        "label_column": model.label_column,
        "cutoff_bounds": {
            "min": None if bounds["min"].as_py() is None else bounds["min"].as_py().isoformat(),
            "max": None if bounds["max"].as_py() is None else bounds["max"].as_py().isoformat(),
        },
        "label_balance": _label_balance(table, model.label_column),
        "feature_definitions": definitions,
        "feature_statistics": feature_statistics(
            table, [feature["name"] for feature in definitions["features"]]
        ),
        **monitoring_record(paths, model.unique_id),
        "splits": splits,
        "source_model": model.unique_id,
        "git": {
            "commit": _git(paths.project_dir, "rev-parse", "HEAD"),
            "dirty": bool(_git(paths.project_dir, "status", "--porcelain")),
        },
        "dbt": {
            "invocation_id": run_results.get("metadata", {}).get("invocation_id"),
            "generated_at": run_results.get("metadata", {}).get("generated_at"),
            "gates_passed": len(gate.passed),
            "gates_warned": gate.warned,
            "tests_passed": sorted(
                node for node in gate.passed if node.split(".")[0] in {"test", "unit_test"}
            ),
        },
        "build": {
            "build_id": record.build_id,
            "started_at": record.started_at,
            "finished_at": record.finished_at,
            "code_hash": record.code_hash,
            "landing_fingerprint": record.landing_fingerprint,
        },
        "landing": {"dir": str(paths.landing_dir), **build.landing.to_record()},
        "engine": engine_record(paths, model, engine),
        "packages": _package_versions(),
    }

    temporary = task_dir / f"{TEMP_PREFIX}{version}-{uuid.uuid4().hex[:8]}"
    temporary.mkdir()
    try:
        progress(f"export {task}: writing {table.num_rows:,} rows to {temporary.name}")
        pq.write_table(table, temporary / DATA_FILE, compression="zstd")
        write_json_atomic(temporary / MANIFEST_FILE, export_manifest)
        if _before_publish is not None:
            _before_publish(temporary)
        final = task_dir / version
        os.rename(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    write_text_atomic(task_dir / LATEST_FILE, version + "\n")
    progress(f"export {task}: published {final}")
    return ExportResult(task, version, final, export_manifest, reused=False)
