"""The build step as one call: check the landing zone, install the local dbt packages when
missing, then `dbt build` (models, snapshots, data tests and unit tests in DAG order)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from .dbt import DbtRun, run_dbt
from .landing import require_landing
from .packages import ensure_packages
from .project import Paths


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class FreshnessError(RuntimeError):
    """Raised when a landing table is older than its freshness bound."""


def check_freshness(paths: Paths, progress: Callable[[str], None] = _stderr) -> list[str]:
    """Run `dbt source freshness`; report warnings, return the tables past error_after."""
    from .dbt import read_artifact

    run_dbt(["source", "freshness"], paths)
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
) -> DbtRun:
    """Run the whole build; raises LandingError (naming file and column) before dbt starts
    when the landing files do not match the declared sources."""
    paths = paths or Paths.resolve()
    report = require_landing(paths)
    progress(f"build: landing zone {paths.landing_dir} ok ({report.files} files)")
    for warning in report.warnings:
        progress(f"build: warning: {warning}")
    ensure_packages(paths)
    if freshness:
        stale = check_freshness(paths, progress)
        if stale:
            raise FreshnessError(
                "Stale landing tables (newest _loaded_at older than the error_after bound in "
                "the sources YAML): " + ", ".join(stale) + ". Load fresh data, or raise "
                "TRAINSET_FRESHNESS_ERROR_HOURS if the feed is late on purpose."
            )
    args = ["build", *extra_args]
    if select:
        args += ["--select", *select]
    return run_dbt(args, paths)
