"""Data availability before a build: a missing or half-delivered day of a table blocks what
depends on that table, the command names table and day, the rest is built, and the export
refuses.

One generated landing zone (1,000 customers over 200 days, enough rows per day for the
`min_median_rows` bound of `dbt_project.yml`) is damaged twice: a day of web events removed,
and a day of order lines cut to a tenth. The expected days come from the generator's own end
date, the counts per day from a pandas count of the files; the dependents from dbt's manifest.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import EDGE_INSTANTS, PROJECT_DIR, edge_moments, macro_expressions, make_paths
from trainset.availability import HALF_DELIVERED, MISSING, STALE, check_availability, utc_day
from trainset.sim import generate

DAMAGED = {"customers": 1000, "days": 200, "seed": 11}
TRAINSET = Path(PROJECT_DIR) / ".venv" / "bin" / "trainset"


def last_generated_day(landing: Path) -> date:
    """The generator's last simulated day (its `end` is the midnight after it)."""
    end = json.loads((landing / "_generator.json").read_text())["end"]
    return (datetime.fromisoformat(end) - timedelta(microseconds=1)).date()


def rewrite_day(landing: Path, table: str, day: date, keep_every: int | None) -> int:
    """Drop the rows of `table` loaded on `day` (or keep one in `keep_every`); rows removed."""
    removed = 0
    for path in sorted((landing / table).glob("*.parquet")):
        data = pq.read_table(path)
        loaded = pc.cast(data["_loaded_at"], pa.timestamp("us", tz="UTC"))
        on_day = pc.equal(pc.cast(loaded, pa.date32()), pa.scalar(day, pa.date32()))
        on_day = pc.fill_null(on_day, False)
        keep = pc.invert(on_day)
        if keep_every:
            ranks = pc.cumulative_sum(pc.cast(on_day, pa.int64()))
            kept_on_day = pc.and_(on_day, pc.equal(pc.remainder(ranks, keep_every), 1))
            keep = pc.or_(keep, kept_on_day)
        removed += len(data) - pc.sum(pc.cast(keep, pa.int64())).as_py()
        pq.write_table(data.filter(keep), path)
    return removed


def pandas_counts(landing: Path, table: str) -> dict[str, int]:
    frames = [
        pq.read_table(path, columns=["_loaded_at"]).to_pandas()
        for path in (landing / table).glob("*.parquet")
    ]
    loaded = pd.concat(frames)["_loaded_at"].dropna()
    loaded = pd.to_datetime(loaded, utc=True)
    return {str(day): int(n) for day, n in loaded.dt.date.value_counts().items()}


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> dict:
    """The damaged landing zone and the days damaged in it."""
    root = tmp_path_factory.mktemp("availability")
    paths = make_paths(root)
    generate(paths.landing_dir, progress=lambda message: None, **DAMAGED)
    last = last_generated_day(paths.landing_dir)
    missing_day, cut_day = last - timedelta(days=3), last - timedelta(days=1)
    before = pandas_counts(paths.landing_dir, "order_items")[str(cut_day)]
    assert rewrite_day(paths.landing_dir, "web_events", missing_day, None) > 0
    assert rewrite_day(paths.landing_dir, "order_items", cut_day, 10) > 0
    after = pandas_counts(paths.landing_dir, "order_items")[str(cut_day)]
    assert 0 < after <= before / 10 + 1
    return {"paths": paths, "last": last, "missing": missing_day, "cut": cut_day}


def test_a_fresh_landing_zone_blocks_nothing(small_landing, built):
    landing, _ = small_landing
    report = check_availability(make_paths(landing.parent))
    assert report.gaps == []
    assert datetime.fromisoformat(report.reference_at).date() == last_generated_day(landing)
    # The build checked it too and wrote it down.
    assert built.success
    from trainset.build import latest_record

    record = latest_record(built.paths.target_dir)
    assert record.landing["availability"]["blocked"] == []


def test_the_utc_day_by_epoch_is_the_day_of_a_utc_cast_at_every_edge(tmp_path):
    """The availability check's epoch arithmetic, and the `utc_date` macro the build's daily
    source test uses (the same SQL on DuckDB, a cast elsewhere), against DuckDB's own cast in a
    UTC session at every edge instant (conftest.EDGE_INSTANTS), with a zone and naive."""
    expressions = {
        "availability": utc_day("moment"),
        **macro_expressions("utc_date", "moment", tmp_path),
    }
    assert " ".join(expressions["duckdb"].split()) == " ".join(expressions["availability"].split())
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    for (name, expression), kind in itertools.product(
        expressions.items(), ("timestamptz", "timestamp")
    ):
        rows = connection.execute(
            f"select {expression}, cast(moment as date) from {edge_moments(kind)}"
        ).fetchall()
        mismatched = [
            (text, row) for text, row in zip(EDGE_INSTANTS, rows, strict=True) if row[0] != row[1]
        ]
        assert not mismatched, (name, kind, mismatched)


def test_counts_per_load_day_are_those_of_the_files(damaged):
    report = check_availability(damaged["paths"])
    for table in ("orders", "order_items", "web_events"):
        assert report.counts[table] == dict(
            sorted(pandas_counts(damaged["paths"].landing_dir, table).items())
        )
    assert str(damaged["missing"]) not in report.counts["web_events"]


def test_the_removed_and_the_cut_day_are_named(damaged):
    report = check_availability(damaged["paths"])
    assert datetime.fromisoformat(report.reference_at).date() == damaged["last"]
    found = {(gap.table, gap.kind, gap.day) for gap in report.gaps}
    assert found == {
        ("web_events", MISSING, str(damaged["missing"])),
        ("order_items", HALF_DELIVERED, str(damaged["cut"])),
    }
    assert report.blocked == ["shop.order_items", "shop.web_events"] or report.blocked == [
        "shop.web_events",
        "shop.order_items",
    ]


def test_a_table_that_stopped_loading_is_stale(damaged, tmp_path):
    paths = make_paths(tmp_path)
    shutil.copytree(damaged["paths"].landing_dir, paths.landing_dir)
    last = damaged["last"]
    for offset in range(3):
        rewrite_day(paths.landing_dir, "orders", last - timedelta(days=offset), None)
    report = check_availability(paths)
    stale = [gap for gap in report.gaps if gap.table == "orders"]
    assert [(gap.kind, gap.day) for gap in stale] == [(STALE, str(last - timedelta(days=3)))]


def descendants(manifest: dict, node: str) -> set[str]:
    seen, stack = set(), [node]
    while stack:
        for child in manifest["child_map"].get(stack.pop(), []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def test_build_and_backfill_leave_out_the_dependents_build_the_rest_and_export_refuses(damaged):
    paths = damaged["paths"]
    environment = {
        **os.environ,
        "TRAINSET_PROJECT_DIR": str(paths.project_dir),
        "TRAINSET_LANDING_DIR": str(paths.landing_dir),
        "TRAINSET_DUCKDB_PATH": str(paths.duckdb_path),
        "TRAINSET_EXPORTS_DIR": str(paths.exports_dir),
        "DBT_TARGET_PATH": str(paths.target_dir),
    }
    build = subprocess.run(
        [str(TRAINSET), "build"], env=environment, capture_output=True, text=True, check=False
    )
    assert build.returncode == 5, build.stderr
    assert f"shop.web_events: day {damaged['missing']} missing" in build.stderr
    assert f"shop.order_items: day {damaged['cut']} half-delivered" in build.stderr

    manifest = json.loads((paths.target_dir / "manifest.json").read_text())
    results = json.loads((paths.target_dir / "run_results.json").read_text())["results"]
    statuses = {result["unique_id"]: result["status"] for result in results}
    blocked = descendants(manifest, "source.trainset.shop.web_events") | descendants(
        manifest, "source.trainset.shop.order_items"
    )
    models = {node for node in manifest["nodes"] if node.startswith("model.trainset.")}
    assert "model.trainset.train_churn_30d" in blocked
    assert "model.trainset.stg_shop__orders" not in blocked
    assert not blocked & set(statuses), "a dependent of a blocked table was built"
    built_models = models - blocked
    assert built_models and all(statuses.get(node) == "success" for node in built_models), {
        node: statuses.get(node) for node in built_models if statuses.get(node) != "success"
    }

    export = subprocess.run(
        [str(TRAINSET), "export", "churn_30d"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert export.returncode == 5, export.stderr
    assert f"day {damaged['missing']} missing" in export.stderr
    assert not paths.exports_dir.exists() or not any(paths.exports_dir.rglob("*.parquet"))

    # The daily batches of a backfill are held to the same check as the build after them: no
    # table that depends on a blocked one is written, in any batch.
    first, last = damaged["missing"] - timedelta(days=1), damaged["last"]
    backfill = subprocess.run(
        [str(TRAINSET), "backfill", "--from", str(first), "--to", str(last)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert backfill.returncode == 5, backfill.stderr
    tables = {
        f"{node['schema']}.{node['alias']}"
        for node_id, node in manifest["nodes"].items()
        if node_id in blocked and node["resource_type"] == "model"
    }
    assert "intermediate.int_order_items__enriched" in tables
    connection = duckdb.connect(str(paths.duckdb_path), read_only=True)
    try:
        written = {
            f"{schema}.{name}"
            for schema, name in connection.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
    finally:
        connection.close()
    assert not tables & written, sorted(tables & written)


def test_as_of_moves_the_reference_time(damaged):
    before_gaps = datetime.combine(damaged["missing"], datetime.min.time(), tzinfo=UTC)
    report = check_availability(damaged["paths"], as_of=before_gaps)
    assert report.reference_at == before_gaps.isoformat()
    assert report.gaps == []
    after_gaps = before_gaps + timedelta(days=3)
    found = {(g.table, g.day) for g in check_availability(damaged["paths"], after_gaps).gaps}
    assert found == {("web_events", str(damaged["missing"])), ("order_items", str(damaged["cut"]))}


def test_as_of_that_is_not_a_time_is_refused(tmp_path):
    result = subprocess.run(
        [str(TRAINSET), "build", "--as-of", "yesterday"],
        env={**os.environ, "TRAINSET_LANDING_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "--as-of 'yesterday' is not a date or time" in result.stderr
