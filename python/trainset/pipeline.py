"""The build step as one call: check the landing zone, install the local dbt packages when
missing, then `dbt build` (models, snapshots, data tests and unit tests in DAG order)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from .dbt import DbtRun, run_dbt
from .landing import require_landing
from .project import Paths


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build(
    paths: Paths | None = None,
    select: Sequence[str] | None = None,
    *,
    extra_args: Sequence[str] = (),
    progress: Callable[[str], None] = _stderr,
) -> DbtRun:
    """Run the whole build; raises LandingError (naming file and column) before dbt starts
    when the landing files do not match the declared sources."""
    paths = paths or Paths.resolve()
    report = require_landing(paths)
    progress(f"build: landing zone {paths.landing_dir} ok ({report.files} files)")
    for warning in report.warnings:
        progress(f"build: warning: {warning}")
    if not (paths.project_dir / "dbt_packages" / "dbt_expectations").exists():
        run_dbt(["deps"], paths)
    args = ["build", *extra_args]
    if select:
        args += ["--select", *select]
    return run_dbt(args, paths)
