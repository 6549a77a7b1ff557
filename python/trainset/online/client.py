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

_services: dict[Any, FeatureService] = {}
_lock = threading.Lock()


def _service(store: OnlineStore | str | None) -> FeatureService:
    # Read without the lock (a dict lookup is atomic); create under it. Without a store, the
    # default one is looked up on each call (TRAINSET_ONLINE_STORE may change).
    key = store if store is not None else default_store_url(find_project_dir())
    service = _services.get(key)
    if service is not None:
        return service
    with _lock:
        if key not in _services:
            # Keyed by the store object itself, or by its URL: it stays open with its service.
            _services[key] = FeatureService(
                key if isinstance(key, OnlineStore) else open_store(key)
            )
        return _services[key]


def get_features(
    entities: dict[str, list[Any]],
    features: list[str] | None = None,
    *,
    feature_service: str | None = None,
    full_feature_names: bool = False,
    store: OnlineStore | str | None = None,
) -> dict[str, list[Any]]:
    """Feature values of `entities` from the current version of the online store.

    The store stays open between calls, with its lookup statements prepared and the feature
    list resolved once per version; each call reads the version pointer in the same statement
    as the vectors, so a new materialization is seen by the next call, whole.
    """
    service = _services.get(store) or _service(store)
    if full_feature_names is not True and full_feature_names is not False:
        raise TypeError("full_feature_names must be True or False.")
    _, plan, ids, vectors = service.lookup(entities, features, feature_service, full_feature_names)
    names = plan.names
    result: dict[str, list[Any]] = {names[0]: list(ids)}
    if len(vectors) == 1:
        if vectors[0] is None:
            for name in names[1:]:
                result[name] = [None]
        else:
            row = loads(vectors[0])
            for name, position in zip(names[1:], plan.positions, strict=True):
                result[name] = [row[position]]
        return result
    # Many entities: one C call per vector picks its values, one transposition makes columns.
    absent = (None,) * len(plan.positions)
    pick = plan.pick
    picked = [pick(loads(vector)) if vector is not None else absent for vector in vectors]
    result.update(zip(names[1:], map(list, zip(*picked, strict=True)), strict=True))
    return result


def get_online_response(body: dict[str, Any], store: OnlineStore | str | None = None) -> dict:
    """The full Feast-shaped response (values, statuses, event timestamps) for a request body."""
    return _service(store).get_online_features(body)
