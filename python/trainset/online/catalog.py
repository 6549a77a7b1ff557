"""What the online store serves, read from dbt's manifest.

The serving model declares itself with `config.meta.serving` (view name, entity column, as-of
column, maximum age, request size limit); its YAML columns carrying `config.meta.feature` are the
features, with their types and descriptions. A feature service is a training task: the features
its training model declares. Nothing here is a second list of features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import EXIT_INPUT, EXIT_USAGE, TrainsetError
from ..export import _meta, feature_definitions, find_training_model, training_models


class CatalogError(TrainsetError, RuntimeError):
    """Raised when the manifest declares no serving model, or an unusable one: fix the
    serving model's YAML (`meta.serving`, `meta.feature`, `data_type`) and build again."""

    exit_code = EXIT_INPUT


class UnknownServingTaskError(CatalogError):
    """Raised when the task asked for (`--task`) serves nothing from the serving model."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class OnlineFeature:
    name: str
    data_type: str
    description: str
    position: int


@dataclass(frozen=True)
class ServingCatalog:
    """The served feature view and the feature services (training tasks) built on it."""

    view: str
    entity: str
    entity_column: str
    as_of_column: str
    unique_id: str
    relation: str
    database: str | None
    schema: str
    table: str
    features: tuple[OnlineFeature, ...]
    max_age_hours: float | None
    max_entities_per_request: int
    services: dict[str, tuple[str, ...]] = field(default_factory=dict)
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]

    @property
    def by_name(self) -> dict[str, OnlineFeature]:
        return {feature.name: feature for feature in self.features}

    def definition_hash(self, task: str | None = None) -> str:
        """The feature-definition hash of a task's training model (the code that computes the
        features), the same hash an export of that task records."""
        task = task or self.default_task
        if task not in self.definitions:
            raise UnknownServingTaskError(
                f"No training task {task!r} serves from {self.view} (known: {', '.join(sorted(self.definitions)) or 'none'})."
            )
        return self.definitions[task]["code_hash"]

    @property
    def default_task(self) -> str:
        if not self.services:
            raise CatalogError(f"No training model declares features served by {self.view}.")
        return sorted(self.services)[0]


def _yaml_path(node: dict[str, Any]) -> str:
    """The YAML that declares a model's meta and columns (else its SQL file): what to fix."""
    patch = node.get("patch_path") or ""
    return patch.split("://", 1)[-1] if patch else str(node.get("original_file_path"))


def serving_model(manifest: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    found = [
        (unique_id, node)
        for unique_id, node in manifest.get("nodes", {}).items()
        if node.get("resource_type") == "model" and _meta(node).get("serving")
    ]
    if len(found) != 1:
        names = ", ".join(sorted(unique_id for unique_id, _ in found)) or "none"
        raise CatalogError(
            f"Expected one serving model (a model with `config.meta.serving` in its YAML), found {names}."
        )
    return found[0]


def load_catalog(manifest: dict[str, Any]) -> ServingCatalog:
    unique_id, node = serving_model(manifest)
    spec = _meta(node)["serving"]
    missing = [key for key in ("view", "entity_column", "as_of_column") if not spec.get(key)]
    if missing:
        raise CatalogError(f"{_yaml_path(node)}: config.meta.serving lacks {', '.join(missing)}.")
    features = []
    for name, column in (node.get("columns") or {}).items():
        if "feature" not in _meta(column):
            continue
        if not column.get("data_type"):
            raise CatalogError(f"{_yaml_path(node)}: feature column {name} has no data_type.")
        features.append(
            OnlineFeature(
                name=name,
                data_type=str(column["data_type"]).lower(),
                description=column.get("description", ""),
                position=len(features),
            )
        )
    if not features:
        raise CatalogError(f"{_yaml_path(node)}: no column has meta.feature.")
    served = {feature.name for feature in features}
    services: dict[str, tuple[str, ...]] = {}
    definitions: dict[str, dict[str, Any]] = {}
    for task, model in sorted(training_models(manifest).items()):
        names = [
            name
            for name, column in (model.node.get("columns") or {}).items()
            if "feature" in _meta(column)
        ]
        if not names:
            continue
        absent = [name for name in names if name not in served]
        if absent:
            raise CatalogError(
                f"Training task {task} uses features the serving model {node['name']} does not "
                f"serve: {', '.join(absent)}. Add them to {_yaml_path(node)}."
            )
        services[task] = tuple(names)
        definitions[task] = feature_definitions(manifest, find_training_model(manifest, task))
    max_age = spec.get("max_age_hours")
    return ServingCatalog(
        view=spec["view"],
        entity=spec.get("entity") or spec["entity_column"].removesuffix("_id"),
        entity_column=spec["entity_column"],
        as_of_column=spec["as_of_column"],
        unique_id=unique_id,
        relation=f'"{node["schema"]}"."{node.get("alias") or node["name"]}"',
        database=node.get("database"),
        schema=node["schema"],
        table=node.get("alias") or node["name"],
        features=tuple(features),
        max_age_hours=float(max_age) if max_age is not None else None,
        max_entities_per_request=int(spec.get("max_entities_per_request") or 1000),
        services=services,
        definitions=definitions,
    )
