"""Online stores: an embedded SQLite file (the default) and Redis.

Each materialization is a version: its vectors are written under a new name (a table in SQLite,
a hash key in Redis) that no reader looks at yet, then one atomic write moves the `current`
pointer to it. A reader resolves the pointer and reads the vectors in one step (one SQL
statement on a table that is kept until two newer versions exist; one Lua script in Redis),
so a response always comes from one version whole. A materialization killed before the
pointer moves leaves the previous version served; its leftovers are removed by the next one.

A vector is the orjson encoding of the feature values as a list, in the order the version's
`feature_names` records, so a reader decodes a version by its own column list.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson

from ..errors import EXIT_INPUT, EXIT_NOT_FOUND, TrainsetError, UsageError

KEEP_VERSIONS = 2
WRITE_BATCH = 10_000
LOOKUP_CHUNK = 1_000
WRITE_TIMEOUT = 300.0


class StoreUnavailableError(TrainsetError, RuntimeError):
    """The online store cannot be reached (server down, file unreadable): an input of the
    command that is missing or invalid."""

    exit_code = EXIT_INPUT


class NotMaterializedError(TrainsetError, RuntimeError):
    """The store holds no materialized version yet: run `trainset materialize`."""

    exit_code = EXIT_NOT_FOUND


@dataclass(frozen=True)
class VersionInfo:
    """What a materialization published."""

    version: str
    as_of: str
    build_id: str | None
    definition_hash: str | None
    view: str
    entity_column: str
    key_type: str
    feature_names: list[str]
    feature_types: list[str]
    entities: int
    created_at: str
    mode: str = "full"
    written: int = 0
    removed: int = 0
    previous: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | str) -> VersionInfo:
        return cls(**orjson.loads(data))

    @cached_property
    def as_of_epoch(self) -> float:
        return datetime.fromisoformat(self.as_of).replace(tzinfo=UTC).timestamp()


def new_version_id() -> str:
    """Sortable by creation time, safe as part of an identifier."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "_" + uuid.uuid4().hex[:8]


_VERSION_PATTERN = re.compile(r"^[0-9]{8}T[0-9]{12}_[0-9a-f]{8}$")


def _check_version(version: str) -> str:
    if not _VERSION_PATTERN.match(version):
        raise ValueError(f"Not a version id: {version!r}")
    return version


class OnlineStore(ABC):
    """Common interface of the stores: SQLiteStore and RedisStore implement every method."""

    url: str

    @abstractmethod
    def current(self) -> VersionInfo | None: ...

    @abstractmethod
    def lookup(self, keys: list[Any]) -> tuple[VersionInfo, list[bytes | None]]:
        """The vectors of `keys` (None where absent), all from the current version."""
        ...

    @abstractmethod
    def publish(
        self,
        info: VersionInfo,
        rows: Iterable[list[tuple[Any, bytes]]],
        *,
        base: VersionInfo | None = None,
        remove: Iterable[Any] = (),
    ) -> VersionInfo:
        """Write the batches of `(key, vector)` rows as version `info.version`, on top of a copy
        of `base` when given (minus `remove`), then make it current."""
        ...

    @abstractmethod
    def scan(self, version: VersionInfo) -> Iterator[list[tuple[Any, bytes]]]:
        """Every `(key, vector)` of a version, in batches."""
        ...

    @abstractmethod
    def ping(self) -> None:
        """Raise StoreUnavailableError unless the store answers."""

    def close(self) -> None:  # noqa: B027 - a store without connections has nothing to close
        return None


class SQLiteStore(OnlineStore):
    """One SQLite file in WAL mode: readers never block the writer or each other."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._local = threading.local()
        self._infos: dict[str, VersionInfo] = {}
        self._compiled: tuple[str, VersionInfo, str, str] | None = None

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if not self.path.exists():
                raise NotMaterializedError(
                    f"No online store at {self.path}: run `trainset materialize` first."
                )
            try:
                connection = sqlite3.connect(
                    f"file:{self.path}?mode=ro", uri=True, check_same_thread=False
                )
                connection.execute("pragma query_only = 1")
            except sqlite3.Error as error:
                raise StoreUnavailableError(
                    f"Cannot open the online store {self.path}: {error}. Check the file, or "
                    "point --store (TRAINSET_ONLINE_STORE) at another one."
                ) from error
            self._local.connection = connection
        return connection

    def _info(self, connection: sqlite3.Connection, version: str) -> VersionInfo:
        info = self._infos.get(version)
        if info is None:
            row = connection.execute(
                "select info from trainset_versions where version = ?", (version,)
            ).fetchone()
            if row is None:
                raise StoreUnavailableError(f"{self.path}: version {version} has no record.")
            info = VersionInfo.from_json(row[0])
            self._infos[version] = info
        return info

    def current(self) -> VersionInfo | None:
        try:
            connection = self._connection()
        except NotMaterializedError:
            return None
        try:
            row = connection.execute("select version from trainset_current").fetchone()
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return None
            raise StoreUnavailableError(
                f"Cannot read the online store {self.path}: {error}. Check that it is a "
                "store `trainset materialize` wrote, or point --store (TRAINSET_ONLINE_STORE) "
                "at another one."
            ) from error
        return self._info(connection, row[0]) if row else None

    def lookup(self, keys: list[Any]) -> tuple[VersionInfo, list[bytes | None]]:
        connection = getattr(self._local, "connection", None) or self._connection()
        compiled = self._compiled
        if compiled is not None and len(keys) == 1:
            # The common case, one key of the version last seen, in as few steps as possible;
            # anything else (a moved pointer, a dropped table) takes the path below.
            try:
                found = connection.execute(compiled[2], (keys[0],)).fetchone()
            except sqlite3.OperationalError:
                found = None
            if found is not None and found[0] == compiled[0]:
                return compiled[1], [found[1]]
        if not keys:
            info = self.current()
            if info is None:
                raise NotMaterializedError("The online store holds no version yet.")
            return info, []
        for attempt in range(4):
            try:
                compiled = self._compiled
                if compiled is not None:
                    # One statement reads the pointer and the vectors together (the pointer is
                    # the version marker: no other read per call); when the pointer has moved,
                    # compile the statements of the version it names and read again.
                    version, info, single, many = compiled
                    if len(keys) == 1:
                        found = connection.execute(single, (keys[0],)).fetchone()
                        if found is not None and found[0] == version:
                            return info, [found[1]]
                    else:
                        rows = connection.execute(many, (orjson.dumps(keys),)).fetchall()
                        if rows and rows[0][0] == version:
                            return info, [row[1] for row in rows]
                row = connection.execute("select version from trainset_current").fetchone()
                if row is None:
                    raise NotMaterializedError("The online store holds no version yet.")
                info = self._info(connection, row[0])
                table = f"vectors_{_check_version(info.version)}"
                # Two statements per version, prepared once per connection (sqlite3 caches
                # them by their text): one key, and any number of keys passed as one JSON
                # array, answered in request order with null where a key is absent.
                self._compiled = (
                    info.version,
                    info,
                    f"select version, (select vector from {table} where entity_id = ?) "
                    "from trainset_current",
                    f"select (select version from trainset_current), {table}.vector "
                    f"from json_each(?) as requested left join {table} "
                    f"on {table}.entity_id = requested.value order by requested.key",
                )
            except sqlite3.OperationalError as error:
                # The table of a version two materializations old was dropped between reading
                # the pointer and the vectors: read the pointer again.
                if "no such table" in str(error) and attempt < 3:
                    self._compiled = None
                    continue
                raise StoreUnavailableError(f"{self.path}: {error}") from error
        raise StoreUnavailableError(f"{self.path}: the current version kept moving; retry.")

    def ping(self) -> None:
        self._connection().execute("select 1").fetchone()

    def _writer(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, isolation_level=None)
        connection.execute("pragma journal_mode = wal")
        connection.execute("pragma synchronous = normal")
        connection.execute(
            "create table if not exists trainset_versions (version text primary key, info text not null)"
        )
        connection.execute(
            "create table if not exists trainset_current "
            "(id integer primary key check (id = 1), version text not null)"
        )
        return connection

    def publish(self, info, rows, *, base=None, remove=()):
        table = f"vectors_{_check_version(info.version)}"
        key_type = "integer" if info.key_type == "integer" else "text"
        connection = self._writer()
        try:
            connection.execute("begin")
            connection.execute(
                f"create table {table} (entity_id {key_type} primary key, vector blob not null)"
            )
            if base is not None:
                connection.execute(
                    f"insert into {table} select entity_id, vector from vectors_{_check_version(base.version)}"
                )
                connection.executemany(
                    f"delete from {table} where entity_id = ?", [(key,) for key in remove]
                )
            verb = "insert" if base is None else "insert or replace"
            statement = f"{verb} into {table} (entity_id, vector) values (?, ?)"
            for batch in rows:
                connection.executemany(statement, batch)
            (entities,) = connection.execute(f"select count(*) from {table}").fetchone()
            info = _with(
                info, entities=entities, written=entities if info.mode == "full" else info.written
            )
            connection.execute(
                "insert into trainset_versions (version, info) values (?, ?)",
                (info.version, info.to_json()),
            )
            # The switch: the pointer moves in the same commit that makes the vectors visible.
            connection.execute(
                "insert into trainset_current (id, version) values (1, ?) "
                "on conflict (id) do update set version = excluded.version",
                (info.version,),
            )
            connection.execute("commit")
            connection.execute("begin")
            self._prune(connection, info.version)
            connection.execute("commit")
        except BaseException:
            if connection.in_transaction:
                connection.execute("rollback")
            raise
        finally:
            connection.close()
        return info

    def _prune(self, connection: sqlite3.Connection, current: str) -> None:
        versions = [
            row[0]
            for row in connection.execute(
                "select version from trainset_versions order by version desc"
            )
        ]
        keep = (
            set(versions[: versions.index(current) + KEEP_VERSIONS])
            if current in versions
            else set()
        )
        keep.add(current)
        tables = [
            row[0]
            for row in connection.execute(
                "select name from sqlite_master where type = 'table' and name like 'vectors_%'"
            )
        ]
        for name in tables:
            version = name.removeprefix("vectors_")
            if version not in keep and _VERSION_PATTERN.match(version):
                connection.execute(f"drop table {name}")
        for version in versions:
            if version not in keep:
                connection.execute("delete from trainset_versions where version = ?", (version,))

    def scan(self, version):
        connection = self._connection()
        cursor = connection.execute(
            f"select entity_id, vector from vectors_{_check_version(version.version)}"
        )
        while batch := cursor.fetchmany(WRITE_BATCH):
            yield batch

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


_LOOKUP_SCRIPT = """
local version = redis.call('GET', KEYS[1])
if not version then return false end
if ARGV[2] ~= '' and ARGV[2] ~= version then version = ARGV[2] end
local vectors = redis.call('HMGET', ARGV[1] .. 'vectors:' .. version, unpack(ARGV, 3))
return {version, vectors}
"""


class RedisStore(OnlineStore):
    """Keys under a prefix: `current` (the version), `info:<version>` (JSON) and
    `vectors:<version>` (a hash from entity key to vector)."""

    def __init__(self, url: str, prefix: str = "trainset:"):
        import redis

        self.url = url
        self.prefix = prefix
        self.client = redis.Redis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=1.0, health_check_interval=0
        )
        self._script = self.client.register_script(_LOOKUP_SCRIPT)
        self._infos: dict[str, VersionInfo] = {}

    def _call(self, function, *args, **kwargs):
        import redis

        try:
            return function(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise StoreUnavailableError(f"Redis at {self.url} is unreachable: {error}") from error

    def _info(self, version: str) -> VersionInfo:
        info = self._infos.get(version)
        if info is None:
            raw = self._call(self.client.get, f"{self.prefix}info:{version}")
            if raw is None:
                raise StoreUnavailableError(
                    f"Redis at {self.url}: version {version} has no record."
                )
            info = VersionInfo.from_json(raw)
            self._infos[version] = info
        return info

    def current(self) -> VersionInfo | None:
        version = self._call(self.client.get, f"{self.prefix}current")
        return self._info(version.decode()) if version else None

    def lookup(self, keys):
        pinned = ""
        vectors: list[bytes | None] = []
        info = None
        for start in range(0, max(len(keys), 1), LOOKUP_CHUNK):
            chunk = [str(key) for key in keys[start : start + LOOKUP_CHUNK]]
            result = self._call(
                self._script, keys=[f"{self.prefix}current"], args=[self.prefix, pinned, *chunk]
            )
            if not result:
                raise NotMaterializedError("The online store holds no version yet.")
            version, found = result[0].decode(), result[1]
            info = self._info(version)
            pinned = version
            vectors.extend(found if chunk else [])
        assert info is not None
        return info, vectors

    def ping(self) -> None:
        self._call(self.client.ping)

    def publish(self, info, rows, *, base=None, remove=()):
        _check_version(info.version)
        vectors_key = f"{self.prefix}vectors:{info.version}"
        if base is not None:
            self._call(self.client.copy, f"{self.prefix}vectors:{base.version}", vectors_key)
            removed = [str(key) for key in remove]
            for start in range(0, len(removed), WRITE_BATCH):
                self._call(self.client.hdel, vectors_key, *removed[start : start + WRITE_BATCH])
        self._call(self._write_batches, vectors_key.encode(), rows)
        entities = self._call(self.client.hlen, vectors_key)
        info = _with(
            info, entities=entities, written=entities if info.mode == "full" else info.written
        )
        self._call(self.client.set, f"{self.prefix}info:{info.version}", info.to_json())
        # The switch: one SET of the pointer.
        self._call(self.client.set, f"{self.prefix}current", info.version)
        self._prune(info.version)
        return info

    def _write_batches(self, key: bytes, rows: Iterable[list[tuple[Any, bytes]]]) -> None:
        """HSET each batch, encoded straight to the wire protocol: the client library's
        generic encoder costs more than everything else in a materialization."""
        import redis

        # Serving reads fail fast (2 s); bulk writes may wait on a busy server for longer.
        writer = redis.Redis.from_url(self.url, socket_timeout=WRITE_TIMEOUT)
        connection = writer.connection_pool.get_connection()
        try:
            in_flight = 0
            for batch in rows:
                if not batch:
                    continue
                parts = [
                    b"*%d\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n" % (2 + 2 * len(batch), len(key), key)
                ]
                for entity, vector in batch:
                    field = str(entity).encode()
                    parts.append(
                        b"$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(field), field, len(vector), vector)
                    )
                connection.send_packed_command([b"".join(parts)], check_health=False)
                in_flight += 1
                if in_flight >= 2:
                    connection.read_response()
                    in_flight -= 1
            while in_flight:
                connection.read_response()
                in_flight -= 1
        except BaseException:
            connection.disconnect()
            raise
        finally:
            writer.connection_pool.release(connection)
            writer.close()

    def _prune(self, current: str) -> None:
        versions = sorted(
            (
                key.decode().rsplit(":", 1)[-1]
                for key in self.client.scan_iter(match=f"{self.prefix}vectors:*", count=1000)
            ),
            reverse=True,
        )
        published = sorted(
            (
                key.decode().rsplit(":", 1)[-1]
                for key in self.client.scan_iter(match=f"{self.prefix}info:*", count=1000)
            ),
            reverse=True,
        )
        keep = set(published[: published.index(current) + KEEP_VERSIONS]) | {current}
        for version in set(versions) | set(published):
            if version not in keep:
                self.client.unlink(
                    f"{self.prefix}vectors:{version}", f"{self.prefix}info:{version}"
                )

    def scan(self, version):
        cursor = 0
        key = f"{self.prefix}vectors:{version.version}"
        integer = version.key_type == "integer"
        while True:
            cursor, found = self._call(self.client.hscan, key, cursor, count=WRITE_BATCH)
            yield [(int(k) if integer else k.decode(), v) for k, v in found.items()]
            if cursor == 0:
                break

    def close(self) -> None:
        self.client.close()


def _with(info: VersionInfo, **changes: Any) -> VersionInfo:
    values = asdict(info)
    values.update(changes)
    return VersionInfo(**values)


def default_store_url(project_dir: Path) -> str:
    """TRAINSET_ONLINE_STORE (a SQLite path, `sqlite:///path` or `redis://host:port/db`), else
    `data/online/features.sqlite` in the project."""
    value = os.environ.get("TRAINSET_ONLINE_STORE")
    if value:
        return value
    return str(project_dir / "data" / "online" / "features.sqlite")


def open_store(url: str) -> OnlineStore:
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(url)
    if url.startswith("sqlite:///"):
        return SQLiteStore(url.removeprefix("sqlite:///"))
    parsed = urlparse(url)
    if parsed.scheme and len(parsed.scheme) > 1:
        raise UsageError(
            f"Unsupported online store {url!r}: use a SQLite file path, sqlite:///path or redis://host:port/db."
        )
    return SQLiteStore(url)


def utc_now_iso() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat()


def monotonic() -> float:
    return time.monotonic()
