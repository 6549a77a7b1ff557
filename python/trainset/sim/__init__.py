"""A deterministic simulation of an online store's landing zone, with realistic faults.

It feeds the demo, the tests and the benchmarks; it is not part of what the package exports
or loads. `generate(out_dir, ...)` writes one folder of Parquet files per raw table (customers,
customer_changes, products, orders, order_items, web_events, refunds) and `_generator.json`,
which records the parameters, the rows written per table and how many rows of each fault were
injected, so tests can reconcile staging and quarantine against what was put in.

The simulation (`entities`, one function per table): every customer has a signup time, a
plan, segment and country that change a few times, an order rate that depends on the plan, and
a churn time after which orders and web sessions become rare. Orders carry one to four lines
priced from the product price history; web page views come in bursts (sessions); a share of
returned orders is refunded.

Faults (`faults`; with `faults=True`, each on about `fault_rate` of a table's rows, never two
on one row): exact duplicates, late arrivals (loaded hours to days after the event),
corrections (a later version of an order with another status), conflicting duplicates (same
order and load time, other amount), null keys and references, non-UTC offsets and naive
timestamps (valid, must be read as the same instant), unparseable and future timestamps,
negative and absurd amounts, and unknown customers, orders and products.

Memory stays flat: customers are simulated in chunks and each chunk's rows are appended to the
tables' Parquet writers as row groups (`landing`).
"""

from .landing import generate, generate_next_day
from .schema import SCHEMAS, TABLES, TIMESTAMP_COLUMN

__all__ = ["SCHEMAS", "TABLES", "TIMESTAMP_COLUMN", "generate", "generate_next_day"]
