"""Materialization into the SQLite and Redis online stores, the in-process SDK, incremental
loads, atomic switches under concurrent readers, a killed materialization, and the skew check.

Expected values come from the serving mart read directly with DuckDB, or recomputed in plain
Python from the feature marts, never from the code under test."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import duckdb
import pytest

from online_support import RedisServer, mart
from trainset.dbt import read_artifact
from trainset.export import feature_definitions, find_training_model
from trainset.online import get_features, materialize, open_store
from trainset.online.catalog import load_catalog
from trainset.online.materialize import MaterializeError, Source
from trainset.online.service import RequestError
from trainset.online.skew import check_store

pytestmark = pytest.mark.integration
VIEW = "customer_features"


@pytest.fixture(scope="module")
def served(built, tmp_path_factory):
    assert built.success
    store_path = tmp_path_factory.mktemp("online") / "features.sqlite"
    info = materialize(built.paths, store=str(store_path), progress=lambda message: None)
    return built, store_path, info


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


def test_materialized_vectors_equal_the_serving_mart(served):
    built, store_path, info = served
    columns, rows, as_of = mart(built.paths.duckdb_path)
    ids = sorted(rows) + [10**12]
    references = [f"{VIEW}:{name}" for name in columns]
    got = get_features({"customer_id": ids}, references, store=str(store_path))
    assert got["customer_id"] == ids
    for name in columns:
        expected = [rows[key][name] for key in sorted(rows)] + [None]
        assert got[name] == expected, name
    assert info.entities == len(rows)
    assert info.as_of == as_of.isoformat()


def test_version_records_build_and_definition_hash(served):
    built, store_path, info = served
    manifest = read_artifact(built.paths.target_dir, "manifest.json")
    run_results = read_artifact(built.paths.target_dir, "run_results.json")
    assert info.build_id == run_results["metadata"]["invocation_id"]
    expected = feature_definitions(manifest, find_training_model(manifest, "churn_30d"))
    assert info.definition_hash == expected["code_hash"]
    assert open_store(str(store_path)).current().version == info.version


def test_catalog_comes_from_the_manifest(built):
    manifest = read_artifact(built.paths.target_dir, "manifest.json")
    node = manifest["nodes"]["model.trainset.serve_customer__features"]
    declared = [
        name
        for name, column in node["columns"].items()
        if "feature" in (column.get("config", {}).get("meta") or column.get("meta") or {})
    ]
    catalog = load_catalog(manifest)
    assert catalog.feature_names == declared
    assert [feature.data_type for feature in catalog.features] == [
        node["columns"][name]["data_type"] for name in declared
    ]
    training = find_training_model(manifest, "churn_30d").node["columns"]
    assert list(catalog.services["churn_30d"]) == [
        name
        for name, column in training.items()
        if "feature" in (column.get("config", {}).get("meta") or {})
    ]


def _brute_force(duckdb_path: Path, as_of) -> dict[int, dict]:
    """Trailing 30-day order count and spend, and the plan, at `as_of`, in plain Python over the
    feature marts: the DESIGN's contract, applied row by row."""
    connection = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        connection.execute("set TimeZone = 'UTC'")
        orders = connection.execute(
            "select customer_id, completed_order_id, completed_amount, effective_at, known_at, "
            "superseded_at from features.feat_customer__orders"
        ).fetchall()
        profile = connection.execute(
            "select customer_id, change_id, effective_at, known_at, plan from features.feat_customer__profile"
        ).fetchall()
    finally:
        connection.close()
    start = as_of - timedelta(days=30)
    result: dict[int, dict] = {}
    for customer, completed, amount, effective, known, superseded in orders:
        row = result.setdefault(customer, {"count": 0, "spend": Decimal("0.00")})
        if completed is None or not (start < effective <= as_of) or known > as_of:
            continue
        if superseded is not None and superseded <= as_of:
            continue
        row["count"] += 1
        if amount is not None:
            row["spend"] += Decimal(str(amount)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    best: dict[int, tuple] = {}
    for customer, change, effective, known, plan in profile:
        if effective > as_of or known > as_of:
            continue
        rank = (effective, known, change)
        if customer not in best or rank > best[customer][0]:
            best[customer] = (rank, plan)
    for customer, (_, plan) in best.items():
        result.setdefault(customer, {"count": 0, "spend": Decimal("0.00")})["plan"] = plan
    return result


def test_served_values_match_a_brute_force_recomputation(served):
    built, store_path, info = served
    _, rows, as_of = mart(built.paths.duckdb_path)
    reference = _brute_force(built.paths.duckdb_path, as_of)
    ids = sorted(rows)
    got = get_features(
        {"customer_id": ids},
        [f"{VIEW}:orders_count_30d", f"{VIEW}:spend_sum_30d", f"{VIEW}:plan"],
        store=str(store_path),
    )
    empty = {"count": 0, "spend": Decimal("0.00"), "plan": None}
    expected_counts = [reference.get(key, empty)["count"] for key in ids]
    expected_spend = [float(reference.get(key, empty)["spend"]) for key in ids]
    expected_plans = [reference.get(key, empty).get("plan") for key in ids]
    assert got["orders_count_30d"] == expected_counts
    assert got["spend_sum_30d"] == expected_spend
    assert got["plan"] == expected_plans
    assert sum(expected_counts) > 0


def test_skew_check_finds_no_difference_on_the_demo(served):
    built, store_path, _ = served
    report = check_store(built.paths, open_store(str(store_path)))
    assert report.entities > 0
    assert report.ok, report.summary()
    assert all(item.compared == report.entities for item in report.features.values())


def test_skew_check_reports_a_tampered_vector(served, tmp_path):
    built, store_path, info = served
    copy = tmp_path / "tampered.sqlite"
    shutil.copy(store_path, copy)
    connection = sqlite3.connect(copy)
    table = f"vectors_{info.version}"
    key, vector = connection.execute(f"select entity_id, vector from {table} limit 1").fetchone()
    import orjson

    values = orjson.loads(vector)
    position = info.feature_names.index("orders_count_90d")
    values[position] += 1
    connection.execute(
        f"update {table} set vector = ? where entity_id = ?", (orjson.dumps(values), key)
    )
    connection.commit()
    connection.close()
    report = check_store(built.paths, open_store(str(copy)))
    assert not report.ok
    assert report.differences == 1
    item = report.features["orders_count_90d"]
    assert item.different == 1
    assert item.examples[0]["entity"] == key
    assert item.examples[0]["online"] == item.examples[0]["offline"] + 1


def _modified_copy(built, folder: Path, sql: list[str]) -> Path:
    copy = folder / "modified.duckdb"
    shutil.copy(built.paths.duckdb_path, copy)
    connection = duckdb.connect(str(copy))
    for statement in sql:
        connection.execute(statement)
    connection.close()
    return copy


def test_incremental_writes_only_changed_vectors(served, tmp_path):
    built, store_path, _ = served
    store_file = tmp_path / "incremental.sqlite"
    shutil.copy(store_path, store_file)
    for suffix in ("-wal", "-shm"):
        if Path(str(store_path) + suffix).exists():
            shutil.copy(str(store_path) + suffix, str(store_file) + suffix)
    _, rows, _ = mart(built.paths.duckdb_path)
    ids = sorted(rows)
    changed, removed = ids[:3], ids[3]
    copy = _modified_copy(
        built,
        tmp_path,
        [
            "update serving.serve_customer__features set orders_count_90d = orders_count_90d + 5 "
            f"where customer_id in ({', '.join(map(str, changed))})",
            f"delete from serving.serve_customer__features where customer_id = {removed}",
        ],
    )
    relation = '"serving"."serve_customer__features"'
    info = materialize(
        built.paths,
        store=str(store_file),
        incremental=True,
        source=Source(copy, relation, "modified"),
        progress=lambda message: None,
    )
    assert (info.mode, info.written, info.removed, info.entities) == (
        "incremental",
        3,
        1,
        len(ids) - 1,
    )
    got = get_features({"customer_id": ids}, [f"{VIEW}:orders_count_90d"], store=str(store_file))
    expected = [
        None if key == removed else rows[key]["orders_count_90d"] + (5 if key in changed else 0)
        for key in ids
    ]
    assert got["orders_count_90d"] == expected
    # The build names what changed: only those rows are read, the rest carried over.
    info = materialize(
        built.paths,
        store=str(store_file),
        changed=[ids[5]],
        source=Source(copy, relation, "modified-again"),
        progress=lambda message: None,
    )
    assert (info.mode, info.written, info.entities) == ("changed", 1, len(ids) - 1)


def test_materialize_refuses_non_finite_values(built, tmp_path):
    copy = _modified_copy(
        built,
        tmp_path,
        [
            "update serving.serve_customer__features set spend_mean_30d = 'nan'::double "
            "where customer_id = (select min(customer_id) from serving.serve_customer__features)"
        ],
    )
    with pytest.raises(MaterializeError, match="spend_mean_30d.*customer_id="):
        materialize(
            built.paths,
            store=str(tmp_path / "s.sqlite"),
            source=Source(copy, '"serving"."serve_customer__features"', "x"),
            progress=lambda message: None,
        )
    assert (
        not (tmp_path / "s.sqlite").exists()
        or open_store(str(tmp_path / "s.sqlite")).current() is None
    )


def _two_versions(built, tmp_path: Path) -> tuple[Source, Source, list[int]]:
    _, rows, _ = mart(built.paths.duckdb_path)
    relation = '"serving"."serve_customer__features"'
    shifted = _modified_copy(
        built,
        tmp_path,
        [
            "update serving.serve_customer__features set tenure_days = coalesce(tenure_days, 0) + 1000000"
        ],
    )
    return (
        Source(built.paths.duckdb_path, relation, "a"),
        Source(shifted, relation, "b"),
        sorted(rows),
    )


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_readers_never_see_a_mixed_version(built, tmp_path, kind, request):
    url = (
        str(tmp_path / "s.sqlite")
        if kind == "sqlite"
        else request.getfixturevalue("redis_server").url
    )
    if kind == "redis":
        open_store(url).client.flushdb()
    first, second, ids = _two_versions(built, tmp_path)
    materialize(built.paths, store=url, source=first, progress=lambda message: None)
    errors: list[BaseException] = []
    mixed: list[list] = []
    seen: set[bool] = set()
    stop = threading.Event()

    def reader() -> None:
        store = open_store(url)
        try:
            while not stop.is_set():
                values = get_features({"customer_id": ids}, [f"{VIEW}:tenure_days"], store=store)[
                    "tenure_days"
                ]
                shifted = {value is not None and value >= 1000000 for value in values}
                if len(shifted) != 1:
                    mixed.append(values)
                seen.update(shifted)
        except BaseException as error:  # recorded and re-raised by the test below
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(6):
            materialize(
                built.paths,
                store=url,
                source=second if round_ % 2 == 0 else first,
                progress=lambda m: None,
            )
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors, errors[0]
    assert not mixed
    assert seen == {True, False}


def test_sdk_sees_each_new_materialization_without_restart(built, tmp_path):
    """The SDK keeps its store open and its lookups prepared between calls, yet every call
    answers from the version current at that moment: one entity, and many (duplicates and
    unknown ids included, in request order)."""
    first, second, ids = _two_versions(built, tmp_path)
    url = str(tmp_path / "sdk.sqlite")
    expected = {source.build_id: mart(source.duckdb_path)[1] for source in (first, second)}
    many = [ids[3], ids[0], ids[3], 10**12, ids[-1]]
    feature = [f"{VIEW}:tenure_days"]
    for source in (first, second, first):
        materialize(built.paths, store=url, source=source, progress=lambda message: None)
        rows = expected[source.build_id]
        assert get_features({"customer_id": [ids[0]]}, feature, store=url) == {
            "customer_id": [ids[0]],
            "tenure_days": [rows[ids[0]]["tenure_days"]],
        }
        assert get_features({"customer_id": many}, feature, store=url) == {
            "customer_id": many,
            "tenure_days": [rows[key]["tenure_days"] if key in rows else None for key in many],
        }


def test_sdk_names_an_id_beyond_64_bits(served):
    _, store_path, _ = served
    with pytest.raises(RequestError, match=r"customer_id\[1\]"):
        get_features({"customer_id": [1, 2**63]}, [f"{VIEW}:plan"], store=str(store_path))


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from trainset.online.store import VersionInfo, new_version_id, open_store
store = open_store(sys.argv[1])
base = store.current()
info = VersionInfo(**{**base.__dict__, "version": new_version_id(), "entities": 0})
ready = Path(sys.argv[2])
def rows():
    for start in range(0, 20):
        yield [(key, b'[null]') for key in range(start * 1000, start * 1000 + 1000)]
    ready.write_text("writing")
    time.sleep(600)
    yield []
store.publish(info, rows())
"""


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_sigkill_during_materialize_keeps_the_previous_version(built, tmp_path, kind, request):
    url = (
        str(tmp_path / "s.sqlite")
        if kind == "sqlite"
        else request.getfixturevalue("redis_server").url
    )
    if kind == "redis":
        open_store(url).client.flushdb()
    first, _, ids = _two_versions(built, tmp_path)
    before = materialize(built.paths, store=url, source=first, progress=lambda message: None)
    expected = get_features({"customer_id": ids}, [f"{VIEW}:plan"], store=open_store(url))
    ready = tmp_path / "ready"
    process = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, url, str(ready)])
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    store = open_store(url)
    assert store.current().version == before.version
    assert get_features({"customer_id": ids}, [f"{VIEW}:plan"], store=store) == expected
    # The next materialization succeeds and removes what the killed one left behind.
    after = materialize(built.paths, store=url, source=first, progress=lambda message: None)
    assert open_store(url).current().version == after.version
    if kind == "sqlite":
        tables = {
            row[0]
            for row in sqlite3.connect(url).execute(
                "select name from sqlite_master where name like 'vectors_%'"
            )
        }
        assert tables == {f"vectors_{before.version}", f"vectors_{after.version}"}
    else:
        keys = {key.decode() for key in store.client.scan_iter(match="trainset:vectors:*")}
        assert keys == {f"trainset:vectors:{before.version}", f"trainset:vectors:{after.version}"}


def test_redis_store_serves_the_same_vectors_as_sqlite(served, redis_server):
    built, store_path, _ = served
    open_store(redis_server.url).client.flushdb()
    info = materialize(built.paths, store=redis_server.url, progress=lambda message: None)
    columns, rows, _ = mart(built.paths.duckdb_path)
    ids = sorted(rows) + [-1]
    references = [f"{VIEW}:{name}" for name in columns]
    from_redis = get_features({"customer_id": ids}, references, store=redis_server.url)
    from_sqlite = get_features({"customer_id": ids}, references, store=str(store_path))
    assert from_redis == from_sqlite
    assert from_redis["plan"][:-1] == [rows[key]["plan"] for key in sorted(rows)]
    assert info.entities == len(rows)
    assert check_store(built.paths, open_store(redis_server.url)).ok


def test_command_line_materialize_and_skew(built, tmp_path, monkeypatch, capsys):
    from trainset.cli import main

    monkeypatch.setenv("TRAINSET_DUCKDB_PATH", str(built.paths.duckdb_path))
    monkeypatch.setenv("DBT_TARGET_PATH", str(built.paths.target_dir))
    monkeypatch.setenv("TRAINSET_LANDING_DIR", str(built.paths.landing_dir))
    store = tmp_path / "cli.sqlite"
    assert main(["materialize", "--store", str(store)]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["entities"] == open_store(str(store)).current().entities > 0
    assert main(["skew", "--store", str(store), "--json", str(tmp_path / "skew.json")]) == 0
    assert json.loads((tmp_path / "skew.json").read_text())["differences"] == 0
    info = open_store(str(store)).current()
    connection = sqlite3.connect(store)
    connection.execute(
        f"update vectors_{info.version} set vector = ? where entity_id = "
        f"(select min(entity_id) from vectors_{info.version})",
        (json.dumps([None] * len(info.feature_names)).encode(),),
    )
    connection.commit()
    connection.close()
    assert main(["skew", "--store", str(store)]) == 1
    assert "differ" in capsys.readouterr().err
