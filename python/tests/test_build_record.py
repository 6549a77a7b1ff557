"""The build record ties an export to the build that checked its data, and the build lock keeps
two builds off one database. Real `trainset build` processes on real DuckDB files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import PROJECT_DIR, make_paths, project_paths
from trainset.build import (
    PASSED,
    REFUSED,
    RUNNING,
    code_hash,
    latest_record,
    lock_path,
    read_records,
    records_dir,
)
from trainset.dbt import read_artifact
from trainset.export import export_training_set
from trainset.gates import GateError
from trainset.project import Paths, connect_duckdb

pytestmark = pytest.mark.integration
QUIET = {"progress": lambda message: None}


def copy_project(destination: Path) -> Path:
    """A private copy of the dbt project, so its code hash is what this test builds."""
    shutil.copytree(
        PROJECT_DIR,
        destination,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "data", "exports", "target", "logs", "dbt_packages", "python"
        ),
    )
    (destination / "dbt_packages").mkdir()
    (destination / "dbt_packages" / "dbt_expectations").symlink_to(
        destination / "local_packages" / "dbt_expectations"
    )
    return destination


def environment(paths: Paths) -> dict[str, str]:
    return {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "TRAINSET_PROJECT_DIR": str(paths.project_dir),
        "TRAINSET_DUCKDB_PATH": str(paths.duckdb_path),
        "TRAINSET_LANDING_DIR": str(paths.landing_dir),
        "TRAINSET_EXPORTS_DIR": str(paths.exports_dir),
        "DBT_TARGET_PATH": str(paths.target_dir),
        "DBT_LOG_PATH": str(paths.target_dir.parent / "logs"),
    }


def trainset_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "trainset.cli", *args]


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def copy_state(source: Paths, root: Path) -> Paths:
    """The database, artifacts, build records and landing zone of a build, in a new folder."""
    paths = replace(project_paths(root), project_dir=source.project_dir)
    shutil.copytree(source.landing_dir, paths.landing_dir)
    shutil.copy(source.duckdb_path, paths.duckdb_path)
    shutil.copytree(source.target_dir, paths.target_dir, ignore=shutil.ignore_patterns("logs"))
    shutil.copytree(records_dir(source.target_dir), records_dir(paths.target_dir))
    return paths


def reference_files(landing_dir: Path) -> dict[str, dict]:
    """Independent listing of the landing zone: every Parquet file of every table folder."""
    listing = {}
    for path in sorted(landing_dir.glob("*/*.parquet")):
        data = path.read_bytes()
        listing[path.relative_to(landing_dir).as_posix()] = {
            "size": len(data),
            "rows": pq.read_metadata(path).num_rows,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    return listing


@dataclass
class Pair:
    paths: Paths
    first: subprocess.CompletedProcess
    first_pid: int
    second: subprocess.CompletedProcess
    second_seconds: float


@pytest.fixture(scope="module")
def pair(small_landing, tmp_path_factory) -> Pair:
    """Two `trainset build` processes on one database, the second started while the first runs."""
    root = tmp_path_factory.mktemp("pair")
    paths = replace(make_paths(root), project_dir=copy_project(root / "project"))
    shutil.copytree(small_landing[0], paths.landing_dir)
    env = environment(paths)
    first = subprocess.Popen(
        trainset_command("build"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lock = lock_path(paths.duckdb_path)
    try:
        wait_for(
            lambda: lock.is_file() and f"PID {first.pid}" in lock.read_text(),
            120,
            "the first build to take the lock",
        )
        time.sleep(2)
        assert first.poll() is None, "the first build ended before the second started"
        started = time.monotonic()
        second = subprocess.run(
            trainset_command("build"), env=env, capture_output=True, text=True, timeout=120
        )
        second_seconds = time.monotonic() - started
        stdout, stderr = first.communicate(timeout=1800)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    completed = subprocess.CompletedProcess(first.args, first.returncode, stdout, stderr)
    return Pair(paths, completed, first.pid, second, second_seconds)


def test_a_second_build_fails_at_once_with_one_line_and_the_first_passes(pair):
    second = pair.second
    assert second.returncode == 7, second.stderr  # busy: another build holds the database
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert str(pair.paths.duckdb_path) in lines[0]
    assert f"PID {pair.first_pid}" in lines[0]
    assert "wait for it to finish" in lines[0]
    assert pair.second_seconds < 30
    assert pair.first.returncode == 0, pair.first.stderr[-3000:]
    # Quiet output for a log file: a few progress lines, no dbt log, no escape codes, and the
    # last line says how it ended and where the result is.
    first_lines = pair.first.stderr.strip().splitlines()
    assert "\x1b" not in pair.first.stderr
    assert len(first_lines) < 60, pair.first.stderr[-3000:]
    assert first_lines[-1].startswith("build: passed in ")
    assert first_lines[-1].endswith(f"-> {pair.paths.duckdb_path}")
    # One build ran, and it is the one on record.
    records = read_records(pair.paths.target_dir)
    assert [record.state for record in records] == [PASSED]
    run_results = read_artifact(pair.paths.target_dir, "run_results.json")
    assert records[0].dbt_invocation_id == run_results["metadata"]["invocation_id"]
    assert records[0].pid == pair.first_pid
    connection = connect_duckdb(pair.paths.duckdb_path, read_only=True)
    try:
        (rows,) = connection.sql("select count(*) from training.train_churn_30d").fetchone()
    finally:
        connection.close()
    assert rows > 0


def test_the_record_of_a_passing_build_lets_the_export_pass(pair, tmp_path):
    paths = replace(pair.paths, exports_dir=tmp_path / "exports")
    record = latest_record(paths.target_dir)
    assert record.state == PASSED
    assert record.code_hash == code_hash(paths.project_dir)
    result = export_training_set("churn_30d", paths, **QUIET)
    manifest = result.manifest
    assert manifest["build"]["build_id"] == record.build_id
    assert manifest["build"]["code_hash"] == record.code_hash
    assert manifest["dbt"]["invocation_id"] == record.dbt_invocation_id
    expected = reference_files(paths.landing_dir)
    listed = {entry.pop("path"): entry for entry in manifest["landing"]["files"]}
    assert listed == expected
    assert manifest["landing"]["fingerprint"] == manifest["build"]["landing_fingerprint"]
    assert manifest["landing"]["fingerprint"] == record.landing_fingerprint


def refusal(paths: Paths) -> str:
    with pytest.raises(GateError) as error:
        export_training_set("churn_30d", paths, **QUIET)
    assert not (paths.exports_dir / "churn_30d" / "LATEST").exists()
    return str(error.value)


def test_a_changed_landing_file_after_the_build_refuses_the_export(pair, tmp_path):
    paths = copy_state(pair.paths, tmp_path)
    part = sorted((paths.landing_dir / "orders").glob("*.parquet"))[0]
    table = pq.read_table(part)
    pq.write_table(table.slice(1), part)
    message = refusal(paths)
    assert "landing files" in message and "orders/" in message and "changed" in message
    assert "run `trainset build`" in message


def test_changed_project_code_after_the_build_refuses_the_export(pair, tmp_path):
    paths = copy_state(pair.paths, tmp_path)
    project = copy_project(tmp_path / "project")
    model = project / "models" / "training" / "train_churn_30d.sql"
    model.write_text(model.read_text() + "\n-- reviewed\n")
    message = refusal(replace(paths, project_dir=project))
    assert "project's code" in message and "changed since build" in message


def test_run_results_from_another_invocation_refuse_the_export(pair, tmp_path):
    paths = copy_state(pair.paths, tmp_path)
    run_results_path = paths.target_dir / "run_results.json"
    run_results = json.loads(run_results_path.read_text())
    run_results["metadata"]["invocation_id"] = "0000-another-dbt-run"
    run_results_path.write_text(json.dumps(run_results))
    message = refusal(paths)
    assert "is from dbt invocation 0000-another-dbt-run" in message


def test_a_build_killed_midway_refuses_the_export(pair, tmp_path):
    paths = copy_state(pair.paths, tmp_path)
    before = read_artifact(paths.target_dir, "run_results.json")["metadata"]["invocation_id"]
    env = environment(paths)
    log = Path(env["DBT_LOG_PATH"]) / "dbt.log"
    process = subprocess.Popen(
        trainset_command("build"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(
            lambda: log.is_file() and " OK created " in log.read_text(errors="replace"),
            300,
            "the build to create its first model",
        )
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    # The artifacts still name the previous, passing invocation: the trap the record closes.
    assert read_artifact(paths.target_dir, "run_results.json")["metadata"]["invocation_id"] == (
        before
    )
    record = latest_record(paths.target_dir)
    assert record.state == RUNNING and record.pid == process.pid
    message = refusal(paths)
    assert f"build {record.build_id} started at" in message and "never finished" in message


def test_a_build_refused_by_the_landing_check_refuses_the_export(pair, tmp_path):
    paths = copy_state(pair.paths, tmp_path)
    stray = paths.landing_dir / "orders" / "late-orders.csv"
    stray.write_text("order_id,amount\n1,2.0\n")
    completed = subprocess.run(
        trainset_command("build"), env=environment(paths), capture_output=True, text=True
    )
    assert completed.returncode == 3  # input: the landing files need fixing
    assert str(stray) in completed.stderr
    record = latest_record(paths.target_dir)
    assert record.state == REFUSED and str(stray) in record.reasons[0]
    message = refusal(paths)
    assert f"build {record.build_id} refused" in message and str(stray) in message


def test_verify_names_landing_files_that_differ_from_the_export(pair, tmp_path):
    from trainset.verify import _landing_changes

    paths = replace(pair.paths, exports_dir=tmp_path / "exports")
    manifest = export_training_set("churn_30d", paths, **QUIET).manifest
    assert _landing_changes(manifest, paths) == []
    moved = replace(paths, landing_dir=tmp_path / "landing")
    shutil.copytree(paths.landing_dir, moved.landing_dir)
    part = sorted((moved.landing_dir / "orders").glob("*.parquet"))[0]
    pq.write_table(pq.read_table(part).slice(1), part)
    refunds = sorted((moved.landing_dir / "refunds").glob("*.parquet"))[0]
    shutil.copy(refunds, refunds.with_name("part-extra.parquet"))
    (warning,) = _landing_changes(manifest, moved)
    assert f"{part.relative_to(moved.landing_dir).as_posix()}, " in warning
    assert "refunds/part-extra.parquet (new)" in warning
