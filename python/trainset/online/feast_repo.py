"""A Feast feature repository describing what trainset serves, written from the catalog.

Feast's clients need feature view definitions (their registry) even when a remote server
answers: `write_feast_repo` writes them from the same catalog the server uses (entity, join
key, view, feature types, one feature service per training task), with either the `remote`
online store pointing at `trainset serve`, or Feast's own SQLite store (to run Feast's server
side by side, as the benchmark does). Feast itself is not imported: it runs in its own
environment.
"""

from __future__ import annotations

from pathlib import Path

from .catalog import ServingCatalog

FEAST_TYPES = (
    (("bigint", "integer", "int", "smallint", "tinyint"), "Int64"),
    (("double", "float", "real", "decimal", "numeric"), "Float64"),
    (("bool",), "Bool"),
    (("timestamp",), "UnixTimestamp"),
)


def feast_type(data_type: str) -> str:
    for prefixes, name in FEAST_TYPES:
        if data_type.lower().startswith(prefixes):
            return name
    return "String"


def write_feast_repo(
    catalog: ServingCatalog,
    folder: Path,
    *,
    remote_url: str | None = None,
    source_parquet: Path | None = None,
    project: str = "trainset",
    key_type: str = "integer",
) -> Path:
    """Write `feature_store.yaml` and `definitions.py`; return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if remote_url:
        online = f"online_store:\n  type: remote\n  path: {remote_url}\n"
    else:
        online = f"online_store:\n  type: sqlite\n  path: {folder / 'online.db'}\n"
    (folder / "feature_store.yaml").write_text(
        f"project: {project}\n"
        f"registry: {folder / 'registry.db'}\n"
        "provider: local\n"
        f"{online}"
        "offline_store:\n  type: file\n"
        "entity_key_serialization_version: 3\n",
        encoding="utf-8",
    )
    source = source_parquet or folder / "vectors.parquet"
    fields = "\n".join(
        f"        Field(name={feature.name!r}, dtype={feast_type(feature.data_type)}),"
        for feature in catalog.features
    )
    services = "\n".join(
        f"{task}_service = FeatureService(name={task!r}, features=[view[{list(names)!r}]])"
        for task, names in sorted(catalog.services.items())
    )
    (folder / "definitions.py").write_text(
        f'''"""Written by trainset from the serving model's YAML; do not edit."""

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Bool, Float64, Int64, String, UnixTimestamp

entity = Entity(name={catalog.entity!r}, join_keys=[{catalog.entity_column!r}], value_type=ValueType.{"INT64" if key_type == "integer" else "STRING"})
source = FileSource(path={str(source)!r}, timestamp_field={catalog.as_of_column!r})
view = FeatureView(
    name={catalog.view!r},
    entities=[entity],
    ttl=timedelta(days=36500),
    schema=[
{fields}
    ],
    source=source,
    online=True,
)
{services}
''',
        encoding="utf-8",
    )
    return folder
