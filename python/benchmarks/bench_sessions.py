"""Point-in-time sessionization against plain sessionization, on the page views of a build.

    .venv/bin/trainset generate --out /tmp/b/landing --customers 50000 --days 300 --seed 11
    TRAINSET_LANDING_DIR=/tmp/b/landing TRAINSET_DUCKDB_PATH=/tmp/b/b.duckdb \\
        .venv/bin/dbt build -s +stg_shop__web_events --profiles-dir .
    .venv/bin/python python/benchmarks/bench_sessions.py --database /tmp/b/b.duckdb [--repeat 3]

Reads `staging.stg_shop__web_events` of the given DuckDB file (opened read-only; copy it first
if a build may run on it) and times, each materialized into a temporary table:
- `web_session_versions`: the point-in-time session versions of `feat_customer__web_sessions`;
- bare SQL: one session per gap over all views, ignoring load times (not point in time), the
  cheapest formulation of sessionization in DuckDB;
- pandas: the same plain sessionization in pandas, including reading the views into a
  DataFrame and writing the sessions back.
Prints the median wall and CPU seconds (CPU summed over threads, steadier than wall time on a
shared machine) and the output rows of each.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from trainset.compile import compile_macro_calls

GAP_MINUTES = 30

PAGE_VIEWS = """
create or replace temp view page_views as
select customer_id, event_id, event_at, loaded_at as known_at, page
from staging.stg_shop__web_events
"""

BARE = f"""
with breaks as (
    select
        *,
        case
            when lag(event_at) over customer_order is null then 1
            when event_at > lag(event_at) over customer_order + interval '{GAP_MINUTES} minutes' then 1
            else 0
        end as starts_session
    from page_views
    window customer_order as (partition by customer_id order by event_at, event_id)
),
numbered as (
    select
        *,
        sum(starts_session) over (
            partition by customer_id order by event_at, event_id rows unbounded preceding
        ) as session_number
    from breaks
)
select
    customer_id,
    session_number,
    min(event_at) as session_started_at,
    max(event_at) as effective_at,
    max(known_at) as known_at,
    count(*) as page_view_count,
    bool_or(page = 'checkout') as has_checkout
from numbered
group by customer_id, session_number
"""


def pandas_sessions(connection: duckdb.DuckDBPyConnection) -> None:
    views = connection.sql("select * from page_views").df()
    views = views.sort_values(["customer_id", "event_at", "event_id"], kind="stable")
    same_customer = views["customer_id"].eq(views["customer_id"].shift())
    gap = views["event_at"] - views["event_at"].shift()
    starts = ~same_customer | (gap > pd.Timedelta(minutes=GAP_MINUTES))
    views["session_number"] = starts.astype("int64").groupby(views["customer_id"]).cumsum()
    views["is_checkout"] = views["page"].eq("checkout")
    sessions = (
        views.groupby(["customer_id", "session_number"], sort=True)
        .agg(
            session_started_at=("event_at", "min"),
            effective_at=("event_at", "max"),
            known_at=("known_at", "max"),
            page_view_count=("event_id", "count"),
            has_checkout=("is_checkout", "max"),
        )
        .reset_index()
    )
    connection.register("pandas_sessions", sessions)
    connection.execute("create or replace temp table result as select * from pandas_sessions")
    connection.unregister("pandas_sessions")


def sql_runner(sql: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    def run(connection: duckdb.DuckDBPyConnection) -> None:
        connection.execute(f"create or replace temp table result as {sql}")

    return run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir:
        versions = compile_macro_calls(
            {"versions": f"{{{{ trainset.web_session_versions('page_views', {GAP_MINUTES}) }}}}"},
            Path(workdir),
            macro_folders=("point_in_time", "features"),
        )["versions"]
    connection = duckdb.connect(str(args.database), read_only=True)
    connection.execute("set TimeZone = 'UTC'")
    connection.execute(PAGE_VIEWS)
    (views,) = connection.sql("select count(*) from page_views").fetchone()
    print(f"{views:,} page views")
    candidates = {
        "trainset web_session_versions (point in time)": sql_runner(versions),
        "bare SQL sessionization (not point in time)": sql_runner(BARE),
        "pandas sessionization (not point in time)": pandas_sessions,
    }
    for name, run in candidates.items():
        walls, cpus = [], []
        for _ in range(args.repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            run(connection)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        (rows,) = connection.sql("select count(*) from result").fetchone()
        print(
            f"{name:48s} wall {statistics.median(walls):7.2f} s  "
            f"cpu {statistics.median(cpus):7.2f} s  rows {rows:,}"
        )
    connection.close()


if __name__ == "__main__":
    main()
