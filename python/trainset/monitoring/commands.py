"""`trainset drift` and `trainset lineage`: resolve the inputs, run, print and render."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from ..dbt import read_artifact, run_dbt
from ..export import training_models
from ..project import Paths
from .drift import DriftInputError, DriftReport, compute_drift

EXIT_OK, EXIT_FAILED = 0, 1


def only_task(paths: Paths) -> str:
    """The task when the project has exactly one training set."""
    if not (paths.target_dir / "manifest.json").is_file():
        run_dbt(["parse", "--quiet"], paths)
    tasks = sorted(training_models(read_artifact(paths.target_dir, "manifest.json")))
    if len(tasks) != 1:
        raise DriftInputError(f"Name the task with --task (the project has: {', '.join(tasks)}).")
    return tasks[0]


def _summary(report: DriftReport, say: Callable[[str], None]) -> None:
    say(
        f"drift {report.task}: reference {report.reference_version}, current "
        f"{report.current_source}"
    )
    for row in report.features:
        mark = "DRIFT" if row["is_drifted"] else "ok"
        score = "–" if row["score"] is None else f"{row['score']:.4g}"
        say(
            f"  {mark:<5} {row['feature_name']:<32} {row['method']:<13} score {score:<11} "
            f"threshold {row['threshold'] if row['threshold'] is not None else '–'} "
            f"({row['severity']})"
        )
    drifted = sum(1 for row in report.features if row["is_drifted"])
    say(
        f"drift {report.task}: {drifted} of {len(report.features)} features drifted; the data "
        f"set {'DRIFTED' if report.dataset_drifted else 'did not drift'}"
    )


def _write(target: str, text: str) -> None:
    if target == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(target).write_text(text + "\n", encoding="utf-8")


def _fails(reports: list[DriftReport], level: str | None) -> bool:
    if level is None:
        return False
    for report in reports:
        for row in report.features:
            if row["is_drifted"] and (level == "warn" or row["severity"] == "error"):
                return True
    return False


def run_drift(args: argparse.Namespace, paths: Paths, say: Callable[[str], None]) -> int:
    from . import history
    from .report import render_history_html, render_html

    task = args.task or only_task(paths)
    if args.history:
        rows = history.read_history(paths, task)
        if not rows:
            raise DriftInputError(
                f"No drift recorded for {task!r} in {history.history_dir(paths, task)}: run "
                "`trainset drift` first."
            )
        if args.html:
            Path(args.html).write_text(render_history_html(task, rows), encoding="utf-8")
            say(f"drift: history of {len(rows)} scores written to {args.html}")
        if args.json or not args.html:
            _write(args.json or "-", json.dumps(rows, indent=2, default=str))
        return EXIT_OK
    if args.by_day:
        if not args.current or not Path(args.current).is_dir():
            raise DriftInputError("--by-day needs --current pointing at a folder of Parquet files.")
        daily = history.daily_drift(
            task, paths, Path(args.current), args.by_day, reference=args.reference
        )
        for day, report in daily:
            history.record(paths, report, label=f"day {day}")
            _summary(report, say)
        if args.json:
            _write(args.json, json.dumps({day: r.to_json() for day, r in daily}, indent=2))
        return EXIT_FAILED if _fails([r for _, r in daily], args.fail_on) else EXIT_OK
    report = compute_drift(task, paths, reference=args.reference, current=args.current)
    history.record(paths, report)
    _summary(report, say)
    if args.json:
        _write(args.json, json.dumps(report.to_json(), indent=2, default=str))
    if args.html:
        page = render_html(report)
        Path(args.html).write_text(page, encoding="utf-8")
        say(f"drift: report written to {args.html} ({len(page.encode()) / 1024:.0f} KB)")
    if _fails([report], args.fail_on):
        say(f"drift: failing because a feature drifted at severity {args.fail_on} or above")
        return EXIT_FAILED
    return EXIT_OK


def run_lineage(args: argparse.Namespace, paths: Paths, say: Callable[[str], None]) -> int:
    from .lineage import lineage, to_text

    task = args.task or only_task(paths)
    trail = lineage(args.target, task, paths, tracking_uri=args.tracking_uri)
    if args.json:
        print(json.dumps(trail, indent=2, default=str))
    else:
        print(to_text(trail))
    return EXIT_OK if trail.get("verified", True) else EXIT_FAILED
