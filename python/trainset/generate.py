"""A deterministic simulation of an online store's landing zone, with realistic faults.

`generate(out_dir, ...)` writes one folder of Parquet files per raw table (customers,
customer_changes, products, orders, order_items, web_events, refunds) and `_generator.json`,
which records the parameters, the rows written per table and how many rows of each fault were
injected, so tests can reconcile staging and quarantine against what was put in.

The simulation: every customer has a signup time, a plan, segment and country that change a few
times, an order rate that depends on the plan, and a churn time after which orders and web
sessions become rare. Orders carry one to four lines priced from the product price history;
web page views come in bursts (sessions); a share of returned orders is refunded.

Faults (with `faults=True`, each on about `fault_rate` of a table's rows, never two on one row):
exact duplicates, late arrivals (loaded hours to days after the event), corrections (a later
version of an order with another status), conflicting duplicates (same order and load time,
other amount), null keys and references, non-UTC offsets and naive timestamps (valid, must be
read as the same instant), unparseable and future timestamps, negative and absurd amounts, and
unknown customers, orders and products.

Memory stays flat: customers are simulated in chunks and each chunk's rows are appended to the
tables' Parquet writers as row groups.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SECOND = np.int64(1_000_000)  # microseconds
DAY = 86_400 * SECOND
TS = pa.timestamp("us", tz="UTC")

PLANS = np.array(["free", "basic", "pro"])
PLAN_WEIGHTS = [0.5, 0.35, 0.15]
PLAN_RATE = np.array([0.6, 1.0, 1.6])
SEGMENTS = np.array(["consumer", "smb", "enterprise"])
SEGMENT_WEIGHTS = [0.7, 0.22, 0.08]
COUNTRIES = np.array(["US", "DE", "FR", "GB", "NL", "ES", "IT", "PL"])
COUNTRY_WEIGHTS = [0.35, 0.15, 0.12, 0.12, 0.07, 0.07, 0.07, 0.05]
CATEGORIES = np.array(
    [
        "books",
        "electronics",
        "garden",
        "toys",
        "kitchen",
        "sports",
        "beauty",
        "fashion",
        "music",
        "pets",
    ]
)
PAGES = np.array(["home", "search", "product", "cart", "checkout", "account"])
PAGE_WEIGHTS = [0.2, 0.25, 0.35, 0.1, 0.05, 0.05]
STATUSES = np.array(["completed", "cancelled", "returned", "placed"])
STATUS_WEIGHTS = [0.86, 0.06, 0.05, 0.03]
OFFSETS_HOURS = np.array([2, -5, 9, 1, -8, 5])
UNKNOWN_ID_BASE = 9_000_000_000_000

SCHEMAS: dict[str, pa.Schema] = {
    "customers": pa.schema(
        [
            ("customer_id", pa.int64()),
            ("email", pa.string()),
            ("signup_at", pa.string()),
            ("plan", pa.string()),
            ("segment", pa.string()),
            ("country", pa.string()),
            ("updated_at", pa.string()),
            ("_loaded_at", TS),
        ]
    ),
    "customer_changes": pa.schema(
        [
            ("change_id", pa.int64()),
            ("customer_id", pa.int64()),
            ("plan", pa.string()),
            ("segment", pa.string()),
            ("country", pa.string()),
            ("changed_at", pa.string()),
            ("_loaded_at", TS),
        ]
    ),
    "products": pa.schema(
        [
            ("product_id", pa.int64()),
            ("product_name", pa.string()),
            ("category", pa.string()),
            ("price", pa.float64()),
            ("updated_at", pa.string()),
            ("_loaded_at", TS),
        ]
    ),
    "orders": pa.schema(
        [
            ("order_id", pa.int64()),
            ("customer_id", pa.int64()),
            ("ordered_at", pa.string()),
            ("status", pa.string()),
            ("amount", pa.float64()),
            ("_loaded_at", TS),
        ]
    ),
    "order_items": pa.schema(
        [
            ("order_item_id", pa.int64()),
            ("order_id", pa.int64()),
            ("product_id", pa.int64()),
            ("quantity", pa.int32()),
            ("unit_price", pa.float64()),
            ("_loaded_at", TS),
        ]
    ),
    "web_events": pa.schema(
        [
            ("event_id", pa.int64()),
            ("customer_id", pa.int64()),
            ("event_at", pa.string()),
            ("page", pa.string()),
            ("_loaded_at", TS),
        ]
    ),
    "refunds": pa.schema(
        [
            ("refund_id", pa.int64()),
            ("order_id", pa.int64()),
            ("refunded_at", pa.string()),
            ("amount", pa.float64()),
            ("_loaded_at", TS),
        ]
    ),
}
TABLES = list(SCHEMAS)
TIMESTAMP_COLUMN = {
    "customer_changes": "changed_at",
    "orders": "ordered_at",
    "web_events": "event_at",
    "refunds": "refunded_at",
}


def _default_progress(message: str) -> None:
    print(f"generate: {message}", file=sys.stderr, flush=True)


def _iso(
    micros: np.ndarray, style: np.ndarray | None = None, offsets: np.ndarray | None = None
) -> np.ndarray:
    """Format UTC microseconds as ISO 8601 strings. `style`: 0 '+00:00', 1 'Z', 2 a non-UTC
    offset (the local time of `offsets` hours, same instant), 3 naive (taken as UTC)."""
    micros = np.asarray(micros, dtype=np.int64)
    if style is None:
        style = np.zeros(len(micros), dtype=np.int8)
    shifted = micros.copy()
    if offsets is not None:
        shifted = np.where(style == 2, micros + offsets * 3600 * SECOND, micros)
    text = np.datetime_as_string(shifted.astype("datetime64[us]"), unit="s").astype(object)
    out = np.empty(len(micros), dtype=object)
    for code, suffix in ((0, "+00:00"), (1, "Z")):
        mask = style == code
        out[mask] = text[mask] + suffix
    mask = style == 2
    if offsets is not None and mask.any():
        signs = np.where(offsets[mask] >= 0, "+", "-")
        hours = np.char.zfill(np.abs(offsets[mask]).astype(str), 2).astype(object)
        out[mask] = text[mask] + signs.astype(object) + hours + ":00"
    mask = style == 3
    if mask.any():
        out[mask] = np.char.replace(text[mask].astype(str), "T", " ").astype(object)
    return out


@dataclass
class _Faults:
    """Picks disjoint rows for faults and counts what it injected."""

    rng: np.random.Generator
    rate: float
    enabled: bool
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def pick(
        self, table: str, rows: int, names: list[str], weights: dict[str, float] | None = None
    ) -> dict[str, np.ndarray]:
        picked: dict[str, np.ndarray] = {}
        if not self.enabled or rows == 0:
            return {name: np.array([], dtype=np.int64) for name in names}
        order = self.rng.permutation(rows)
        position = 0
        for name in names:
            share = self.rate * (weights or {}).get(name, 1.0)
            count = int(self.rng.binomial(rows, min(share, 1.0)))
            count = min(count, rows - position)
            picked[name] = np.sort(order[position : position + count])
            position += count
            self.add(table, name, count)
        return picked

    def add(self, table: str, name: str, count: int) -> None:
        if count:
            table_counts = self.counts.setdefault(table, {})
            table_counts[name] = table_counts.get(name, 0) + int(count)


def _timestamp_styles(
    rng: np.random.Generator, rows: int, faults: _Faults, table: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row format of a timestamp column: mostly '+00:00', some 'Z', and (as counted,
    valid variations) non-UTC offsets and naive strings."""
    style = np.where(rng.random(rows) < 0.3, 1, 0).astype(np.int8)
    offsets = rng.choice(OFFSETS_HOURS, size=rows)
    if faults.enabled:
        variation = rng.random(rows)
        non_utc = variation < faults.rate * 5
        naive = (variation >= faults.rate * 5) & (variation < faults.rate * 6)
        style[non_utc] = 2
        style[naive] = 3
        faults.add(table, "non_utc_offset", int(non_utc.sum()))
        faults.add(table, "naive_timestamp", int(naive.sum()))
    return style, offsets


def _concat(name: str, tables: list[pa.Table]) -> pa.Table:
    """Concatenate pieces of one table, typed by its schema (an empty piece has no types)."""
    return pa.concat_tables([piece.cast(SCHEMAS[name]) for piece in tables])


def _loaded_after(rng: np.random.Generator, event_micros: np.ndarray) -> np.ndarray:
    """Typical landing delay: seconds to minutes."""
    return (
        event_micros + (rng.exponential(90.0, len(event_micros)) * SECOND).astype(np.int64) + SECOND
    )


def _products(
    rng: np.random.Generator, start: int, end: int, product_count: int = 200
) -> tuple[pa.Table, dict[str, np.ndarray]]:
    product_ids = np.arange(1, product_count + 1, dtype=np.int64)
    categories = rng.choice(CATEGORIES, size=product_count)
    base_price = np.round(rng.lognormal(3.0, 0.7, product_count), 2)
    changes = rng.integers(0, 4, product_count)
    rows_product = np.repeat(product_ids, changes + 1)
    first = np.r_[0, np.cumsum(changes + 1)[:-1]]
    is_first = np.zeros(len(rows_product), dtype=bool)
    is_first[first] = True
    effective = np.where(
        is_first,
        start - 400 * DAY,
        start + (rng.random(len(rows_product)) * (end - start)).astype(np.int64),
    )
    order = np.lexsort((effective, rows_product))
    rows_product, effective = rows_product[order], effective[order]
    factor = np.where(
        np.r_[True, rows_product[1:] != rows_product[:-1]],
        1.0,
        rng.uniform(0.8, 1.25, len(rows_product)),
    )
    price = np.round(base_price[rows_product - 1] * factor, 2)
    table = pa.table(
        {
            "product_id": rows_product,
            "product_name": [f"product {product_id:04d}" for product_id in rows_product],
            "category": categories[rows_product - 1],
            "price": price,
            "updated_at": _iso(effective),
            "_loaded_at": pa.array(effective + 60 * SECOND, TS),
        },
        schema=SCHEMAS["products"],
    )
    history = {"product_id": rows_product, "effective": effective, "price": price}
    return table, history


def _price_at(
    history: dict[str, np.ndarray], product_ids: np.ndarray, at: np.ndarray
) -> np.ndarray:
    """Price of each product at each time (the last price change at or before it)."""
    keys = history["product_id"].astype(np.float64) * 1e16 + history["effective"].astype(np.float64)
    queries = product_ids.astype(np.float64) * 1e16 + at.astype(np.float64)
    index = np.searchsorted(keys, queries, side="right") - 1
    return history["price"][np.clip(index, 0, None)]


@dataclass
class _Counters:
    order_id: int = 1
    order_item_id: int = 1
    event_id: int = 1
    change_id: int = 1
    refund_id: int = 1

    def take(self, name: str, count: int) -> np.ndarray:
        first = getattr(self, name)
        setattr(self, name, first + count)
        return np.arange(first, first + count, dtype=np.int64)


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


def _simulate_chunk(
    order_rate: float,
    rng: np.random.Generator,
    customer_ids: np.ndarray,
    start: int,
    end: int,
    history: dict[str, np.ndarray],
    counters: _Counters,
    faults: _Faults,
    product_count: int,
) -> dict[str, pa.Table]:
    n = len(customer_ids)
    span = end - start
    # Signups: a head start of customers before the simulated period, the rest during it.
    early = rng.random(n) < 0.4
    signup = np.where(
        early,
        start - (rng.random(n) * 365 * DAY).astype(np.int64),
        start + (rng.random(n) * span * 0.9).astype(np.int64),
    )
    plan_index = rng.choice(3, size=n, p=PLAN_WEIGHTS)
    segment_index = rng.choice(3, size=n, p=SEGMENT_WEIGHTS)
    country_index = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_WEIGHTS)
    churn = signup + (rng.exponential(260.0, n) * DAY).astype(np.int64)
    base_rate = rng.lognormal(np.log(1 / 16.0), 0.6, n) * PLAN_RATE[plan_index]  # orders per day

    # Customer state changes: a signup row, then a few changes of one attribute each.
    change_count = rng.poisson(0.8, n)
    change_owner = np.repeat(np.arange(n), change_count)
    change_time = signup[change_owner] + (
        rng.random(len(change_owner)) * np.maximum(end - signup[change_owner], DAY)
    ).astype(np.int64)
    attribute = rng.integers(0, 3, len(change_owner))
    owners = np.r_[np.arange(n), change_owner]
    times = np.r_[signup, change_time]
    kinds = np.r_[np.full(n, -1), attribute]
    order = np.lexsort((times, owners))
    owners, times, kinds = owners[order], times[order], kinds[order]
    state_plan = plan_index[owners].copy()
    state_segment = segment_index[owners].copy()
    state_country = country_index[owners].copy()
    new_plan = rng.integers(0, 3, len(owners))
    new_segment = rng.integers(0, 3, len(owners))
    new_country = rng.integers(0, len(COUNTRIES), len(owners))
    for row in range(1, len(owners)):  # carry state forward within a customer (a few rows each)
        if owners[row] == owners[row - 1]:
            state_plan[row] = state_plan[row - 1]
            state_segment[row] = state_segment[row - 1]
            state_country[row] = state_country[row - 1]
            if kinds[row] == 0:
                state_plan[row] = new_plan[row]
            elif kinds[row] == 1:
                state_segment[row] = new_segment[row]
            elif kinds[row] == 2:
                state_country[row] = new_country[row]
    visible = times < end
    owners, times = owners[visible], times[visible]
    state_plan, state_segment, state_country = (
        state_plan[visible],
        state_segment[visible],
        state_country[visible],
    )
    change_ids = counters.take("change_id", len(owners))
    change_loaded = _loaded_after(rng, times)
    last = np.r_[owners[1:] != owners[:-1], True]
    changes_faults = faults.pick("customer_changes", len(owners), ["exact_duplicate"])
    change_style, change_offsets = _timestamp_styles(rng, len(owners), faults, "customer_changes")
    changes = pa.table(
        {
            "change_id": change_ids,
            "customer_id": customer_ids[owners],
            "plan": PLANS[state_plan],
            "segment": SEGMENTS[state_segment],
            "country": COUNTRIES[state_country],
            "changed_at": _iso(times, change_style, change_offsets),
            "_loaded_at": pa.array(change_loaded, TS),
        }
    )
    changes = _concat(
        "customer_changes", [changes, changes.take(changes_faults["exact_duplicate"])]
    )

    customers = pa.table(
        {
            "customer_id": customer_ids,
            "email": [f"customer{customer_id}@example.test" for customer_id in customer_ids],
            "signup_at": _iso(signup),
            "plan": PLANS[state_plan[last]],
            "segment": SEGMENTS[state_segment[last]],
            "country": COUNTRIES[state_country[last]],
            "updated_at": _iso(times[last]),
            "_loaded_at": pa.array(np.full(n, end, dtype=np.int64), TS),
        }
    )

    # Orders: a Poisson process at the customer's rate while active, 3% of it after churn.
    active_from = np.maximum(signup, start)
    active_to = np.clip(churn, active_from, end)
    active_days = (active_to - active_from) / DAY
    after_days = (end - active_to) / DAY
    active_orders = rng.poisson(base_rate * order_rate * active_days)
    after_orders = rng.poisson(base_rate * order_rate * 0.03 * after_days)
    owner_active = np.repeat(np.arange(n), active_orders)
    owner_after = np.repeat(np.arange(n), after_orders)
    order_owner = np.r_[owner_active, owner_after]
    window_start = np.r_[active_from[owner_active], active_to[owner_after]]
    window_end = np.r_[active_to[owner_active], np.full(len(owner_after), end)]
    ordered = window_start + (rng.random(len(order_owner)) * (window_end - window_start)).astype(
        np.int64
    )
    order = np.lexsort((ordered, order_owner))
    order_owner, ordered = order_owner[order], ordered[order]
    order_count = len(order_owner)
    order_ids = counters.take("order_id", order_count)
    status = rng.choice(STATUSES, size=order_count, p=STATUS_WEIGHTS)

    # Order lines priced from the price history at the order time.
    lines = rng.integers(1, 5, order_count)
    line_order = np.repeat(np.arange(order_count), lines)
    product_ids = rng.integers(1, product_count + 1, len(line_order)).astype(np.int64)
    quantity = rng.integers(1, 4, len(line_order)).astype(np.int32)
    unit_price = _price_at(history, product_ids, ordered[line_order])
    amount = np.round(
        np.bincount(line_order, weights=quantity * unit_price, minlength=order_count), 2
    )
    order_loaded = _loaded_after(rng, ordered)
    item_ids = counters.take("order_item_id", len(line_order))
    item_loaded = order_loaded[line_order] + SECOND

    # Order faults on disjoint rows.
    picked = faults.pick(
        "orders",
        order_count,
        [
            "exact_duplicate",
            "late_arrival",
            "correction",
            "conflicting_duplicate",
            "null_customer_id",
            "null_order_id",
            "unparseable_timestamp",
            "future_timestamp",
            "negative_amount",
            "absurd_amount",
            "unknown_customer",
        ],
        weights={"null_order_id": 0.25, "late_arrival": 3.0, "correction": 2.0},
    )
    order_loaded[picked["late_arrival"]] += (
        rng.uniform(2, 120, len(picked["late_arrival"])) * 3600 * SECOND
    ).astype(np.int64)
    item_loaded = np.maximum(item_loaded, order_loaded[line_order] + SECOND)
    style, offsets = _timestamp_styles(rng, order_count, faults, "orders")
    ordered_text = _iso(ordered, style, offsets)
    bad_text = np.array(
        ["not-a-date", "2025-13-45T99:00:00", "yesterday", "31/02/2025 10:00"], dtype=object
    )
    ordered_text[picked["unparseable_timestamp"]] = rng.choice(
        bad_text, len(picked["unparseable_timestamp"])
    )
    ordered_text[picked["future_timestamp"]] = _iso(
        end + (rng.uniform(700, 1500, len(picked["future_timestamp"])) * DAY).astype(np.int64)
    )
    order_customer = customer_ids[order_owner].astype(object)
    order_customer[picked["null_customer_id"]] = None
    order_customer[picked["unknown_customer"]] = (
        UNKNOWN_ID_BASE + order_ids[picked["unknown_customer"]]
    )
    order_id_column = order_ids.astype(object)
    order_id_column[picked["null_order_id"]] = None
    amount_column = amount.copy()
    amount_column[picked["negative_amount"]] = -np.maximum(
        amount_column[picked["negative_amount"]], 1.0
    )
    amount_column[picked["absurd_amount"]] = np.round(
        rng.uniform(2e6, 9e6, len(picked["absurd_amount"])), 2
    )
    orders = pa.table(
        {
            "order_id": pa.array(order_id_column, pa.int64()),
            "customer_id": pa.array(order_customer, pa.int64()),
            "ordered_at": ordered_text,
            "status": status,
            "amount": amount_column,
            "_loaded_at": pa.array(order_loaded, TS),
        }
    )
    corrected = picked["correction"]
    correction_status = np.where(
        status[corrected] == "completed",
        "returned",
        np.where(status[corrected] == "placed", "completed", "cancelled"),
    )
    corrections = pa.table(
        {
            "order_id": pa.array(order_ids[corrected], pa.int64()),
            "customer_id": pa.array(customer_ids[order_owner[corrected]], pa.int64()),
            "ordered_at": ordered_text[corrected],
            "status": correction_status,
            "amount": amount[corrected],
            "_loaded_at": pa.array(
                order_loaded[corrected]
                + (rng.uniform(1, 480, len(corrected)) * 3600 * SECOND).astype(np.int64),
                TS,
            ),
        }
    )
    conflicting = orders.take(picked["conflicting_duplicate"])
    conflicting = conflicting.set_column(
        conflicting.schema.get_field_index("amount"),
        "amount",
        pa.array(
            np.round(
                amount[picked["conflicting_duplicate"]]
                + rng.uniform(1, 50, len(picked["conflicting_duplicate"])),
                2,
            )
        ),
    )
    orders = _concat(
        "orders", [orders, orders.take(picked["exact_duplicate"]), corrections, conflicting]
    )

    item_faults = faults.pick("order_items", len(line_order), ["exact_duplicate", "unknown_order"])
    item_order = order_ids[line_order].copy()
    item_order[item_faults["unknown_order"]] = (
        UNKNOWN_ID_BASE + item_ids[item_faults["unknown_order"]]
    )
    items = pa.table(
        {
            "order_item_id": item_ids,
            "order_id": item_order,
            "product_id": product_ids,
            "quantity": quantity,
            "unit_price": unit_price,
            "_loaded_at": pa.array(item_loaded, TS),
        }
    )
    items = _concat("order_items", [items, items.take(item_faults["exact_duplicate"])])

    # Refunds for most returned orders, days after the order.
    returned = np.flatnonzero((status == "returned") & (rng.random(order_count) < 0.8))
    refund_at = ordered[returned] + (rng.uniform(1, 10, len(returned)) * DAY).astype(np.int64)
    keep = refund_at < end
    returned, refund_at = returned[keep], refund_at[keep]
    refund_ids = counters.take("refund_id", len(returned))
    refund_faults = faults.pick("refunds", len(returned), ["unknown_order"])
    refund_order = order_ids[returned].copy()
    refund_order[refund_faults["unknown_order"]] = (
        UNKNOWN_ID_BASE + refund_ids[refund_faults["unknown_order"]]
    )
    refunds = pa.table(
        {
            "refund_id": refund_ids,
            "order_id": refund_order,
            "refunded_at": _iso(refund_at),
            "amount": np.round(amount[returned] * rng.uniform(0.5, 1.0, len(returned)), 2),
            "_loaded_at": pa.array(_loaded_after(rng, refund_at), TS),
        }
    )

    # Web sessions: bursts of page views, a few seconds to minutes apart.
    session_rate = base_rate * 1.5
    sessions_active = rng.poisson(session_rate * active_days)
    sessions_after = rng.poisson(session_rate * 0.05 * after_days)
    session_owner = np.r_[
        np.repeat(np.arange(n), sessions_active), np.repeat(np.arange(n), sessions_after)
    ]
    session_from = np.r_[
        np.repeat(active_from, sessions_active), np.repeat(active_to, sessions_after)
    ]
    session_to = np.r_[np.repeat(active_to, sessions_active), np.full(sessions_after.sum(), end)]
    session_start = session_from + (
        rng.random(len(session_owner)) * (session_to - session_from)
    ).astype(np.int64)
    views = rng.integers(1, 7, len(session_owner))
    view_session = np.repeat(np.arange(len(session_owner)), views)
    gaps = (rng.uniform(5, 600, len(view_session)) * SECOND).astype(np.int64)
    first_view = np.r_[0, np.cumsum(views)[:-1]]
    gaps[first_view] = 0
    cumulative = np.cumsum(gaps)
    offset_in_session = cumulative - np.repeat(cumulative[first_view], views)
    event_at = np.minimum(session_start[view_session] + offset_in_session, end - SECOND)
    order = np.lexsort((event_at, session_owner[view_session]))
    view_session, event_at = view_session[order], event_at[order]
    event_count = len(view_session)
    event_ids = counters.take("event_id", event_count)
    event_loaded = _loaded_after(rng, event_at)
    web_faults = faults.pick(
        "web_events",
        event_count,
        [
            "exact_duplicate",
            "late_arrival",
            "null_customer_id",
            "unparseable_timestamp",
            "unknown_customer",
        ],
        weights={"late_arrival": 3.0},
    )
    event_loaded[web_faults["late_arrival"]] += (
        rng.uniform(2, 72, len(web_faults["late_arrival"])) * 3600 * SECOND
    ).astype(np.int64)
    web_style, web_offsets = _timestamp_styles(rng, event_count, faults, "web_events")
    event_text = _iso(event_at, web_style, web_offsets)
    event_text[web_faults["unparseable_timestamp"]] = "not-a-date"
    event_customer = customer_ids[session_owner[view_session]].astype(object)
    event_customer[web_faults["null_customer_id"]] = None
    event_customer[web_faults["unknown_customer"]] = (
        UNKNOWN_ID_BASE + event_ids[web_faults["unknown_customer"]]
    )
    events = pa.table(
        {
            "event_id": event_ids,
            "customer_id": pa.array(event_customer, pa.int64()),
            "event_at": event_text,
            "page": rng.choice(PAGES, size=event_count, p=PAGE_WEIGHTS),
            "_loaded_at": pa.array(event_loaded, TS),
        }
    )
    events = _concat("web_events", [events, events.take(web_faults["exact_duplicate"])])
    return {
        "customers": customers,
        "customer_changes": changes,
        "orders": orders,
        "order_items": items,
        "web_events": events,
        "refunds": refunds,
    }


def _micros(day: str) -> int:
    try:
        parsed = datetime.fromisoformat(day)
    except ValueError as error:
        raise ValueError(f"start must be a date like 2025-01-01, got {day!r}") from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1_000_000)


def _validate(customers: int, days: int, fault_rate: float, chunk_customers: int) -> None:
    if customers < 1:
        raise ValueError(f"customers must be >= 1, got {customers}")
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if not 0 <= fault_rate <= 0.05:
        raise ValueError(f"fault_rate must be between 0 and 0.05, got {fault_rate}")
    if chunk_customers < 1:
        raise ValueError(f"chunk_customers must be >= 1, got {chunk_customers}")


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
        raise ValueError(f"order_rate must be in (0, 100], got {order_rate}")
    say = progress or _default_progress
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    start_micros = _micros(start)
    end_micros = start_micros + days * int(DAY)
    temporary = out_dir.with_name(f".{out_dir.name}.tmp-{uuid.uuid4().hex[:8]}")
    temporary.mkdir()
    try:
        root_rng = np.random.default_rng([seed, 0])
        product_table, history = _products(root_rng, start_micros, end_micros)
        writers = _Writers(temporary, "00000")
        writers.write("products", product_table)
        fault_state = _Faults(np.random.default_rng([seed, 1]), fault_rate, faults)
        counters = _Counters()
        chunks = range(0, customers, chunk_customers)
        for number, first in enumerate(chunks, start=1):
            ids = np.arange(first + 1, min(first + chunk_customers, customers) + 1, dtype=np.int64)
            rng = np.random.default_rng([seed, 2, number])
            tables = _simulate_chunk(
                order_rate,
                rng,
                ids,
                start_micros,
                end_micros,
                history,
                counters,
                fault_state,
                product_table.num_rows and int(history["product_id"].max()),
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
            "end": _iso(np.array([end_micros]))[0],
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


def generate_next_day(
    out_dir: str | Path, *, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Append one more simulated day: new orders, lines and page views of existing customers,
    and some customers changing plan (new change-log rows and a rewritten current state), so
    a snapshot sees change. Faults are not injected into the extra day."""
    say = progress or _default_progress
    out_dir = Path(out_dir)
    summary_path = out_dir / "_generator.json"
    if not summary_path.is_file():
        raise FileNotFoundError(f"{summary_path} not found: run generate() on {out_dir} first")
    summary = json.loads(summary_path.read_text())
    params = summary["params"]
    day_index = params["days"] + summary["extra_days"]
    day_start = _micros(params["start"]) + day_index * int(DAY)
    day_end = day_start + int(DAY)
    rng = np.random.default_rng([params["seed"], 3, day_index])
    counters = _Counters(**summary["next_ids"])
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
            [_micros(text) for text in product_table.column("updated_at").to_pylist()]
        ),
        "price": product_table.column("price").to_numpy(),
    }
    order = np.lexsort((history["effective"], history["product_id"]))
    history = {key: value[order] for key, value in history.items()}
    product_ids = rng.integers(1, int(history["product_id"].max()) + 1, len(buyers)).astype(
        np.int64
    )
    price = _price_at(history, product_ids, ordered)
    loaded = _loaded_after(rng, ordered)
    tables: dict[str, pa.Table] = {
        "orders": pa.table(
            {
                "order_id": order_ids,
                "customer_id": buyers,
                "ordered_at": _iso(ordered),
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
                "event_at": _iso(ordered - 60 * SECOND),
                "page": np.full(len(buyers), "checkout"),
                "_loaded_at": pa.array(ordered, TS),
            }
        ),
    }
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
            "changed_at": _iso(changed_at),
            "_loaded_at": pa.array(_loaded_after(rng, changed_at), TS),
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
    updated[changing] = _iso(changed_at)
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
    summary["end"] = _iso(np.array([day_end]))[0]
    for name, table in tables.items():
        summary["rows"][name] = summary["rows"].get(name, 0) + table.num_rows
    summary_tmp = out_dir / "._generator.json.tmp"
    summary_tmp.write_text(json.dumps(summary, indent=2) + "\n")
    os.replace(summary_tmp, summary_path)
    say(f"day {day_index}: {len(buyers)} orders, {len(changing)} customers changed plan")
    return summary
