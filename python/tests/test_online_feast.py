"""A client written for Feast's feature server works unchanged: Feast 0.67's own Python SDK,
configured with its `remote` online store, reads from `trainset serve` and gets the serving
mart's values. Feast runs in its own virtual environment (created once and cached, see
`peer_environments.feast_venv`), never in the project's."""

from __future__ import annotations

import json
import subprocess

import pytest

from online_support import feature_server, mart
from peer_environments import feast_venv
from trainset.dbt import read_artifact
from trainset.online import materialize
from trainset.online.catalog import load_catalog
from trainset.online.feast_repo import write_feast_repo

pytestmark = pytest.mark.integration

CLIENT = """
import json, sys
from feast import FeatureStore

store = FeatureStore(repo_path=sys.argv[1])
ids = json.loads(sys.argv[2])
references = json.loads(sys.argv[3])
rows = [{"customer_id": key} for key in ids]
print(json.dumps({
    "references": store.get_online_features(features=references, entity_rows=rows).to_dict(),
    "service": store.get_online_features(
        features=store.get_feature_service("churn_30d"), entity_rows=rows, full_feature_names=True
    ).to_dict(),
}))
"""


def test_feast_sdk_reads_the_serving_marts_values(built, tmp_path):
    assert built.success
    venv = feast_venv()
    store_path = tmp_path / "features.sqlite"
    materialize(built.paths, store=str(store_path), progress=lambda message: None)
    columns, rows, _ = mart(built.paths.duckdb_path)
    catalog = load_catalog(read_artifact(built.paths.target_dir, "manifest.json"))
    ids = sorted(rows) + [10**12]
    with feature_server(str(store_path)) as server:
        repo = write_feast_repo(catalog, tmp_path / "feast_repo", remote_url=server.url)
        subprocess.run(
            [str(venv / "bin" / "feast"), "apply"], cwd=repo, check=True, capture_output=True
        )
        completed = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                CLIENT,
                str(repo),
                json.dumps(ids),
                json.dumps([f"{catalog.view}:{name}" for name in columns]),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    got = json.loads(completed.stdout.strip().splitlines()[-1])
    assert got["references"]["customer_id"] == ids
    for name in columns:
        expected = [rows[key][name] for key in sorted(rows)] + [None]
        assert got["references"][name] == expected, name
    assert list(got["service"]) == ["customer_id"] + [
        f"{catalog.view}__{name}" for name in catalog.services["churn_30d"]
    ]
    for name in catalog.services["churn_30d"]:
        assert got["service"][f"{catalog.view}__{name}"] == [
            rows[key][name] for key in sorted(rows)
        ] + [None]
