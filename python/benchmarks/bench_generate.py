"""Landing-zone generator throughput and peak memory.

    .venv/bin/python python/benchmarks/bench_generate.py --customers 1000000 --days 450 [--repeat 1]

Each run is a fresh subprocess writing to a temporary folder (removed afterwards); the script
prints the median wall time, rows per second and the peak RSS of the generating process, and
the ratio of its time to writing the same row count as plain Parquet with pyarrow (the floor
any generator pays), measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

RUN = textwrap.dedent(
    """
    import json, resource, sys, time
    from trainset.sim import generate
    out, customers, days, chunk, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    started = time.perf_counter()
    summary = generate(out, customers=customers, days=days, chunk_customers=chunk, order_rate=rate, progress=lambda m: None)
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": summary["rows"],
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)

FLOOR = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy as np, pyarrow as pa, pyarrow.parquet as pq
    out, rows = sys.argv[1], int(sys.argv[2])
    started = time.perf_counter()
    writer = None
    for first in range(0, rows, 2_000_000):
        n = min(2_000_000, rows - first)
        batch = pa.table({"id": np.arange(first, first + n), "value": np.random.default_rng(first).random(n)})
        writer = writer or pq.ParquetWriter(out, batch.schema, compression="zstd")
        writer.write_table(batch)
    writer.close()
    print(json.dumps({"seconds": time.perf_counter() - started,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=450)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--order-rate",
        type=float,
        default=1.0,
        help="order-rate multiplier (5.2 gives ~50 orders per customer)",
    )
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeat):
        folder = Path(tempfile.mkdtemp(prefix="trainset-bench-generate-"))
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    RUN,
                    str(folder / "landing"),
                    str(args.customers),
                    str(args.days),
                    str(args.chunk),
                    str(args.order_rate),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    rows = sum(runs[0]["rows"].values())
    folder = Path(tempfile.mkdtemp(prefix="trainset-bench-floor-"))
    try:
        floor = json.loads(
            subprocess.run(
                [sys.executable, "-c", FLOOR, str(folder / "floor.parquet"), str(rows)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    seconds = statistics.median(run["seconds"] for run in runs)
    print(
        f"customers {args.customers:,}, days {args.days}, chunk {args.chunk:,}, order rate x{args.order_rate}, runs {len(runs)}"
    )
    print(f"rows per table: {json.dumps(runs[0]['rows'])}")
    print(f"total rows {rows:,}; orders {runs[0]['rows']['orders']:,}")
    print(f"median wall time {seconds:.1f} s, {rows / seconds:,.0f} rows/s")
    print(f"peak RSS {max(run['peak_mb'] for run in runs):,.0f} MB")
    print(
        f"plain Parquet of as many rows (2 columns): {floor['seconds']:.1f} s; ratio {seconds / floor['seconds']:.1f}x"
    )


if __name__ == "__main__":
    main()
