"""Writing a simulated landing zone: `generate` (a whole zone, published atomically) and
`generate_next_day` (one more day appended), with `_generator.json` recording the parameters,
the rows written per table and the faults injected.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import InputError, UsageError
from .entities import Chunk, Counters, price_at, simulate_chunk, simulate_products
from .faults import Faults
from .schema import DAY, PLANS, SCHEMAS, SECOND, TS
from .timestamps import day_micros, iso, loaded_after


def _quiet(message: str) -> None:
    """The default progress callback: the command line passes its own."""


class _Writers:
    def __init__(self, root: Path, suffix: str) -> None:
        self.root = root
        self.suffix = suffix
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.rows: dict[str, int] = {}

    def write(self, name: str, table: pa.Table, file_name: str | None = None) -> None:
        if name not in self.writers:
            folder = self.root / name
            folder.mkdir(parents=True, exist_ok=True)
            self.writers[name] = pq.ParquetWriter(
                folder / (file_name or f"part-{self.suffix}.parquet"),
                SCHEMAS[name],
                compression="zstd",
                write_page_checksum=True,
            )
        self.writers[name].write_table(table.cast(SCHEMAS[name]))
        self.rows[name] = self.rows.get(name, 0) + table.num_rows

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


def _validate(customers: int, days: int, fault_rate: float, chunk_customers: int) -> None:
    if customers < 1:
        raise UsageError(f"customers must be >= 1, got {customers}")
    if days < 1:
        raise UsageError(f"days must be >= 1, got {days}")
    if not 0 <= fault_rate <= 0.05:
        raise UsageError(f"fault_rate must be between 0 and 0.05, got {fault_rate}")
    if chunk_customers < 1:
        raise UsageError(f"chunk_customers must be >= 1, got {chunk_customers}")


def _publish(temporary: Path, out_dir: Path) -> None:
    """Swap a complete temporary landing zone into place; the old one goes only after."""
    retired = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
    if out_dir.exists():
        os.rename(out_dir, retired)
    os.rename(temporary, out_dir)
    shutil.rmtree(retired, ignore_errors=True)


def generate(
    out_dir: str | Path,
    *,
    customers: int = 5000,
    days: int = 450,
    start: str = "2025-01-01",
    seed: int = 42,
    faults: bool = True,
    fault_rate: float = 0.004,
    chunk_customers: int = 50_000,
    order_rate: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write a landing zone to `out_dir` (replaced only once the new one is complete) and
    return its summary, also written to `<out_dir>/_generator.json`."""
    _validate(customers, days, fault_rate, chunk_customers)
    if not 0 < order_rate <= 100:
        raise UsageError(f"order_rate must be in (0, 100], got {order_rate}")
    say = progress or _quiet
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    start_micros = day_micros(start)
    end_micros = start_micros + days * int(DAY)
    temporary = out_dir.with_name(f".{out_dir.name}.tmp-{uuid.uuid4().hex[:8]}")
    temporary.mkdir()
    try:
        root_rng = np.random.default_rng([seed, 0])
        product_table, history = simulate_products(root_rng, start_micros, end_micros)
        writers = _Writers(temporary, "00000")
        writers.write("products", product_table)
        fault_state = Faults(np.random.default_rng([seed, 1]), fault_rate, faults)
        counters = Counters()
        chunks = range(0, customers, chunk_customers)
        for number, first in enumerate(chunks, start=1):
            ids = np.arange(first + 1, min(first + chunk_customers, customers) + 1, dtype=np.int64)
            rng = np.random.default_rng([seed, 2, number])
            chunk = Chunk(rng, start_micros, end_micros, counters, fault_state)
            tables = simulate_chunk(
                chunk,
                ids,
                history,
                product_table.num_rows and int(history["product_id"].max()),
                order_rate,
            )
            for name, table in tables.items():
                writers.write(name, table, "part-current.parquet" if name == "customers" else None)
            say(
                f"chunk {number}/{len(chunks)}: {int(ids[-1]):,} customers, "
                f"{writers.rows.get('orders', 0):,} order rows, {writers.rows.get('web_events', 0):,} page views"
            )
        writers.close()
        summary = {
            "params": {
                "customers": customers,
                "days": days,
                "start": start,
                "seed": seed,
                "faults": faults,
                "fault_rate": fault_rate,
                "chunk_customers": chunk_customers,
                "order_rate": order_rate,
            },
            "end": iso(np.array([end_micros]))[0],
            "extra_days": 0,
            "next_ids": vars(counters),
            "rows": dict(sorted(writers.rows.items())),
            "faults": {
                table: dict(sorted(counts.items()))
                for table, counts in sorted(fault_state.counts.items())
            },
        }
        (temporary / "_generator.json").write_text(json.dumps(summary, indent=2) + "\n")
        _publish(temporary, out_dir)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    say(f"wrote {sum(summary['rows'].values()):,} rows to {out_dir}")
    return summary


LATE_ORDER_SHARE = 0.005
CORRECTED_ORDER_SHARE = 0.002
REDELIVERED_ORDER_SHARE = 0.002
LATE_DAYS_MAX = 5
# A correction moves an order on: placed orders complete, completed ones come back.
CORRECTED_STATUS = {"placed": "completed", "completed": "returned"}


def _late_and_revised_orders(
    rng: np.random.Generator,
    out_dir: Path,
    orders: pa.Table,
    items: pa.Table,
    counters: Counters,
    history: dict[str, np.ndarray],
    customer_ids: np.ndarray,
    day_start: int,
) -> tuple[pa.Table, pa.Table]:
    """What a day's order feed carries besides the day's own orders, all loaded that day:
    late orders (placed one to LATE_DAYS_MAX days before the day, with their lines),
    corrections of earlier orders (the same order with a new status: a new version) and
    re-deliveries of earlier order rows (the same payload again, which staging collapses)."""
    earlier = pq.read_table(
        out_dir / "orders", columns=["order_id", "customer_id", "ordered_at", "status", "amount"]
    )
    earlier = earlier.filter(pc.is_valid(earlier.column("order_id")))
    late_count = max(1, round(len(customer_ids) * LATE_ORDER_SHARE))
    buyers = rng.choice(customer_ids, late_count)
    ordered = day_start - (rng.uniform(1, LATE_DAYS_MAX, late_count) * DAY).astype(np.int64)
    order_ids = counters.take("order_id", late_count)
    product_ids = rng.integers(1, int(history["product_id"].max()) + 1, late_count).astype(np.int64)
    price = price_at(history, product_ids, ordered)
    loaded = day_start + (rng.random(late_count) * DAY).astype(np.int64)
    parts = [
        orders,
        pa.table(
            {
                "order_id": order_ids,
                "customer_id": buyers,
                "ordered_at": iso(ordered),
                "status": np.full(late_count, "completed"),
                "amount": price,
                "_loaded_at": pa.array(loaded, TS),
            }
        ).cast(orders.schema),
    ]
    late_items = pa.table(
        {
            "order_item_id": counters.take("order_item_id", late_count),
            "order_id": order_ids,
            "product_id": product_ids,
            "quantity": np.ones(late_count, dtype=np.int32),
            "unit_price": price,
            "_loaded_at": pa.array(loaded + SECOND, TS),
        }
    ).cast(items.schema)
    statuses = np.array(earlier.column("status").to_pylist(), dtype=object)
    correctable = np.flatnonzero(np.isin(statuses, list(CORRECTED_STATUS)))
    corrected = rng.choice(
        correctable,
        min(len(correctable), max(1, round(earlier.num_rows * CORRECTED_ORDER_SHARE))),
        replace=False,
    )
    redelivered = rng.choice(
        earlier.num_rows,
        min(earlier.num_rows, max(1, round(earlier.num_rows * REDELIVERED_ORDER_SHARE))),
        replace=False,
    )
    for rows, status in (
        (corrected, [CORRECTED_STATUS[value] for value in statuses[corrected]]),
        (redelivered, None),
    ):
        picked = earlier.take(pa.array(np.sort(rows), pa.int64()))
        if status is not None:
            picked = picked.set_column(
                picked.schema.get_field_index("status"), "status", pa.array(status, pa.string())
            )
        stamps = day_start + (rng.random(picked.num_rows) * DAY).astype(np.int64)
        parts.append(picked.append_column("_loaded_at", pa.array(stamps, TS)).cast(orders.schema))
    return pa.concat_tables(parts), pa.concat_tables([items, late_items])


def generate_next_day(
    out_dir: str | Path, *, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Append one more simulated day: new orders, lines and page views of existing customers,
    late orders, corrections and re-deliveries of earlier orders (see
    `_late_and_revised_orders`), and some customers changing plan (new change-log rows and a
    rewritten current state), so a snapshot sees change. Faults are not injected into the
    extra day. Each table's rows of the day go to one file, `part-day-<day index>.parquet`."""
    say = progress or _quiet
    out_dir = Path(out_dir)
    summary_path = out_dir / "_generator.json"
    if not summary_path.is_file():
        raise InputError(f"{summary_path} not found: run generate() on {out_dir} first")
    summary = json.loads(summary_path.read_text())
    params = summary["params"]
    day_index = params["days"] + summary["extra_days"]
    day_start = day_micros(params["start"]) + day_index * int(DAY)
    day_end = day_start + int(DAY)
    rng = np.random.default_rng([params["seed"], 3, day_index])
    counters = Counters(**summary["next_ids"])
    customers = pq.read_table(out_dir / "customers" / "part-current.parquet")
    ids = customers.column("customer_id").to_numpy()
    n = len(ids)

    ordering = rng.random(n) < 0.03
    buyers = ids[ordering]
    ordered = day_start + (rng.random(len(buyers)) * DAY).astype(np.int64)
    order_ids = counters.take("order_id", len(buyers))
    product_table = pq.read_table(out_dir / "products")
    history = {
        "product_id": product_table.column("product_id").to_numpy(),
        "effective": np.array(
            [day_micros(text) for text in product_table.column("updated_at").to_pylist()]
        ),
        "price": product_table.column("price").to_numpy(),
    }
    order = np.lexsort((history["effective"], history["product_id"]))
    history = {key: value[order] for key, value in history.items()}
    product_ids = rng.integers(1, int(history["product_id"].max()) + 1, len(buyers)).astype(
        np.int64
    )
    price = price_at(history, product_ids, ordered)
    loaded = loaded_after(rng, ordered)
    tables: dict[str, pa.Table] = {
        "orders": pa.table(
            {
                "order_id": order_ids,
                "customer_id": buyers,
                "ordered_at": iso(ordered),
                "status": np.full(len(buyers), "completed"),
                "amount": price,
                "_loaded_at": pa.array(loaded, TS),
            }
        ),
        "order_items": pa.table(
            {
                "order_item_id": counters.take("order_item_id", len(buyers)),
                "order_id": order_ids,
                "product_id": product_ids,
                "quantity": np.ones(len(buyers), dtype=np.int32),
                "unit_price": price,
                "_loaded_at": pa.array(loaded + SECOND, TS),
            }
        ),
        "web_events": pa.table(
            {
                "event_id": counters.take("event_id", len(buyers)),
                "customer_id": buyers,
                "event_at": iso(ordered - 60 * SECOND),
                "page": np.full(len(buyers), "checkout"),
                "_loaded_at": pa.array(ordered, TS),
            }
        ),
    }
    tables["orders"], tables["order_items"] = _late_and_revised_orders(
        np.random.default_rng([params["seed"], 4, day_index]),
        out_dir,
        tables["orders"],
        tables["order_items"],
        counters,
        history,
        ids,
        day_start,
    )
    changing = np.flatnonzero(rng.random(n) < 0.02)
    if len(changing) == 0:
        changing = np.array([0])
    plans = np.array(customers.column("plan").to_pylist(), dtype=object)
    new_plans = np.array(
        [PLANS[(list(PLANS).index(plan) + 1) % 3] for plan in plans[changing]], dtype=object
    )
    changed_at = day_start + (rng.random(len(changing)) * DAY).astype(np.int64)
    tables["customer_changes"] = pa.table(
        {
            "change_id": counters.take("change_id", len(changing)),
            "customer_id": ids[changing],
            "plan": new_plans,
            "segment": np.array(customers.column("segment").to_pylist(), dtype=object)[changing],
            "country": np.array(customers.column("country").to_pylist(), dtype=object)[changing],
            "changed_at": iso(changed_at),
            "_loaded_at": pa.array(loaded_after(rng, changed_at), TS),
        }
    )
    suffix = f"day-{day_index:05d}"
    for name, table in tables.items():
        temporary = out_dir / name / f".part-{suffix}.parquet.tmp"
        pq.write_table(
            table.cast(SCHEMAS[name]), temporary, compression="zstd", write_page_checksum=True
        )
        os.rename(temporary, out_dir / name / f"part-{suffix}.parquet")
    updated = np.array(customers.column("updated_at").to_pylist(), dtype=object)
    plans[changing] = new_plans
    updated[changing] = iso(changed_at)
    current = customers.set_column(
        customers.schema.get_field_index("plan"), "plan", pa.array(plans, pa.string())
    )
    current = current.set_column(
        current.schema.get_field_index("updated_at"), "updated_at", pa.array(updated, pa.string())
    )
    current = current.set_column(
        current.schema.get_field_index("_loaded_at"),
        "_loaded_at",
        pa.array(np.full(n, day_end, dtype=np.int64), TS),
    )
    temporary = out_dir / "customers" / ".part-current.parquet.tmp"
    pq.write_table(current, temporary, compression="zstd", write_page_checksum=True)
    os.replace(temporary, out_dir / "customers" / "part-current.parquet")

    summary["extra_days"] += 1
    summary["next_ids"] = vars(counters)
    summary["end"] = iso(np.array([day_end]))[0]
    for name, table in tables.items():
        summary["rows"][name] = summary["rows"].get(name, 0) + table.num_rows
    summary_tmp = out_dir / "._generator.json.tmp"
    summary_tmp.write_text(json.dumps(summary, indent=2) + "\n")
    os.replace(summary_tmp, summary_path)
    say(f"day {day_index}: {len(buyers)} orders, {len(changing)} customers changed plan")
    return summary
