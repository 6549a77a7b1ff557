"""The point-in-time join on Spark (`local[1]`, `local[2]`) against DuckDB, on the same Parquet.

    .venv/bin/python python/benchmarks/bench_spark.py [--customers 50000 200000] [--repeat 1]

For each size: a spine of 12 monthly cutoffs per customer and 20 feature rows per customer
(5 feature columns, each row known 0 to 3 days after it is effective) are written as Parquet;
trainset's `point_in_time_join` is compiled once per engine (the bitemporal join, and the
non-bitemporal one that uses the ASOF JOIN on Spark) and run in a fresh subprocess per
measurement that reads the Parquet and writes the whole result as Parquet: DuckDB through
`COPY ... TO`, Spark through `df.write.parquet`. Spark's time excludes the JVM start-up (printed
separately); times are medians over `--repeat` runs, with the ratio to DuckDB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainset.compile import compile_macro_calls  # noqa: E402

COLUMNS = [f"f{index}" for index in range(5)]
CALLS = {
    name: "{{ trainset.point_in_time_join('spine', [{'relation': 'features', 'columns': "
    + repr(COLUMNS)
    + f", 'ttl': '90 days', 'bitemporal': {bitemporal}, 'tiebreak_column': 'row_id'}}], "
    "'entity_id', 'cutoff_at') }}"
    for name, bitemporal in (("bitemporal", "true"), ("effective_only", "false"))
}

DUCKDB_RUNNER = textwrap.dedent(
    """
    import json, sys, time
    import duckdb
    sql, data, out = sys.argv[1], sys.argv[2], sys.argv[3]
    connection = duckdb.connect()
    connection.execute("set timezone = 'UTC'")
    for name in ("spine", "features"):
        connection.execute(f"create view {name} as select * from read_parquet('{data}/{name}.parquet')")
    started = time.perf_counter()
    connection.execute(f"copy ({open(sql).read()}) to '{out}' (format parquet)")
    print(json.dumps({"seconds": time.perf_counter() - started}))
    """
)

SPARK_RUNNER = textwrap.dedent(
    """
    import json, sys, time
    from pyspark.sql import SparkSession
    sql, data, out, master, state = sys.argv[1:6]
    started = time.perf_counter()
    spark = (SparkSession.builder.master(master)
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.join.asofJoin.enabled", "true")
             .config("spark.sql.adaptive.enabled", "true")
             .config("spark.sql.shuffle.partitions", "8")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.warehouse.dir", state)
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - started
    for name in ("spine", "features"):
        spark.read.parquet(f"{data}/{name}.parquet").createOrReplaceTempView(name)
    started = time.perf_counter()
    spark.sql(open(sql).read()).write.mode("overwrite").parquet(out)
    print(json.dumps({"seconds": time.perf_counter() - started, "startup": startup}))
    """
)


def write_data(folder: Path, customers: int, seed: int = 7) -> tuple[int, int]:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2025-01-01T00:00:00", "us").astype(np.int64)
    day = 86_400_000_000
    entity = np.repeat(np.arange(customers, dtype=np.int64), 12)
    cutoff = start + np.tile(np.arange(1, 13, dtype=np.int64) * 30 * day, customers)
    pq.write_table(
        pa.table(
            {
                "entity_id": entity,
                "cutoff_at": pa.array(cutoff, pa.timestamp("us")),
            }
        ),
        folder / "spine.parquet",
    )
    rows = customers * 20
    effective = start + rng.integers(0, 365 * day, rows)
    known = effective + rng.integers(0, 3 * day, rows)
    table = {
        "row_id": np.arange(rows, dtype=np.int64),
        "entity_id": rng.integers(0, customers, rows),
        "effective_at": pa.array(effective, pa.timestamp("us")),
        "known_at": pa.array(known, pa.timestamp("us")),
    }
    for column in COLUMNS:
        table[column] = rng.normal(size=rows)
    pq.write_table(pa.table(table), folder / "features.parquet")
    return len(entity), rows


def run(command: list[str]) -> dict:
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--masters", nargs="+", default=["local[1]", "local[2]"])
    arguments = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    os.environ["TRAINSET_SPARK_DIR"] = str(work / "compile-state")
    compiled = {
        "duckdb": compile_macro_calls(CALLS, work / "compile", target="dev"),
        "spark": compile_macro_calls(CALLS, work / "compile", target="spark"),
    }
    sql_files = {}
    for engine, calls in compiled.items():
        for name, sql in calls.items():
            path = work / f"{engine}_{name}.sql"
            path.write_text(sql)
            sql_files[engine, name] = path

    print(f"# bench_spark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"# {platform.node()}: {os.cpu_count()} cores, {platform.processor() or platform.machine()}"
    )
    print("| customers | spine rows | feature rows | join | engine | median s | ratio to DuckDB |")
    print("| ---: | ---: | ---: | --- | --- | ---: | ---: |")
    for customers in arguments.customers:
        data = work / f"data_{customers}"
        data.mkdir()
        spine_rows, feature_rows = write_data(data, customers)
        for name in CALLS:
            duckdb_times = [
                run(
                    [
                        sys.executable,
                        "-c",
                        DUCKDB_RUNNER,
                        str(sql_files["duckdb", name]),
                        str(data),
                        str(work / "out.parquet"),
                    ]
                )["seconds"]
                for _ in range(arguments.repeat)
            ]
            baseline = statistics.median(duckdb_times)
            prefix = f"| {customers} | {spine_rows} | {feature_rows} | {name}"
            print(f"{prefix} | DuckDB | {baseline:.2f} | 1.00 |", flush=True)
            for master in arguments.masters:
                results = [
                    run(
                        [
                            sys.executable,
                            "-c",
                            SPARK_RUNNER,
                            str(sql_files["spark", name]),
                            str(data),
                            str(work / "out_spark"),
                            master,
                            str(work / "warehouse"),
                        ]
                    )
                    for _ in range(arguments.repeat)
                ]
                seconds = statistics.median(result["seconds"] for result in results)
                startup = statistics.median(result["startup"] for result in results)
                print(
                    f"{prefix} | Spark {master} (JVM start {startup:.0f} s) | {seconds:.2f} "
                    f"| {seconds / baseline:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
