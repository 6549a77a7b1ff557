"""Training-serving skew: recompute what the online store serves through the training set's own
definition, and compare value for value.

The training model (e.g. `train_churn_30d`) computes features point in time at each row of its
label spine. Here its compiled SQL runs once more, on a spine of every served entity with
`cutoff_at` = the materialization's `as_of` (the label relation swapped for that spine), so the
offline values come from `point_in_time_join` and the window aggregates exactly as training
computes them. Each served value must equal the recomputed one; a difference is reported per
feature with counts and examples. The same check runs on the request log: each logged value
against the recomputation at the `as_of` it was served with.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from ..dbt import read_artifact
from ..errors import EXIT_INPUT, TrainsetError
from ..export import _meta, find_training_model
from ..project import Paths
from .catalog import load_catalog
from .store import NotMaterializedError, OnlineStore, VersionInfo

EXAMPLES = 5


class SkewError(TrainsetError, RuntimeError):
    """Raised when the check cannot run (no compiled training model, no request log rows)."""

    exit_code = EXIT_INPUT


@dataclass
class FeatureSkew:
    compared: int = 0
    different: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SkewReport:
    task: str
    version: str | None
    as_of: list[str]
    entities: int
    features: dict[str, FeatureSkew]
    missing_offline: list[Any] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return sum(item.different for item in self.features.values()) + len(self.missing_offline)

    @property
    def ok(self) -> bool:
        return self.differences == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "version": self.version,
            "as_of": self.as_of,
            "entities": self.entities,
            "differences": self.differences,
            "missing_offline": self.missing_offline[:EXAMPLES],
            "features": {
                name: {
                    "compared": item.compared,
                    "different": item.different,
                    "examples": item.examples,
                }
                for name, item in self.features.items()
            },
        }

    def summary(self) -> str:
        lines = [
            f"skew: task {self.task}, version {self.version}, as_of {', '.join(self.as_of)}: "
            f"{self.entities} entities, {self.differences} differences"
        ]
        for name, item in self.features.items():
            if item.different:
                lines.append(
                    f"  {name}: {item.different} of {item.compared} differ, e.g. {item.examples[:3]}"
                )
        if self.missing_offline:
            lines.append(f"  not recomputed offline: {self.missing_offline[:EXAMPLES]}")
        return "\n".join(lines)


def _compiled_sql(paths: Paths, node: dict[str, Any]) -> str:
    code = node.get("compiled_code")
    if code:
        return code
    compiled = paths.target_dir / "compiled" / node["package_name"] / node["original_file_path"]
    if compiled.is_file():
        return compiled.read_text(encoding="utf-8")
    raise SkewError(
        f"No compiled SQL for {node['unique_id']} in {paths.target_dir}: run `trainset build` first."
    )


def _spine_node(manifest: dict[str, Any], task: str) -> dict[str, Any]:
    """The model the training set takes its spine from: the parent that documents the label."""
    model = find_training_model(manifest, task)
    parents = [
        manifest["nodes"][parent]
        for parent in manifest.get("parent_map", {}).get(model.unique_id, [])
        if parent.startswith("model.")
    ]
    spines = [
        parent
        for parent in parents
        if {model.entity_column, model.cutoff_column, model.label_column}
        <= set(parent.get("columns") or {})
    ]
    if len(spines) != 1:
        raise SkewError(
            f"{model.unique_id} should read one spine model documenting {model.entity_column}, "
            f"{model.cutoff_column} and {model.label_column}; found "
            f"{[parent['unique_id'] for parent in spines]}."
        )
    return spines[0]


def recompute(
    paths: Paths,
    manifest: dict[str, Any],
    task: str,
    keys: list[Any],
    as_of: str,
) -> dict[Any, dict[str, Any]]:
    """The training model's features of `keys` at `cutoff_at = as_of`, by key."""
    import duckdb

    model = find_training_model(manifest, task)
    spine = _spine_node(manifest, task)
    sql = _compiled_sql(paths, model.node)
    relation = spine.get("relation_name")
    if not relation or relation not in sql:
        raise SkewError(
            f"The compiled SQL of {model.unique_id} does not read {relation}; cannot swap its spine."
        )
    cutoff = datetime.fromisoformat(as_of)
    spine_columns: dict[str, pa.Array] = {}
    types = {
        "integer": pa.int64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us"),
        "double": pa.float64(),
    }
    for name, column in (spine.get("columns") or {}).items():
        if name == model.entity_column:
            spine_columns[name] = pa.array(keys)
        elif name == model.cutoff_column:
            spine_columns[name] = pa.array([cutoff] * len(keys), pa.timestamp("us"))
        else:
            data_type = str(column.get("data_type") or "varchar").lower()
            spine_columns[name] = pa.nulls(len(keys), types.get(data_type, pa.string()))
    if model.entity_column not in spine_columns or model.cutoff_column not in spine_columns:
        raise SkewError(
            f"{spine['original_file_path']} does not document {model.entity_column} and "
            f"{model.cutoff_column}; the skew check builds its spine from those columns."
        )
    connection = duckdb.connect(str(paths.duckdb_path), read_only=True)
    try:
        connection.execute("set TimeZone = 'UTC'")
        connection.execute("set enable_progress_bar = false")
        connection.register("trainset_skew_spine", pa.table(spine_columns))
        table = connection.execute(sql.replace(relation, "trainset_skew_spine")).to_arrow_table()
    finally:
        connection.close()
    names = [
        name
        for name, column in (model.node.get("columns") or {}).items()
        if "feature" in _meta(column)
    ]
    rows: dict[Any, dict[str, Any]] = {}
    columns = {name: table.column(name).to_pylist() for name in names}
    for index, key in enumerate(table.column(model.entity_column).to_pylist()):
        rows[key] = {name: columns[name][index] for name in names}
    return rows


def _same(online: Any, offline: Any) -> bool:
    if isinstance(offline, float) and isinstance(online, int | float):
        if math.isnan(offline):
            return False
        return float(online) == offline
    if isinstance(offline, datetime) and isinstance(online, str):
        return datetime.fromisoformat(online) == offline.replace(tzinfo=None)
    return online == offline and type(online) is type(offline)


def _compare(
    report: SkewReport,
    served: dict[Any, dict[str, Any]],
    offline: dict[Any, dict[str, Any]],
    context: dict[str, Any] | None = None,
) -> None:
    for key, values in served.items():
        expected = offline.get(key)
        if expected is None:
            report.missing_offline.append(key)
            continue
        for name, value in values.items():
            if name not in expected:
                continue
            item = report.features.setdefault(name, FeatureSkew())
            item.compared += 1
            if not _same(value, expected[name]):
                item.different += 1
                if len(item.examples) < EXAMPLES:
                    example = {"entity": key, "online": value, "offline": expected[name]}
                    example.update(context or {})
                    item.examples.append(example)


def check_store(
    paths: Paths, store: OnlineStore, task: str | None = None, manifest: dict | None = None
) -> SkewReport:
    """Every vector of the store's current version against the training definition."""
    manifest = manifest or read_artifact(paths.target_dir, "manifest.json")
    task = task or load_catalog(manifest).default_task
    info: VersionInfo | None = store.current()
    if info is None:
        raise NotMaterializedError(
            f"The online store {store.url} holds no version: run `trainset materialize` first."
        )
    served: dict[Any, dict[str, Any]] = {}
    for batch in store.scan(info):
        for key, vector in batch:
            served[key] = dict(zip(info.feature_names, orjson.loads(vector), strict=True))
    offline = recompute(paths, manifest, task, sorted(served), info.as_of)
    report = SkewReport(task, info.version, [info.as_of], len(served), {})
    _compare(report, served, offline)
    return report


def check_log(
    paths: Paths, log_dir: Path | str, task: str | None = None, manifest: dict | None = None
) -> SkewReport:
    """Every logged vector against the training definition at the as_of it was served with."""
    from .request_log import read_log

    manifest = manifest or read_artifact(paths.target_dir, "manifest.json")
    task = task or load_catalog(manifest).default_task
    log = read_log(log_dir).to_pylist()
    by_as_of: dict[datetime, dict[Any, dict[str, Any]]] = defaultdict(dict)
    versions = set()
    for row in log:
        if not row["found"]:
            continue
        versions.add(row["version"])
        values = {name: row[name] for name in row["features"]}
        by_as_of[row["as_of"]].setdefault(row["entity_id"], {}).update(values)
    report = SkewReport(
        task,
        ",".join(sorted(versions)) or None,
        [moment.isoformat() for moment in sorted(by_as_of)],
        sum(len(served) for served in by_as_of.values()),
        {},
    )
    for moment, served in sorted(by_as_of.items()):
        offline = recompute(paths, manifest, task, sorted(served), moment.isoformat())
        _compare(report, served, offline, {"as_of": moment.isoformat()})
    return report
