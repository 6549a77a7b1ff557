"""Every model, snapshot and column is documented, and the documented columns are the real ones."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from conftest import with_saved_parse
from trainset.dbt import read_artifact, run_dbt
from trainset.project import connect_duckdb

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def artifacts(built, tmp_path_factory):
    # A target folder of its own: `docs generate` rewrites run_results.json, which the export
    # gate of the shared build reads.
    paths = with_saved_parse(
        replace(built.paths, target_dir=tmp_path_factory.mktemp("docs") / "target")
    )
    logs = str(paths.target_dir / "logs")
    assert run_dbt(["docs", "generate", "--log-path", logs], paths).success
    return (
        read_artifact(paths.target_dir, "manifest.json"),
        read_artifact(paths.target_dir, "catalog.json"),
    )


def project_nodes(manifest):
    for unique_id, node in manifest["nodes"].items():
        if node["package_name"] == "trainset" and node["resource_type"] in {"model", "snapshot"}:
            yield unique_id, node


def test_every_model_and_column_has_a_description(artifacts):
    manifest, _ = artifacts
    missing = []
    for unique_id, node in project_nodes(manifest):
        if not node.get("description", "").strip():
            missing.append(unique_id)
        for name, column in node["columns"].items():
            if not column.get("description", "").strip():
                missing.append(f"{unique_id}.{name}")
    assert missing == []


def test_documented_columns_are_exactly_the_built_columns(artifacts):
    manifest, catalog = artifacts
    mismatches = {}
    for unique_id, node in project_nodes(manifest):
        built_columns = {name.lower() for name in catalog["nodes"][unique_id]["columns"]}
        documented = {name.lower() for name in node["columns"]}
        if built_columns != documented:
            mismatches[unique_id] = {
                "undocumented": sorted(built_columns - documented),
                "not built": sorted(documented - built_columns),
            }
    assert mismatches == {}


def test_every_source_column_is_documented_with_a_type(artifacts):
    manifest, _ = artifacts
    for unique_id, source in manifest["sources"].items():
        assert source["description"].strip(), unique_id
        for name, column in source["columns"].items():
            assert column["description"].strip() and column["data_type"], f"{unique_id}.{name}"


def test_every_model_has_an_owner(artifacts):
    manifest, _ = artifacts
    unowned = [
        unique_id
        for unique_id, node in project_nodes(manifest)
        if node["resource_type"] == "model" and not (node["config"].get("meta") or {}).get("owner")
    ]
    assert unowned == []


def test_every_public_macro_and_argument_is_documented(artifacts):
    """Public macros (not `_`-prefixed helpers, not the `<adapter>__` implementations a public
    macro dispatches to) carry a description and one for each argument, in the YAML beside."""
    manifest, _ = artifacts
    adapters = ("default__", "duckdb__", "postgres__", "spark__")
    missing = []
    for unique_id, macro in manifest["macros"].items():
        name = macro["name"]
        if macro["package_name"] != "trainset" or name.startswith(("_", *adapters)):
            continue
        if not macro.get("description", "").strip():
            missing.append(unique_id)
        described = {
            argument["name"]
            for argument in macro.get("arguments", [])
            if argument.get("description", "").strip()
        }
        missing += [
            f"{unique_id}({argument})"
            for argument in signature_arguments(macro["macro_sql"], name)
            if argument not in described
        ]
    assert missing == []


def signature_arguments(sql: str, name: str) -> list[str]:
    """The argument names in `{% macro name(a, b=[1, 2], c='x') %}` (or `{% test ... %}` for
    a generic test, which the manifest names `test_<name>`)."""
    test_name = name.removeprefix("test_")
    match = re.search(
        rf"\{{%-?\s*(?:macro\s+{re.escape(name)}|test\s+{re.escape(test_name)})\s*\(", sql
    )
    assert match, name
    depth, current, parts = 0, "", []
    for character in sql[match.end() :]:
        if depth == 0 and character in ",)":
            parts.append(current)
            current = ""
            if character == ")":
                break
            continue
        depth += character in "([{"
        depth -= character in ")]}"
        current += character
    return [part.split("=")[0].strip() for part in parts if part.strip()]


def test_the_drift_analysis_runs_on_a_build(artifacts, built):
    """The example analysis, as `dbt compile` gives it, runs on a build: one verdict per named
    feature, the two sides together holding every row with a value."""
    manifest, _ = artifacts
    node = manifest["nodes"]["analysis.trainset.drift_between_cutoffs"]
    assert node["description"]
    connection = connect_duckdb(built.paths.duckdb_path, read_only=True)
    try:
        result = connection.sql(node["compiled_code"])
        rows = {row[0]: dict(zip(result.columns, row, strict=True)) for row in result.fetchall()}
        valued = connection.execute(
            "select count(plan), count(tenure_days), count(spend_sum_90d) "
            "from training.train_churn_30d"
        ).fetchone()
    finally:
        connection.close()
    names = ["plan", "tenure_days", "spend_sum_90d"]
    assert sorted(rows) == sorted(names)
    for name, count in zip(names, valued, strict=True):
        row = rows[name]
        assert row["reference_count"] > 0 and row["current_count"] > 0, row
        assert row["reference_count"] + row["current_count"] == count, row
        assert row["method"] in ("ks", "chisquare", "z") and row["is_drifted"] in (True, False)
