"""Online serving, side by side with Feast 0.67's feature server in the same run.

Both serve the same features (the catalog of the serving model, read from dbt's manifest) for
the same synthetic entities: trainset from its SQLite online store through `trainset serve`,
Feast from its SQLite online store through `feast serve`, each with one worker process, on
loopback HTTP. Closed-loop clients (separate processes, persistent connections) at concurrency
1 and 8 send requests for 1 and for 100 entities; the script prints p50/p99 latency and
requests per second for each, the in-process lookup p99 of both SDKs, and the time and peak
memory of materializing into SQLite and Redis. Figures are medians over `--repeat` runs, with
the ratio to Feast measured in the same run.

Feast runs in its own virtual environment (created on first use, see
`python/tests/online_support.py`), never the project's:

    .venv/bin/python python/benchmarks/bench_serving.py --repeat 3

needs `target/manifest.json` (`trainset build`, or `dbt parse`) and `redis-server`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT / "python" / "tests"))

from online_support import RedisServer, feast_venv, free_port, stop, wait_for_port  # noqa: E402
from trainset.dbt import read_artifact  # noqa: E402
from trainset.online.catalog import ServingCatalog, load_catalog  # noqa: E402
from trainset.online.feast_repo import write_feast_repo  # noqa: E402
from trainset.project import Paths  # noqa: E402

RELATION = '"serving"."serve_customer__features"'
CATEGORIES = ["free", "basic", "pro", "consumer", "smb", "enterprise", "GB", "FR", "DE", "US"]


def make_mart(path: Path, catalog: ServingCatalog, entities: int) -> None:
    """A serving mart with the catalog's columns and types and `entities` rows."""
    import duckdb

    expressions = []
    for number, feature in enumerate(catalog.features):
        seed = f"cast(hash(customer_id * {number + 7}) % 1000000007 as bigint)"
        if feature.data_type.startswith(("int", "bigint")):
            expression = f"cast({seed} % 500 as {feature.data_type})"
        elif feature.data_type.startswith(("double", "float")):
            expression = f"round(({seed} % 1000000) / 97.0, 6)"
        else:
            values = ", ".join(f"'{value}'" for value in CATEGORIES)
            expression = f"([{values}])[1 + {seed} % {len(CATEGORIES)}]"
        # One value in 20 is null, as in real marts.
        expression = f"case when {seed} % 20 = 0 then null else {expression} end"
        expressions.append(f"{expression} as {feature.name}")
    if path.exists():
        path.unlink()
    connection = duckdb.connect(str(path))
    connection.execute("create schema serving")
    connection.execute(
        f"create table {RELATION} as select customer_id, "
        "timestamp '2026-01-01 00:00:00' as served_at, "
        + ", ".join(expressions)
        + f" from (select range + 1 as customer_id from range({entities}))"
    )
    connection.close()


MATERIALIZE = """
import json, resource, sys, time
from pathlib import Path
from trainset.online import materialize
from trainset.online.materialize import Source
manifest = json.loads(Path(sys.argv[1]).read_text())
started = time.perf_counter()
info = materialize(
    None, store=sys.argv[3], manifest=manifest,
    source=Source(Path(sys.argv[2]), sys.argv[4], "benchmark"), progress=lambda message: None,
)
print(json.dumps({"seconds": time.perf_counter() - started, "entities": info.entities,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

FEAST_MATERIALIZE = """
import json, resource, sys, time
from datetime import datetime
from feast import FeatureStore
store = FeatureStore(repo_path=sys.argv[1])
started = time.perf_counter()
store.materialize(datetime(2025, 12, 1), datetime(2026, 1, 2))
print(json.dumps({"seconds": time.perf_counter() - started,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

FEAST_IN_PROCESS = """
import json, sys, time
from feast import FeatureStore
store = FeatureStore(repo_path=sys.argv[1])
references = json.loads(sys.argv[2])
ids = json.loads(sys.argv[3])
for key in ids[:200]:
    store.get_online_features(features=references, entity_rows=[{"customer_id": key}]).to_dict()
times = []
for key in ids:
    started = time.perf_counter()
    store.get_online_features(features=references, entity_rows=[{"customer_id": key}]).to_dict()
    times.append(time.perf_counter() - started)
times.sort()
print(json.dumps({"p50_ms": times[len(times) // 2] * 1e3, "p99_ms": times[int(len(times) * 0.99)] * 1e3}))
"""


def run_json(command: list[str], **kwargs) -> dict:
    completed = subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _client(port: int, bodies: list[bytes], duration: float, queue) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/json"}
    latencies = []
    errors = 0
    index = 0
    warm_until = time.perf_counter() + 0.5
    end = warm_until + duration
    while True:
        now = time.perf_counter()
        if now > end:
            break
        body = bodies[index % len(bodies)]
        index += 1
        try:
            connection.request("POST", "/get-online-features", body, headers)
            response = connection.getresponse()
            response.read()
        except (ConnectionError, http.client.HTTPException):
            # A server may recycle its worker: reconnect, and do not count the attempt.
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port)
            continue
        elapsed = time.perf_counter() - now
        if response.status != 200:
            errors += 1
        if now >= warm_until:
            latencies.append(elapsed)
    connection.close()
    queue.put((latencies, errors))


def load(port: int, bodies: list[bytes], concurrency: int, duration: float) -> dict:
    """Closed loop: `concurrency` processes, each sending its next request when the previous
    one is answered."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [
        context.Process(
            target=_client, args=(port, bodies[offset::concurrency] or bodies, duration, queue)
        )
        for offset in range(concurrency)
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=duration + 120) for _ in processes]
    for process in processes:
        process.join()
    latencies = sorted(value for latencies, _ in results for value in latencies)
    errors = sum(errors for _, errors in results)
    if errors:
        raise RuntimeError(f"{errors} requests failed on port {port}")
    return {
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1e3,
        "rps": len(latencies) / duration,
    }


def bodies(
    catalog: ServingCatalog, entities: int, per_request: int, count: int = 2000
) -> list[bytes]:
    generator = random.Random(7)
    references = [f"{catalog.view}:{name}" for name in catalog.feature_names]
    return [
        json.dumps(
            {
                "entities": {
                    "customer_id": [generator.randint(1, entities) for _ in range(per_request)]
                },
                "features": references,
            }
        ).encode()
        for _ in range(count)
    ]


def start_server(command: list[str], port: int, **kwargs) -> subprocess.Popen:
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs
    )
    wait_for_port(port, timeout=120, process=process)
    return process


def in_process_lookup(
    store: str, catalog: ServingCatalog, entities: int, count: int = 20000
) -> dict:
    from trainset.online import get_features, open_store

    opened = open_store(store)
    references = [f"{catalog.view}:{name}" for name in catalog.feature_names]
    generator = random.Random(3)
    for _ in range(1000):
        get_features({"customer_id": [generator.randint(1, entities)]}, references, store=opened)
    times = []
    for _ in range(count):
        key = generator.randint(1, entities)
        started = time.perf_counter()
        get_features({"customer_id": [key]}, references, store=opened)
        times.append(time.perf_counter() - started)
    times.sort()
    return {"p50_ms": times[count // 2] * 1e3, "p99_ms": times[int(count * 0.99)] * 1e3}


def median_of(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entities", type=int, default=10_000, help="entities served (10000)")
    parser.add_argument(
        "--materialize-entities",
        type=int,
        default=1_000_000,
        help="trainset materialization size (1000000; 0 skips)",
    )
    parser.add_argument(
        "--feast-materialize-entities",
        type=int,
        default=100_000,
        help="size of the side-by-side materialization (100000; 0 skips)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load run (5)")
    parser.add_argument("--work", help="work folder (default: a temporary one)")
    parser.add_argument("--skip-feast", action="store_true", help="trainset only")
    args = parser.parse_args()

    work = Path(args.work or tempfile.mkdtemp(prefix="bench_serving_"))
    work.mkdir(parents=True, exist_ok=True)
    paths = Paths.resolve()
    manifest_path = paths.target_dir / "manifest.json"
    catalog = load_catalog(read_artifact(paths.target_dir, "manifest.json"))
    python = sys.executable
    results: dict[str, dict] = {}
    print(
        f"bench_serving: {len(catalog.features)} features of {catalog.view}, work folder {work}",
        flush=True,
    )

    # Materialization: trainset at full size into SQLite and Redis, and both systems side by
    # side at a size Feast finishes in reasonable time.
    if args.materialize_entities:
        big = work / f"mart_{args.materialize_entities}.duckdb"
        make_mart(big, catalog, args.materialize_entities)
        redis = RedisServer(work / "redis").start()
        try:
            for kind in ("sqlite", "redis"):
                runs = []
                for run in range(args.repeat):
                    store = str(work / f"big_{run}.sqlite") if kind == "sqlite" else redis.url
                    if kind == "redis":
                        import redis as redis_client

                        redis_client.Redis.from_url(redis.url, socket_timeout=600).flushall()
                    runs.append(
                        run_json(
                            [
                                python,
                                "-c",
                                MATERIALIZE,
                                str(manifest_path),
                                str(big),
                                store,
                                RELATION,
                            ]
                        )
                    )
                    if kind == "sqlite":
                        Path(store).unlink()
                results[f"materialize_{kind}_{args.materialize_entities}"] = median_of(runs)
                print(
                    f"  materialize {kind} {args.materialize_entities:,}: {results[f'materialize_{kind}_{args.materialize_entities}']}",
                    flush=True,
                )
        finally:
            redis.stop()

    mart = work / f"mart_{args.entities}.duckdb"
    make_mart(mart, catalog, args.entities)
    ours_store = str(work / "serve.sqlite")
    run_json([python, "-c", MATERIALIZE, str(manifest_path), str(mart), ours_store, RELATION])

    venv = None if args.skip_feast else feast_venv()
    feast_repo = None
    if venv is not None:
        import duckdb

        side = work / f"mart_{args.feast_materialize_entities}.duckdb"
        plan = [("serve", mart, args.entities)]
        if args.feast_materialize_entities:
            make_mart(side, catalog, args.feast_materialize_entities)
            plan.insert(0, ("side", side, args.feast_materialize_entities))
        for label, source, entities in plan:
            repo = work / f"feast_{label}"
            parquet = repo / "vectors.parquet"
            repo.mkdir(parents=True, exist_ok=True)
            connection = duckdb.connect(str(source), read_only=True)
            connection.execute(f"copy (select * from {RELATION}) to '{parquet}' (format parquet)")
            connection.close()
            write_feast_repo(catalog, repo, source_parquet=parquet)
            subprocess.run(
                [str(venv / "bin" / "feast"), "apply"], cwd=repo, check=True, capture_output=True
            )
            feast_run = run_json([str(venv / "bin" / "python"), "-c", FEAST_MATERIALIZE, str(repo)])
            if label == "side":
                ours_runs = [
                    run_json(
                        [
                            python,
                            "-c",
                            MATERIALIZE,
                            str(manifest_path),
                            str(side),
                            str(work / f"side_{run}.sqlite"),
                            RELATION,
                        ]
                    )
                    for run in range(args.repeat)
                ]
                ours = median_of(ours_runs)
                results[f"materialize_side_by_side_{entities}"] = {
                    "trainset_seconds": ours["seconds"],
                    "trainset_peak_mb": ours["peak_mb"],
                    "feast_seconds": feast_run["seconds"],
                    "feast_peak_mb": feast_run["peak_mb"],
                    "speedup": feast_run["seconds"] / ours["seconds"],
                    "memory_ratio": feast_run["peak_mb"] / ours["peak_mb"],
                }
                print(
                    f"  materialize side by side {entities:,}: {results[f'materialize_side_by_side_{entities}']}",
                    flush=True,
                )
            else:
                feast_repo = repo

    # Same answers before timing anything.
    references = [f"{catalog.view}:{name}" for name in catalog.feature_names]
    our_port = free_port()
    servers = {
        "trainset": (
            [
                str(PROJECT / ".venv" / "bin" / "trainset"),
                "serve",
                "--port",
                str(our_port),
                "--store",
                ours_store,
                "--workers",
                "1",
            ],
            our_port,
            {"cwd": PROJECT},
        )
    }
    if feast_repo is not None:
        feast_port = free_port()
        servers["feast"] = (
            [
                str(venv / "bin" / "feast"),
                "serve",
                "-p",
                str(feast_port),
                "-w",
                "1",
                "--no-access-log",
                # No worker recycling in the middle of a measurement (Feast's default is 1000).
                "--max-requests",
                "0",
            ],
            feast_port,
            {"cwd": feast_repo},
        )
    processes = {}
    try:
        for name, (command, port, options) in servers.items():
            processes[name] = start_server(command, port, **options)
        if "feast" in processes:
            import httpx

            sample = {"entities": {"customer_id": list(range(1, 51))}, "features": references}
            answers = {
                name: httpx.post(
                    f"http://127.0.0.1:{port}/get-online-features", json=sample, timeout=60
                ).json()
                for name, (_, port, _) in servers.items()
            }
            # Feast orders its columns its own way: compare by name.
            ours_values, feast_values = (
                dict(
                    zip(
                        answer["metadata"]["feature_names"],
                        [result["values"] for result in answer["results"]],
                        strict=True,
                    )
                )
                for answer in (answers["trainset"], answers["feast"])
            )
            if ours_values != feast_values:
                raise SystemExit(
                    "bench_serving: trainset and Feast disagree on the sample; not timing."
                )
            print("  both servers return the same 50 vectors", flush=True)
        for per_request in (1, 100):
            payloads = bodies(catalog, args.entities, per_request)
            for concurrency in (1, 8):
                for name, (_, port, _) in servers.items():
                    runs = [
                        load(port, payloads, concurrency, args.duration) for _ in range(args.repeat)
                    ]
                    key = f"http_{per_request}_entities_c{concurrency}_{name}"
                    results[key] = median_of(runs)
                    print(
                        f"  {key}: " + ", ".join(f"{k} {v:.2f}" for k, v in results[key].items()),
                        flush=True,
                    )
    finally:
        for process in processes.values():
            stop(process)

    runs = [in_process_lookup(ours_store, catalog, args.entities) for _ in range(args.repeat)]
    results["in_process_trainset"] = median_of(runs)
    if feast_repo is not None:
        generator = random.Random(5)
        ids = [generator.randint(1, args.entities) for _ in range(2000)]
        runs = [
            run_json(
                [
                    str(venv / "bin" / "python"),
                    "-c",
                    FEAST_IN_PROCESS,
                    str(feast_repo),
                    json.dumps(references),
                    json.dumps(ids),
                ]
            )
            for _ in range(args.repeat)
        ]
        results["in_process_feast"] = median_of(runs)
    print(
        f"  in process: {results['in_process_trainset']} vs Feast {results.get('in_process_feast')}",
        flush=True,
    )

    if "feast" in servers:
        print("\nratios (Feast / trainset for latency, trainset / Feast for throughput):")
        for per_request in (1, 100):
            for concurrency in (1, 8):
                ours = results[f"http_{per_request}_entities_c{concurrency}_trainset"]
                theirs = results[f"http_{per_request}_entities_c{concurrency}_feast"]
                print(
                    f"  {per_request:>3} entities, concurrency {concurrency}: p50 {theirs['p50_ms'] / ours['p50_ms']:.1f}x, "
                    f"p99 {theirs['p99_ms'] / ours['p99_ms']:.1f}x, throughput {ours['rps'] / theirs['rps']:.2f}x"
                )
        print(
            f"  in-process p99: {results['in_process_feast']['p99_ms'] / results['in_process_trainset']['p99_ms']:.0f}x"
        )
    results["machine"] = {
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print(f"  machine: {results['machine']}")
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nresults: {work / 'results.json'}")


if __name__ == "__main__":
    main()
