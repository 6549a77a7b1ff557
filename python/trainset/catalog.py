"""The feature catalog, read from dbt's manifest: features are declared once, in the YAML of
the training models (`config.meta.feature` on each column), never in a second list."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .export import _meta, training_models
from .gates import upstream_nodes


@dataclass
class Feature:
    """One feature column of a training set."""

    name: str
    description: str
    data_type: str | None
    entity: str | None
    source_model: str | None
    training_sets: list[str] = field(default_factory=list)
    lineage: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def features(manifest: dict[str, Any]) -> list[Feature]:
    """Every feature of every training set, with the models and sources it comes from."""
    found: dict[str, Feature] = {}
    for task, model in sorted(training_models(manifest).items()):
        for name, column in (model.node.get("columns") or {}).items():
            spec = _meta(column).get("feature")
            if not spec:
                continue
            if name not in found:
                source = spec.get("source_model")
                source_id = f"model.{model.node['package_name']}.{source}" if source else None
                lineage = (
                    sorted(
                        node
                        for node in upstream_nodes(manifest, source_id)
                        if node.startswith(("model.", "source.", "snapshot."))
                    )
                    if source_id
                    else []
                )
                found[name] = Feature(
                    name=name,
                    description=column.get("description", ""),
                    data_type=column.get("data_type"),
                    entity=spec.get("entity"),
                    source_model=source,
                    lineage=lineage,
                    meta=spec,
                )
            found[name].training_sets.append(task)
    return sorted(found.values(), key=lambda feature: feature.name)


def search(items: list[Feature], text: str | None) -> list[Feature]:
    if not text:
        return items
    needle = text.lower()
    return [
        item
        for item in items
        if needle in item.name.lower()
        or needle in item.description.lower()
        or needle in str(item.meta).lower()
    ]


def to_markdown(items: list[Feature]) -> str:
    lines = [
        "# Feature catalog",
        "",
        "Generated from dbt's manifest by `trainset catalog`; edit the YAML of the training models, not this file.",
        "",
        "| feature | type | entity | description | source model | training sets |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for item in items:
        lines.append(
            f"| `{item.name}` | {item.data_type or ''} | {item.entity or ''} | {item.description} | "
            f"{item.source_model or ''} | {', '.join(item.training_sets)} |"
        )
    lines += ["", "## Lineage", ""]
    for item in items:
        lines.append(
            f"- `{item.name}` ← {item.source_model}: "
            + ", ".join(f"`{node}`" for node in item.lineage)
        )
    return "\n".join(lines) + "\n"
