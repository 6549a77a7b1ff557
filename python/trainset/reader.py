"""Loading exported training sets, with their content hash checked."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from .export import DATA_FILE, LATEST_FILE, MANIFEST_FILE, TEMP_PREFIX, content_hash
from .project import Paths


class IntegrityError(RuntimeError):
    """Raised when an exported version does not match its manifest."""


class VersionNotFoundError(LookupError):
    """Raised when a task or version has no complete export."""


def _exports_dir(exports_dir: str | Path | None) -> Path:
    return Path(exports_dir) if exports_dir else Paths.resolve().exports_dir


def list_versions(task: str, exports_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The complete versions of a task, oldest first, each as its manifest."""
    task_dir = _exports_dir(exports_dir) / task
    if not task_dir.is_dir():
        return []
    versions = []
    for folder in sorted(task_dir.iterdir()):
        manifest_path = folder / MANIFEST_FILE
        if folder.name.startswith(TEMP_PREFIX) or not manifest_path.is_file():
            continue
        versions.append(json.loads(manifest_path.read_text(encoding="utf-8")))
    return versions


def resolve_version(task: str, version: str | None, exports_dir: str | Path | None) -> Path:
    task_dir = _exports_dir(exports_dir) / task
    if version in (None, "latest"):
        latest = task_dir / LATEST_FILE
        if not latest.is_file():
            raise VersionNotFoundError(
                f"No export of {task!r} in {task_dir}: run `trainset export {task}` after a "
                "passing `trainset build`."
            )
        version = latest.read_text(encoding="utf-8").strip()
    folder = task_dir / str(version)
    if not (folder / MANIFEST_FILE).is_file():
        known = [entry["version"] for entry in list_versions(task, exports_dir)]
        raise VersionNotFoundError(
            f"No complete version {version!r} of {task!r} in {task_dir}; known: {known or 'none'}"
        )
    return folder


def _select_split(table: pa.Table, manifest: dict[str, Any], split: str) -> pa.Table:
    import pyarrow.compute as pc

    splits = manifest.get("splits") or {}
    if split not in ("train", "validation", "test"):
        raise ValueError(f"split must be 'train', 'validation' or 'test', got {split!r}")
    if splits.get("method") != "time":
        raise ValueError(
            f"version {manifest['version']} has no time splits ({splits.get('reason', 'none recorded')})"
        )
    cutoffs = pa.array(
        [datetime.fromisoformat(value) for value in splits[split]["cutoffs"]],
        table.schema.field(manifest["cutoff_column"]).type,
    )
    return table.filter(pc.is_in(table.column(manifest["cutoff_column"]), value_set=cutoffs))


def load_manifest(
    task: str, version: str | None = None, exports_dir: str | Path | None = None
) -> dict[str, Any]:
    folder = resolve_version(task, version, exports_dir)
    return json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))


def load(
    task: str,
    version: str | None = None,
    *,
    exports_dir: str | Path | None = None,
    verify: bool = True,
    split: str | None = None,
    output: Literal["pandas", "arrow"] = "pandas",
) -> Any:
    """Load a training set: the LATEST version unless `version` is given; one time split
    ('train', 'validation' or 'test', purged as recorded in the manifest) when `split` is given.

    With `verify` (the default) the data's content hash is recomputed and compared with the
    manifest; a mismatch raises IntegrityError naming both hashes.
    """
    folder = resolve_version(task, version, exports_dir)
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    table: pa.Table = pq.read_table(folder / manifest.get("data_file", DATA_FILE))
    if verify:
        actual = content_hash(table)
        if actual != manifest["content_sha256"]:
            raise IntegrityError(
                f"{folder / DATA_FILE} does not match its manifest: content hash {actual} "
                f"!= {manifest['content_sha256']}. The file was changed after export; "
                "re-export it or load another version."
            )
    if split is not None:
        table = _select_split(table, manifest, split)
    if output == "arrow":
        return table
    if output == "pandas":
        return table.to_pandas()
    raise ValueError(f"output must be 'pandas' or 'arrow', got {output!r}")
