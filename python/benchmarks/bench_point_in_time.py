"""Point-in-time join and trailing-window benchmarks: trainset's macros against hand-written
DuckDB SQL and against Feast and timefence, on the same Parquet data, in one run.

    .venv/bin/python python/benchmarks/bench_point_in_time.py [--scale 1.0] [--repeat 3]

Peers are benchmark-only and live in their own virtual environment, never in the project's:

    python3 -m venv /tmp/benchpeers
    /tmp/benchpeers/bin/pip install "feast[duckdb]" timefence==0.9.1 duckdb==1.5.5 'pandas<3'

(`--peers-python` points at that interpreter; peers are skipped with a note if it is missing.)
Every measurement runs in a fresh subprocess that reads the Parquet files and writes its whole
result (every spine and feature column) to a Parquet file, the same work for every
implementation: trainset's SQL and the bare DuckDB SQL through `COPY ... TO`, Feast's
DataFrame through `to_parquet`, timefence through its own Parquet output. Times include reading
the data and writing the result; peak memory (max RSS) is that process's own. Figures are
medians over `--repeat` runs, with ratios against the best bare DuckDB formulation measured in
the same run (and, for the bitemporal join, against the portable implementation).

At scale 1.0: 1M spine rows, 10M feature rows with 10 feature columns over 100k entities and a
year, each known 0 to 3 days after it is effective; windows over 10M events at 1M cutoffs
(sparse: 100k entities; dense: 1k entities, about a thousand events per 30-day window).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainset.compile import compile_macro_calls  # noqa: E402
from trainset.project import connect_duckdb  # noqa: E402

FEATURES = [f"f{index}" for index in range(10)]

RUNNER = textwrap.dedent(
    """
    import json, resource, sys, time
    import duckdb
    sql, data, out = sys.argv[1], sys.argv[2], sys.argv[3]
    connection = duckdb.connect()
    connection.execute("set timezone = 'UTC'")
    for name in ("spine", "features"):
        path = f"{data}/{name}.parquet"
        connection.execute(f"create view {name} as select * from read_parquet('{path}')")
    started = time.perf_counter()
    connection.execute(f"copy ({open(sql).read()}) to '{out}' (format parquet)")
    seconds = time.perf_counter() - started
    rows = connection.execute(f"select count(*) from read_parquet('{out}')").fetchone()[0]
    print(json.dumps({"seconds": seconds, "rows": rows,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)

FEAST_RUNNER = textwrap.dedent(
    """
    import json, resource, sys, time
    from datetime import timedelta
    from pathlib import Path
    import pandas as pd
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource
    from feast.types import Float64
    data, repo, ttl_days, out = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(
        "project: bench\\nregistry: registry.db\\nprovider: local\\n"
        "offline_store:\\n  type: duckdb\\nonline_store:\\n  type: sqlite\\n  path: online.db\\n"
        "entity_key_serialization_version: 3\\n"
    )
    entity = Entity(name="entity", join_keys=["entity_id"])
    source = FileSource(path=str(data / "features_feast.parquet"), timestamp_field="event_timestamp",
                        created_timestamp_column="created")
    view = FeatureView(name="fv", entities=[entity], ttl=timedelta(days=ttl_days) if ttl_days else None,
                       schema=[Field(name=f"f{i}", dtype=Float64) for i in range(10)], source=source)
    store = FeatureStore(repo_path=str(repo))
    store.apply([entity, view])
    spine = pd.read_parquet(data / "spine_feast.parquet")
    started = time.perf_counter()
    frame = store.get_historical_features(entity_df=spine, features=[f"fv:f{i}" for i in range(10)]).to_df()
    frame.to_parquet(out, index=False)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": len(frame),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)

TIMEFENCE_RUNNER = textwrap.dedent(
    """
    import json, resource, sys, time
    from pathlib import Path
    import timefence
    data, out, ttl_days = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    source = timefence.ParquetSource(str(data / "features.parquet"), keys="entity_id",
                                     timestamp="effective_at", name="features")
    feature = timefence.Feature(source, columns=[f"f{i}" for i in range(10)], name="fv")
    labels = timefence.Labels(path=str(data / "spine_timefence.parquet"), keys="entity_id",
                              label_time="cutoff_at", target="label")
    started = time.perf_counter()
    kwargs = {"max_lookback": f"{ttl_days}d"} if ttl_days else {"max_lookback": "3650d"}
    result = timefence.build(labels, [feature], output=str(out), join="inclusive", **kwargs)
    seconds = time.perf_counter() - started
    import pyarrow.parquet as pq
    rows = pq.read_metadata(str(out)).num_rows
    print(json.dumps({"seconds": seconds, "rows": rows,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)


def make_data(folder: Path, scale: float, dense_entities: int) -> dict[str, int]:
    spine_rows = int(1_000_000 * scale)
    feature_rows = int(10_000_000 * scale)
    entities = max(10, int(100_000 * scale))
    connection = connect_duckdb()
    columns = ", ".join(f"round(random() * 100, 2)::double as {name}" for name in FEATURES)
    connection.execute("select setseed(0.42)")
    # Unique timestamps per entity (a second apart at least) keep every peer's semantics equal.
    connection.execute(
        f"""
        copy (
            select
                (i % {entities})::bigint as entity_id,
                timestamp '2025-01-01' + to_seconds((i // {entities}) * 60 + (hash(i) % 50)::bigint)
                    * ({365 * 86400 // max(1, feature_rows // entities)} // 60) as effective_at,
                {columns}
            from range({feature_rows}) as t(i)
        ) to '{folder}/features_base.parquet' (format parquet)
        """
    )
    # Each row is known 0 to 3 days after it is effective (the bitemporal case).
    connection.execute(
        f"""
        copy (
            select
                entity_id,
                effective_at,
                effective_at + to_seconds((hash(entity_id, effective_at) % (3 * 86400))::bigint) as known_at,
                {", ".join(FEATURES)}
            from read_parquet('{folder}/features_base.parquet')
        ) to '{folder}/features.parquet' (format parquet)
        """
    )
    connection.execute(
        f"""
        copy (
            select * exclude (known_at), effective_at as event_timestamp, effective_at as created
            from read_parquet('{folder}/features.parquet')
        ) to '{folder}/features_feast.parquet' (format parquet)
        """
    )
    connection.execute(
        f"""
        copy (
            select
                i::bigint as spine_row,
                (hash(i) % {entities})::bigint as entity_id,
                timestamp '2025-02-01' + to_seconds((hash(i * 7) % (330 * 86400))::bigint) as cutoff_at,
                (hash(i) % 2)::int as label
            from range({spine_rows}) as t(i)
        ) to '{folder}/spine.parquet' (format parquet)
        """
    )
    connection.execute(
        f"""
        copy (select entity_id, cutoff_at::timestamptz as event_timestamp from read_parquet('{folder}/spine.parquet'))
        to '{folder}/spine_feast.parquet' (format parquet)
        """
    )
    connection.execute(
        f"""
        copy (select entity_id, cutoff_at, label from read_parquet('{folder}/spine.parquet'))
        to '{folder}/spine_timefence.parquet' (format parquet)
        """
    )
    # Events for windows: sparse is the feature table; dense has few entities.
    connection.execute(
        f"""
        copy (
            select
                (i % {dense_entities})::bigint as entity_id,
                timestamp '2025-01-01' + to_seconds((hash(i) % (365 * 86400))::bigint) as effective_at,
                ((hash(i * 3) % 100000) / 100)::decimal(18, 2) as amount
            from range({feature_rows}) as t(i)
        ) to '{folder}/events_dense.parquet' (format parquet)
        """
    )
    connection.execute(
        f"""
        copy (
            select
                i::bigint as spine_row,
                (hash(i) % {dense_entities})::bigint as entity_id,
                timestamp '2025-04-01' + to_seconds((hash(i * 7) % (270 * 86400))::bigint) as cutoff_at
            from range({spine_rows}) as t(i)
        ) to '{folder}/spine_dense.parquet' (format parquet)
        """
    )
    connection.execute(
        f"""
        copy (select entity_id, effective_at, f0::decimal(18, 2) as amount from read_parquet('{folder}/features.parquet'))
        to '{folder}/events_sparse.parquet' (format parquet)
        """
    )
    connection.close()
    return {"spine_rows": spine_rows, "feature_rows": feature_rows, "entities": entities}


def bare_asof(ttl_days: int | None) -> str:
    values = ", ".join(
        f"case when f.effective_at >= s.cutoff_at - interval '{ttl_days} days' then f.{n} end as {n}"
        if ttl_days
        else f"f.{n}"
        for n in FEATURES
    )
    return f"select s.*, {values} from spine s asof left join features f on s.entity_id = f.entity_id and s.cutoff_at >= f.effective_at"


def bare_window(ttl_days: int | None) -> str:
    payload = "{" + ", ".join(f"'{n}': {n}" for n in FEATURES) + "}"
    ttl = f"and effective_at >= cutoff_at - interval '{ttl_days} days'" if ttl_days else ""
    return f"""
    select spine_row, entity_id, cutoff_at,
        case when last_payload is not null {ttl.replace("effective_at", "last_at")} then last_payload end as payload
    from (
        select *,
            last_value(payload ignore nulls) over w as last_payload,
            last_value(effective_at ignore nulls) over w as last_at
        from (
            select spine_row, entity_id, cutoff_at, cutoff_at as moment, 1 as side, null as payload, null::timestamp as effective_at from spine
            union all
            select null, entity_id, null, effective_at, 0, {payload}, effective_at from features
        )
        window w as (partition by entity_id order by moment, side rows between unbounded preceding and current row)
    ) where side = 1
    """


def bare_windows_range(events: str, spine: str) -> str:
    parts = []
    for days in (7, 30, 90):
        inside = f"e.effective_at > s.cutoff_at - interval '{days} days'"
        parts.append(
            f"count(case when {inside} then 1 end) as n_{days}, sum(case when {inside} then e.amount end) as s_{days}, avg(case when {inside} then e.amount end) as m_{days}"
        )
    return f"""
    select s.spine_row, {", ".join(parts)}
    from {spine} s left join {events} e on s.entity_id = e.entity_id
        and e.effective_at <= s.cutoff_at and e.effective_at > s.cutoff_at - interval '90 days'
    group by s.spine_row
    """


def bare_windows_cumulative(events: str, spine: str) -> str:
    lookups = []
    joins = []
    for days in (7, 30, 90):
        joins.append(
            f"asof left join running w{days} on k.entity_id = w{days}.entity_id and k.cutoff_at - interval '{days} days' >= w{days}.effective_at"
        )
        lookups.append(
            f"coalesce(e.n, 0) - coalesce(w{days}.n, 0) as n_{days}, coalesce(e.s, 0) - coalesce(w{days}.s, 0) as s_{days}, "
            f"(coalesce(e.s, 0) - coalesce(w{days}.s, 0)) / nullif(coalesce(e.n, 0) - coalesce(w{days}.n, 0), 0) as m_{days}"
        )
    return f"""
    with running as (
        select distinct on (entity_id, effective_at) entity_id, effective_at,
            count(*) over w as n, sum(amount) over w as s
        from {events}
        window w as (partition by entity_id order by effective_at range between unbounded preceding and current row)
    )
    select k.spine_row, {", ".join(lookups)}
    from {spine} k asof left join running e on k.entity_id = e.entity_id and k.cutoff_at >= e.effective_at
    {" ".join(joins)}
    """


def macro_calls() -> dict[str, str]:
    calls = {}
    for ttl in (30, None):
        feature = {
            "relation": "features",
            "columns": FEATURES,
            "bitemporal": False,
            "known_column": None,
            "ttl": f"{ttl} days" if ttl else None,
        }
        rendered = repr(feature).replace("None", "none").replace("False", "false")
        calls[f"join_ttl{ttl or 0}"] = (
            f"{{{{ trainset.point_in_time_join('spine', [{rendered}], 'entity_id', 'cutoff_at') }}}}"
        )
    bitemporal = {"relation": "features", "columns": FEATURES, "known_column": "known_at"}
    rendered = repr(bitemporal)
    calls["join_bitemporal"] = (
        f"{{{{ trainset.point_in_time_join('spine', [{rendered}], 'entity_id', 'cutoff_at') }}}}"
    )
    calls["join_bitemporal_portable"] = (
        f"{{{{ trainset.default__point_in_time_join('spine', [{rendered}], 'entity_id', 'cutoff_at') }}}}"
    )
    # Amounts are decimals, so running totals are exact and `auto` may pick them.
    aggregations = (
        "[{'column': 'cast(amount as decimal(18, 2))', 'functions': ['count', 'sum', 'mean'], "
        "'name': 'amount'}]"
    )
    for density, hint in (("sparse", 8), ("dense", 1000)):
        spine = (
            "spine"
            if density == "sparse"
            else "(select * from read_parquet('{data}/spine_dense.parquet'))"
        )
        events = f"(select * from read_parquet('{{data}}/events_{density}.parquet'))"
        calls[f"windows_{density}"] = (
            f'{{{{ trainset.window_aggregates("{spine}", "{events}", {aggregations}, [7, 30, 90], '
            f"entity_column='entity_id', bitemporal=false, expected_events_per_window={hint}) }}}}"
        )
    return calls


def measure(python: str, script: str, args: list[str], repeat: int) -> dict[str, float] | None:
    runs = []
    for _ in range(repeat):
        completed = subprocess.run([python, "-c", script, *args], capture_output=True, text=True)
        if completed.returncode != 0:
            print(f"    failed: {completed.stderr.strip()[-600:]}", file=sys.stderr)
            return None
        runs.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    return {
        "seconds": statistics.median(run["seconds"] for run in runs),
        "peak_mb": max(run["peak_mb"] for run in runs),
        "rows": runs[0]["rows"],
    }


def scaling(args: argparse.Namespace, workdir: Path) -> None:
    """Three feature tables (3M, 10M, 10M rows at scale 1) onto growing spines."""
    data = workdir / "scaling"
    data.mkdir()
    connection = connect_duckdb()
    entities = max(10, int(100_000 * args.scale))
    for name, rows in (("t1", 3_000_000), ("t2", 10_000_000), ("t3", 10_000_000)):
        rows = int(rows * args.scale)
        connection.execute(
            f"""
            copy (
                select (i % {entities})::bigint as entity_id,
                    timestamp '2025-01-01' + to_seconds((hash(i, '{name}') % (365 * 86400))::bigint) as effective_at,
                    (hash(i) % 1000)::double as a, (hash(i * 3) % 1000)::double as b, (hash(i * 5) % 1000)::double as c
                from range({rows}) as t(i)
            ) to '{data}/{name}.parquet' (format parquet)
            """
        )
    features = [
        {
            "relation": f"read_parquet('{data}/{name}.parquet')",
            "columns": ["a", "b", "c"],
            "prefix": f"{name}_",
            "bitemporal": False,
            "known_column": None,
            "ttl": "30 days",
        }
        for name in ("t1", "t2", "t3")
    ]
    rendered = repr(features).replace("None", "none").replace("False", "false")
    sql = compile_macro_calls(
        {
            "multi": f"{{{{ trainset.point_in_time_join('spine', {rendered}, 'entity_id', 'cutoff_at') }}}}"
        },
        workdir,
    )["multi"]
    print(
        "\n| spine rows | median s | s per million rows | peak MB |\n| ---: | ---: | ---: | ---: |"
    )
    for spine_rows in (100_000, 1_000_000, 10_000_000):
        spine_rows = int(spine_rows * args.scale)
        connection.execute(
            f"""
            copy (select i::bigint as spine_row, (hash(i) % {entities})::bigint as entity_id,
                  timestamp '2025-02-01' + to_seconds((hash(i * 7) % (330 * 86400))::bigint) as cutoff_at
                  from range({spine_rows}) as t(i)) to '{data}/spine.parquet' (format parquet)
            """
        )
        (data / "features.parquet").write_bytes((data / "t1.parquet").read_bytes())
        path = workdir / f"multi_{spine_rows}.sql"
        path.write_text(sql)
        out = workdir / f"multi_{spine_rows}.parquet"
        figures = measure(sys.executable, RUNNER, [str(path), str(data), str(out)], args.repeat)
        if figures:
            print(
                f"| {spine_rows:,} | {figures['seconds']:.2f} | {figures['seconds'] / spine_rows * 1e6:.2f} | {figures['peak_mb']:.0f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=float, default=0.1, help="1.0 = 1M spine rows x 10M feature rows"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peers-python", default="/tmp/benchpeers/bin/python")
    parser.add_argument("--dense-entities", type=int, default=None)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--scaling", action="store_true", help="only the three-table scaling run")
    parser.add_argument("--skip-dense", action="store_true", help="skip the dense window case")
    parser.add_argument(
        "--groups",
        default="asof,bitemporal,windows",
        help="comma-separated subset of asof, bitemporal, windows",
    )
    args = parser.parse_args()
    groups = set(args.groups.split(","))

    workdir = Path(tempfile.mkdtemp(prefix="trainset-bench-"))
    if args.scaling:
        scaling(args, workdir)
        return
    data = workdir / "data"
    data.mkdir()
    dense_entities = args.dense_entities or max(10, int(1000 * args.scale))
    sizes = make_data(data, args.scale, dense_entities)
    print(f"data: {sizes} dense entities {dense_entities} in {data}")
    compiled = compile_macro_calls(macro_calls(), workdir)
    sql_files = {}

    def sql_file(name: str, sql: str) -> str:
        path = workdir / f"{name}.sql"
        path.write_text(sql.replace("{data}", str(data)))
        sql_files[name] = path
        return str(path)

    def out_file(group: str, name: str) -> str:
        slug = "".join(c if c.isalnum() else "_" for c in f"{group}-{name}")
        return str(workdir / f"{slug}.parquet")

    python = sys.executable
    peers = Path(args.peers_python).exists() and not args.skip_peers
    results: list[tuple[str, str, dict | None]] = []
    for ttl in (30, None) if "asof" in groups else ():
        group = f"as-of join, ttl {ttl or 'none'}"
        print(f"\n{group}")
        candidates = {
            "bare ASOF JOIN": bare_asof(ttl),
            "bare window function": bare_window(ttl),
            "trainset point_in_time_join": compiled[f"join_ttl{ttl or 0}"],
        }
        for name, sql in candidates.items():
            figures = measure(
                python,
                RUNNER,
                [
                    sql_file(f"{group}-{name}".replace(" ", "_"), sql),
                    str(data),
                    out_file(group, name),
                ],
                args.repeat,
            )
            results.append((group, name, figures))
            print(f"  {name:<32} {figures}")
        if peers:
            figures = measure(
                args.peers_python,
                FEAST_RUNNER,
                [
                    str(data),
                    str(workdir / f"feast{ttl}"),
                    str(ttl or 0),
                    out_file(group, "feast"),
                ],
                args.repeat,
            )
            results.append((group, "Feast get_historical_features (duckdb)", figures))
            print(f"  {'Feast (duckdb offline store)':<32} {figures}")
            figures = measure(
                args.peers_python,
                TIMEFENCE_RUNNER,
                [str(data), str(workdir / f"tf{ttl}.parquet"), str(ttl or 0)],
                args.repeat,
            )
            results.append((group, "timefence build", figures))
            print(f"  {'timefence build':<32} {figures}")
    if "bitemporal" in groups:
        group = "bitemporal as-of join (known 0-3 days after effective), no ttl"
        print(f"\n{group}")
        candidates = {
            "portable default__ (ranked range join)": compiled["join_bitemporal_portable"],
            "trainset point_in_time_join (DuckDB)": compiled["join_bitemporal"],
        }
        for name, sql in candidates.items():
            figures = measure(
                python,
                RUNNER,
                [
                    sql_file(Path(out_file(group, name)).stem, sql),
                    str(data),
                    out_file(group, name),
                ],
                args.repeat,
            )
            results.append((group, name, figures))
            print(f"  {name:<32} {figures}")
    densities = ("sparse",) if args.skip_dense else ("sparse", "dense")
    for density in densities if "windows" in groups else ():
        group = f"windows 7/30/90 count+sum+mean, {density}"
        print(f"\n{group}")
        events = f"read_parquet('{data}/events_{density}.parquet')"
        spine = "spine" if density == "sparse" else f"read_parquet('{data}/spine_dense.parquet')"
        candidates = {
            "bare range join": bare_windows_range(events, spine),
            "bare cumulative + ASOF": bare_windows_cumulative(events, spine),
            "trainset window_aggregates": compiled[f"windows_{density}"],
        }
        for name, sql in candidates.items():
            figures = measure(
                python,
                RUNNER,
                [
                    sql_file(
                        f"{group}-{name}".replace(" ", "_").replace("/", "_").replace(",", ""), sql
                    ),
                    str(data),
                    out_file(group, name),
                ],
                args.repeat,
            )
            results.append((group, name, figures))
            print(f"  {name:<32} {figures}")

    print("\n| benchmark | implementation | median s | ratio to baseline | peak MB | rows |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for group in dict.fromkeys(group for group, _, _ in results):
        # The baseline: the best bare DuckDB formulation, or the portable implementation.
        bare = [
            f["seconds"]
            for g, name, f in results
            if g == group and (name.startswith("bare") or name.startswith("portable")) and f
        ]
        best = min(bare) if bare else None
        for g, name, figures in results:
            if g != group:
                continue
            if figures is None:
                print(f"| {group} | {name} | failed | | | |")
                continue
            ratio = f"{figures['seconds'] / best:.2f}" if best else ""
            print(
                f"| {group} | {name} | {figures['seconds']:.2f} | {ratio} | {figures['peak_mb']:.0f} | {figures['rows']:,} |"
            )


if __name__ == "__main__":
    main()
