"""Rebuild an exported version and prove it is the same data; compare two versions."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .dbt import read_artifact
from .export import _git, _parquet_round_trip, find_training_model, read_training_table
from .landing import inventory
from .output import quiet
from .pipeline import build
from .project import Paths
from .reader import load_manifest, resolve_version
from .store import content_hash


def plain(value: Any) -> Any:
    """A value as a person reads it: numpy and pandas scalars as Python values, timestamps in
    ISO 8601, keys as tuples of those."""
    if isinstance(value, tuple):
        return tuple(plain(item) for item in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def _show(value: Any) -> str:
    value = plain(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(item) for item in value) + ")"
    return "null" if value is None else str(value)


@dataclass
class VerifyReport:
    """Outcome of a rebuild: equal hashes, or what differs."""

    task: str
    version: str
    expected_hash: str
    actual_hash: str | None
    differences: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.actual_hash == self.expected_hash


def compare_tables(
    expected: pa.Table, actual: pa.Table, keys: list[str], limit: int = 5
) -> list[str]:
    """Human-readable differences: rows, columns, and per column the rows whose values differ."""
    differences = []
    if expected.num_rows != actual.num_rows:
        differences.append(f"rows: {expected.num_rows:,} exported, {actual.num_rows:,} rebuilt")
    expected_fields = {f.name: f.type for f in expected.schema}
    actual_fields = {f.name: f.type for f in actual.schema}
    for name in expected_fields.keys() - actual_fields.keys():
        differences.append(f"column {name!r} is gone in the rebuild")
    for name in actual_fields.keys() - expected_fields.keys():
        differences.append(f"column {name!r} is new in the rebuild")
    for name in expected_fields.keys() & actual_fields.keys():
        if expected_fields[name] != actual_fields[name]:
            differences.append(
                f"column {name!r} changed type: {expected_fields[name]} → {actual_fields[name]}"
            )
    shared = [name for name in expected.column_names if name in actual_fields and name not in keys]
    left = expected.to_pandas().set_index(keys)
    right = actual.to_pandas().set_index(keys)
    missing = left.index.difference(right.index)
    added = right.index.difference(left.index)
    if len(missing):
        examples = ", ".join(_show(key) for key in missing[:limit])
        differences.append(f"{len(missing):,} keys only in the export, e.g. {examples}")
    if len(added):
        examples = ", ".join(_show(key) for key in added[:limit])
        differences.append(f"{len(added):,} keys only in the rebuild, e.g. {examples}")
    common = left.index.intersection(right.index)
    for name in shared:
        a, b = left.loc[common, name], right.loc[common, name]
        changed = ~((a == b) | (a.isna() & b.isna()))
        if changed.any():
            examples = "; ".join(
                f"{_show(key)}: {_show(a[key])} exported, {_show(b[key])} rebuilt"
                for key in list(common[changed.to_numpy()])[:limit]
            )
            differences.append(
                f"column {name!r}: {int(changed.sum()):,} rows differ, e.g. {examples}"
            )
    return differences


def _landing_changes(manifest: dict[str, Any], paths: Paths) -> list[str]:
    """Landing files that differ from the ones the export's build read (by path and SHA-256)."""
    recorded = (manifest.get("landing") or {}).get("files")
    if recorded is None:
        return []
    before = {entry["path"]: entry["sha256"] for entry in recorded}
    after = {entry.path: entry.sha256 for entry in inventory(paths).inventory}
    changed = [path for path in sorted(before.keys() & after.keys()) if before[path] != after[path]]
    changed += [f"{path} (new)" for path in sorted(after.keys() - before.keys())]
    changed += [f"{path} (gone)" for path in sorted(before.keys() - after.keys())]
    if not changed:
        return []
    return [
        f"the landing files differ from the ones the export was built from: "
        f"{', '.join(changed[:10])}{' …' if len(changed) > 10 else ''}; the rebuild cannot "
        "match unless they are restored"
    ]


def verify(
    task: str,
    version: str | None = None,
    paths: Paths | None = None,
    *,
    progress: Callable[[str], None] = quiet,
    dbt_progress: Callable[[str], None] | None = None,
    dbt_log: Callable[[str], None] | None = None,
) -> VerifyReport:
    """Rebuild `task` from the current landing files and code into a temporary database (the
    user's database and exports are untouched) and compare with the exported version."""
    paths = paths or Paths.resolve()
    folder = resolve_version(task, version, paths.exports_dir)
    manifest = load_manifest(task, folder.name, paths.exports_dir)
    report = VerifyReport(task, folder.name, manifest["content_sha256"], None)
    commit = _git(paths.project_dir, "rev-parse", "HEAD")
    if manifest.get("git", {}).get("commit") not in (None, commit):
        report.warnings.append(
            f"the export was built at commit {manifest['git']['commit']}, the code is now at "
            f"{commit}: check out that commit to rebuild exactly"
        )
    report.warnings.extend(_landing_changes(manifest, paths))
    workdir = Path(tempfile.mkdtemp(prefix="trainset-verify-"))
    try:
        rebuild = Paths(
            project_dir=paths.project_dir,
            duckdb_path=workdir / "verify.duckdb",
            landing_dir=paths.landing_dir,
            exports_dir=workdir / "exports",
            target_dir=workdir / "target",
        )
        progress(f"verify {task}/{folder.name}: rebuilding from {paths.landing_dir}")
        # The whole build, so every gate that passed for the export runs again.
        result = build(
            rebuild,
            extra_args=["--log-path", str(workdir / "logs")],
            progress=progress,
            dbt_progress=dbt_progress,
            dbt_log=dbt_log,
        )
        if not result.success:
            report.differences.append("the rebuild failed:")
            report.differences += result.errors[-20:]
            return report
        model = find_training_model(read_artifact(rebuild.target_dir, "manifest.json"), task)
        rebuilt = _parquet_round_trip(read_training_table(rebuild, model))
        report.actual_hash = content_hash(rebuilt)
        if not report.ok:
            exported = pq.read_table(folder / manifest.get("data_file", "data.parquet"))
            report.differences = compare_tables(
                exported, rebuilt, [manifest["entity_column"], manifest["cutoff_column"]]
            ) or ["same rows and values, different schema metadata or row order"]
        return report
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def diff_versions(task: str, first: str, second: str, exports_dir: Path | None = None) -> list[str]:
    """What changed between two exported versions, from their manifests."""
    a = load_manifest(task, first, exports_dir)
    b = load_manifest(task, second, exports_dir)
    lines = []
    if a["content_sha256"] == b["content_sha256"]:
        lines.append("same content hash: identical data")
    lines.append(
        f"rows: {a['row_count']:,} → {b['row_count']:,} ({b['row_count'] - a['row_count']:+,})"
    )
    schema_a = {column["name"]: column["type"] for column in a["schema"]}
    schema_b = {column["name"]: column["type"] for column in b["schema"]}
    for name in schema_b.keys() - schema_a.keys():
        lines.append(f"column added: {name} ({schema_b[name]})")
    for name in schema_a.keys() - schema_b.keys():
        lines.append(f"column removed: {name} ({schema_a[name]})")
    for name in schema_a.keys() & schema_b.keys():
        if schema_a[name] != schema_b[name]:
            lines.append(f"column retyped: {name} {schema_a[name]} → {schema_b[name]}")
    share_a = a["label_balance"].get("positive_share")
    share_b = b["label_balance"].get("positive_share")
    if share_a is not None and share_b is not None:
        lines.append(
            f"label positive share: {share_a:.4f} → {share_b:.4f} ({share_b - share_a:+.4f})"
        )
    lines.append(f"cutoffs: {a['cutoff_bounds']} → {b['cutoff_bounds']}")
    stats_a: dict[str, Any] = a.get("feature_statistics", {})
    stats_b: dict[str, Any] = b.get("feature_statistics", {})
    for name in sorted(stats_a.keys() & stats_b.keys()):
        before, after = stats_a[name], stats_b[name]
        changes = []
        if before.get("null_rate") != after.get("null_rate"):
            changes.append(
                f"null rate {before.get('null_rate'):.4f} → {after.get('null_rate'):.4f}"
            )
        if (
            before.get("mean") is not None
            and after.get("mean") is not None
            and before["mean"] != after["mean"]
        ):
            scale = before.get("stddev") or 1.0
            changes.append(
                f"mean {before['mean']:.4f} → {after['mean']:.4f} "
                f"({(after['mean'] - before['mean']) / scale:+.3f} standard deviations)"
            )
        if changes:
            lines.append(f"feature {name}: " + "; ".join(changes))
    code_a = a.get("feature_definitions", {}).get("code_hash")
    code_b = b.get("feature_definitions", {}).get("code_hash")
    if code_a != code_b:
        lines.append("feature code changed (definition hash differs)")
    return lines
