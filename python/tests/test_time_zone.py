"""Results do not depend on the machine's time zone: every DuckDB session the package opens
works in UTC, so naive and offset timestamps mixed in one query give the same instants under
any `TZ`."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import yaml

from conftest import EDGE_INSTANTS, PROJECT_DIR, edge_moments, macro_expressions
from trainset.project import SESSION_TIME_ZONE, connect_duckdb

# Business timestamps as they arrive: naive (taken as UTC) and with offsets, around the
# New York daylight-saving change of 2025-03-09.
RAW = [
    (1, "2025-03-09T01:30:00", "2025-03-09T06:30:00+05:00"),
    (1, "2025-03-10T12:00:00-04:00", "2025-03-09T02:30:00"),
    (2, "2025-01-01T00:00:00+02:00", "2024-12-31T23:59:59Z"),
    (2, "2025-11-02T01:30:00", "2025-11-02T01:30:00-05:00"),
]

READ = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from trainset.export import TrainingModel, _parquet_round_trip, content_hash, read_training_table
    from trainset.project import Paths

    database = Path(sys.argv[1])
    paths = Paths(database.parent, database, database.parent, database.parent, database.parent)
    model = TrainingModel(
        task="t", unique_id="model.t.v", relation='"training"."v"', entity_column="customer_id",
        cutoff_column="cutoff_at", label_column="is_churned", horizon_days=30, node={},
    )
    table = _parquet_round_trip(read_training_table(paths, model))
    print(json.dumps({
        "hash": content_hash(table),
        "schema": [f"{field.name}:{field.type}" for field in table.schema],
        "rows": [[str(value) for value in row.values()] for row in table.to_pylist()],
    }))
    """
)


def as_utc(text: str) -> datetime:
    """Independent reference: naive means UTC, an offset is converted."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_database(path: Path) -> None:
    """A view that mixes naive and offset timestamps, evaluated by whoever reads it."""
    connection = connect_duckdb(path)
    try:
        connection.execute("create schema training")
        connection.execute(
            "create table training.raw (customer_id bigint, cutoff_raw varchar, event_raw varchar)"
        )
        connection.executemany("insert into training.raw values (?, ?, ?)", RAW)
        connection.execute(
            """
            create view training.v as
            select
                customer_id,
                cast(cast(cutoff_raw as timestamptz) as timestamp) as cutoff_at,
                cast(event_raw as timestamptz) as event_at,
                cast(cutoff_raw as timestamptz) > cast(event_raw as timestamptz) as is_churned
            from training.raw
            """
        )
    finally:
        connection.close()


def read_under(zone: str, database: Path) -> dict:
    env = {**os.environ, "TZ": zone}
    completed = subprocess.run(
        [sys.executable, "-c", READ, str(database)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_the_read_path_gives_the_same_utc_values_in_every_machine_time_zone(tmp_path):
    database = tmp_path / "zones.duckdb"
    make_database(database)
    runs = {
        zone: read_under(zone, database) for zone in ["UTC", "America/New_York", "Asia/Kolkata"]
    }

    expected = sorted(
        (
            customer,
            as_utc(cutoff).replace(tzinfo=None),
            as_utc(event),
            as_utc(cutoff) > as_utc(event),
        )
        for customer, cutoff, event in RAW
    )
    expected_rows = [[str(value) for value in row] for row in expected]
    for zone, run in runs.items():
        assert run["rows"] == expected_rows, zone
        assert "event_at:timestamp[us, tz=UTC]" in run["schema"], zone
        assert run["hash"] == runs["UTC"]["hash"], zone


def test_connections_are_pinned_to_utc_whatever_the_machine_zone(tmp_path):
    script = (
        "from trainset.project import connect_duckdb\n"
        "c = connect_duckdb()\n"
        "print(c.sql(\"select current_setting('TimeZone'), "
        "epoch(cast('2025-03-09 02:30:00' as timestamptz))\").fetchone())\n"
    )
    env = {**os.environ, "TZ": "America/New_York"}
    completed = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    expected_epoch = as_utc("2025-03-09T02:30:00").timestamp()
    assert completed.stdout.strip() == f"('UTC', {expected_epoch})"


def test_the_dbt_profile_and_the_package_use_the_same_session_zone():
    profiles = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    assert profiles["trainset"]["outputs"]["dev"]["settings"]["timezone"] == SESSION_TIME_ZONE


def test_no_module_opens_duckdb_without_the_pinned_zone():
    """Every `duckdb.connect(...)` of the package goes through `connect_duckdb`, or pins the
    zone itself in the same function."""
    offenders = []
    for root in ["python/trainset"]:
        for path in sorted((PROJECT_DIR / root).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                pinned = "set timezone" in (ast.get_source_segment(text, function) or "").lower()
                for node in ast.walk(function):
                    if (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "connect"
                        and isinstance(node.func.value, ast.Name)
                        and node.func.value.id == "duckdb"
                        and not pinned
                    ):
                        offenders.append(f"{path.relative_to(PROJECT_DIR)}:{node.lineno}")
    assert offenders == [], (
        "open DuckDB through trainset.project.connect_duckdb, which pins TimeZone to UTC: "
        + ", ".join(offenders)
    )


def test_to_utc_gives_the_instant_of_a_utc_conversion_at_every_edge(tmp_path):
    """`to_utc` (the load time of every landing row) on DuckDB by epoch microseconds, and the
    portable `at time zone`, against DuckDB's own conversion to UTC at every edge instant
    (conftest.EDGE_INSTANTS), given with a time zone and naive (read as UTC): same values and
    same type."""
    expressions = macro_expressions("to_utc", "moment", tmp_path)
    assert "make_timestamp" in expressions["duckdb"]
    connection = duckdb.connect()
    try:
        connection.execute("set TimeZone = 'UTC'")
        for name, expression in expressions.items():
            for kind in ("timestamptz", "timestamp"):
                rows = connection.execute(
                    f"select typeof({expression}) = typeof(timezone('UTC', moment)), "
                    f"{expression} is not distinct from timezone('UTC', moment) "
                    f"from {edge_moments(kind)}"
                ).fetchall()
                mismatched = [
                    text
                    for text, row in zip(EDGE_INSTANTS, rows, strict=True)
                    if row != (True, True)
                ]
                assert not mismatched, (name, kind, mismatched)
    finally:
        connection.close()
