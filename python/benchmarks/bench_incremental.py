"""A daily increment against the full build it follows, on one landing zone.

    .venv/bin/python python/benchmarks/bench_incremental.py --customers 20000 --days 300 \\
        --increments 3 --out /tmp/bench-incremental

Generates a landing zone, runs the full `trainset build` on it (the baseline), then
`--increments` times adds one simulated day (`generate_next_day`: the day's orders, late
orders, corrections and re-deliveries) and runs a plain `trainset build`, which recomputes what
loaded since the last one. Prints the date, machine and load average, the full build's
seconds, each increment's seconds and mode, the median increment and its ratio to the full
build measured in the same run, the peak resident memory of the dbt processes and the
database size. Every build also runs all of dbt's tests, as `trainset build` does.

`daily_increment(paths)` is the step on its own, for other benchmarks: it adds one day to the
landing zone of `paths` and times the plain build that follows (the database must hold a
passed build of that landing zone).

At 300 customers it takes about 2 minutes on 2 cores, at 20k customers about 5.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainset.build import latest_record  # noqa: E402
from trainset.pipeline import build  # noqa: E402
from trainset.project import Paths, find_project_dir  # noqa: E402
from trainset.sim import generate, generate_next_day  # noqa: E402


def _quiet(message: str) -> None:
    """No progress lines."""


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
        f"Python {platform.python_version()}"
    )


def timed_build(paths: Paths, progress: Callable[[str], None] = _quiet) -> tuple[float, str]:
    """A plain `trainset build` of `paths`: its seconds and mode (full or new)."""
    started = time.perf_counter()
    run = build(paths, progress=progress)
    seconds = time.perf_counter() - started
    if not run.success:
        raise SystemExit(f"the build of {paths.landing_dir} failed: {run.errors[-3:]}")
    record = latest_record(paths.target_dir)
    return seconds, record.mode if record else "?"


def daily_increment(paths: Paths, progress: Callable[[str], None] = _quiet) -> tuple[float, str]:
    """Add one simulated day to the landing zone of `paths`, then time the plain build."""
    generate_next_day(paths.landing_dir, progress=progress)
    return timed_build(paths, progress)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--increments", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True, help="work folder (replaced)")
    args = parser.parse_args(argv)
    if args.increments < 1:
        parser.error("--increments must be at least 1")
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    paths = Paths(
        project_dir=find_project_dir(Path(__file__).parent),
        duckdb_path=args.out / "bench.duckdb",
        landing_dir=args.out / "landing",
        exports_dir=args.out / "exports",
        target_dir=args.out / "target",
    )
    print(machine(), flush=True)
    started = time.perf_counter()
    generate(paths.landing_dir, customers=args.customers, days=args.days, seed=args.seed)
    print(
        f"generate: {args.customers:,} customers, {args.days} days in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    full, mode = timed_build(paths)
    print(f"full build ({mode}): {full:.1f} s", flush=True)
    increments = []
    for number in range(1, args.increments + 1):
        seconds, mode = daily_increment(paths)
        increments.append(seconds)
        print(f"increment {number} ({mode}): {seconds:.1f} s", flush=True)
    median = statistics.median(increments)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size = paths.duckdb_path.stat().st_size / 2**20
    print(
        f"median increment {median:.1f} s = {median / full:.0%} of the full build; "
        f"peak RSS of a dbt process {peak:,.0f} MiB; database {size:,.0f} MiB",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
