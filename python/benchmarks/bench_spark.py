"""Spark (`local[1]`, `local[2]`) against DuckDB on the same data: the point-in-time join and the
full `dbt build` of the project.

    .venv/bin/python python/benchmarks/bench_spark.py [--customers 50000 200000] [--repeat 3]
        [--masters local[1] local[2]] [--skip-build] [--build-days 300]

Join: for each size, a spine of 12 monthly cutoffs per customer and 20 feature rows per
customer (5 feature columns, each row known 0 to 3 days after it is effective) are written as
Parquet; trainset's `point_in_time_join` is compiled once per engine (the bitemporal join, and
the non-bitemporal one that uses the ASOF JOIN on Spark) and run in a fresh subprocess per
measurement that reads the Parquet and writes the whole result as Parquet: DuckDB through
`COPY ... TO`, Spark through `df.write.parquet`. Spark's time excludes the JVM start-up
(printed separately).

Build: for each size, `trainset generate --customers N --days D` writes a landing zone, then
`dbt build` (every model, seed and data test) runs on a fresh DuckDB file and on a fresh Spark
metastore and warehouse (`--target spark`, the master given); the Spark time includes its JVM
start, as a user's build does.

Every line gives the median and the 99th percentile over `--repeat` runs, the peak resident
memory of the measured process tree (sampled every 0.1 s from /proc), and the ratio of the
median to DuckDB's median measured in the same run. The header prints the date, the machine
and the load average at start, so figures from a loaded machine are recognisable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
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
    connection.execute("set memory_limit = '4GB'")
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
             .config("spark.driver.memory", "4g")
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


def _children(pid: int) -> list[int]:
    """The process ids of `pid`'s whole tree (pyspark starts its JVM as a child)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(parents.get(current, []))
    return tree


def _tree_rss_bytes(pid: int) -> int:
    total = 0
    for member in _children(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def measure(command: list[str], env: dict[str, str] | None = None) -> dict:
    """Run `command`; wall seconds, peak memory of its process tree, and its last JSON line
    (or nothing when it prints none)."""
    # Output goes to files, not pipes: a pipe nobody reads while the run lasts fills up, and a
    # chatty child (Spark's log on a large build) then blocks on its next write for good.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss_bytes(process.pid))
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed:\n{(stdout + stderr)[-3000:]}")
    result: dict = {"wall": seconds, "peak_mb": peak / 2**20}
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            result.update(json.loads(line))
            break
    return result


def summary(values: list[float]) -> tuple[float, float]:
    """Median and 99th percentile (linear interpolation; the maximum for few runs)."""
    return statistics.median(values), float(np.percentile(values, 99))


def line(prefix: str, engine: str, results: list[dict], key: str, baseline: float | None) -> float:
    median, p99 = summary([result[key] for result in results])
    peak = max(result["peak_mb"] for result in results)
    ratio = f"{median / baseline:.2f}" if baseline else "1.00"
    load = os.getloadavg()[0]
    print(
        f"{prefix} | {engine} | {median:.2f} | {p99:.2f} | {peak:,.0f} | {ratio} | {load:.1f} |",
        flush=True,
    )
    return median


def bench_join(work: Path, sql_files: dict, arguments: argparse.Namespace) -> None:
    print("\n## point_in_time_join (reading and writing Parquet; Spark without JVM start)\n")
    print(
        "| customers | spine rows | feature rows | join | engine | median s | p99 s "
        "| peak MB | ratio to DuckDB | load after |"
    )
    print("| ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for customers in arguments.customers:
        data = work / f"data_{customers}"
        data.mkdir()
        spine_rows, feature_rows = write_data(data, customers)
        for name in CALLS:
            command = [sys.executable, "-c", DUCKDB_RUNNER, str(sql_files["duckdb", name])]
            command += [str(data), str(work / "out.parquet")]
            duckdb_runs = [measure(command) for _ in range(arguments.repeat)]
            prefix = f"| {customers:,} | {spine_rows:,} | {feature_rows:,} | {name}"
            baseline = line(prefix, "DuckDB", duckdb_runs, "seconds", None)
            for master in arguments.masters:
                command = [sys.executable, "-c", SPARK_RUNNER, str(sql_files["spark", name])]
                command += [str(data), str(work / "out_spark"), master, str(work / "warehouse")]
                runs = [measure(command) for _ in range(arguments.repeat)]
                startup = statistics.median(run["startup"] for run in runs)
                engine = f"Spark {master} (JVM start {startup:.0f} s)"
                line(prefix, engine, runs, "seconds", baseline)


def build_runs(
    root: Path, dbt: list[str], base_env: dict[str, str], master: str | None, repeat: int
) -> list[dict]:
    """`repeat` builds, each in fresh folders under `root`: DuckDB when `master` is None,
    else Spark with that master."""
    results = []
    for attempt in range(repeat):
        folder = root / str(attempt)
        folder.mkdir(parents=True)
        env = {**base_env, "TRAINSET_DUCKDB_PATH": str(folder / "trainset.duckdb")}
        env["DBT_TARGET_PATH"] = str(folder / "target")
        env["DBT_LOG_PATH"] = str(folder / "logs")
        command = list(dbt)
        if master is not None:
            (folder / "spark").mkdir()
            env["TRAINSET_SPARK_DIR"] = str(folder / "spark")
            env["TRAINSET_SPARK_MASTER"] = master
            command += ["--target", "spark"]
        results.append(measure(command, env))
        shutil.rmtree(folder, ignore_errors=True)
    return results


def bench_build(work: Path, arguments: argparse.Namespace) -> None:
    print("\n## dbt build of the whole project (Spark including its JVM start)\n")
    print(
        "| customers | days | engine | median s | p99 s | peak MB | ratio to DuckDB | load after |"
    )
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    project = Path(__file__).resolve().parents[2]
    dbt = [sys.executable, "-m", "dbt.cli.main", "build", "--project-dir", str(project)]
    dbt += ["--profiles-dir", str(project), "--quiet"]
    for customers in arguments.customers:
        landing = work / f"landing_{customers}"
        generate = [sys.executable, "-m", "trainset.cli", "generate", "--out", str(landing)]
        generate += ["--customers", str(customers), "--days", str(arguments.build_days)]
        subprocess.run([*generate, "--seed", "7"], check=True, capture_output=True)
        prefix = f"| {customers:,} | {arguments.build_days}"
        base_env = {**os.environ, "TRAINSET_LANDING_DIR": str(landing)}
        base_env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"

        repeat = arguments.repeat
        duckdb_runs = build_runs(work / f"duckdb_{customers}", dbt, base_env, None, repeat)
        baseline = line(prefix, "DuckDB", duckdb_runs, "wall", None)
        for master in arguments.masters:
            # no brackets in the path: Hadoop reads `local[1]` in a path as a character class
            folder = work / f"spark_{customers}_{master.replace('[', '').replace(']', '')}"
            spark_runs = build_runs(folder, dbt, base_env, master, repeat)
            line(prefix, f"Spark {master}", spark_runs, "wall", baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--masters", nargs="+", default=["local[1]", "local[2]"])
    parser.add_argument("--build-days", type=int, default=300)
    parser.add_argument("--skip-build", action="store_true", help="only the join")
    parser.add_argument("--skip-join", action="store_true", help="only the build")
    arguments = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    print(f"# bench_spark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"# {platform.node()}: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"{platform.system()} {platform.release()}, load average at start {load}"
    )
    print("# load after: the 1-minute load average when the line's last run ended")
    print(f"# python {platform.python_version()}, repeat {arguments.repeat}")
    try:
        if not arguments.skip_join:
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
            bench_join(work, sql_files, arguments)
        if not arguments.skip_build:
            bench_build(work, arguments)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
