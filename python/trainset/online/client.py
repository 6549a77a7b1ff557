"""In-process feature lookup against the online store, for models that run next to it.

`get_features({"customer_id": [1, 2]}, ["customer_features:orders_count_30d"])` returns the
values column-wise, like Feast's `get_online_features(...).to_dict()`: the join key, then one
list per feature, in request order (None for an unknown entity or a null value). The same
validation and feature resolution as the HTTP server, without the HTTP.
"""

from __future__ import annotations

import threading
from typing import Any

from orjson import loads

from ..project import find_project_dir
from .service import FeatureService
from .store import OnlineStore, default_store_url, open_store

_services: dict[str, FeatureService] = {}
_lock = threading.Lock()


def _service(store: OnlineStore | str | None) -> FeatureService:
    if isinstance(store, OnlineStore):
        key = f"object:{id(store)}"
        with _lock:
            if key not in _services:
                _services[key] = FeatureService(store)
            return _services[key]
    url = store or default_store_url(find_project_dir())
    with _lock:
        if url not in _services:
            _services[url] = FeatureService(open_store(url))
        return _services[url]


def get_features(
    entities: dict[str, list[Any]],
    features: list[str] | None = None,
    *,
    feature_service: str | None = None,
    full_feature_names: bool = False,
    store: OnlineStore | str | None = None,
) -> dict[str, list[Any]]:
    """Feature values of `entities` from the current version of the online store."""
    service = _service(store)
    if not isinstance(full_feature_names, bool):
        raise TypeError("full_feature_names must be True or False.")
    _, ids = service.check_keys(service._last_info or service.store.current(), entities)
    info, vectors = service.store.lookup(ids)
    service._last_info = info
    plan = service.plan(info, features, feature_service, full_feature_names)
    result: dict[str, list[Any]] = {plan.names[0]: list(ids)}
    if len(vectors) == 1:
        row = loads(vectors[0]) if vectors[0] is not None else None
        for name, position in zip(plan.names[1:], plan.positions, strict=True):
            result[name] = [row[position] if row is not None else None]
        return result
    rows = [loads(vector) if vector is not None else None for vector in vectors]
    for name, position in zip(plan.names[1:], plan.positions, strict=True):
        result[name] = [row[position] if row is not None else None for row in rows]
    return result


def get_online_response(body: dict[str, Any], store: OnlineStore | str | None = None) -> dict:
    """The full Feast-shaped response (values, statuses, event timestamps) for a request body."""
    return _service(store).get_online_features(body)
