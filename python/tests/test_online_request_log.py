"""The request log's buffer: flushed to Parquet on size, on time and at shutdown, off the
request path; a failing folder keeps the rows and reports the failure."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pyarrow.parquet as pq

from trainset.online.request_log import RequestLog, read_log
from trainset.online.store import VersionInfo

INFO = VersionInfo(
    version="20260101T000000000000_0123abcd",
    as_of="2026-01-01T00:00:00",
    build_id="build",
    definition_hash="hash",
    view="customer_features",
    entity_column="customer_id",
    key_type="integer",
    feature_names=["plan", "orders_count_30d", "spend_sum_30d"],
    feature_types=["varchar", "integer", "double"],
    entities=3,
    created_at="2026-01-01T00:00:01",
)
VECTORS = {1: ["pro", 3, 12.5], 2: [None, 0, 0.0]}


def _record(log: RequestLog, ids: list[int], positions=(0, 1, 2)) -> None:
    vectors = [orjson.dumps(VECTORS[key]) if key in VECTORS else None for key in ids]
    features = [INFO.feature_names[position] for position in positions]
    log.record(1767225600.5, INFO, features, list(positions), ids, vectors)


def _rows(folder: Path) -> int:
    return sum(pq.read_metadata(path).num_rows for path in folder.glob("requests-*.parquet"))


def _wait(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_flush_on_size(tmp_path):
    log = RequestLog(tmp_path, flush_rows=4, flush_seconds=3600)
    try:
        _record(log, [1, 2])
        time.sleep(0.2)
        assert _rows(tmp_path) == 0
        _record(log, [1, 2, 99])
        assert _wait(lambda: _rows(tmp_path) == 5)
    finally:
        log.close()


def test_flush_on_time_and_at_shutdown(tmp_path):
    timed = RequestLog(tmp_path / "timed", flush_rows=10_000, flush_seconds=0.1)
    try:
        _record(timed, [1])
        assert _wait(lambda: _rows(tmp_path / "timed") == 1)
    finally:
        timed.close()
    closing = RequestLog(tmp_path / "closing", flush_rows=10_000, flush_seconds=3600)
    _record(closing, [1, 2, 99], positions=(1,))
    assert not (tmp_path / "closing").exists() or _rows(tmp_path / "closing") == 0
    closing.close()
    table = read_log(tmp_path / "closing").to_pylist()
    assert [(row["entity_id"], row["found"], row["orders_count_30d"]) for row in table] == [
        (1, True, 3),
        (2, True, 0),
        (99, False, None),
    ]
    assert all(row["plan"] is None and row["features"] == ["orders_count_30d"] for row in table)
    assert {row["as_of"].isoformat() for row in table} == {INFO.as_of}
    assert {row["version"] for row in table} == {INFO.version}


def test_failed_flush_keeps_rows_and_reports(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    log = RequestLog(blocked, flush_rows=10_000, flush_seconds=3600, max_buffered_rows=3)
    _record(log, [1, 2])
    assert log.flush() == 0
    status = log.status()
    assert status["ok"] is False and status["failed_flushes"] == 1 and status["buffered_rows"] == 2
    assert str(blocked) in status["last_error"]
    _record(log, [1, 2])  # beyond the bound: counted, not silently lost
    assert log.status()["dropped_rows"] == 2
    blocked.unlink()
    assert log.flush() == 2
    assert log.status()["last_error"] is None and _rows(blocked) == 2
    log.close()
