"""One function per simulated entity: products, customers, their changes, orders, order lines,
refunds and web page views.

`simulate_chunk` calls them for one chunk of customers in a fixed order; every draw comes from
the chunk's random generator in that order, so a seed gives the same landing zone every time.
Reordering the calls (or the draws inside one) changes the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .faults import Faults
from .schema import (
    CATEGORIES,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    DAY,
    PAGE_WEIGHTS,
    PAGES,
    PLAN_RATE,
    PLAN_WEIGHTS,
    PLANS,
    SCHEMAS,
    SECOND,
    SEGMENT_WEIGHTS,
    SEGMENTS,
    STATUS_WEIGHTS,
    STATUSES,
    TS,
    UNKNOWN_ID_BASE,
)
from .timestamps import iso, loaded_after, timestamp_styles


@dataclass
class Counters:
    """The next id of each table, carried across chunks and extra days."""

    order_id: int = 1
    order_item_id: int = 1
    event_id: int = 1
    change_id: int = 1
    refund_id: int = 1

    def take(self, name: str, count: int) -> np.ndarray:
        first = getattr(self, name)
        setattr(self, name, first + count)
        return np.arange(first, first + count, dtype=np.int64)


@dataclass
class Chunk:
    """What every entity of one chunk draws from: its generator, the simulated period (UTC
    microseconds), the id counters and the fault injector."""

    rng: np.random.Generator
    start: int
    end: int
    counters: Counters
    faults: Faults


@dataclass
class Population:
    """The customers of one chunk: when they signed up and churn, their first plan, segment
    and country, their order rate and the days they are active and churned in the period."""

    customer_ids: np.ndarray
    signup: np.ndarray
    plan_index: np.ndarray
    segment_index: np.ndarray
    country_index: np.ndarray
    base_rate: np.ndarray
    active_from: np.ndarray
    active_to: np.ndarray
    active_days: np.ndarray
    after_days: np.ndarray


@dataclass
class Orders:
    """The clean orders of one chunk and their lines, as the lines and refunds need them."""

    order_ids: np.ndarray
    ordered: np.ndarray
    status: np.ndarray
    amount: np.ndarray
    loaded: np.ndarray
    line_order: np.ndarray
    product_ids: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray


def concat(name: str, tables: list[pa.Table]) -> pa.Table:
    """Concatenate pieces of one table, typed by its schema (an empty piece has no types)."""
    return pa.concat_tables([piece.cast(SCHEMAS[name]) for piece in tables])


def simulate_products(
    rng: np.random.Generator, start: int, end: int, product_count: int = 200
) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """The product catalog with a few price changes each, and its price history."""
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
            "updated_at": iso(effective),
            "_loaded_at": pa.array(effective + 60 * SECOND, TS),
        },
        schema=SCHEMAS["products"],
    )
    history = {"product_id": rows_product, "effective": effective, "price": price}
    return table, history


def price_at(history: dict[str, np.ndarray], product_ids: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Price of each product at each time (the last price change at or before it)."""
    keys = history["product_id"].astype(np.float64) * 1e16 + history["effective"].astype(np.float64)
    queries = product_ids.astype(np.float64) * 1e16 + at.astype(np.float64)
    index = np.searchsorted(keys, queries, side="right") - 1
    return history["price"][np.clip(index, 0, None)]


def simulate_customers(chunk: Chunk, customer_ids: np.ndarray) -> Population:
    """Signups (a head start of customers before the period, the rest during it), first
    attributes, churn times and order rates."""
    rng, start, end = chunk.rng, chunk.start, chunk.end
    n = len(customer_ids)
    span = end - start
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
    active_from = np.maximum(signup, start)
    active_to = np.clip(churn, active_from, end)
    return Population(
        customer_ids=customer_ids,
        signup=signup,
        plan_index=plan_index,
        segment_index=segment_index,
        country_index=country_index,
        base_rate=base_rate,
        active_from=active_from,
        active_to=active_to,
        active_days=(active_to - active_from) / DAY,
        after_days=(end - active_to) / DAY,
    )


def simulate_customer_changes(chunk: Chunk, people: Population) -> tuple[pa.Table, pa.Table]:
    """The change log (a signup row, then a few changes of one attribute each) and the
    customers' current state, which is the last change of each."""
    rng, end, faults = chunk.rng, chunk.end, chunk.faults
    customer_ids, signup = people.customer_ids, people.signup
    n = len(customer_ids)
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
    state_plan = people.plan_index[owners].copy()
    state_segment = people.segment_index[owners].copy()
    state_country = people.country_index[owners].copy()
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
    change_ids = chunk.counters.take("change_id", len(owners))
    change_loaded = loaded_after(rng, times)
    last = np.r_[owners[1:] != owners[:-1], True]
    changes_faults = faults.pick("customer_changes", len(owners), ["exact_duplicate"])
    change_style, change_offsets = timestamp_styles(rng, len(owners), faults, "customer_changes")
    changes = pa.table(
        {
            "change_id": change_ids,
            "customer_id": customer_ids[owners],
            "plan": PLANS[state_plan],
            "segment": SEGMENTS[state_segment],
            "country": COUNTRIES[state_country],
            "changed_at": iso(times, change_style, change_offsets),
            "_loaded_at": pa.array(change_loaded, TS),
        }
    )
    changes = concat("customer_changes", [changes, changes.take(changes_faults["exact_duplicate"])])
    customers = pa.table(
        {
            "customer_id": customer_ids,
            "email": [f"customer{customer_id}@example.test" for customer_id in customer_ids],
            "signup_at": iso(signup),
            "plan": PLANS[state_plan[last]],
            "segment": SEGMENTS[state_segment[last]],
            "country": COUNTRIES[state_country[last]],
            "updated_at": iso(times[last]),
            "_loaded_at": pa.array(np.full(n, end, dtype=np.int64), TS),
        }
    )
    return changes, customers


def _order_lines(
    chunk: Chunk, order_count: int, product_count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One to four lines per order: the order each belongs to, its product and quantity."""
    rng = chunk.rng
    lines = rng.integers(1, 5, order_count)
    line_order = np.repeat(np.arange(order_count), lines)
    product_ids = rng.integers(1, product_count + 1, len(line_order)).astype(np.int64)
    quantity = rng.integers(1, 4, len(line_order)).astype(np.int32)
    return line_order, product_ids, quantity


def simulate_orders(
    chunk: Chunk,
    people: Population,
    history: dict[str, np.ndarray],
    product_count: int,
    order_rate: float,
) -> tuple[pa.Table, Orders]:
    """Orders as a Poisson process at each customer's rate while active (3% of it after churn),
    lines priced from the price history at the order time, and the order faults."""
    rng, end, faults = chunk.rng, chunk.end, chunk.faults
    customer_ids = people.customer_ids
    n = len(customer_ids)
    active_orders = rng.poisson(people.base_rate * order_rate * people.active_days)
    after_orders = rng.poisson(people.base_rate * order_rate * 0.03 * people.after_days)
    owner_active = np.repeat(np.arange(n), active_orders)
    owner_after = np.repeat(np.arange(n), after_orders)
    order_owner = np.r_[owner_active, owner_after]
    window_start = np.r_[people.active_from[owner_active], people.active_to[owner_after]]
    window_end = np.r_[people.active_to[owner_active], np.full(len(owner_after), end)]
    ordered = window_start + (rng.random(len(order_owner)) * (window_end - window_start)).astype(
        np.int64
    )
    order = np.lexsort((ordered, order_owner))
    order_owner, ordered = order_owner[order], ordered[order]
    order_count = len(order_owner)
    order_ids = chunk.counters.take("order_id", order_count)
    status = rng.choice(STATUSES, size=order_count, p=STATUS_WEIGHTS)

    line_order, product_ids, quantity = _order_lines(chunk, order_count, product_count)
    unit_price = price_at(history, product_ids, ordered[line_order])
    amount = np.round(
        np.bincount(line_order, weights=quantity * unit_price, minlength=order_count), 2
    )
    order_loaded = loaded_after(rng, ordered)

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
    style, offsets = timestamp_styles(rng, order_count, faults, "orders")
    ordered_text = iso(ordered, style, offsets)
    bad_text = np.array(
        ["not-a-date", "2025-13-45T99:00:00", "yesterday", "31/02/2025 10:00"], dtype=object
    )
    ordered_text[picked["unparseable_timestamp"]] = rng.choice(
        bad_text, len(picked["unparseable_timestamp"])
    )
    ordered_text[picked["future_timestamp"]] = iso(
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
    table = concat(
        "orders", [orders, orders.take(picked["exact_duplicate"]), corrections, conflicting]
    )
    return table, Orders(
        order_ids=order_ids,
        ordered=ordered,
        status=status,
        amount=amount,
        loaded=order_loaded,
        line_order=line_order,
        product_ids=product_ids,
        quantity=quantity,
        unit_price=unit_price,
    )


def simulate_order_items(chunk: Chunk, orders: Orders) -> pa.Table:
    """The order lines, landed a second after their order (late orders' lines too)."""
    item_ids = chunk.counters.take("order_item_id", len(orders.line_order))
    item_loaded = orders.loaded[orders.line_order] + SECOND
    item_faults = chunk.faults.pick(
        "order_items", len(orders.line_order), ["exact_duplicate", "unknown_order"]
    )
    item_order = orders.order_ids[orders.line_order].copy()
    item_order[item_faults["unknown_order"]] = (
        UNKNOWN_ID_BASE + item_ids[item_faults["unknown_order"]]
    )
    items = pa.table(
        {
            "order_item_id": item_ids,
            "order_id": item_order,
            "product_id": orders.product_ids,
            "quantity": orders.quantity,
            "unit_price": orders.unit_price,
            "_loaded_at": pa.array(item_loaded, TS),
        }
    )
    return concat("order_items", [items, items.take(item_faults["exact_duplicate"])])


def simulate_refunds(chunk: Chunk, orders: Orders) -> pa.Table:
    """Refunds for most returned orders, days after the order."""
    rng, end = chunk.rng, chunk.end
    order_count = len(orders.order_ids)
    returned = np.flatnonzero((orders.status == "returned") & (rng.random(order_count) < 0.8))
    refund_at = orders.ordered[returned] + (rng.uniform(1, 10, len(returned)) * DAY).astype(
        np.int64
    )
    keep = refund_at < end
    returned, refund_at = returned[keep], refund_at[keep]
    refund_ids = chunk.counters.take("refund_id", len(returned))
    refund_faults = chunk.faults.pick("refunds", len(returned), ["unknown_order"])
    refund_order = orders.order_ids[returned].copy()
    refund_order[refund_faults["unknown_order"]] = (
        UNKNOWN_ID_BASE + refund_ids[refund_faults["unknown_order"]]
    )
    return pa.table(
        {
            "refund_id": refund_ids,
            "order_id": refund_order,
            "refunded_at": iso(refund_at),
            "amount": np.round(orders.amount[returned] * rng.uniform(0.5, 1.0, len(returned)), 2),
            "_loaded_at": pa.array(loaded_after(rng, refund_at), TS),
        }
    )


def simulate_web_events(chunk: Chunk, people: Population) -> pa.Table:
    """Web sessions: bursts of page views, a few seconds to minutes apart."""
    rng, end, faults = chunk.rng, chunk.end, chunk.faults
    n = len(people.customer_ids)
    session_rate = people.base_rate * 1.5
    sessions_active = rng.poisson(session_rate * people.active_days)
    sessions_after = rng.poisson(session_rate * 0.05 * people.after_days)
    session_owner = np.r_[
        np.repeat(np.arange(n), sessions_active), np.repeat(np.arange(n), sessions_after)
    ]
    session_from = np.r_[
        np.repeat(people.active_from, sessions_active),
        np.repeat(people.active_to, sessions_after),
    ]
    session_to = np.r_[
        np.repeat(people.active_to, sessions_active), np.full(sessions_after.sum(), end)
    ]
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
    event_ids = chunk.counters.take("event_id", event_count)
    event_loaded = loaded_after(rng, event_at)
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
    web_style, web_offsets = timestamp_styles(rng, event_count, faults, "web_events")
    event_text = iso(event_at, web_style, web_offsets)
    event_text[web_faults["unparseable_timestamp"]] = "not-a-date"
    event_customer = people.customer_ids[session_owner[view_session]].astype(object)
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
    return concat("web_events", [events, events.take(web_faults["exact_duplicate"])])


def simulate_chunk(
    chunk: Chunk,
    customer_ids: np.ndarray,
    history: dict[str, np.ndarray],
    product_count: int,
    order_rate: float,
) -> dict[str, pa.Table]:
    """Every table's rows for one chunk of customers (the draw order is part of the seed)."""
    people = simulate_customers(chunk, customer_ids)
    changes, customers = simulate_customer_changes(chunk, people)
    orders, placed = simulate_orders(chunk, people, history, product_count, order_rate)
    items = simulate_order_items(chunk, placed)
    refunds = simulate_refunds(chunk, placed)
    events = simulate_web_events(chunk, people)
    return {
        "customers": customers,
        "customer_changes": changes,
        "orders": orders,
        "order_items": items,
        "web_events": events,
        "refunds": refunds,
    }
