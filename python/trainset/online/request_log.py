"""The request log: every served vector appended to Parquet, off the request path.

A request only appends a reference to what it served (the raw vectors, no decoding) to an
in-memory buffer; a background thread turns the buffer into Parquet files under the log folder
when it holds `flush_rows` vectors, every `flush_seconds`, and at shutdown. One row per served
entity: `request_id`, `requested_at`, `entity_id`, `found`, `as_of`, `version`, `build_id`,
`definition_hash`, `features` (the requested names) and one typed column per feature of the
version (null when not requested; `features` tells a requested null from an unrequested one).

A flush that fails (folder unwritable, disk full) keeps the rows buffered, up to
`max_buffered_rows`, and retries at the next flush; rows beyond that bound are counted as
dropped. Both are reported by `status()`, which the server's `/health` shows. Serving goes on.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from .store import VersionInfo

INTEGER_PREFIXES = ("bigint", "int", "smallint", "tinyint", "hugeint", "ubigint")
FLOAT_PREFIXES = ("double", "float", "real", "decimal", "numeric")


def arrow_type(data_type: str) -> pa.DataType:
    data_type = data_type.lower()
    if data_type.startswith(INTEGER_PREFIXES):
        return pa.int64()
    if data_type.startswith(FLOAT_PREFIXES):
        return pa.float64()
    if data_type.startswith("bool"):
        return pa.bool_()
    return pa.string()


class RequestLog:
    def __init__(
        self,
        folder: Path | str,
        *,
        flush_rows: int = 10_000,
        flush_seconds: float = 5.0,
        max_buffered_rows: int = 1_000_000,
    ):
        self.folder = Path(folder)
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.max_buffered_rows = max_buffered_rows
        self._buffer: list[tuple] = []
        self._buffered_rows = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.written_rows = 0
        self.written_files = 0
        self.dropped_rows = 0
        self.failed_flushes = 0
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        self._thread = threading.Thread(target=self._run, name="trainset-request-log", daemon=True)
        self._thread.start()

    def record(
        self,
        requested_at: float,
        info: VersionInfo,
        features: list[str],
        positions: list[int],
        ids: list[Any],
        vectors: list[bytes | None],
    ) -> None:
        """Called on the request path: an append and a counter, nothing else."""
        with self._lock:
            if self._buffered_rows + len(ids) > self.max_buffered_rows:
                self.dropped_rows += len(ids)
                return
            self._buffer.append((requested_at, info, features, positions, ids, vectors))
            self._buffered_rows += len(ids)
            full = self._buffered_rows >= self.flush_rows
        if full:
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Write what is buffered; return the rows written."""
        with self._flush_lock:
            with self._lock:
                pending, self._buffer = self._buffer, []
                self._buffered_rows = 0
            if not pending:
                return 0
            try:
                written = self._write(pending)
            except Exception as error:  # any failure to write is reported, never raised
                self.failed_flushes += 1
                self.last_error = f"{type(error).__name__}: {error}"
                self.last_error_at = datetime.now(UTC).isoformat()
                with self._lock:
                    self._buffer = pending + self._buffer
                    self._buffered_rows = sum(len(record[4]) for record in self._buffer)
                    while self._buffered_rows > self.max_buffered_rows and self._buffer:
                        dropped = self._buffer.pop(0)
                        self._buffered_rows -= len(dropped[4])
                        self.dropped_rows += len(dropped[4])
                return 0
            self.last_error = None
            self.written_rows += written
            return written

    def _write(self, pending: list[tuple]) -> int:
        groups: dict[str, list[tuple]] = defaultdict(list)
        for record in pending:
            groups[record[1].version].append(record)
        self.folder.mkdir(parents=True, exist_ok=True)
        total = 0
        for records in groups.values():
            info: VersionInfo = records[0][1]
            table = self._table(info, records)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            final = self.folder / f"requests-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
            temporary = self.folder / f".{final.name}.tmp"
            pq.write_table(table, temporary)
            os.replace(temporary, final)
            self.written_files += 1
            total += table.num_rows
        return total

    @staticmethod
    def _table(info: VersionInfo, records: list[tuple]) -> pa.Table:
        names = info.feature_names
        columns: dict[str, list[Any]] = {name: [] for name in names}
        request_ids, requested, entity_ids, found, requested_features = [], [], [], [], []
        for requested_at, _, features, positions, ids, vectors in records:
            request_id = uuid.uuid4().hex
            when = datetime.fromtimestamp(requested_at, UTC).replace(tzinfo=None)
            chosen = set(positions)
            for key, vector in zip(ids, vectors, strict=True):
                request_ids.append(request_id)
                requested.append(when)
                entity_ids.append(key)
                found.append(vector is not None)
                requested_features.append(features)
                values = orjson.loads(vector) if vector is not None else None
                for position, name in enumerate(names):
                    columns[name].append(
                        values[position] if values is not None and position in chosen else None
                    )
        rows = len(entity_ids)
        as_of = datetime.fromisoformat(info.as_of)
        fields = {
            "request_id": pa.array(request_ids, pa.string()),
            "requested_at": pa.array(requested, pa.timestamp("us")),
            "entity_id": pa.array(
                entity_ids, pa.int64() if info.key_type == "integer" else pa.string()
            ),
            "found": pa.array(found, pa.bool_()),
            "as_of": pa.array([as_of] * rows, pa.timestamp("us")),
            "version": pa.array([info.version] * rows, pa.string()),
            "build_id": pa.array([info.build_id] * rows, pa.string()),
            "definition_hash": pa.array([info.definition_hash] * rows, pa.string()),
            "features": pa.array(requested_features, pa.list_(pa.string())),
        }
        for name, data_type in zip(names, info.feature_types, strict=True):
            fields[name] = pa.array(columns[name], arrow_type(data_type))
        return pa.table(fields)

    def status(self) -> dict[str, Any]:
        with self._lock:
            buffered = self._buffered_rows
        return {
            "ok": self.last_error is None and self.dropped_rows == 0,
            "folder": str(self.folder),
            "buffered_rows": buffered,
            "written_rows": self.written_rows,
            "written_files": self.written_files,
            "dropped_rows": self.dropped_rows,
            "failed_flushes": self.failed_flushes,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
        }

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self.flush()


def read_log(folder: Path | str) -> pa.Table:
    """Every logged vector, from all the files in the folder."""
    files = sorted(Path(folder).glob("requests-*.parquet"))
    if not files:
        raise FileNotFoundError(f"No request log files in {folder}.")
    return pa.concat_tables([pq.read_table(path) for path in files], promote_options="permissive")
