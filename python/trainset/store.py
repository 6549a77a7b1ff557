"""The export store on disk, shared by the writer (`trainset.export`) and the readers
(`trainset.load`, `trainset verify`, monitoring):

    <exports>/<task>/<version>/data.parquet      the training set
    <exports>/<task>/<version>/manifest.json     what it is and how it was made
    <exports>/<task>/LATEST                      the newest version's name
    <exports>/<task>/.tmp-*                      a version being written (never read)

A version folder is complete once its manifest exists: the writer writes the data and the
manifest into a temporary folder and renames it into place, then rewrites LATEST atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

from .errors import NotFoundError

DATA_FILE = "data.parquet"
MANIFEST_FILE = "manifest.json"
LATEST_FILE = "LATEST"
TEMP_PREFIX = ".tmp-"
HASH_BATCH_ROWS = 65_536


class VersionNotFoundError(NotFoundError):
    """Raised when a task or version has no complete export."""


def content_hash(table: pa.Table) -> str:
    """SHA-256 of the table's schema and values, in row order, as an Arrow IPC stream with fixed
    batch sizes: equal data in equal order gives the same hash whatever the Parquet encoding."""
    table = table.replace_schema_metadata(None)
    digest = hashlib.sha256()
    digest.update(table.schema.serialize().to_pybytes())
    for batch in table.combine_chunks().to_batches(max_chunksize=HASH_BATCH_ROWS):
        digest.update(batch.serialize().to_pybytes())
    return digest.hexdigest()


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON through a temporary file and a rename: readers see the old or the new file."""
    temporary = path.with_name(f"{TEMP_PREFIX}{path.name}-{uuid.uuid4().hex}")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True, default=str)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_text_atomic(path: Path, text: str) -> None:
    """Write text through a temporary file and a rename."""
    temporary = path.with_name(f"{TEMP_PREFIX}{path.name}-{uuid.uuid4().hex}")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of one version folder."""
    return json.loads((Path(folder) / MANIFEST_FILE).read_text(encoding="utf-8"))


def list_versions(task: str, exports_dir: Path) -> list[dict[str, Any]]:
    """The complete versions of a task, oldest first, each as its manifest."""
    task_dir = Path(exports_dir) / task
    if not task_dir.is_dir():
        return []
    versions = []
    for folder in sorted(task_dir.iterdir()):
        if folder.name.startswith(TEMP_PREFIX) or not (folder / MANIFEST_FILE).is_file():
            continue
        versions.append(read_manifest(folder))
    return versions


def latest_version(task: str, exports_dir: Path) -> str | None:
    """The version LATEST names, or None before the first export."""
    latest = Path(exports_dir) / task / LATEST_FILE
    return latest.read_text(encoding="utf-8").strip() if latest.is_file() else None


def resolve_version(task: str, version: str | None, exports_dir: Path) -> Path:
    """The folder of a complete version (LATEST when `version` is None or 'latest')."""
    task_dir = Path(exports_dir) / task
    if version in (None, "latest"):
        version = latest_version(task, exports_dir)
        if version is None:
            raise VersionNotFoundError(
                f"No export of {task!r} in {task_dir}: run `trainset export {task}` after a "
                "passing `trainset build`."
            )
    folder = task_dir / str(version)
    if not (folder / MANIFEST_FILE).is_file():
        known = [entry["version"] for entry in list_versions(task, exports_dir)]
        raise VersionNotFoundError(
            f"No complete version {version!r} of {task!r} in {task_dir}; known: {known or 'none'}"
        )
    return folder
