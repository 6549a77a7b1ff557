"""Materialize: load the latest feature vector of every entity from the serving mart into an
online store, with the as-of time, the build that computed it and the feature-definition hash.

The serving mart is read from the build's DuckDB file read-only, in Arrow batches (memory
bounded by the batch size, not by the number of entities), and only when the last build proves
the serving model and everything upstream of it passed.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..dbt import read_artifact
from ..errors import EXIT_BUSY, EXIT_INPUT, EXIT_REFUSED, TrainsetError
from ..gates import check_gate
from ..project import Paths
from .catalog import ServingCatalog, load_catalog
from .store import (
    OnlineStore,
    VersionInfo,
    default_store_url,
    new_version_id,
    open_store,
    utc_now_iso,
)

READ_BATCH = 50_000
INTEGER_TYPES = ("bigint", "integer", "int", "smallint", "tinyint", "hugeint", "ubigint")


class MaterializeError(TrainsetError, RuntimeError):
    """Raised when the serving mart cannot be materialized as it is (the build's database is
    missing, or the mart breaks a rule of the online store): fix the build's input."""

    exit_code = EXIT_INPUT


class MaterializeBusyError(MaterializeError):
    """Raised when another process (a build) holds the database the mart is read from."""

    exit_code = EXIT_BUSY


class MaterializeRefusedError(MaterializeError):
    """Raised when the last build's tests did not pass upstream of the serving mart."""

    exit_code = EXIT_REFUSED


@dataclass(frozen=True)
class Source:
    """Where the serving mart is read from."""

    duckdb_path: Path
    relation: str
    build_id: str | None


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def key_type(catalog: ServingCatalog, manifest: dict[str, Any]) -> str:
    node = manifest["nodes"][catalog.unique_id]
    column = (node.get("columns") or {}).get(catalog.entity_column) or {}
    data_type = str(column.get("data_type") or "").lower()
    return "integer" if data_type.startswith(INTEGER_TYPES) else "text"


def _check_finite(batch: pa.RecordBatch, keys: pa.Array, entity_column: str) -> None:
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if not pa.types.is_floating(column.type):
            continue
        finite = pc.is_finite(column)
        if pc.all(finite).as_py() is False:
            index = pc.index(finite, False).as_py()
            raise MaterializeError(
                f"Column {name} of the serving mart holds {column[index].as_py()} for "
                f"{entity_column}={keys[index].as_py()}: JSON has no non-finite numbers, so it "
                "cannot be served. Fix the feature definition so it yields a number or null."
            )


def encode_batch(batch: pa.RecordBatch, catalog: ServingCatalog) -> list[tuple[Any, bytes]]:
    """`(key, vector)` rows: the vector is the orjson list of the feature values in catalog
    order, numbers as numbers, timestamps as ISO strings, nulls as null."""
    keys = batch.column(0)
    features = batch.select(catalog.feature_names)
    _check_finite(features, keys, catalog.entity_column)
    columns = []
    for column in features.columns:
        if pa.types.is_decimal(column.type):
            column = column.cast(pa.float64())
        columns.append(column.to_pylist())
    # orjson returns over-allocated bytes; a right-sized copy keeps memory at the data's size
    # (and is faster, since the oversized buffers are never touched).
    dumps = orjson.dumps
    option = orjson.OPT_NAIVE_UTC
    vectors = [
        memoryview(dumps(values, option=option)).tobytes() for values in zip(*columns, strict=True)
    ]
    return list(zip(keys.to_pylist(), vectors, strict=True))


def read_source(
    source: Source, catalog: ServingCatalog, only: list[Any] | None = None
) -> tuple[str, Iterator[pa.RecordBatch], Any]:
    """The mart's single as-of time, and its rows in batches (entity key first)."""
    import duckdb

    if not source.duckdb_path.exists():
        raise MaterializeError(f"{source.duckdb_path} does not exist: run `trainset build` first.")
    try:
        connection = duckdb.connect(str(source.duckdb_path), read_only=True)
    except duckdb.IOException as error:
        raise MaterializeBusyError(
            f"Cannot read {source.duckdb_path} ({error}); another process (a build?) holds it. "
            "Materialize after the build finishes."
        ) from error
    connection.execute("set TimeZone = 'UTC'")
    connection.execute("set enable_progress_bar = false")
    entity = f'"{catalog.entity_column}"'
    as_of_column = f'"{catalog.as_of_column}"'
    bounds = connection.execute(
        f"select count(*), count(distinct {as_of_column}), max({as_of_column}), "
        f"count(*) - count({entity}), count({entity}) - count(distinct {entity}) "
        f"from {source.relation}"
    ).fetchone()
    rows, distinct_as_of, as_of, null_keys, duplicate_keys = bounds
    if rows == 0:
        raise MaterializeError(
            f"{source.relation} in {source.duckdb_path} is empty: nothing to serve. Check the "
            "build (did the landing zone hold any customers?)."
        )
    if null_keys or duplicate_keys:
        raise MaterializeError(
            f"{source.relation}: {null_keys} rows with a null {catalog.entity_column} and "
            f"{duplicate_keys} duplicate keys; the serving mart must hold one row per entity."
        )
    if distinct_as_of != 1:
        raise MaterializeError(
            f"{source.relation}: {distinct_as_of} distinct {catalog.as_of_column} values; a "
            "materialization publishes the vectors of one moment."
        )
    columns = ", ".join(f'"{name}"' for name in [catalog.entity_column, *catalog.feature_names])
    query = f"select {columns} from {source.relation}"
    parameters: list[Any] = []
    if only is not None:
        connection.register("trainset_changed_keys", pa.table({"key": only}))
        query += f" where {entity} in (select key from trainset_changed_keys)"
    query += f" order by {entity}"
    reader = connection.execute(query, parameters).to_arrow_reader(READ_BATCH)
    return as_of.isoformat(), iter(reader), connection


def prefetched(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Produce `items` in a background thread, `depth` ahead of the consumer: reading the mart
    and encoding vectors (Python) overlaps with the store's writes (SQLite and socket I/O,
    which release the GIL). A producer error is raised in the consumer."""
    import queue
    import threading

    channel: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        channel.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            channel.put(done)
        except BaseException as error:  # handed to the consumer, which raises it
            channel.put(error)

    thread = threading.Thread(target=produce, name="trainset-materialize-read", daemon=True)
    thread.start()
    try:
        while True:
            item = channel.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def default_source(paths: Paths, catalog: ServingCatalog) -> Source:
    run_results = read_artifact(paths.target_dir, "run_results.json")
    manifest = read_artifact(paths.target_dir, "manifest.json")
    report = check_gate(manifest, run_results, catalog.unique_id)
    if not report.ok:
        shown = "; ".join(report.problems[:5])
        more = f" (and {len(report.problems) - 5} more)" if len(report.problems) > 5 else ""
        raise MaterializeRefusedError(
            f"Materialization of {catalog.unique_id} refused: {len(report.problems)} upstream "
            "nodes and tests did not pass in the last build; fix them and run `trainset build` "
            f"again (the online store keeps serving its current version): {shown}{more}"
        )
    return Source(
        duckdb_path=paths.duckdb_path,
        relation=catalog.relation,
        build_id=run_results.get("metadata", {}).get("invocation_id"),
    )


def materialize(
    paths: Paths | None = None,
    *,
    store: OnlineStore | str | None = None,
    task: str | None = None,
    incremental: bool = False,
    changed: Iterable[Any] | None = None,
    source: Source | None = None,
    manifest: dict[str, Any] | None = None,
    progress: Callable[[str], None] = _stderr,
) -> VersionInfo:
    """Publish the serving mart as a new version of the online store.

    incremental: carry the current version over and write only the vectors that differ from
    it (and remove the entities no longer in the mart). changed: the keys the build says
    changed; only those rows are read from the mart, every other vector is carried over.
    """
    paths = paths or Paths.resolve()
    manifest = manifest or read_artifact(paths.target_dir, "manifest.json")
    catalog = load_catalog(manifest)
    definition_hash = catalog.definition_hash(task) if catalog.services else None
    source = source or default_source(paths, catalog)
    if store is None or isinstance(store, str):
        store = open_store(store or default_store_url(paths.project_dir))
    keys = key_type(catalog, manifest)
    base = store.current() if (incremental or changed is not None) else None
    if base is not None and (base.feature_names != catalog.feature_names or base.key_type != keys):
        progress("materialize: the feature list changed since the current version: full load")
        base = None
    only = sorted(set(changed)) if (changed is not None and base is not None) else None
    as_of, batches, connection = read_source(source, catalog, only)
    counts = {"read": 0, "written": 0, "removed": 0}
    remove: list[Any] = []
    try:
        if base is not None and only is None:
            previous: dict[Any, bytes] = {}
            for batch in store.scan(base):
                previous.update(batch)

            def rows() -> Iterator[list[tuple[Any, bytes]]]:
                for batch in batches:
                    encoded = encode_batch(batch, catalog)
                    counts["read"] += len(encoded)
                    fresh = [
                        (key, vector)
                        for key, vector in encoded
                        if previous.pop(key, None) != vector
                    ]
                    counts["written"] += len(fresh)
                    yield fresh
                remove.extend(previous)
                counts["removed"] = len(previous)

        else:

            def rows() -> Iterator[list[tuple[Any, bytes]]]:
                for batch in batches:
                    encoded = encode_batch(batch, catalog)
                    counts["read"] += len(encoded)
                    counts["written"] += len(encoded)
                    yield encoded

        if base is not None:
            # Removals and counts are known only after the last batch: diff, then publish.
            pending: list[list[tuple[Any, bytes]]] | Iterator[list[tuple[Any, bytes]]]
            pending = list(rows())
        else:
            pending = prefetched(rows())
        info = VersionInfo(
            version=new_version_id(),
            as_of=as_of,
            build_id=source.build_id,
            definition_hash=definition_hash,
            view=catalog.view,
            entity_column=catalog.entity_column,
            key_type=keys,
            feature_names=catalog.feature_names,
            feature_types=[feature.data_type for feature in catalog.features],
            entities=0,
            created_at=utc_now_iso(),
            mode="full" if base is None else ("changed" if only is not None else "incremental"),
            written=counts["written"],
            removed=counts["removed"],
            previous=base.version if base else None,
            extra={
                "entity": catalog.entity,
                "descriptions": {feature.name: feature.description for feature in catalog.features},
                "services": {task: list(names) for task, names in catalog.services.items()},
                "max_age_hours": catalog.max_age_hours,
                "max_entities_per_request": catalog.max_entities_per_request,
                "source_relation": source.relation,
            },
        )
        # Millions of short-lived tuples and lists, none in a reference cycle: the cyclic
        # collector would only rescan them (about a seventh of the time at 1M entities).
        collecting = gc.isenabled()
        gc.disable()
        try:
            info = store.publish(info, pending, base=base, remove=remove)
        finally:
            if collecting:
                gc.enable()
    finally:
        connection.close()
    progress(
        f"materialize: version {info.version} of {catalog.view} as of {info.as_of}: "
        f"{info.entities} entities, {info.written} written ({info.mode}), "
        f"{info.removed} removed, build {info.build_id}"
    )
    return info
