"""The command line as scripts see it: exit codes per kind of error, one-line messages, empty
results that say so, quiet output without escape codes; and the dbt runner's isolation."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import make_paths, saved_parse, with_saved_parse
from trainset.dbt import BOUNDS_VARIABLE, DRIFT_VARIABLE, dbt_environment, read_artifact, run_dbt
from trainset.output import CLEAR_LINE, Output
from trainset.project import Paths, connect_duckdb
from trainset.verify import compare_tables


@pytest.fixture(scope="module")
def cli(built, tmp_path_factory):
    """Run `trainset <args>` in a child process against the shared build, with empty exports."""
    exports = tmp_path_factory.mktemp("cli-exports")
    paths = replace(built.paths, exports_dir=exports)
    environment = {
        **os.environ,
        "TRAINSET_DUCKDB_PATH": str(paths.duckdb_path),
        "TRAINSET_LANDING_DIR": str(paths.landing_dir),
        "TRAINSET_EXPORTS_DIR": str(paths.exports_dir),
        "DBT_TARGET_PATH": str(paths.target_dir),
    }

    def run(*args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "trainset.cli", "--project-dir", str(paths.project_dir)]
        return subprocess.run(
            [*command, *args],
            env={**environment, **overrides},
            capture_output=True,
            text=True,
            timeout=300,
        )

    run.paths = paths
    return run


def one_line(completed: subprocess.CompletedProcess[str]) -> str:
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert completed.stdout == ""
    return lines[0]


def test_version_names_trainset_dbt_and_duckdb():
    completed = subprocess.run(
        [sys.executable, "-m", "trainset.cli", "--version"], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    for name in ("trainset", "dbt-core", "dbt-duckdb"):
        assert f"{name} {metadata.version(name)}" in completed.stdout
    assert f"duckdb {duckdb.__version__}" in completed.stdout


def test_an_unknown_task_is_a_usage_error(cli):
    completed = cli("list", "nosuchtask")
    assert completed.returncode == 2
    line = one_line(completed)
    assert "'nosuchtask'" in line and "churn_30d" in line
    completed = cli("export", "nosuchtask")
    assert completed.returncode == 2
    assert "'nosuchtask'" in one_line(completed)


def test_wrong_arguments_are_usage_errors(cli, tmp_path):
    assert cli("nosuchcommand").returncode == 2
    completed = cli("generate", "--out", str(tmp_path / "landing"), "--customers", "0")
    assert completed.returncode == 2
    assert "customers must be >= 1, got 0" in one_line(completed)
    assert not (tmp_path / "landing").exists()


def test_generate_says_once_what_it_wrote_and_where(cli, tmp_path):
    landing = tmp_path / "landing"
    completed = cli("generate", "--out", str(landing), "--customers", "50", "--days", "30")
    assert completed.returncode == 0, completed.stderr
    line = one_line(completed)
    rows = sum(pq.read_metadata(path).num_rows for path in landing.rglob("*.parquet"))
    assert line.startswith(f"generate: {rows:,} rows written in ")
    assert line.endswith(f" -> {landing}")


def test_empty_results_say_so_and_succeed(cli):
    completed = cli("features", "--search", "zzzz")
    assert completed.returncode == 0
    assert completed.stdout == ""
    assert "none match 'zzzz'" in completed.stderr
    completed = cli("list", "churn_30d")
    assert completed.returncode == 0
    assert completed.stdout == ""
    assert f"no exported versions of churn_30d in {cli.paths.exports_dir}" in completed.stderr


def test_missing_input_and_missing_versions_have_their_own_codes(cli, tmp_path):
    missing = tmp_path / "no-landing"
    completed = cli("build", TRAINSET_LANDING_DIR=str(missing))
    assert completed.returncode == 3
    assert str(missing) in one_line(completed)
    completed = cli("diff", "churn_30d", "first", "second")
    assert completed.returncode == 4
    assert "No complete version 'first' of 'churn_30d'" in one_line(completed)


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(cli):
    # A defect stands in as a command that divides by zero; main's handling is what is tested.
    script = (
        "import sys, trainset.cli as cli\n"
        "def broken(args):\n"
        "    return 1 / 0\n"
        "cli.cmd_diff = broken\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    base = [sys.executable, "-c", script]
    completed = subprocess.run([*base, "diff", "t", "a", "b"], capture_output=True, text=True)
    assert completed.returncode == 70
    line = one_line(completed)
    assert "ZeroDivisionError" in line and "--debug" in line
    completed = subprocess.run(
        [*base, "--debug", "diff", "t", "a", "b"], capture_output=True, text=True
    )
    assert completed.returncode == 70
    assert "Traceback (most recent call last)" in completed.stderr
    assert ", in broken" in completed.stderr


def test_the_dbt_runner_changes_nothing_in_the_caller_and_reports_progress(built, tmp_path):
    # The copy keeps the file's name: DuckDB names a database after its file, and the staging
    # views name the database of their build.
    paths = with_saved_parse(
        replace(
            built.paths,
            duckdb_path=tmp_path / built.paths.duckdb_path.name,
            target_dir=tmp_path / "target",
        )
    )
    shutil.copyfile(built.paths.duckdb_path, paths.duckdb_path)
    environment, cwd = dict(os.environ), Path.cwd()
    progress: list[str] = []
    log: list[str] = []
    logs = tmp_path / "logs"
    run = run_dbt(
        ["test", "--select", "stg_shop__refunds", "--log-path", str(logs)],
        paths,
        progress=progress.append,
        log=log.append,
    )
    assert run.success, run.errors
    assert dict(os.environ) == environment
    assert Path.cwd() == cwd
    # The file is free at once: nothing of dbt stays open in this process.
    connect_duckdb(paths.duckdb_path).close()
    results = read_artifact(paths.target_dir, "run_results.json")
    assert results["metadata"]["invocation_id"] == run.invocation_id
    # One progress line per node; the on-run-start hook is in run_results but is not a node.
    nodes = [r for r in results["results"] if not r["unique_id"].startswith("operation.")]
    total = len(nodes)
    assert total > 0
    assert progress[-1].startswith(f"dbt test: {total}/{total} nodes done, ")
    assert len(progress) == total
    assert log and not any("\x1b" in line for line in log)
    # dbt's log file is its plain text (JSON goes to the runner only), with the queries.
    text = (logs / "dbt.log").read_text()
    assert "Running with dbt=" in text and "select" in text and "\x1b" not in text
    assert not any(line.startswith("{") for line in text.splitlines())


def test_progress_is_rewritten_on_a_terminal_and_throttled_without_one(monkeypatch):
    clock = iter([0.0, 1.0, 2.0, 20.0, 21.0, 30.0, 31.0, 32.0])
    monkeypatch.setattr("trainset.output.time.monotonic", lambda: next(clock))
    plain = io.StringIO()
    output = Output(err=plain, out=io.StringIO(), terminal=False)
    for step in range(1, 6):
        output.progress(f"{step}/5")
    # Not a terminal: the first line, then one only after PROGRESS_EVERY seconds; no escapes.
    assert plain.getvalue() == "1/5\n4/5\n"
    screen = io.StringIO()
    output = Output(err=screen, out=io.StringIO(), terminal=True)
    output.progress("chunk 1/4")
    output.progress("dbt build: 1,200/1,200 nodes done")
    output.progress("writing")
    output.say("done")
    # A terminal: each line replaces the last, led by a bar of 24 cells when it counts.
    quarter = "█" * 6 + "░" * 18 + "  25% "
    full = "█" * 24 + " 100% "
    assert screen.getvalue() == (
        f"{CLEAR_LINE}{quarter}chunk 1/4{CLEAR_LINE}{full}dbt build: 1,200/1,200 nodes done"
        f"{CLEAR_LINE}writing{CLEAR_LINE}done\n"
    )


def test_differences_show_plain_values():
    schema = pa.schema([("customer_id", pa.int32()), ("cutoff_at", pa.date32()), ("n", pa.int32())])
    expected = pa.table({"customer_id": [1, 2], "cutoff_at": [0, 0], "n": [3, 5]}, schema=schema)
    actual = pa.table({"customer_id": [1, 2], "cutoff_at": [0, 0], "n": [3, 6]}, schema=schema)
    differences = compare_tables(expected, actual, ["customer_id", "cutoff_at"])
    assert differences == ["column 'n': 1 rows differ, e.g. (2, 1970-01-01): 5 exported, 6 rebuilt"]


def test_dbt_sessions_take_the_memory_limit_and_spill_folder_from_the_environment(
    tmp_path, monkeypatch
):
    # The limit a user sets reaches dbt's DuckDB session, rendered as DuckDB renders it; the
    # spill folder defaults to one beside the database file; insertion order is not kept.
    monkeypatch.setenv("TRAINSET_DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.delenv("TRAINSET_DUCKDB_TEMP_DIR", raising=False)
    paths = replace(
        Paths.resolve(),
        duckdb_path=tmp_path / "settings.duckdb",
        target_dir=tmp_path / "target",
        landing_dir=tmp_path / "landing",
    )
    query = (
        "select current_setting('memory_limit') as memory_limit, "
        "current_setting('temp_directory') as temp_directory, "
        "current_setting('preserve_insertion_order') as preserve_insertion_order"
    )
    log: list[str] = []
    run = run_dbt(["show", "--inline", query, "--output", "json"], paths, log=log.append)
    assert run.success, run.errors
    shown = next(json.loads(line)["show"][0] for line in log if '"memory_limit"' in line)
    reference = connect_duckdb()
    reference.execute("set memory_limit = '1GB'")
    expected_limit = reference.sql("select current_setting('memory_limit')").fetchone()[0]
    # dbt runs in the database's folder, where the profile's relative spill folder lands
    spill_folder = paths.duckdb_path.parent / shown.pop("temp_directory")
    assert spill_folder == Path(f"{paths.duckdb_path}.tmp")
    assert shown == {"memory_limit": expected_limit, "preserve_insertion_order": False}


def test_another_database_file_keeps_dbts_saved_parse(tmp_path):
    # dbt runs in the database's folder with the profile naming the file alone, and reads the
    # landing and exports folders only when executing, so a build of another database file,
    # with its own landing and exports folders, reuses the saved parse of the project whole: not
    # one file is parsed again (a folder read while parsing made dbt parse the sources, the
    # models reading them and their tests again in every new folder).
    paths = make_paths(tmp_path / "another")
    assert (paths.target_dir / "partial_parse.msgpack").is_file()
    saved = saved_parse().parent.parent
    assert paths.landing_dir.parent != saved and paths.exports_dir.parent != saved
    log: list[str] = []
    run = run_dbt(["parse", "--log-path", str(tmp_path / "logs")], paths, log=log.append)
    assert run.success, run.errors
    assert any("Running with dbt" in line for line in log)
    assert not [line for line in log if "Unable to do partial parsing" in line]
    file_log = (tmp_path / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert "Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed" in file_log


def test_a_runs_bounds_and_drift_inputs_never_come_from_the_callers_environment(
    tmp_path, monkeypatch
):
    """A value of the run-input variables left in the caller's environment is replaced by an
    empty object; only what the caller hands the run reaches dbt."""
    monkeypatch.setenv(BOUNDS_VARIABLE, json.dumps({"incremental_since": "2000-01-01"}))
    monkeypatch.setenv(DRIFT_VARIABLE, json.dumps({"drift_current_path": "old.parquet"}))
    environment = dbt_environment(replace(Paths.resolve(), duckdb_path=tmp_path / "x.duckdb"))
    assert environment[BOUNDS_VARIABLE] == "{}" and environment[DRIFT_VARIABLE] == "{}"
