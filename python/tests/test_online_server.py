"""The HTTP feature server, run for real under uvicorn on a free loopback port: Feast's request
and response shape, errors, the catalog, health, the API key, the request log and its skew
check, and the faults (bad bodies, oversized requests, an unwritable log folder, Redis stopped
and restarted while serving)."""

from __future__ import annotations

import time
from datetime import datetime

import httpx
import pyarrow.parquet as pq
import pytest

from online_support import RedisServer, feature_server, mart, post
from trainset.dbt import read_artifact
from trainset.online import materialize
from trainset.online.skew import check_log

pytestmark = pytest.mark.integration
VIEW = "customer_features"


@pytest.fixture(scope="module")
def store(built, tmp_path_factory):
    assert built.success
    path = tmp_path_factory.mktemp("online") / "features.sqlite"
    info = materialize(built.paths, store=str(path), progress=lambda message: None)
    columns, rows, as_of = mart(built.paths.duckdb_path)
    return {"path": str(path), "info": info, "columns": columns, "rows": rows, "as_of": as_of}


@pytest.fixture(scope="module")
def server(store):
    with feature_server(store["path"]) as running:
        yield running


def _null_entity(rows: dict, column: str) -> int:
    return next(key for key, values in rows.items() if values[column] is None)


def test_response_has_feasts_shape_and_the_marts_values(server, store):
    rows = store["rows"]
    present = sorted(rows)[:2]
    with_null = _null_entity(rows, "spend_mean_30d")
    ids = [present[0], 10**12, with_null, present[1]]
    features = ["plan", "spend_mean_30d", "orders_count_90d"]
    response = post(
        server.url,
        {"entities": {"customer_id": ids}, "features": [f"{VIEW}:{name}" for name in features]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metadata"]["feature_names"] == ["customer_id", *features]
    keys, *results = body["results"]
    assert keys == {
        "values": ids,
        "statuses": ["PRESENT"] * 4,
        "event_timestamps": ["1970-01-01T00:00:00Z"] * 4,
    }
    for name, result in zip(features, results, strict=True):
        expected = [rows[key][name] if key in rows else None for key in ids]
        assert result["values"] == expected
        assert result["statuses"][1] == "NOT_FOUND"
        assert result["event_timestamps"][1] == "1970-01-01T00:00:00Z"
        for position in (0, 2, 3):
            status = "NULL_VALUE" if expected[position] is None else "PRESENT"
            assert result["statuses"][position] == status
            stamp = datetime.fromisoformat(result["event_timestamps"][position].replace("Z", ""))
            assert stamp == store["as_of"]
    assert results[1]["statuses"][2] == "NULL_VALUE"
    assert isinstance(results[2]["values"][0], int)
    assert isinstance(results[0]["values"][0], str)


def test_full_feature_names_feature_service_and_metadata_flag(server, built, store):
    manifest = read_artifact(built.paths.target_dir, "manifest.json")
    training = manifest["nodes"]["model.trainset.train_churn_30d"]["columns"]
    expected = [
        name
        for name, column in training.items()
        if "feature" in (column.get("config", {}).get("meta") or {})
    ]
    key = sorted(store["rows"])[0]
    response = post(
        server.url,
        {
            "entities": {"customer_id": [key]},
            "feature_service": "churn_30d",
            "full_feature_names": True,
            "include_feature_view_version_metadata": True,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metadata"]["feature_names"] == [
        "customer_id",
        *[f"{VIEW}__{name}" for name in expected],
    ]
    assert [result["values"][0] for result in body["results"][1:]] == [
        store["rows"][key][name] for name in expected
    ]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "not JSON"),
        (
            {"entities": {"customer_id": [1, "2"]}, "features": [f"{VIEW}:plan"]},
            422,
            "customer_id[1]",
        ),
        (
            {"entities": {"customer_id": [1, True]}, "features": [f"{VIEW}:plan"]},
            422,
            "customer_id[1]",
        ),
        (
            # Beyond 64 bits: no SQLite integer can hold it.
            b'{"entities": {"customer_id": [1, 9223372036854775808]}, '
            b'"features": ["customer_features:plan"]}',
            422,
            "customer_id[1]",
        ),
        ({"entities": {"customer_id": [1]}, "features": [f"{VIEW}:nope"]}, 404, f"{VIEW}:nope"),
        (
            {"entities": {"customer_id": [1]}, "features": ["other_view:plan"]},
            404,
            "other_view:plan",
        ),
        ({"entities": {"customer_id": [1]}, "feature_service": "nope"}, 404, "nope"),
        ({"entities": {"user_id": [1]}, "features": [f"{VIEW}:plan"]}, 422, "user_id"),
        ({"entities": {"customer_id": [1]}}, 400, "names no features"),
        ({"entities": {"customer_id": 1}, "features": [f"{VIEW}:plan"]}, 422, "list"),
        ({"entities": {"customer_id": []}, "features": [f"{VIEW}:plan"]}, 422, "non-empty"),
        ({"features": [f"{VIEW}:plan"]}, 422, "entities"),
        ({"entities": {"customer_id": [1]}, "features": [f"{VIEW}:plan"], "x": 1}, 422, "x"),
        ([1, 2], 400, "JSON object"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_problem(server, body, status, needle):
    if isinstance(body, bytes):
        response = httpx.post(f"{server.url}/get-online-features", content=body, timeout=10)
    else:
        response = post(server.url, body)
    assert response.status_code == status, response.text
    assert needle in response.json()["detail"]


def test_request_size_limit(server, store):
    ids = sorted(store["rows"])
    too_many = {"entities": {"customer_id": list(range(10_000))}, "features": [f"{VIEW}:plan"]}
    response = post(server.url, too_many)
    assert response.status_code == 413
    assert "limit is 1000" in response.json()["detail"]
    at_limit = (ids * 4)[:1000]
    started = time.perf_counter()
    response = post(
        server.url, {"entities": {"customer_id": at_limit}, "features": [f"{VIEW}:plan"]}
    )
    assert response.status_code == 200
    assert time.perf_counter() - started < 2.0
    assert response.json()["results"][1]["values"] == [
        store["rows"][key]["plan"] for key in at_limit
    ]


def test_catalog_health_and_docs(server, built, store):
    manifest = read_artifact(built.paths.target_dir, "manifest.json")
    node = manifest["nodes"]["model.trainset.serve_customer__features"]["columns"]
    catalog = httpx.get(f"{server.url}/features").json()
    assert [(item["name"], item["type"], item["description"]) for item in catalog["features"]] == [
        (name, column["data_type"], column["description"])
        for name, column in node.items()
        if "feature" in (column.get("config", {}).get("meta") or {})
    ]
    assert all(item["view"] == VIEW for item in catalog["features"])
    health = httpx.get(f"{server.url}/health")
    assert health.status_code == 200
    report = health.json()
    assert report["store_reachable"] is True
    assert report["as_of"] == store["as_of"].isoformat()
    assert report["staleness_seconds"] > 0
    assert httpx.get(f"{server.url}/docs").status_code == 200
    assert "/get-online-features" in httpx.get(f"{server.url}/openapi.json").json()["paths"]


def test_api_key_from_the_environment(store):
    with feature_server(store["path"], env={"TRAINSET_ONLINE_API_KEY": "s3cret"}) as running:
        body = {"entities": {"customer_id": [1]}, "features": [f"{VIEW}:plan"]}
        assert post(running.url, body).status_code == 401
        assert post(running.url, body, headers={"X-API-Key": "wrong"}).status_code == 401
        assert (
            post(running.url, body, headers={"Authorization": "Bearer s3cret"}).status_code == 200
        )
        assert httpx.get(f"{running.url}/health").status_code == 200


def test_stale_vectors_are_flagged_outside_max_age(store):
    with feature_server(store["path"], env={"TRAINSET_ONLINE_MAX_AGE_HOURS": "1"}) as running:
        key = sorted(store["rows"])[0]
        body = post(
            running.url, {"entities": {"customer_id": [key]}, "features": [f"{VIEW}:plan"]}
        ).json()
        assert body["results"][1]["statuses"] == ["OUTSIDE_MAX_AGE"]
        health = httpx.get(f"{running.url}/health")
        assert health.status_code == 503
        assert health.json()["status"] == "stale"


def test_request_log_records_every_served_vector_and_matches_training(built, store, tmp_path):
    log_dir = tmp_path / "log"
    ids = sorted(store["rows"])
    features = ["plan", "orders_count_30d", "spend_sum_90d", "days_since_last_order"]
    served = 0
    with feature_server(store["path"], log_dir=log_dir) as running:
        for start in range(0, len(ids), 37):
            chunk = ids[start : start + 37] + [10**12]
            body = {
                "entities": {"customer_id": chunk},
                "features": [f"{VIEW}:{name}" for name in features],
            }
            assert post(running.url, body).status_code == 200
            served += len(chunk)
    # Shutdown flushed the buffer.
    table = pq.ParquetDataset(sorted(log_dir.glob("requests-*.parquet"))).read()
    assert table.num_rows == served
    rows = table.to_pylist()
    assert sum(not row["found"] for row in rows) == len(range(0, len(ids), 37))
    for row in rows:
        if row["found"]:
            assert row["features"] == features
            assert all(row[name] == store["rows"][row["entity_id"]][name] for name in features)
            assert row["spend_mean_30d"] is None  # not requested
            assert row["as_of"] == store["as_of"]
    report = check_log(built.paths, log_dir)
    assert report.ok, report.summary()
    assert report.entities == len(ids)
    # A logged value that training would not compute is reported.
    files = sorted(log_dir.glob("requests-*.parquet"))
    first = pq.read_table(files[0]).to_pylist()
    target = next(row for row in first if row["found"])
    target["orders_count_30d"] += 7
    pq.write_table(
        pq.read_table(files[0]).from_pylist(first, pq.read_table(files[0]).schema), files[0]
    )
    report = check_log(built.paths, log_dir)
    assert report.features["orders_count_30d"].different == 1
    assert report.features["orders_count_30d"].examples[0]["entity"] == target["entity_id"]


def test_unwritable_log_folder_keeps_serving_and_shows_in_health(store, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the log folder should be")
    env = {"TRAINSET_ONLINE_LOG_FLUSH_SECONDS": "0.2"}
    with feature_server(store["path"], log_dir=blocked, env=env) as running:
        key = sorted(store["rows"])[0]
        body = {"entities": {"customer_id": [key]}, "features": [f"{VIEW}:plan"]}
        for _ in range(5):
            response = post(running.url, body)
            assert response.status_code == 200
            assert response.json()["results"][1]["values"] == [store["rows"][key]["plan"]]
        deadline = time.monotonic() + 10
        while True:
            report = httpx.get(f"{running.url}/health").json()
            if report["request_log"]["failed_flushes"] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert report["status"] == "degraded"
        assert report["request_log"]["ok"] is False
        assert str(blocked) in report["request_log"]["last_error"]
        assert report["request_log"]["buffered_rows"] == 5


def test_redis_stopped_and_restarted_while_serving(built, store, tmp_path):
    redis = RedisServer(tmp_path / "redis").start()
    try:
        materialize(built.paths, store=redis.url, progress=lambda message: None)
        key = sorted(store["rows"])[0]
        body = {"entities": {"customer_id": [key]}, "features": [f"{VIEW}:plan"]}
        with feature_server(redis.url) as running:
            assert post(running.url, body).json()["results"][1]["values"] == [
                store["rows"][key]["plan"]
            ]
            redis.stop()
            down = post(running.url, body)
            assert down.status_code == 503
            assert (
                "unavailable" in down.json()["detail"]
                and redis.url.split("//")[1] in down.json()["detail"]
            )
            health = httpx.get(f"{running.url}/health")
            assert health.status_code == 503 and health.json()["store_reachable"] is False
            redis.start()
            up = post(running.url, body)
            assert up.status_code == 200, up.text
            assert up.json()["results"][1]["values"] == [store["rows"][key]["plan"]]
            assert httpx.get(f"{running.url}/health").status_code == 200
    finally:
        redis.stop()


def test_materialize_while_http_clients_read(built, store, tmp_path):
    """Versions switch under a running server: every response is 200 and whole from one."""
    import shutil
    import threading

    import duckdb

    from trainset.online.materialize import Source

    relation = '"serving"."serve_customer__features"'
    shifted = tmp_path / "shifted.duckdb"
    shutil.copy(built.paths.duckdb_path, shifted)
    connection = duckdb.connect(str(shifted))
    connection.execute(
        "update serving.serve_customer__features set tenure_days = coalesce(tenure_days, 0) + 1000000"
    )
    connection.close()
    sources = [Source(built.paths.duckdb_path, relation, "a"), Source(shifted, relation, "b")]
    path = str(tmp_path / "switching.sqlite")
    materialize(built.paths, store=path, source=sources[0], progress=lambda message: None)
    ids = sorted(store["rows"])
    body = {"entities": {"customer_id": ids}, "features": [f"{VIEW}:tenure_days"]}
    failures: list[str] = []
    seen: set[bool] = set()
    stop = threading.Event()

    def client(url: str) -> None:
        with httpx.Client(timeout=30) as session:
            while not stop.is_set():
                response = session.post(f"{url}/get-online-features", json=body)
                if response.status_code != 200:
                    failures.append(response.text)
                    continue
                values = response.json()["results"][1]["values"]
                shifted_values = {value >= 1000000 for value in values if value is not None}
                if len(shifted_values) != 1:
                    failures.append(f"mixed versions: {values}")
                seen.update(shifted_values)

    with feature_server(path) as running:
        threads = [threading.Thread(target=client, args=(running.url,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        try:
            for round_ in range(4):
                materialize(
                    built.paths,
                    store=path,
                    source=sources[(round_ + 1) % 2],
                    progress=lambda message: None,
                )
                time.sleep(0.3)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    assert not failures, failures[:3]
    assert seen == {True, False}
