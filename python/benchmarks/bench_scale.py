"""The whole pipeline at growing sizes: generate, full build, a daily increment, export.

    python python/benchmarks/bench_scale.py [--customers 50000 200000 1000000] [--with-2m]
        [--days 300] [--seed 11] [--work data/bench_scale] [--keep]

For each size, in its own folder under `--work` (landing zone, DuckDB file, target folder,
exports), each step a child process of the `trainset` command line, as a user runs it:
- `trainset generate`: its time;
- `trainset build` on an empty database: its time and CPU seconds, its peak resident memory
  (the largest process of the step: the command line or dbt's child, from `wait4`), the ten
  dbt nodes that took the most CPU seconds (the process tree's CPU time, sampled every quarter
  second, between each node's start and end in `run_results.json`: dbt runs one node at a
  time, and on a shared machine CPU seconds vary less than wall seconds), with their wall
  seconds; the five nodes during which the resident memory of the step's largest process rose
  most above its peak so far (sampled at the same moments: the nodes that took the memory);
  and the database size after it;
- `trainset export churn_30d` of that build (after the increment below the gate refuses it:
  that build left a table out): its time;
- a daily increment: one more simulated day appended to the landing zone, then `trainset
  build` again; its time and CPU seconds, their share of the full build's, and its ten slowest
  nodes. The availability check leaves a table out of that build when the simulated day holds
  too few of its rows (the web events, a fifth of a usual day), so the same increment is also
  timed as one `dbt build` of everything, with the watermark `trainset build` passes, on a
  copy of the database. Measured only when the build is incremental (`trainset build --since`
  exists); otherwise "not measured".
Prints the date, the machine, the DuckDB memory limit in force and the load average before and
after each size, then one summary table with each size's build time and memory as ratios of the
smallest size's (measured in the same run). At 50k and 200k it takes about 5 minutes on a quiet
2-core machine; 1M adds about 10 more. Memory limit: TRAINSET_DUCKDB_MEMORY_LIMIT (profiles.yml).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
TRAINSET = [sys.executable, "-m", "trainset.cli"]
DBT = str(Path(sys.executable).parent / "dbt")
SLOWEST = 10
SAMPLE_SECONDS = 0.25
TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
# the nodes listed by how much they raised the build's resident memory
HIGHEST_MEMORY = 5


def tree_usage(root: int) -> tuple[float, int]:
    """CPU seconds of `root` and its live descendants, plus those its waited children used;
    and the resident bytes of the largest of those processes now."""
    total, largest, pending, first = 0.0, 0, [root], True
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except (FileNotFoundError, ProcessLookupError):
            continue
        # utime, stime; for the root also cutime, cstime (children it has waited for)
        total += sum(int(value) for value in fields[11 : 15 if first else 13]) / TICKS
        largest = max(largest, resident_pages * PAGE_BYTES)
        first = False
        for task in tasks:
            try:
                pending += [int(child) for child in (task / "children").read_text().split()]
            except FileNotFoundError:
                continue
    return total, largest


@dataclass
class Step:
    """One child process: wall seconds and the peak resident memory of its largest process."""

    seconds: float
    peak_rss_bytes: int
    ok: bool
    tail: str = ""
    cpu_seconds: float = 0.0
    # the lines of its output that say what a build recomputed or left out
    notes: list[str] = field(default_factory=list)
    # (epoch seconds, CPU seconds of the step's process tree so far), every SAMPLE_SECONDS
    cpu_samples: list[tuple[float, float]] = field(default_factory=list)
    # (epoch seconds, resident bytes of the tree's largest process then), at the same moments
    rss_samples: list[tuple[float, int]] = field(default_factory=list)


@dataclass
class SizeResult:
    customers: int
    raw_rows: int = 0
    generate: Step | None = None
    build: Step | None = None
    increment: Step | None = None
    whole_increment: Step | None = None
    export: Step | None = None
    database_bytes: int = 0
    slowest: list[tuple[float, float, str]] = field(default_factory=list)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)


def run_step(args: list[str], env: dict[str, str]) -> Step:
    """Run a child and wait for it with `wait4`, whose `ru_maxrss` is the largest resident set
    of the child and of the descendants it waited for (dbt's process, under `trainset`)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        args,
        cwd=PROJECT_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    samples: list[tuple[float, float]] = []
    rss_samples: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            moment = time.time()
            cpu, rss = tree_usage(process.pid)
            samples.append((moment, cpu))
            rss_samples.append((moment, rss))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.stdout.read()
    done.set()
    sampler.join()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    text = output.decode("utf-8", "replace").strip().splitlines()
    return Step(
        seconds,
        usage.ru_maxrss * 1024,
        process.returncode == 0,
        "\n".join(text[-15:]),
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        cpu_samples=samples,
        rss_samples=rss_samples,
        notes=[line for line in text if "block" in line or "loaded since" in line],
    )


def machine() -> str:
    memory = "unknown RAM"
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        kilobytes = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kilobytes / 1024**2:.1f} GiB RAM"
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {memory}, {platform.platform()}"


def versions() -> str:
    from importlib import metadata

    return ", ".join(
        f"{name} {metadata.version(name)}" for name in ("duckdb", "dbt-core", "dbt-duckdb")
    )


def load() -> tuple[float, float, float]:
    return os.getloadavg()


def gib(size: int) -> str:
    return f"{size / 1024**3:.2f} GiB"


def cpu_at(samples: list[tuple[float, float]], moment: float) -> float:
    """The sampled CPU seconds at `moment`, interpolated between the samples around it."""
    before = [sample for sample in samples if sample[0] <= moment]
    after = [sample for sample in samples if sample[0] > moment]
    if not before:
        return samples[0][1] if samples else 0.0
    if not after:
        return before[-1][1]
    (t0, c0), (t1, c1) = before[-1], after[0]
    return c0 + (c1 - c0) * (moment - t0) / (t1 - t0)


def epoch(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def node_spans(target_dir: Path) -> list[tuple[str, float, tuple[float, float] | None]]:
    """(node, wall seconds, (start, end) epoch seconds or None) of each node of the last run."""
    path = target_dir / "run_results.json"
    if not path.is_file():
        return []
    nodes = []
    for result in json.loads(path.read_text())["results"]:
        spans = [span for span in result.get("timing", []) if span.get("started_at")]
        name = result["unique_id"].split(".", 2)[-1]
        moments = None
        if spans:
            start = min(epoch(span["started_at"]) for span in spans)
            moments = (start, max(epoch(span["completed_at"]) for span in spans))
        nodes.append((name, float(result["execution_time"]), moments))
    return nodes


def slowest_nodes(target_dir: Path, step: Step) -> list[tuple[float, float, str]]:
    """(CPU seconds, wall seconds, node) of the nodes that took the most CPU."""
    timed = []
    for name, seconds, moments in node_spans(target_dir):
        cpu = 0.0
        if moments:
            cpu = cpu_at(step.cpu_samples, moments[1]) - cpu_at(step.cpu_samples, moments[0])
        timed.append((cpu, seconds, name))
    return sorted(timed, reverse=True)[:SLOWEST]


def memory_raising_nodes(target_dir: Path, step: Step) -> list[tuple[int, int, float, str]]:
    """(bytes added to the peak, peak reached, wall seconds, node) of the nodes during which
    the resident memory of the step's largest process rose most above its peak so far (memory
    a process has taken is seldom returned, so the node running at the peak is often not the
    one that took it; a node shorter than a sampling interval may be missed)."""
    rises = []
    samples = step.rss_samples
    for name, seconds, moments in node_spans(target_dir):
        if not moments:
            continue
        before = max((rss for moment, rss in samples if moment < moments[0]), default=0)
        peak = max(
            (rss for moment, rss in samples if moments[0] <= moment <= moments[1]), default=0
        )
        if peak > before:
            rises.append((peak - before, peak, seconds, name))
    return sorted(rises, reverse=True)[:HIGHEST_MEMORY]


def database_bytes(database: Path) -> int:
    return sum(
        path.stat().st_size
        for path in (database, database.with_name(database.name + ".wal"))
        if path.exists()
    )


def is_incremental() -> bool:
    """True when `trainset build` takes `--since`: a plain build then runs only what is new."""
    help_text = subprocess.run(
        [*TRAINSET, "build", "--help"], cwd=PROJECT_DIR, capture_output=True, text=True
    ).stdout
    return "--since" in help_text


def last_watermark(target: Path) -> str | None:
    """The watermark of the last passed build recorded in `target` (what `trainset build`
    passes to the next increment)."""
    sys.path.insert(0, str(PROJECT_DIR / "python"))
    from trainset.build import PASSED, read_records

    passed = [record for record in read_records(target) if record.state == PASSED]
    return passed[-1].watermark if passed else None


def append_day(landing: Path) -> None:
    sys.path.insert(0, str(PROJECT_DIR / "python"))
    from trainset.sim import generate_next_day

    generate_next_day(landing)


def measure(customers: int, options: argparse.Namespace, incremental: bool) -> SizeResult:
    folder = Path(options.work).resolve() / f"{customers}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    landing, database, target = folder / "landing", folder / "trainset.duckdb", folder / "target"
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "TRAINSET_PROJECT_DIR": str(PROJECT_DIR),
        "TRAINSET_LANDING_DIR": str(landing),
        "TRAINSET_DUCKDB_PATH": str(database),
        "DBT_TARGET_PATH": str(target),
        "TRAINSET_EXPORTS_DIR": str(folder / "exports"),
    }
    result = SizeResult(customers, load_before=load())
    print(f"\n== {customers:,} customers (load average before: {fmt_load(result.load_before)})")
    result.generate = run_step(
        [
            *TRAINSET,
            "generate",
            "--out",
            str(landing),
            "--customers",
            str(customers),
            "--days",
            str(options.days),
            "--seed",
            str(options.seed),
        ],
        env,
    )
    summary = json.loads((landing / "_generator.json").read_text())
    result.raw_rows = sum(summary["rows"].values())
    print(f"generate: {result.generate.seconds:.1f} s, {result.raw_rows:,} raw rows")
    result.build = run_step([*TRAINSET, "build"], env)
    result.slowest = slowest_nodes(target, result.build)
    result.database_bytes = database_bytes(database)
    print(
        f"build: {result.build.seconds:.1f} s ({result.build.cpu_seconds:.1f} CPU s), "
        f"peak RSS {gib(result.build.peak_rss_bytes)}, "
        f"database {gib(result.database_bytes)}, {'passed' if result.build.ok else 'FAILED'}"
    )
    if not result.build.ok:
        print(result.build.tail)
    print(f"the {SLOWEST} nodes that took the most CPU:")
    for cpu, seconds, name in result.slowest:
        print(f"  {cpu:8.1f} CPU s {seconds:8.1f} s  {name}")
    print(
        f"the {HIGHEST_MEMORY} nodes that raised the resident memory of the build's largest "
        f"process most (sampled every {SAMPLE_SECONDS} s; added, then the peak reached):"
    )
    for added, peak, seconds, name in memory_raising_nodes(target, result.build):
        print(f"  {gib(added):>10} {gib(peak):>10} {seconds:8.1f} s  {name}")
    if result.build.ok:
        # Exported from the full build: after the daily increment the gate refuses the export,
        # since that build left out the web events of the thin simulated day.
        result.export = run_step([*TRAINSET, "export", "churn_30d"], env)
        print(f"export: {result.export.seconds:.1f} s, {'ok' if result.export.ok else 'FAILED'}")
        if not result.export.ok:
            print(result.export.tail)
    if incremental and result.build.ok:
        # The availability check leaves out a table whose simulated day is thin (the web
        # events): the same increment is also timed as one `dbt build` of everything on a copy.
        shutil.copy(database, folder / "whole.duckdb")
        watermark = last_watermark(target)
        append_day(landing)
        result.increment = run_step([*TRAINSET, "build"], env)
        share = result.increment.seconds / result.build.seconds
        cpu_share = result.increment.cpu_seconds / (result.build.cpu_seconds or 1)
        print(
            f"daily increment: {result.increment.seconds:.1f} s "
            f"({result.increment.cpu_seconds:.1f} CPU s; {share:.0%} of the full build's time, "
            f"{cpu_share:.0%} of its CPU), "
            f"peak RSS {gib(result.increment.peak_rss_bytes)}"
        )
        for note in result.increment.notes:
            print(f"  {note.strip()}")
        print(f"the {SLOWEST} nodes of the increment that took the most CPU:")
        for cpu, seconds, name in slowest_nodes(target, result.increment):
            print(f"  {cpu:8.1f} CPU s {seconds:8.1f} s  {name}")
        whole_target = folder / "target-whole"
        whole_env = {
            **env,
            "TRAINSET_DUCKDB_PATH": str(folder / "whole.duckdb"),
            "DBT_TARGET_PATH": str(whole_target),
        }
        variables = json.dumps({"incremental_watermark": watermark})
        result.whole_increment = run_step(
            [
                *(DBT, "build", "--vars", variables, "--log-path", str(whole_target / "logs")),
                *("--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)),
            ],
            whole_env,
        )
        print(
            f"the same increment as one dbt build with no table left out: "
            f"{result.whole_increment.seconds:.1f} s ({result.whole_increment.cpu_seconds:.1f} "
            f"CPU s; {result.whole_increment.seconds / result.build.seconds:.0%} of the full "
            f"build's time, "
            f"{result.whole_increment.cpu_seconds / (result.build.cpu_seconds or 1):.0%} of its "
            f"CPU), {'passed' if result.whole_increment.ok else 'FAILED'}"
        )
        if not result.whole_increment.ok:
            print(result.whole_increment.tail)
        for cpu, seconds, name in slowest_nodes(whole_target, result.whole_increment):
            print(f"  {cpu:8.1f} CPU s {seconds:8.1f} s  {name}")
    elif not result.build.ok:
        print("daily increment: not measured (the full build failed)")
    else:
        print("daily increment: not measured (the build is not incremental yet)")
    result.load_after = load()
    print(f"load average after: {fmt_load(result.load_after)}")
    if not options.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def fmt_load(values: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in values)


def report(results: list[SizeResult]) -> None:
    base = results[0]
    print("\n== summary (ratios against the first size, measured in this run)")
    print(
        f"{'customers':>10} {'raw rows':>12} {'generate s':>10} {'build s':>8} {'x':>6} "
        f"{'CPU s':>8} {'x':>6} "
        f"{'peak RSS':>10} {'x':>6} {'database':>10} {'increment s':>11} {'export s':>8}"
    )
    for result in results:
        build, generate, export = result.build, result.generate, result.export
        assert build is not None and generate is not None and base.build is not None
        increment = f"{result.increment.seconds:.1f}" if result.increment else "not measured"
        print(
            f"{result.customers:>10,} {result.raw_rows:>12,} {generate.seconds:>10.1f} "
            f"{build.seconds:>8.1f} {build.seconds / base.build.seconds:>6.2f} "
            f"{build.cpu_seconds:>8.1f} {build.cpu_seconds / (base.build.cpu_seconds or 1):>6.2f} "
            f"{gib(build.peak_rss_bytes):>10} "
            f"{build.peak_rss_bytes / base.build.peak_rss_bytes:>6.2f} "
            f"{gib(result.database_bytes):>10} {increment:>11} "
            f"{(f'{export.seconds:.1f}' if export and export.ok else 'failed' if export else '-'):>8}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[50_000, 200_000, 1_000_000])
    parser.add_argument("--with-2m", action="store_true", help="add 2,000,000 customers")
    parser.add_argument("--days", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--work", default=str(PROJECT_DIR / "data" / "bench_scale"))
    parser.add_argument("--keep", action="store_true", help="keep each size's files")
    options = parser.parse_args()
    sizes = sorted(set(options.customers + ([2_000_000] if options.with_2m else [])))
    incremental = is_incremental()
    print(f"trainset scale benchmark, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(f"versions: {versions()}, Python {platform.python_version()}")
    print(
        "DuckDB memory limit: "
        f"{os.environ.get('TRAINSET_DUCKDB_MEMORY_LIMIT', 'profiles.yml default')}, "
        f"dbt threads: {os.environ.get('TRAINSET_THREADS', 'profiles.yml default')}"
    )
    print(f"sizes: {', '.join(f'{size:,}' for size in sizes)} customers, {options.days} days")
    results = [measure(size, options, incremental) for size in sizes]
    report(results)
    return 0 if all(result.build and result.build.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
