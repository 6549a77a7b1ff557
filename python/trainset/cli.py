"""The `trainset` command line: generate, build, export, list and the end-to-end demo.

Output (see `trainset.output`): results on stdout, one line per finished step and progress on
stderr, dbt's own log only with `--verbose`. Errors are one line naming what to fix, with the
exit code of their kind (see `trainset.errors`); `--debug` adds the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from .errors import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    EXIT_UNEXPECTED,
    BuildFailedError,
    InputError,
    TrainsetError,
    UsageError,
)
from .output import Output
from .project import Paths

EXIT_FAILED = EXIT_CHECK_FAILED  # the name the online and monitoring commands use
SHOWN_DBT_ERRORS = 40  # dbt error lines shown when a build fails (all are in dbt's log file)


def _out(args: argparse.Namespace) -> Output:
    return args.output


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _paths(args: argparse.Namespace) -> Paths:
    return Paths.resolve(Path(args.project_dir) if args.project_dir else None)


def versions() -> str:
    """`trainset X, dbt-core Y, dbt-duckdb Z, duckdb W, Python V` for --version."""
    parts = []
    for name in ("trainset", "dbt-core", "dbt-duckdb", "duckdb"):
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} not installed")
    parts.append(f"Python {sys.version.split()[0]}")
    return ", ".join(parts)


class _VersionAction(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help=kwargs.get("help"))

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(versions())
        parser.exit()


def cmd_generate(args: argparse.Namespace) -> int:
    from .sim import generate

    out = _out(args)
    target = Path(args.out) if args.out else _paths(args).landing_dir
    with out.step("generate") as step:
        summary = generate(
            target,
            customers=args.customers,
            days=args.days,
            start=args.start,
            seed=args.seed,
            faults=not args.no_faults,
            order_rate=args.order_rate,
            progress=out.progress,
        )
        rows = summary.get("rows", {})
        step["status"] = f"{sum(rows.values()):,} rows written"
        step["where"] = target
    return EXIT_OK


def _build(out: Output, paths: Paths, select: Sequence[str] | None = None, **kwargs: Any) -> float:
    """The build as one step; its seconds. Raises BuildFailedError (after dbt's error lines)
    when it fails."""
    from .availability import require_nothing_blocked
    from .pipeline import build

    if not paths.landing_dir.is_dir():
        raise InputError(
            f"no landing zone at {paths.landing_dir}: run `trainset generate` or set "
            "TRAINSET_LANDING_DIR to your landing files."
        )
    with out.step("build") as step:
        run = build(
            paths,
            select,
            progress=out.detail,
            dbt_progress=out.progress,
            dbt_log=out.detail,
            **kwargs,
        )
        step["status"] = "passed" if run.success else "FAILED"
        step["where"] = paths.duckdb_path
        if not run.success and not out.verbose:
            for line in run.errors[-SHOWN_DBT_ERRORS:]:
                out.say(line)
    if not run.success:
        raise BuildFailedError(
            "the dbt build failed (dbt's errors above, its full log in "
            f"{paths.target_dir / 'logs'}); fix the failing models or data and build again"
        )
    require_nothing_blocked(paths)
    return float(step["seconds"])


def cmd_build(args: argparse.Namespace) -> int:
    if args.since is not None and args.full_refresh:
        raise UsageError("--since and --full-refresh exclude each other: give one")
    if args.since is not None:
        from .incremental import parse_instant

        parse_instant(args.since, "--since")
    _build(
        _out(args),
        _paths(args),
        args.select,
        freshness=args.freshness,
        since=args.since,
        full_refresh=args.full_refresh,
        as_of=_as_of(args.as_of),
    )
    return EXIT_OK


def _as_of(text: str | None):
    """`--as-of`: the reference time of the data availability check, or None (the newest load)."""
    from .incremental import parse_instant

    return parse_instant(text, "--as-of") if text is not None else None


def cmd_backfill(args: argparse.Namespace) -> int:
    from .incremental import daily_batches, parse_instant

    daily_batches(parse_instant(args.start, "--from"), parse_instant(args.end, "--to"))
    _build(_out(args), _paths(args), since=args.start, until=args.end)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_training_set
    from .monitoring.gate import accepting_drift

    out = _out(args)
    with out.step(f"export {args.task}") as step, accepting_drift(args.accept_drift):
        result = export_training_set(args.task, _paths(args), progress=out.detail)
        step["status"] = "same content as before" if result.reused else "published"
        step["where"] = result.path
    out.result(str(result.path))
    return EXIT_OK


def _known_tasks(args: argparse.Namespace) -> list[str]:
    """The training tasks the dbt project declares."""
    from .export import training_models

    return sorted(training_models(_manifest(args)))


def _require_task(args: argparse.Namespace, task: str) -> None:
    known = _known_tasks(args)
    if task not in known:
        raise UsageError(
            f"no training set named {task!r} in the dbt project (known: "
            f"{', '.join(known) or 'none'})"
        )


def cmd_list(args: argparse.Namespace) -> int:
    from .store import latest_version, list_versions

    out = _out(args)
    paths = _paths(args)
    if args.task:
        tasks = [args.task]
        if not (paths.exports_dir / args.task).is_dir():
            _require_task(args, args.task)
    else:
        tasks = sorted(entry.name for entry in paths.exports_dir.glob("*") if entry.is_dir())
    shown = 0
    for task in tasks:
        latest = latest_version(task, paths.exports_dir)
        for manifest in list_versions(task, paths.exports_dir):
            marker = "*" if manifest["version"] == latest else " "
            balance = manifest["label_balance"].get("positive_share")
            share = "n/a" if balance is None else f"{balance:.3f}"
            out.result(
                f"{marker} {task}/{manifest['version']}  rows={manifest['row_count']:,}  "
                f"positive_share={share}  sha256={manifest['content_sha256'][:12]}"
            )
            shown += 1
    if not shown:
        what = f"of {args.task} " if args.task else ""
        out.say(
            f"list: no exported versions {what}in {paths.exports_dir} (run `trainset export "
            f"{args.task or '<task>'}` after a passing build)"
        )
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify

    out = _out(args)
    with out.step(f"verify {args.task}") as step:
        report = verify(
            args.task,
            args.version,
            _paths(args),
            progress=out.detail,
            dbt_progress=out.progress,
            dbt_log=out.detail,
        )
        step["status"] = "hash matches" if report.ok else "MISMATCH"
    for warning in report.warnings:
        out.warn(warning)
    if report.ok:
        out.result(f"verified {report.task}/{report.version}: sha256 {report.actual_hash}")
        return EXIT_OK
    out.result(
        f"MISMATCH {report.task}/{report.version}: expected {report.expected_hash}, "
        f"got {report.actual_hash}"
    )
    for line in report.differences:
        out.result(f"  - {line}")
    return EXIT_CHECK_FAILED


def cmd_diff(args: argparse.Namespace) -> int:
    from .verify import diff_versions

    out = _out(args)
    for line in diff_versions(args.task, args.first, args.second, _paths(args).exports_dir):
        out.result(line)
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

    out = _out(args)
    every = features(_manifest(args))
    items = search(every, args.search)
    if args.format == "json":
        out.result(json.dumps([asdict(item) for item in items], indent=2))
    elif args.format == "markdown":
        out.result(to_markdown(items).rstrip("\n"))
    else:
        for item in items:
            out.result(
                f"{item.name:<32} {item.data_type or '':<9} {item.source_model or '':<30} "
                f"{item.description}"
            )
    if not items:
        out.say(
            f"features: none match {args.search!r} (the project declares {len(every)}; "
            "`trainset features` lists them all)"
            if args.search
            else "features: the project declares no features (meta.feature in a training "
            "model's YAML)"
        )
    return EXIT_OK


def cmd_catalog(args: argparse.Namespace) -> int:
    from .catalog import features, to_markdown

    items = features(_manifest(args))
    Path(args.out).write_text(to_markdown(items), encoding="utf-8")
    _out(args).say(f"catalog: {len(items)} features written to {args.out}")
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
    from .sim import generate

    out = _out(args)
    paths = _paths(args)
    timings: dict[str, float] = {}
    with out.step("generate") as step:
        summary = generate(
            paths.landing_dir,
            customers=args.customers,
            days=args.days,
            seed=args.seed,
            progress=out.progress,
        )
        step["status"] = f"{sum(summary['rows'].values()):,} rows written"
        step["where"] = paths.landing_dir
    timings["generate"] = float(step["seconds"])
    timings["build"] = _build(out, paths)
    with out.step("export churn_30d") as step:
        result = export_training_set("churn_30d", paths, progress=out.detail)
        step["where"] = result.path
    timings["export"] = float(step["seconds"])
    counts = _layer_counts(paths)
    manifest = result.manifest
    balance = manifest["label_balance"]
    features = [feature["name"] for feature in manifest["feature_definitions"]["features"]]
    quarantined = sum(count for _, _, count in counts["quarantine"])
    out.result(f"export:        {result.path}")
    out.result(f"rows:          {manifest['row_count']:,}")
    out.result(
        f"label balance: {balance['positive']:,} churned / {balance['negative']:,} retained "
        f"(positive share {balance['positive_share']:.3f})"
    )
    out.result(
        f"cutoffs:       {manifest['cutoff_bounds']['min']} .. {manifest['cutoff_bounds']['max']}"
    )
    out.result(f"features:      {len(features)} ({', '.join(features[:4])}, ...)")
    out.result(f"quarantined:   {quarantined:,} landing rows (by reason: --verbose)")
    out.detail("rows per model:")
    for name, count in counts["rows"].items():
        out.detail(f"  {name:<52} {count:>12,}")
    out.detail("quarantined rows by source and reason:")
    for source, reason, count in counts["quarantine"]:
        out.detail(f"  {source:<20} {reason:<28} {count:>8,}")
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
            "exit codes: 0 ok, 1 a check said no (verify, drift, skew), 2 usage, 3 bad or\n"
            "  missing input, 4 nothing found, 5 refused by a gate, 6 build failed, 7 busy\n"
            "  (another build holds the database), 8 integrity, 70 unexpected (use --debug)"
        ),
    )
    parser.add_argument(
        "--project-dir", help="the dbt project root (default: found from the working directory)"
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="show dbt's log and every step's messages"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (to report it)"
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="print the versions of trainset, dbt and DuckDB"
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
    build.add_argument(
        "--since",
        metavar="T",
        help="recompute what loaded since T (ISO date or time, UTC when naive) instead of "
        "since the last passed build",
    )
    build.add_argument(
        "--full-refresh", action="store_true", help="rebuild every incremental model from scratch"
    )
    build.add_argument(
        "--as-of",
        metavar="T",
        help="reference time of the data availability check (ISO date or time, UTC when "
        "naive; default: the landing zone's newest full day of loads)",
    )
    build.set_defaults(func=cmd_build)

    backfill = sub.add_parser(
        "backfill", help="recompute what loaded in [--from, --to), one daily batch at a time"
    )
    backfill.add_argument("--from", dest="start", required=True, metavar="T1", help="ISO date/time")
    backfill.add_argument("--to", dest="end", required=True, metavar="T2", help="ISO date/time")
    backfill.set_defaults(func=cmd_backfill)

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
    args = parser.parse_args(argv)  # a usage error exits 2 here, with argparse's message
    args.output = Output(verbose=args.verbose)
    try:
        return args.func(args)
    except TrainsetError as error:
        if args.debug:
            traceback.print_exc()
        args.output.say(f"trainset: {_one_line(error)}")
        return error.exit_code
    except KeyboardInterrupt:
        args.output.say("trainset: interrupted")
        return 130
    except Exception as error:  # a defect: say so, and how to see the traceback
        if args.debug:
            traceback.print_exc()
            hint = "please report it with the traceback above"
        else:
            hint = "run again with --debug for the traceback"
        args.output.say(f"trainset: unexpected {type(error).__name__}: {_one_line(error)} ({hint})")
        return EXIT_UNEXPECTED


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return " ".join(lines) if len(lines) <= 3 else " ".join(lines[:3]) + " ..."


if __name__ == "__main__":
    raise SystemExit(main())
