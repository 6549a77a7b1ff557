"""The online commands' errors as scripts see them: the real command line, against the shared
build (or a copy of its artifacts changed in one place), exits with the code of the error's kind
and prints one line on stderr naming what to fix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from trainset.errors import (
    EXIT_BUSY,
    EXIT_INPUT,
    EXIT_NOT_FOUND,
    EXIT_REFUSED,
    EXIT_USAGE,
)


@pytest.fixture(scope="module")
def online_cli(built):
    """Run `trainset <args>` in a child process against the shared build."""
    assert built.success
    paths = built.paths
    environment = {
        **os.environ,
        "TRAINSET_DUCKDB_PATH": str(paths.duckdb_path),
        "TRAINSET_LANDING_DIR": str(paths.landing_dir),
        "DBT_TARGET_PATH": str(paths.target_dir),
    }

    def run(*args: str, **overrides: str) -> tuple[int, str]:
        command = [sys.executable, "-m", "trainset.cli", "--project-dir", str(paths.project_dir)]
        completed = subprocess.run(
            [*command, *args],
            env={**environment, **overrides},
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = completed.stderr.strip().splitlines()
        assert len(lines) == 1, completed.stderr
        assert completed.stdout == ""
        return completed.returncode, lines[0]

    run.paths = paths
    return run


def changed_target(source: Path, destination: Path, artifact: str, change) -> Path:
    """A copy of the build's manifest and run results with one artifact changed by `change`."""
    destination.mkdir()
    for name in ("manifest.json", "run_results.json"):
        shutil.copy(source / name, destination / name)
    data = json.loads((destination / artifact).read_text())
    change(data)
    (destination / artifact).write_text(json.dumps(data))
    return destination


def test_unknown_task_is_a_usage_error(online_cli, tmp_path):
    code, line = online_cli(
        "materialize", "--task", "nosuchtask", "--store", str(tmp_path / "s.sqlite")
    )
    assert code == EXIT_USAGE
    assert line.startswith("trainset: No training task 'nosuchtask' serves from")
    assert "known: churn" in line


def test_serving_model_without_view_is_an_input_error(online_cli, tmp_path):
    def drop_view(manifest):
        for node in manifest["nodes"].values():
            for meta in (node.get("meta") or {}, node.get("config", {}).get("meta") or {}):
                (meta.get("serving") or {}).pop("view", None)

    target = changed_target(online_cli.paths.target_dir, tmp_path / "t", "manifest.json", drop_view)
    code, line = online_cli(
        "materialize", "--store", str(tmp_path / "s.sqlite"), DBT_TARGET_PATH=str(target)
    )
    assert code == EXIT_INPUT
    assert line.endswith(".yml: config.meta.serving lacks view.")
    assert line.startswith("trainset: models/serving/serve_customer__features.yml:")


def test_missing_build_database_says_to_build(online_cli, tmp_path):
    missing = tmp_path / "none.duckdb"
    code, line = online_cli(
        "materialize", "--store", str(tmp_path / "s.sqlite"), TRAINSET_DUCKDB_PATH=str(missing)
    )
    assert code == EXIT_INPUT
    assert line == f"trainset: {missing} does not exist: run `trainset build` first."


def test_database_held_by_a_build_is_busy(online_cli, tmp_path):
    held = tmp_path / "held.duckdb"
    shutil.copy(online_cli.paths.duckdb_path, held)
    holder = duckdb.connect(str(held))  # a writer, as a build is
    try:
        code, line = online_cli(
            "materialize", "--store", str(tmp_path / "s.sqlite"), TRAINSET_DUCKDB_PATH=str(held)
        )
    finally:
        holder.close()
    assert code == EXIT_BUSY
    assert f"Cannot read {held}" in line
    assert line.endswith("Materialize after the build finishes.")


def test_failed_upstream_test_refuses(online_cli, tmp_path):
    failed: list[str] = []

    def fail_one_test(run_results):
        for result in run_results["results"]:
            if (
                result["unique_id"].startswith("test.")
                and "stg_shop__orders" in result["unique_id"]
            ):
                result["status"] = "fail"
                failed.append(result["unique_id"])
                return

    target = changed_target(
        online_cli.paths.target_dir, tmp_path / "t", "run_results.json", fail_one_test
    )
    code, line = online_cli(
        "materialize", "--store", str(tmp_path / "s.sqlite"), DBT_TARGET_PATH=str(target)
    )
    assert code == EXIT_REFUSED
    assert "refused: 1 upstream nodes and tests did not pass" in line
    assert "run `trainset build` again" in line and failed[0] in line


def test_store_without_a_version_is_not_found(online_cli, tmp_path):
    store = tmp_path / "empty.sqlite"
    code, line = online_cli("skew", "--store", str(store))
    assert code == EXIT_NOT_FOUND
    assert line == (
        f"trainset: The online store sqlite:///{store} holds no version: run "
        "`trainset materialize` first."
    )


def test_unreadable_store_is_an_input_error(online_cli, tmp_path):
    folder = tmp_path / "not-a-file.sqlite"
    folder.mkdir()
    code, line = online_cli("skew", "--store", str(folder))
    assert code == EXIT_INPUT
    assert line.startswith("trainset: Cannot ")
    assert str(folder) in line and "point --store (TRAINSET_ONLINE_STORE) at another" in line


def test_unsupported_store_url_is_a_usage_error(online_cli):
    code, line = online_cli("skew", "--store", "ftp://example/store")
    assert code == EXIT_USAGE
    assert line.startswith("trainset: Unsupported online store 'ftp://example/store'")
