"""Every model, snapshot and column is documented, and the documented columns are the real ones."""

from __future__ import annotations

from dataclasses import replace

import pytest

from trainset.dbt import read_artifact, run_dbt

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def artifacts(built, tmp_path_factory):
    # A target folder of its own: `docs generate` rewrites run_results.json, which the export
    # gate of the shared build reads.
    paths = replace(built.paths, target_dir=tmp_path_factory.mktemp("docs") / "target")
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
