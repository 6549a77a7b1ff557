"""What an export's manifest records from monitoring: the profile of each feature (from the
build's `mon_training_profile` and the current side of `mon_training_histogram`, bins fixed by
the reference export) and the drift gate's decision (see `gate`).

Imported by `trainset.export`; everything below it is imported lazily, so monitoring can
build on the export module without a cycle.
"""

from __future__ import annotations

from typing import Any

PROFILE_MODEL = "mon_training_profile"
HISTOGRAM_MODEL = "mon_training_histogram"


def monitoring_record(paths: Any, training_model_id: str) -> dict[str, Any]:
    """`feature_profile` and `drift` entries for the export manifest. Raises
    DriftRefusedError (an export gate error) on an `error`-level drift not accepted."""
    from .gate import export_drift_decision

    return {
        "drift": export_drift_decision(paths, training_model_id),
        "feature_profile": feature_profile(paths, training_model_id),
    }


def _relation(node: dict[str, Any]) -> str:
    return f'"{node["schema"]}"."{node.get("alias") or node["name"]}"'


def open_built_models(paths: Any, manifest: dict[str, Any], nodes: list[dict[str, Any]]) -> Any:
    """A DuckDB connection in which each node's relation (`"schema"."name"`) reads the table
    the last build made: the build's DuckDB file, or on Spark (the manifest's adapter) views
    over the table's Parquet files in the session warehouse. Read-only either way."""
    from ..engines import spark_table_location
    from ..project import connect_duckdb

    if manifest.get("metadata", {}).get("adapter_type") != "spark":
        return connect_duckdb(paths.duckdb_path, read_only=True)
    connection = connect_duckdb()
    for node in nodes:
        name = node.get("alias") or node["name"]
        location = spark_table_location(paths.project_dir, node["schema"], name)
        files = str(location / "*.parquet").replace("'", "''")
        connection.execute(f'create schema if not exists "{node["schema"]}"')
        connection.execute(
            f"create view {_relation(node)} as select * from read_parquet('{files}')"
        )
    return connection


def feature_profile(paths: Any, training_model_id: str) -> dict[str, Any]:
    """Per feature: rows, nulls, distinct, mean, std, min, max, quantiles, histogram bins and
    top categories, as the last build computed them for the set being exported."""
    from ..dbt import read_artifact

    manifest = read_artifact(paths.target_dir, "manifest.json")
    run_results = read_artifact(paths.target_dir, "run_results.json")
    statuses = {result["unique_id"]: result.get("status") for result in run_results["results"]}
    nodes = {
        node["name"]: (unique_id, node)
        for unique_id, node in manifest.get("nodes", {}).items()
        if node.get("resource_type") == "model"
        and training_model_id in node.get("depends_on", {}).get("nodes", [])
    }
    if PROFILE_MODEL not in nodes or statuses.get(nodes[PROFILE_MODEL][0]) != "success":
        return {"profiled": False, "reason": f"{PROFILE_MODEL} did not run in the last build"}
    built_nodes = [nodes[PROFILE_MODEL][1]]
    if HISTOGRAM_MODEL in nodes and statuses.get(nodes[HISTOGRAM_MODEL][0]) == "success":
        built_nodes.append(nodes[HISTOGRAM_MODEL][1])
    connection = open_built_models(paths, manifest, built_nodes)
    try:
        result = connection.sql(
            f"select * from {_relation(nodes[PROFILE_MODEL][1])} order by feature_name"
        )
        profiles = {
            row["feature_name"]: {key: value for key, value in row.items() if key != "feature_name"}
            for row in (
                dict(zip(result.columns, values, strict=True)) for values in result.fetchall()
            )
        }
        bins_reference = None
        if HISTOGRAM_MODEL in nodes and statuses.get(nodes[HISTOGRAM_MODEL][0]) == "success":
            result = connection.sql(
                "select feature_name, bin_index, bin_label, low, high, row_count, share, "
                f"reference_version from {_relation(nodes[HISTOGRAM_MODEL][1])} "
                "where side = 'current' order by feature_name, bin_index nulls last, bin_label"
            )
            for values in result.fetchall():
                row = dict(zip(result.columns, values, strict=True))
                bins_reference = row.pop("reference_version")
                entry = profiles.setdefault(row.pop("feature_name"), {})
                key = (
                    "top_categories" if entry.get("feature_kind") == "categorical" else "histogram"
                )
                entry.setdefault(key, []).append(row)
    finally:
        connection.close()
    return {"profiled": True, "bins_fixed_by": bins_reference, "features": profiles}
