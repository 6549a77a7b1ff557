"""The `trainset` command line: generate, build, export, list and the end-to-end demo.

Exit codes: 0 success, 1 a gate or build failed (the data or models need fixing) or another
build holds the database (run again when it is done), 2 the command was used wrongly or an input
is missing (a landing file outside the contract included).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .project import Paths, ProjectNotFoundError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _paths(args: argparse.Namespace) -> Paths:
    return Paths.resolve(Path(args.project_dir) if args.project_dir else None)


def cmd_generate(args: argparse.Namespace) -> int:
    from .sim import generate

    out = Path(args.out) if args.out else _paths(args).landing_dir
    summary = generate(
        out,
        customers=args.customers,
        days=args.days,
        start=args.start,
        seed=args.seed,
        faults=not args.no_faults,
        order_rate=args.order_rate,
    )
    rows = summary.get("rows", {})
    _say(f"generate: wrote {sum(rows.values()):,} rows to {out}")
    return EXIT_OK


def _build(paths: Paths, select: Sequence[str] | None = None, freshness: bool = False) -> bool:
    from .pipeline import build

    return build(paths, select, freshness=freshness, progress=_say).success


def cmd_build(args: argparse.Namespace) -> int:
    paths = _paths(args)
    if not paths.landing_dir.is_dir():
        _say(
            f"build: no landing zone at {paths.landing_dir}: run `trainset generate` or set "
            "TRAINSET_LANDING_DIR to your landing files."
        )
        return EXIT_USAGE
    ok = _build(paths, args.select, freshness=args.freshness)
    _say("build: passed" if ok else "build: FAILED (see the dbt output above)")
    return EXIT_OK if ok else EXIT_FAILED


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_training_set
    from .monitoring.gate import accepting_drift

    with accepting_drift(args.accept_drift):
        result = export_training_set(args.task, _paths(args), progress=_say)
    print(result.path)
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from .reader import list_versions

    paths = _paths(args)
    tasks = (
        [args.task]
        if args.task
        else sorted(entry.name for entry in paths.exports_dir.glob("*") if entry.is_dir())
    )
    for task in tasks:
        latest_file = paths.exports_dir / task / "LATEST"
        latest = latest_file.read_text().strip() if latest_file.is_file() else None
        for manifest in list_versions(task, paths.exports_dir):
            marker = "*" if manifest["version"] == latest else " "
            balance = manifest["label_balance"].get("positive_share")
            print(
                f"{marker} {task}/{manifest['version']}  rows={manifest['row_count']:,}  "
                f"positive_share={balance:.3f}  sha256={manifest['content_sha256'][:12]}"
            )
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify

    report = verify(args.task, args.version, _paths(args), progress=_say)
    for warning in report.warnings:
        _say(f"verify: warning: {warning}")
    if report.ok:
        print(f"verified {report.task}/{report.version}: rebuild hash {report.actual_hash} matches")
        return EXIT_OK
    print(
        f"MISMATCH {report.task}/{report.version}: expected {report.expected_hash}, got {report.actual_hash}"
    )
    for line in report.differences:
        print(f"  - {line}")
    return EXIT_FAILED


def cmd_diff(args: argparse.Namespace) -> int:
    from .verify import diff_versions

    for line in diff_versions(args.task, args.first, args.second, _paths(args).exports_dir):
        print(line)
    return EXIT_OK


def _manifest(args: argparse.Namespace) -> dict[str, Any]:
    from .dbt import read_artifact, run_dbt

    paths = _paths(args)
    if not (paths.target_dir / "manifest.json").is_file():
        run_dbt(["parse", "--quiet"], paths)
    return read_artifact(paths.target_dir, "manifest.json")


def cmd_features(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from .catalog import features, search, to_markdown

    items = search(features(_manifest(args)), args.search)
    if args.format == "json":
        print(json.dumps([asdict(item) for item in items], indent=2))
    elif args.format == "markdown":
        print(to_markdown(items), end="")
    else:
        for item in items:
            print(
                f"{item.name:<32} {item.data_type or '':<9} {item.source_model or '':<30} {item.description}"
            )
    return EXIT_OK if items else EXIT_FAILED


def cmd_catalog(args: argparse.Namespace) -> int:
    from .catalog import features, to_markdown

    items = features(_manifest(args))
    Path(args.out).write_text(to_markdown(items), encoding="utf-8")
    _say(f"catalog: {len(items)} features written to {args.out}")
    return EXIT_OK


def _layer_counts(paths: Paths) -> dict[str, Any]:
    from .project import connect_duckdb

    connection = connect_duckdb(paths.duckdb_path, read_only=True)
    try:
        tables = connection.sql(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('staging','intermediate','features','labels','training',"
            "'serving','monitoring','snapshots') order by 1, 2"
        ).fetchall()
        counts = {
            f"{schema}.{name}": connection.sql(
                f'select count(*) from "{schema}"."{name}"'
            ).fetchone()[0]
            for schema, name in tables
        }
        quarantine = connection.sql(
            "select source_table, quarantine_reason, sum(quarantined_rows) "
            "from monitoring.mon_quarantine_summary group by all order by 1, 2"
        ).fetchall()
    finally:
        connection.close()
    return {"rows": counts, "quarantine": quarantine}


def cmd_demo(args: argparse.Namespace) -> int:
    from .export import export_training_set

    paths = _paths(args)
    timings: dict[str, float] = {}

    def step(name: str, action: Callable[[], Any]) -> Any:
        _say(f"\n=== {name} ===")
        started = time.perf_counter()
        value = action()
        timings[name] = time.perf_counter() - started
        _say(f"=== {name}: {timings[name]:.1f} s ===")
        return value

    from .sim import generate

    step(
        "generate landing zone",
        lambda: generate(
            paths.landing_dir, customers=args.customers, days=args.days, seed=args.seed
        ),
    )
    if not step("dbt build", lambda: _build(paths)):
        _say("demo: dbt build failed; nothing was exported (earlier exports are untouched)")
        return EXIT_FAILED
    result = step("export", lambda: export_training_set("churn_30d", paths, progress=_say))
    counts = _layer_counts(paths)
    manifest = result.manifest
    balance = manifest["label_balance"]
    features = [feature["name"] for feature in manifest["feature_definitions"]["features"]]
    print("\n=== trainset demo: churn_30d ===")
    print(f"export:        {result.path}")
    print(f"rows:          {manifest['row_count']:,}")
    print(
        f"label balance: {balance['positive']:,} churned / {balance['negative']:,} retained "
        f"(positive share {balance['positive_share']:.3f})"
    )
    print(
        f"cutoffs:       {manifest['cutoff_bounds']['min']} .. {manifest['cutoff_bounds']['max']}"
    )
    print(f"features ({len(features)}): {', '.join(features)}")
    print("rows per model:")
    for name, count in counts["rows"].items():
        print(f"  {name:<52} {count:>12,}")
    print("quarantined rows by source and reason:")
    for source, reason, count in counts["quarantine"]:
        print(f"  {source:<20} {reason:<28} {count:>8,}")
    print("wall time per step:")
    for name, seconds in timings.items():
        print(f"  {name:<24} {seconds:8.1f} s")
    print(f"  {'total':<24} {sum(timings.values()):8.1f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"timings": timings, "manifest": manifest, **counts}, indent=2, default=str)
        )
    return EXIT_OK


def cmd_drift(args: argparse.Namespace) -> int:
    from .monitoring.commands import run_drift

    return run_drift(args, _paths(args), _say)


def cmd_lineage(args: argparse.Namespace) -> int:
    from .monitoring.commands import run_lineage

    return run_lineage(args, _paths(args), _say)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trainset",
        description="Build leakage-free, gated, reproducible training sets with dbt.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  trainset demo                          everything, on simulated data\n"
            "  trainset generate --customers 20000    a bigger landing zone\n"
            "  trainset build && trainset export churn_30d\n"
            "  trainset verify churn_30d              rebuild LATEST and compare hashes\n"
            "  trainset features --search spend\n"
            "exit codes: 0 ok, 1 build/gate/verify failed or another build holds the database,\n"
            "            2 wrong usage or missing input (landing files included)"
        ),
    )
    parser.add_argument(
        "--project-dir", help="the dbt project root (default: found from the working directory)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = sub.add_parser("generate", help="write a simulated landing zone of Parquet files")
    generate.add_argument(
        "--out", help="landing folder (default: TRAINSET_LANDING_DIR or data/landing)"
    )
    generate.add_argument("--customers", type=int, default=5000, help="number of customers (5000)")
    generate.add_argument("--days", type=int, default=450, help="days simulated (450)")
    generate.add_argument("--start", default="2025-01-01", help="first simulated day (2025-01-01)")
    generate.add_argument("--seed", type=int, default=42, help="random seed (42)")
    generate.add_argument("--no-faults", action="store_true", help="write clean data only")
    generate.add_argument(
        "--order-rate", type=float, default=1.0, help="order-rate multiplier (1.0)"
    )
    generate.set_defaults(func=cmd_generate)

    build = sub.add_parser("build", help="run `dbt build`: models, snapshots and every test")
    build.add_argument("--select", nargs="*", help="dbt selection (default: everything)")
    build.add_argument(
        "--freshness",
        action="store_true",
        help="check landing freshness first; a table past its error bound blocks the build",
    )
    build.set_defaults(func=cmd_build)

    export = sub.add_parser("export", help="export a training set after checking the gate")
    export.add_argument("task", help="training task, e.g. churn_30d")
    export.add_argument(
        "--accept-drift",
        action="store_true",
        help="export despite an error-level drift (recorded in the manifest)",
    )
    export.set_defaults(func=cmd_export)

    listing = sub.add_parser("list", help="list exported versions (* = LATEST)")
    listing.add_argument("task", nargs="?", help="only this task")
    listing.set_defaults(func=cmd_list)

    verify = sub.add_parser(
        "verify", help="rebuild a version from the landing files and code and prove its hash"
    )
    verify.add_argument("task", help="training task, e.g. churn_30d")
    verify.add_argument("version", nargs="?", help="version (default: LATEST)")
    verify.set_defaults(func=cmd_verify)

    diff = sub.add_parser(
        "diff", help="compare two versions: schema, rows, labels, feature statistics"
    )
    diff.add_argument("task")
    diff.add_argument("first", help="older version")
    diff.add_argument("second", help="newer version")
    diff.set_defaults(func=cmd_diff)

    features = sub.add_parser("features", help="list the features declared in the dbt project")
    features.add_argument(
        "--search", help="only features whose name, description or meta contain this"
    )
    features.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    features.set_defaults(func=cmd_features)

    catalog = sub.add_parser("catalog", help="write the feature catalog (markdown) with lineage")
    catalog.add_argument("--out", default="catalog.md", help="output file (catalog.md)")
    catalog.set_defaults(func=cmd_catalog)

    drift = sub.add_parser(
        "drift", help="feature drift against an export: JSON, HTML report, history, CI trigger"
    )
    drift.add_argument("--task", help="training task (default: the only one)")
    drift.add_argument("--reference", help="export version to compare against (default: LATEST)")
    drift.add_argument(
        "--current",
        help="an export version, a Parquet file or a folder of them such as the request log "
        "(default: the training set of the last build)",
    )
    drift.add_argument(
        "--by-day", help="with a request log: one comparison per day of this timestamp column"
    )
    drift.add_argument("--json", nargs="?", const="-", help="write the numbers as JSON (to FILE)")
    drift.add_argument("--html", help="write the self-contained HTML report to this file")
    drift.add_argument(
        "--history", action="store_true", help="draw the recorded drift history (with --html)"
    )
    drift.add_argument(
        "--fail-on",
        choices=["warn", "error"],
        help="exit 1 when a feature of this severity (or worse) drifted: a retraining trigger",
    )
    drift.set_defaults(func=cmd_drift)

    lineage = sub.add_parser(
        "lineage", help="from a model (MLflow run or model URI) or an export back to its data"
    )
    lineage.add_argument("target", help="MLflow run id, runs:/ or models:/ URI, or export version")
    lineage.add_argument("--task", help="training task (default: the only one)")
    lineage.add_argument("--tracking-uri", help="MLflow tracking URI (default: mlruns/mlflow.db)")
    lineage.add_argument("--json", action="store_true", help="print JSON")
    lineage.set_defaults(func=cmd_lineage)

    demo = sub.add_parser("demo", help="generate, build and export the churn training set")
    demo.add_argument("--customers", type=int, default=5000, help="number of customers (5000)")
    demo.add_argument("--days", type=int, default=450, help="days simulated (450)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (42)")
    demo.add_argument("--json", help="also write the summary as JSON to this file")
    demo.set_defaults(func=cmd_demo)

    from .online.commands import add_commands as add_online_commands

    add_online_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .build import BuildLockedError
    from .dbt import DbtError
    from .export import ExportError, UnknownTaskError
    from .gates import GateError
    from .pipeline import FreshnessError
    from .reader import IntegrityError, VersionNotFoundError

    try:
        return args.func(args)
    except UnknownTaskError as error:
        _say(f"trainset: {error}")
        return EXIT_USAGE
    except GateError as error:
        _say(f"trainset: {error}")
        return EXIT_FAILED
    except (IntegrityError, DbtError, ExportError, FreshnessError, BuildLockedError) as error:
        _say(f"trainset: {error}")
        return EXIT_FAILED
    except (ProjectNotFoundError, VersionNotFoundError, ValueError, FileNotFoundError) as error:
        # LandingError is a ValueError: the input files need fixing.
        _say(f"trainset: {error}")
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
