"""The build step as one call: take the build lock, record the build, check the landing zone,
install the local dbt packages when missing, then `dbt build` (models, snapshots, data tests and
unit tests in DAG order), and record how it ended."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from . import build as records
from . import incremental
from .availability import check_availability
from .dbt import DbtRun, read_artifact, run_dbt
from .errors import RefusedError
from .landing import LandingError, require_landing
from .packages import ensure_packages
from .project import Paths


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class FreshnessError(RefusedError):
    """Raised when a landing table is older than its freshness bound."""


def check_freshness(
    paths: Paths,
    progress: Callable[[str], None] = _stderr,
    dbt_log: Callable[[str], None] | None = None,
) -> list[str]:
    """Run `dbt source freshness`; report warnings, return the tables past error_after."""
    from .dbt import read_artifact

    run_dbt(["source", "freshness"], paths, log=dbt_log)
    results = read_artifact(paths.target_dir, "sources.json").get("results", [])
    stale = []
    for result in results:
        name = result["unique_id"].split(".", 2)[-1]
        if result["status"] == "warn":
            progress(
                f"build: warning: source {name} is getting stale (max _loaded_at {result.get('max_loaded_at')})"
            )
        elif result["status"] in {"error", "runtime error"}:
            stale.append(f"{name} (max _loaded_at {result.get('max_loaded_at')})")
    return stale


def build(
    paths: Paths | None = None,
    select: Sequence[str] | None = None,
    *,
    extra_args: Sequence[str] = (),
    freshness: bool = False,
    progress: Callable[[str], None] = _stderr,
    dbt_progress: Callable[[str], None] | None = None,
    dbt_log: Callable[[str], None] | None = None,
    since: str | None = None,
    until: str | None = None,
    full_refresh: bool = False,
    as_of: datetime | None = None,
) -> DbtRun:
    """Run the whole build under the build lock; raises BuildLockedError at once when another
    build holds the database, LandingError (naming file and column) before dbt starts when the
    landing files do not match the declared sources. The build record beside the target
    folder says how it ended (see `trainset.build`). `progress` receives the build's own
    messages, `dbt_progress` the nodes done of total, `dbt_log` dbt's log lines.

    What the incremental models recompute (see `trainset.incremental`): what loaded since the
    last passed build by default, since `since`, the daily batches of [`since`, `until`) (a
    backfill), or everything with `full_refresh`. `as_of` is the reference time of the data
    availability check (default: the landing zone's newest load; see `trainset.availability`)."""
    increment = {"since": since, "until": until, "full_refresh": full_refresh}
    paths = paths or Paths.resolve()
    with records.build_lock(paths.duckdb_path, "build"):
        record = records.start_record(paths, list(select) if select else None)
        try:
            run = _build_steps(
                paths,
                record,
                select,
                extra_args,
                freshness,
                progress,
                dbt_progress,
                dbt_log,
                increment,
                as_of,
            )
        except (LandingError, FreshnessError) as error:
            records.finish_record(paths, record, records.REFUSED, reasons=[_first_line(error)])
            raise
        except BaseException as error:
            reason = _first_line(error) or type(error).__name__
            records.finish_record(paths, record, records.FAILED, reasons=[reason])
            raise
        reasons = []
        if not run.success and not _only_drift_failed(paths):
            reasons.append("dbt reported failing or erroring nodes (see run_results.json)")
        if records.code_hash(paths.project_dir) != record.code_hash:
            reasons.append("the project's code changed while it was being built")
        if _run_results_invocation(paths) != run.invocation_id:
            reasons.append("dbt wrote no run_results.json for this invocation")
        records.finish_record(
            paths,
            record,
            records.FAILED if reasons else records.PASSED,
            invocation_id=run.invocation_id,
            reasons=reasons,
        )
        return run


def _only_drift_failed(paths: Paths) -> bool:
    """A build whose only failures are drift tests still vouches for what it built: the data
    moved, it is not wrong. The export then refuses the drift until it is accepted."""
    from .monitoring.gate import only_drift_failed

    return only_drift_failed(paths.target_dir)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return " ".join(line.strip() for line in lines)[:2000] if lines else ""


def _run_results_invocation(paths: Paths) -> str | None:
    try:
        return read_artifact(paths.target_dir, "run_results.json")["metadata"]["invocation_id"]
    except (OSError, ValueError, KeyError, RuntimeError):
        return None


def _build_steps(
    paths: Paths,
    record: records.BuildRecord,
    select: Sequence[str] | None,
    extra_args: Sequence[str],
    freshness: bool,
    progress: Callable[[str], None],
    dbt_progress: Callable[[str], None] | None,
    dbt_log: Callable[[str], None] | None,
    increment: dict[str, Any],
    as_of: datetime | None = None,
) -> DbtRun:
    report = require_landing(paths, records.verified_landing_cache(paths.target_dir))
    record.landing = report.to_record()
    records.write_record(paths.target_dir, record)
    progress(
        f"build: landing zone {paths.landing_dir} ok ({report.files} files, {report.rows:,} "
        f"rows, fingerprint {report.fingerprint[:12]})"
    )
    for warning in report.warnings:
        progress(f"build: warning: {warning}")
    availability = check_availability(paths, as_of)
    record.landing["availability"] = availability.to_record()
    records.write_record(paths.target_dir, record)
    for gap in availability.gaps:
        progress(f"build: blocked: {gap.line()}; what depends on it is not built")
    ensure_packages(paths)
    if freshness:
        stale = check_freshness(paths, progress, dbt_log)
        if stale:
            raise FreshnessError(
                "Stale landing tables (newest _loaded_at older than the error_after bound in "
                "the sources YAML): " + ", ".join(stale) + ". Load fresh data, or raise "
                "TRAINSET_FRESHNESS_ERROR_HOURS if the feed is late on purpose."
            )
    plan = incremental.plan(paths, report, record.code_hash, **increment)
    record.mode = plan.mode
    record.watermark = incremental.newest_load(paths.landing_dir, report)
    records.write_record(paths.target_dir, record)
    progress(f"build: {plan.mode}: {plan.reason}")
    for number, (low, high) in enumerate(plan.batches, start=1):
        started = time.monotonic()
        # A batch leaves out what depends on a blocked table, as the build after it does.
        batch_args = [*plan.batch_args(), *availability.exclude_args()]
        batch = run_dbt(
            batch_args, paths, log=dbt_log, environment=plan.batch_environment(low, high)
        )
        progress(
            f"backfill: batch {number}/{len(plan.batches)} [{low}, {high}) "
            f"{'done' if batch.success else 'FAILED'} in {time.monotonic() - started:.1f} s"
        )
        if not batch.success:
            return batch
    args = ["build", *availability.exclude_args(), *extra_args, *plan.dbt_args()]
    if select:
        args += ["--select", *select]
    return run_dbt(args, paths, progress=dbt_progress, log=dbt_log, environment=plan.environment())
