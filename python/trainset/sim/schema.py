"""What the simulated landing zone looks like: its tables, their Parquet schemas and the value
lists the simulation draws from."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

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
