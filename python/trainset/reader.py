"""Loading exported training sets, with their content hash checked."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from . import store
from .errors import IntegrityError, UsageError
from .project import Paths
from .store import DATA_FILE, VersionNotFoundError, content_hash, read_manifest

__all__ = [
    "IntegrityError",
    "VersionNotFoundError",
    "list_versions",
    "load",
    "load_manifest",
    "resolve_version",
]


def _exports_dir(exports_dir: str | Path | None) -> Path:
    return Path(exports_dir) if exports_dir else Paths.resolve().exports_dir


def list_versions(task: str, exports_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The complete versions of a task, oldest first, each as its manifest."""
    return store.list_versions(task, _exports_dir(exports_dir))


def resolve_version(task: str, version: str | None, exports_dir: str | Path | None = None) -> Path:
    """The folder of a complete version (LATEST when `version` is None or 'latest')."""
    return store.resolve_version(task, version, _exports_dir(exports_dir))


def _select_split(table: pa.Table, manifest: dict[str, Any], split: str) -> pa.Table:
    import pyarrow.compute as pc

    splits = manifest.get("splits") or {}
    if split not in ("train", "validation", "test"):
        raise UsageError(f"split must be 'train', 'validation' or 'test', got {split!r}")
    if splits.get("method") != "time":
        raise UsageError(
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
    return read_manifest(resolve_version(task, version, exports_dir))


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
    manifest = read_manifest(folder)
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
    raise UsageError(f"output must be 'pandas' or 'arrow', got {output!r}")
