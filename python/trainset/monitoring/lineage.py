"""From a model back to the data that made it: MLflow run -> training-set version -> manifest ->
dbt nodes -> landing files, each with its hash, and whether each hash still matches.

The training job logs the task, the export version, the manifest's SHA-256 and the data's
content hash as tags of its MLflow run. `lineage` reads them back, checks the manifest file and
the Parquet data against them, lists the dbt nodes upstream of the training model (from the
project's dbt manifest, with their files), and the landing files the build read (recorded in
the export's manifest when the build recorded them), each with its SHA-256 now.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..dbt import read_artifact
from ..errors import NotFoundError
from ..gates import upstream_nodes
from ..project import Paths
from ..store import MANIFEST_FILE

TAG_PREFIX = "trainset."
TAGS = ("task", "training_set_version", "manifest_sha256", "content_sha256", "exports_dir")


class LineageError(NotFoundError):
    """Raised when a model or version cannot be traced."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_tracking_uri(paths: Paths) -> str:
    """A local MLflow store in the project folder: one SQLite file, `mlruns/mlflow.db` (MLflow's
    plain-folder store is in maintenance mode and refuses to start by default)."""
    folder = (paths.project_dir / "mlruns").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def artifact_location(tracking_uri: str) -> str | None:
    """Artifacts beside a local SQLite store (`<folder>/artifacts`), else the server's own."""
    if tracking_uri.startswith("sqlite:///"):
        return (Path(tracking_uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
    return None


def _run_from_target(target: str, tracking_uri: str) -> dict[str, Any]:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    model = None
    if target.startswith("models:/"):
        name, _, version = target.removeprefix("models:/").partition("/")
        if not version:
            raise LineageError(f"{target}: give a version, e.g. models:/{name}/1")
        model_version = client.get_model_version(name, version)
        run_id = model_version.run_id
        model = {"name": name, "version": version, "source": model_version.source}
    elif target.startswith("runs:/"):
        run_id = target.removeprefix("runs:/").split("/")[0]
    else:
        run_id = target
    try:
        run = client.get_run(run_id)
    except Exception as error:  # MLflow raises its own exception types per store
        raise LineageError(f"No MLflow run {run_id!r} at {tracking_uri}: {error}") from error
    tags = {
        key.removeprefix(TAG_PREFIX): value
        for key, value in run.data.tags.items()
        if key.startswith(TAG_PREFIX)
    }
    missing = [name for name in ("task", "training_set_version") if name not in tags]
    if missing:
        raise LineageError(
            f"MLflow run {run_id} has no {', '.join(TAG_PREFIX + name for name in missing)} "
            "tags: it was not logged by a trainset training job."
        )
    return {
        "run_id": run_id,
        "experiment_id": run.info.experiment_id,
        "tracking_uri": tracking_uri,
        "registered_model": model,
        "metrics": dict(run.data.metrics),
        "tags": tags,
    }


def lineage(
    target: str, task: str, paths: Paths | None = None, *, tracking_uri: str | None = None
) -> dict[str, Any]:
    """The trail from `target` (an MLflow run id, a runs:/ or models:/ URI, or an export
    version of `task`) to the landing files; `verified` is False when any hash differs."""
    paths = paths or Paths.resolve()
    problems: list[str] = []
    trail: dict[str, Any] = {"target": target}
    exports_dir = paths.exports_dir
    version = target
    if not (exports_dir / task / target / MANIFEST_FILE).is_file():
        run = _run_from_target(target, tracking_uri or default_tracking_uri(paths))
        trail["model"] = run
        task = run["tags"]["task"]
        version = run["tags"]["training_set_version"]
        if run["tags"].get("exports_dir"):
            exports_dir = Path(run["tags"]["exports_dir"])
    folder = exports_dir / task / version
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise LineageError(f"The training set {task}/{version} is not in {exports_dir}.")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest_sha = file_sha256(manifest_path)
    expected_manifest = (trail.get("model") or {}).get("tags", {}).get("manifest_sha256")
    if expected_manifest and expected_manifest != manifest_sha:
        problems.append(f"{manifest_path} changed since the model was trained")
    from ..reader import IntegrityError, load

    try:
        load(task, version, exports_dir=exports_dir, output="arrow")
        data_ok = True
    except IntegrityError as error:
        data_ok = False
        problems.append(str(error))
    trail["training_set"] = {
        "task": task,
        "version": version,
        "folder": str(folder),
        "rows": manifest.get("row_count"),
        "content_sha256": manifest.get("content_sha256"),
        "data_matches": data_ok,
        "manifest": str(manifest_path),
        "manifest_sha256": manifest_sha,
        "manifest_matches": expected_manifest in (None, manifest_sha),
        "git_commit": (manifest.get("git") or {}).get("commit"),
        "dbt_invocation_id": (manifest.get("dbt") or {}).get("invocation_id"),
        "feature_code_hash": (manifest.get("feature_definitions") or {}).get("code_hash"),
    }
    trail["dbt_nodes"] = _dbt_nodes(paths, manifest.get("source_model"))
    trail["landing_files"] = _landing_files(paths, manifest, problems)
    trail["problems"] = problems
    trail["verified"] = not problems
    return trail


def _dbt_nodes(paths: Paths, source_model: str | None) -> list[dict[str, Any]]:
    if not source_model:
        return []
    try:
        dbt_manifest = read_artifact(paths.target_dir, "manifest.json")
    except RuntimeError:
        return []
    nodes = {**dbt_manifest.get("nodes", {}), **dbt_manifest.get("sources", {})}
    found = []
    for node_id in sorted(upstream_nodes(dbt_manifest, source_model) | {source_model}):
        if not node_id.startswith(("model.", "source.", "snapshot.", "seed.")):
            continue
        node = nodes.get(node_id, {})
        path = node.get("original_file_path")
        entry: dict[str, Any] = {"unique_id": node_id, "file": path}
        if path and (paths.project_dir / path).is_file():
            entry["file_sha256"] = file_sha256(paths.project_dir / path)
        found.append(entry)
    return found


def _landing_files(paths: Paths, manifest: dict[str, Any], problems: list[str]) -> list[dict]:
    """The landing files the build read, with the hash recorded at export and the hash now."""
    landing = manifest.get("landing") or {}
    recorded = landing.get("files") or []
    folder = Path(landing.get("dir") or paths.landing_dir)
    files = []
    if recorded:
        for entry in recorded:
            path = folder / entry["path"]
            now = file_sha256(path) if path.is_file() else None
            if now != entry.get("sha256"):
                problems.append(f"landing file {path} differs from the one the set was built from")
            files.append({"path": str(path), "sha256": entry.get("sha256"), "sha256_now": now})
        return files
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file():
            files.append({"path": str(path), "sha256": None, "sha256_now": file_sha256(path)})
    return files


def to_text(trail: dict[str, Any]) -> str:
    lines = []
    model = trail.get("model")
    if model:
        registered = model.get("registered_model")
        name = f" (registered {registered['name']} v{registered['version']})" if registered else ""
        lines.append(f"model: MLflow run {model['run_id']}{name} at {model['tracking_uri']}")
        for key, value in sorted(model["metrics"].items()):
            lines.append(f"  {key} = {value:.4f}")
    data = trail["training_set"]
    lines.append(
        f"training set: {data['task']}/{data['version']}, {data['rows']:,} rows, content "
        f"sha256 {data['content_sha256']} ({'matches' if data['data_matches'] else 'MISMATCH'})"
    )
    lines.append(
        f"manifest: {data['manifest']} sha256 {data['manifest_sha256']} "
        f"({'matches' if data['manifest_matches'] else 'CHANGED'}); git {data['git_commit']}, "
        f"dbt invocation {data['dbt_invocation_id']}"
    )
    lines.append(f"dbt nodes ({len(trail['dbt_nodes'])}):")
    lines += [f"  {node['unique_id']}  {node.get('file') or ''}" for node in trail["dbt_nodes"]]
    lines.append(f"landing files ({len(trail['landing_files'])}):")
    for entry in trail["landing_files"]:
        state = (
            "recorded hash not kept"
            if entry["sha256"] is None
            else ("unchanged" if entry["sha256"] == entry["sha256_now"] else "CHANGED")
        )
        lines.append(f"  {entry['path']}  sha256 {entry['sha256_now']}  ({state})")
    lines.append(
        "verified" if trail["verified"] else "NOT verified: " + "; ".join(trail["problems"])
    )
    return "\n".join(lines)
