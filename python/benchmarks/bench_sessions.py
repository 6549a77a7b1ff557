"""Point-in-time sessionization against plain sessionization, on the page views of a build.

    .venv/bin/trainset generate --out /tmp/b/landing --customers 50000 --days 300 --seed 11
    TRAINSET_LANDING_DIR=/tmp/b/landing TRAINSET_DUCKDB_PATH=/tmp/b/b.duckdb \\
        .venv/bin/dbt run -s +stg_shop__web_events --profiles-dir .
    .venv/bin/python python/benchmarks/bench_sessions.py --database /tmp/b/b.duckdb [--repeat 3]

Reads `staging.stg_shop__web_events` of the given DuckDB file (opened read-only; copy it first
if a build may run on it) and times, each materialized into a temporary table:
- `web_session_versions`: the point-in-time session versions of `feat_customer__web_sessions`;
- bare SQL: one session per gap over all views, ignoring load times (not point in time), the
  cheapest formulation of sessionization in DuckDB;
- pandas: the same plain sessionization in pandas, including reading the views into a
  DataFrame and writing the sessions back.
Each runs `--repeat` times in a child process of its own. Prints the date, machine, load
average and versions, then per candidate the median and slowest wall seconds, the median CPU
seconds (summed over threads, steadier than wall time on a shared machine), the ratio of its
median wall time to the bare SQL's measured in the same run, the child's peak memory and the
output rows. At 300 customers it takes about 15 s, most of it the one dbt compile.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from trainset.compile import compile_macro_calls

# The project this script belongs to, wherever it is run from.
PROJECT_DIR = Path(__file__).resolve().parents[2]
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


def machine() -> str:
    """Date, machine, load average and versions: the context a timing needs."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    one, five, _ = os.getloadavg()
    return (
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.node()}: {os.cpu_count()} cores ({cpu}), load average {one:.2f} "
        f"(5 min {five:.2f}) at start, DuckDB {duckdb.__version__}, "
        f"pandas {pd.__version__}, Python {platform.python_version()}"
    )


def measure(database: Path, run: Callable[[duckdb.DuckDBPyConnection], None], repeat: int):
    """Run one candidate `repeat` times in a child process of its own (so its peak memory is
    its own); return its wall and CPU seconds per run, its output rows and its peak RSS."""
    read, write = multiprocessing.get_context("fork").Pipe(duplex=False)

    def child() -> None:
        connection = duckdb.connect(str(database), read_only=True)
        connection.execute("set TimeZone = 'UTC'")
        connection.execute(PAGE_VIEWS)
        walls, cpus = [], []
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            run(connection)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        (rows,) = connection.sql("select count(*) from result").fetchone()
        connection.close()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        write.send((walls, cpus, rows, peak))

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    write.close()
    result = read.recv()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.database.is_file():
        parser.error(f"--database {args.database} does not exist; build it first (see above)")

    print(machine())
    with tempfile.TemporaryDirectory() as workdir:
        versions = compile_macro_calls(
            {"versions": f"{{{{ trainset.web_session_versions('page_views', {GAP_MINUTES}) }}}}"},
            Path(workdir),
            macro_folders=("point_in_time", "features", "utils"),
            project_dir=PROJECT_DIR,
        )["versions"]
    connection = duckdb.connect(str(args.database), read_only=True)
    connection.execute(PAGE_VIEWS)
    (views,) = connection.sql("select count(*) from page_views").fetchone()
    connection.close()
    print(f"{views:,} page views in {args.database}, median of {args.repeat} runs each")
    baseline = "bare SQL sessionization (not point in time)"
    candidates = {
        baseline: sql_runner(BARE),
        "trainset web_session_versions (point in time)": sql_runner(versions),
        "pandas sessionization (not point in time)": pandas_sessions,
    }
    base_wall = None
    for name, run in candidates.items():
        walls, cpus, rows, peak = measure(args.database, run, args.repeat)
        wall = statistics.median(walls)
        base_wall = base_wall or wall
        print(
            f"{name:46s} wall {wall:7.2f} s (max {max(walls):.2f})  "
            f"cpu {statistics.median(cpus):7.2f} s  x{wall / base_wall:5.2f} of bare SQL  "
            f"peak {peak:7.0f} MiB  rows {rows:,}"
        )


if __name__ == "__main__":
    main()
