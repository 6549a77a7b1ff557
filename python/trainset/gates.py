"""The export gate: a training set is exported only when every node upstream of it, and every
test on those nodes, passed in the last dbt run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PASSING = {"success", "pass", "warn"}


class GateError(RuntimeError):
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
