"""Drift at scale: trainset's SQL drift against Evidently's data-drift preset, in one run.

    python python/benchmarks/bench_drift.py [--rows 1000000] [--reference-rows N] [--repeat 3]
        [--no-evidently] [--forced]

Full size (1M x 1M, 3 repeats each side, Evidently included) takes about 10 minutes on a quiet
2-core machine, most of it Evidently; `--rows 100000 --repeat 1` is a one-minute check.

Makes a reference and a current data set of `--rows` rows each with the churn training set's
features (names and declared types read from dbt's manifest; some features shifted in the
current set), writes them as Parquet, then times:
- trainset: the `feature_drift` macro with its default methods, one DuckDB query over the two
  Parquet files (compiled once by dbt; median and slowest of `--repeat` runs in a child process,
  with its peak memory; the timed part is the query alone, from a fresh connection: no process
  start, no dbt start-up or compile); with `--forced`, each method forced on every feature it
  applies to; and the HTML report (histograms in SQL, SVG in Python);
- Evidently 0.7.23's DataDriftPreset on the same files (its own virtual environment, pandas < 3;
  reading the files is not timed), and its HTML report.
Prints the date and machine, both times, the ratio, peak memory, the report sizes, and whether
the two agree, feature by feature, on which features drifted.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evidently_drift  # noqa: E402

from trainset.compile import compile_macro_calls  # noqa: E402
from trainset.dbt import read_artifact, run_dbt  # noqa: E402
from trainset.export import find_training_model  # noqa: E402
from trainset.project import Paths  # noqa: E402

# DuckDB's memory limit in the timing process (the machine is shared; the query spills past it)
MEMORY_LIMIT = "6GB"
NUMERIC_TYPES = {"integer", "int", "bigint", "smallint", "double", "float", "real", "numeric"}


def feature_kinds(paths: Paths, task: str) -> dict[str, str]:
    if not (paths.target_dir / "manifest.json").is_file():
        run_dbt(["parse", "--quiet"], paths)
    model = find_training_model(read_artifact(paths.target_dir, "manifest.json"), task)
    kinds = {}
    for name, column in (model.node.get("columns") or {}).items():
        meta = {**(column.get("meta") or {}), **(column.get("config", {}).get("meta") or {})}
        if meta.get("feature"):
            declared = (column.get("data_type") or "").lower().split("(")[0].strip()
            kinds[name] = "numeric" if declared in NUMERIC_TYPES else "categorical"
    return kinds


def make_data(kinds: dict[str, str], rows: int, seed: int, shifted: bool) -> pa.Table:
    """Columns shaped like the churn features: counts, amounts, days, a few categories; in the
    current set every third feature moves."""
    rng = np.random.default_rng(seed)
    columns = {}
    for position, (name, kind) in enumerate(sorted(kinds.items())):
        moves = shifted and position % 3 == 0
        if kind == "categorical":
            levels = np.array([f"{name[:3]}_{level}" for level in range(8)])
            weights = np.linspace(1, 3, 8) if moves else np.ones(8)
            columns[name] = pa.array(rng.choice(levels, rows, p=weights / weights.sum()))
        elif "count" in name:
            values = rng.poisson(3.0 if moves else 2.0, rows).astype(np.int32)
            columns[name] = pa.array(values)
        else:
            values = rng.gamma(2.0, 60.0 if moves else 50.0, rows)
            mask = rng.random(rows) < 0.05
            columns[name] = pa.array(values, mask=mask)
    return pa.table(columns)


CHILD = """
import json, resource, sys, time
import duckdb
sql, repeat = open(sys.argv[1]).read(), int(sys.argv[2])
timings, cpu = [], []
for _ in range(repeat):
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    connection.execute(f"set memory_limit = '{sys.argv[3]}'")
    started, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    rows = connection.sql(sql).fetchall()
    timings.append(time.perf_counter() - started)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu.append(after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime)
    connection.close()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"timings": timings, "cpu": cpu, "peak_memory_mb": peak, "rows": rows}, default=str))
"""


def time_query(sql: str, repeat: int, work: Path) -> dict:
    """Run `sql` `repeat` times in a fresh process: timings, median, slowest, peak memory."""
    query_file = work / "query.sql"
    query_file.write_text(sql)
    output = subprocess.run(
        [sys.executable, "-c", CHILD, str(query_file), str(repeat), MEMORY_LIMIT],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(output.splitlines()[-1])
    result["median"] = statistics.median(result["timings"])
    result["slowest"] = max(result["timings"])
    result["cpu_median"] = statistics.median(result["cpu"])
    return result


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (
            int(line.split()[1]) / 1024 / 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0.0,
    )
    load = os.getloadavg()[0]
    return (
        f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {memory:.1f} GiB, "
        f"{platform.system()} {platform.release()}, load average {load:.2f} at start, "
        f"DuckDB {duckdb.__version__}, Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="current rows")
    parser.add_argument("--reference-rows", type=int, help="reference rows (default: --rows)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--task", default="churn_30d")
    parser.add_argument("--no-evidently", action="store_true")
    parser.add_argument(
        "--forced",
        action="store_true",
        help="also time each method forced on every feature (minutes at 1M: chi-squared and "
        "Z-test count every distinct value of the continuous features)",
    )
    args = parser.parse_args()

    paths = Paths.resolve()
    kinds = feature_kinds(paths, args.task)
    work = Path(tempfile.mkdtemp(prefix="trainset-bench-drift-"))
    reference_file, current_file = work / "reference.parquet", work / "current.parquet"
    reference_rows = args.reference_rows or args.rows
    pq.write_table(make_data(kinds, reference_rows, 1, False), reference_file)
    pq.write_table(make_data(kinds, args.rows, 2, True), current_file)
    print(f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(
        f"data: {args.rows:,} current x {reference_rows:,} reference rows, "
        f"{len(kinds)} features, in {work}"
    )

    reference = f"read_parquet('{reference_file}')"
    current = f"read_parquet('{current_file}')"
    specs = [{"name": name, "kind": kind} for name, kind in kinds.items()]
    calls = {"auto": f'{{{{ trainset.feature_drift("{reference}", "{current}", {specs!r}) }}}}'}
    for method in ["ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi"]:
        forced = [
            {**spec, "method": method}
            for spec in specs
            if spec["kind"] == "numeric" or method not in ("ks", "wasserstein")
        ]
        calls[method] = f'{{{{ trainset.feature_drift("{reference}", "{current}", {forced!r}) }}}}'
    calls["histogram"] = (
        f'{{{{ trainset.feature_histogram("{reference}", "{current}", {specs!r}) }}}}'
    )
    # the throwaway compile project keeps its own target folder
    saved_target = os.environ.pop("DBT_TARGET_PATH", None)
    try:
        compiled = compile_macro_calls(calls, work / "compile", macro_folders=("monitoring",))
    finally:
        if saved_target is not None:
            os.environ["DBT_TARGET_PATH"] = saved_target

    timed = time_query(compiled["auto"], args.repeat, work)
    ours, rows = timed["median"], timed["rows"]
    print(
        f"trainset drift (default methods, one query): median {ours:.2f} s, slowest "
        f"{timed['slowest']:.2f} s of {args.repeat}; CPU time (both cores) median "
        f"{timed['cpu_median']:.2f} s; peak memory {timed['peak_memory_mb']:.0f} MB"
    )
    columns = [
        "feature_name",
        "feature_kind",
        "method",
        "statistic",
        "p_value",
        "p_value_method",
        "score",
        "threshold",
        "is_drifted",
    ]
    ours_rows = {row[0]: dict(zip(columns, row, strict=False)) for row in rows}
    for method in ["ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi"]:
        if not args.forced:
            break
        forced = time_query(compiled[method], 1, work)
        print(
            f"trainset drift, {method} forced on every feature it applies to: "
            f"{forced['median']:.2f} s, peak memory {forced['peak_memory_mb']:.0f} MB"
        )

    from trainset.monitoring.drift import DriftReport
    from trainset.monitoring.report import render_html

    started = time.perf_counter()
    connection = duckdb.connect()
    connection.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    result = connection.sql(compiled["histogram"])
    histograms = [dict(zip(result.columns, row, strict=True)) for row in result.fetchall()]
    connection.close()
    features = [
        {**row, "severity": "warn", "reference_count": reference_rows, "current_count": args.rows}
        for row in ours_rows.values()
    ]
    drifted_share = sum(1 for row in features if row["is_drifted"]) / len(features)
    page = render_html(
        DriftReport(
            task=args.task,
            reference_version="reference.parquet",
            current_source="current.parquet",
            features=features,
            drifted_share=drifted_share,
            dataset_drifted=drifted_share >= 0.5,
            histograms=histograms,
        )
    )
    (work / "trainset-report.html").write_text(page)
    report_seconds = time.perf_counter() - started
    print(
        f"trainset HTML report: {len(page.encode()) / 1024:.0f} KB in {report_seconds:.2f} s "
        f"(histograms in SQL)"
    )
    if args.no_evidently:
        return
    theirs = evidently_drift.run(
        reference_file,
        current_file,
        kinds,
        work / "evidently.json",
        html=work / "evidently.html",
        repeat=args.repeat,
    )
    html_size = (work / "evidently.html").stat().st_size
    print(
        f"Evidently {evidently_drift.EVIDENTLY_VERSION} DataDriftPreset: median "
        f"{theirs['seconds']:.2f} s, slowest {max(theirs['timings']):.2f} s of {args.repeat}; "
        f"CPU time median {theirs['cpu_seconds']:.2f} s; "
        f"peak memory {theirs['peak_memory_mb']:.0f} MB"
    )
    print(
        f"Evidently HTML report: {html_size / 1024 / 1024:.1f} MB in {theirs['html_seconds']:.2f} s"
    )
    print(f"ratio: trainset is {theirs['seconds'] / ours:.1f}x faster")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    disagree = [
        name
        for name, row in ours_rows.items()
        if bool(row["is_drifted"]) != theirs["features"][name]["drifted"]
        or row["method"] != theirs["features"][name]["method"]
    ]
    drifted = sorted(name for name, row in ours_rows.items() if row["is_drifted"])
    print(f"drifted (trainset): {', '.join(drifted) or 'none'}")
    print(
        "agreement on method and verdict: "
        + ("all features" if not disagree else f"DIFFERENT for {', '.join(disagree)}")
    )
    print(
        json.dumps(
            {
                "trainset_seconds": ours,
                "trainset_cpu_seconds": timed["cpu_median"],
                "evidently_cpu_seconds": theirs["cpu_seconds"],
                "evidently_seconds": theirs["seconds"],
                "ratio": theirs["seconds"] / ours,
                "trainset_peak_memory_mb": timed["peak_memory_mb"],
                "evidently_peak_memory_mb": theirs["peak_memory_mb"],
                "trainset_report_kb": len(page.encode()) / 1024,
                "agree": not disagree,
            }
        )
    )


if __name__ == "__main__":
    main()
