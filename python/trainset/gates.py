"""The export gate: a training set is exported only when the newest build record vouches for
the data (finished and passed, its dbt invocation is the one in run_results.json, the landing
files and the project's code unchanged since), and every node upstream of it, and every test on
those nodes, passed in that run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import RefusedError

if TYPE_CHECKING:
    from .build import BuildRecord
    from .landing import LandingFile, LandingReport
    from .project import Paths

PASSING = {"success", "pass", "warn"}


class GateError(RefusedError):
    """Raised when the last build does not prove a training set fit for export."""


@dataclass
class GateReport:
    """What the gate checked for one training model."""

    model_id: str
    checked: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    invocation_id: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def upstream_nodes(manifest: dict[str, Any], model_id: str) -> set[str]:
    """All nodes the model depends on, directly or not, the model itself included."""
    parent_map: dict[str, list[str]] = manifest.get("parent_map", {})
    seen: set[str] = set()
    stack = [model_id]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(parent_map.get(node, []))
    return seen


def required_nodes(manifest: dict[str, Any], model_id: str) -> list[str]:
    """The executable nodes and tests that must have passed for the model to be exported."""
    upstream = upstream_nodes(manifest, model_id)
    child_map: dict[str, list[str]] = manifest.get("child_map", {})
    required: set[str] = set()
    for node in upstream:
        if node.split(".")[0] in {"model", "snapshot", "seed"}:
            required.add(node)
        for child in child_map.get(node, []):
            if child.startswith("test."):
                required.add(child)
    for unit_id, unit in manifest.get("unit_tests", {}).items():
        if set(unit.get("depends_on", {}).get("nodes", [])) & upstream:
            required.add(unit_id)
    return sorted(required)


def _where_to_look(node_id: str, result: dict[str, Any], manifest: dict[str, Any]) -> str:
    node = manifest.get("nodes", {}).get(node_id) or manifest.get("unit_tests", {}).get(node_id)
    location = node.get("original_file_path", "") if node else ""
    message = (result.get("message") or "").strip().splitlines()
    detail = f": {message[0]}" if message else ""
    failures = result.get("failures")
    count = f" ({failures} failing rows)" if failures else ""
    where = f" [defined in {location}]" if location else ""
    return f"{node_id} {result.get('status')}{count}{detail}{where}"


def check_gate(manifest: dict[str, Any], run_results: dict[str, Any], model_id: str) -> GateReport:
    """Compare what the model needs against the last run's results."""
    if model_id not in manifest.get("nodes", {}):
        raise GateError(f"{model_id} is not in target/manifest.json: is the model name right?")
    results = {result["unique_id"]: result for result in run_results.get("results", [])}
    report = GateReport(
        model_id=model_id, invocation_id=run_results.get("metadata", {}).get("invocation_id")
    )
    for node_id in required_nodes(manifest, model_id):
        report.checked.append(node_id)
        result = results.get(node_id)
        if result is None:
            report.problems.append(
                f"{node_id} did not run in the last dbt invocation: run `trainset build` "
                "(a full `dbt build`) before exporting"
            )
        elif result.get("status") not in PASSING:
            report.problems.append(_where_to_look(node_id, result, manifest))
        elif result.get("status") == "warn":
            report.warned.append(node_id)
            report.passed.append(node_id)
        else:
            report.passed.append(node_id)
    return report


def require_gate(target_dir: Path, model_id: str) -> GateReport:
    """Raise GateError, listing every failing node and where it is defined, unless the last
    dbt run proves the model and everything upstream passed."""
    from .dbt import read_artifact

    manifest = read_artifact(target_dir, "manifest.json")
    run_results = read_artifact(target_dir, "run_results.json")
    report = check_gate(manifest, run_results, model_id)
    if not report.ok:
        shown = report.problems[:20]
        more = len(report.problems) - len(shown)
        lines = "\n  - ".join(shown)
        extra = f"\n  … and {more} more" if more > 0 else ""
        raise GateError(
            f"Export of {model_id} refused: {len(report.problems)} of {len(report.checked)} "
            f"upstream nodes and tests did not pass in the last build:\n  - {lines}{extra}\n"
            "Fix the data or the model, run `trainset build` again, then export. Earlier "
            "exports are untouched."
        )
    return report


@dataclass
class BuildCheck:
    """The newest build record and what the landing zone and the code look like now."""

    record: BuildRecord | None
    landing: LandingReport | None
    problems: list[str] = field(default_factory=list)


def _changed_files(before: list[dict[str, Any]], after: list[LandingFile]) -> str:
    old = {entry["path"]: (entry["size"], entry["sha256"]) for entry in before}
    new = {entry.path: (entry.size, entry.sha256) for entry in after}
    changes = [
        f"{path} changed" for path in sorted(old.keys() & new.keys()) if old[path] != new[path]
    ]
    changes += [f"{path} added" for path in sorted(new.keys() - old.keys())]
    changes += [f"{path} removed" for path in sorted(old.keys() - new.keys())]
    shown = ", ".join(changes[:5]) + (f" and {len(changes) - 5} more" if len(changes) > 5 else "")
    return shown or "same files, different listing"


def check_build(paths: Paths) -> BuildCheck:
    """One problem per reason the newest build does not vouch for what an export would read."""
    from . import build as records
    from .dbt import DbtError, read_artifact
    from .landing import inventory

    record = records.latest_record(paths.target_dir)
    check = BuildCheck(record=record, landing=None)
    rebuild = "run `trainset build`, then export"
    if record is None:
        check.problems.append(
            f"no build record in {records.records_dir(paths.target_dir)}: the data was not "
            f"built by `trainset build`; {rebuild}"
        )
        return check
    name = f"build {record.build_id}"
    if record.state == records.RUNNING:
        if records.build_is_running(paths.duckdb_path):
            check.problems.append(
                f"{name} (PID {record.pid}) is still running: wait for it to finish, then export"
            )
        else:
            check.problems.append(
                f"{name} started at {record.started_at} never finished (its process was killed "
                f"or crashed); {rebuild}"
            )
        return check
    if record.state != records.PASSED:
        why = "; ".join(record.reasons) or "no reason recorded"
        check.problems.append(f"{name} {record.state}: {why}; fix it and {rebuild}")
        return check
    try:
        invocation = read_artifact(paths.target_dir, "run_results.json")["metadata"].get(
            "invocation_id"
        )
    except DbtError:
        invocation = None
    if invocation != record.dbt_invocation_id:
        check.problems.append(
            f"{paths.target_dir / 'run_results.json'} is from dbt invocation {invocation}, not "
            f"from {name} (invocation {record.dbt_invocation_id}); {rebuild}"
        )
    check.landing = inventory(paths)
    if check.landing.fingerprint != record.landing_fingerprint:
        before = (record.landing or {}).get("files", [])
        check.problems.append(
            f"the landing files in {paths.landing_dir} changed since {name} "
            f"({_changed_files(before, check.landing.inventory)}); {rebuild}"
        )
    if records.code_hash(paths.project_dir) != record.code_hash:
        check.problems.append(
            f"the project's code (models, macros, seeds, snapshots, tests, packages) changed "
            f"since {name}; {rebuild}"
        )
    return check


def require_build(paths: Paths) -> BuildCheck:
    """Raise GateError, one line per reason, unless the newest build vouches for the data."""
    check = check_build(paths)
    if check.problems:
        raise GateError(
            "Export refused: the last build does not vouch for the data:\n  - "
            + "\n  - ".join(check.problems)
            + "\nEarlier exports are untouched."
        )
    return check
