"""Layer schemas: bare names under the default target schema, prefixed under any other, so two
people sharing one PostgreSQL server never write into each other's tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import PROJECT_DIR


def _schemas(tmp_path, name: str, **env: str) -> dict[str, str]:
    """The schema dbt resolves for every model, without connecting (`dbt ls`)."""
    environment = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DBT_TARGET_PATH": str(tmp_path / f"target_{name}"),
        "DBT_LOG_PATH": str(tmp_path / f"logs_{name}"),
        **env,
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dbt.cli.main",
            "ls",
            "--profiles-dir",
            ".",
            "--resource-type",
            "model",
            "--output",
            "json",
            "--output-keys",
            "name schema",
            "-q",
        ],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {row["name"]: row["schema"] for row in rows}


def test_two_people_on_one_postgres_server_get_schemas_of_their_own(tmp_path):
    alice = _schemas(tmp_path, "alice", TRAINSET_TARGET="pg", TRAINSET_PG_SCHEMA="alice")
    bob = _schemas(tmp_path, "bob", TRAINSET_TARGET="pg", TRAINSET_PG_SCHEMA="bob")
    default = _schemas(tmp_path, "duckdb")

    assert default["train_churn_30d"] == "training"
    assert default["stg_shop__orders"] == "staging"
    assert alice["train_churn_30d"] == "alice_training"
    assert bob["stg_shop__orders"] == "bob_staging"
    assert set(alice) == set(default) and len(default) > 20
    assert not set(alice.values()) & set(bob.values())
    assert all(schema.startswith("alice_") for schema in alice.values())
