"""Online feature retrieval in Feast's request and response shape, shared by the HTTP server
and the in-process SDK.

Request: `entities` maps the join key to a list of ids; `features` lists `view:feature`
references, or `feature_service` names a training task (its features); `full_feature_names`
names the columns `view__feature`. Response, column-wise as Feast's feature server returns it:
`metadata.feature_names` (the join key first), then one `results` entry per name with `values`,
`statuses` and `event_timestamps` across the requested entities, in request order.

Feature names are resolved against the catalog the current version was published with; they
are never put into a query.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import orjson

from .store import OnlineStore, VersionInfo

EPOCH = "1970-01-01T00:00:00Z"
PRESENT = "PRESENT"
NOT_FOUND = "NOT_FOUND"
NULL_VALUE = "NULL_VALUE"
OUTSIDE_MAX_AGE = "OUTSIDE_MAX_AGE"
REQUEST_KEYS = {"entities", "features", "feature_service", "full_feature_names"}
ACCEPTED_KEYS = REQUEST_KEYS | {"include_feature_view_version_metadata"}
MIN_KEY = -(2**63)
MAX_KEY = 2**63 - 1


class RequestError(ValueError):
    """A request the service cannot answer; `status` is the HTTP status to return."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Plan:
    """A resolved feature list for one version: output names and vector positions, and `pick`,
    which takes the requested values out of a decoded vector as a tuple, in one C call."""

    names: list[str]
    positions: list[int]
    features: list[str]
    pick: Callable[[list[Any]], tuple[Any, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.positions) == 1:
            position = self.positions[0]
            pick = lambda row: (row[position],)  # noqa: E731 - itemgetter of one is no tuple
        else:
            pick = itemgetter(*self.positions) if self.positions else lambda row: ()
        object.__setattr__(self, "pick", pick)


def _timestamp(info: VersionInfo) -> str:
    return info.as_of + "Z" if "T" in info.as_of else info.as_of.replace(" ", "T") + "Z"


class FeatureService:
    """Answers get-online-features requests from one store."""

    def __init__(
        self,
        store: OnlineStore,
        *,
        max_age_hours: float | None = None,
        request_log: Any = None,
        clock=time.time,
    ):
        self.store = store
        self.max_age_override = max_age_hours
        self.request_log = request_log
        self.clock = clock
        self._plans: dict[tuple, Plan] = {}
        self._stamps: dict[str, str] = {}
        self._last_info: VersionInfo | None = None

    def max_age_hours(self, info: VersionInfo) -> float | None:
        if self.max_age_override is not None:
            return self.max_age_override
        return info.extra.get("max_age_hours")

    def max_entities(self, info: VersionInfo | None) -> int:
        if info is None:
            return 1000
        return int(info.extra.get("max_entities_per_request") or 1000)

    def plan(
        self,
        info: VersionInfo,
        features: list[str] | None,
        feature_service: str | None,
        full_feature_names: bool,
    ) -> Plan:
        cache_key = (
            info.version,
            tuple(features) if features else None,
            feature_service,
            full_feature_names,
        )
        cached = self._plans.get(cache_key)
        if cached is not None:
            return cached
        index = {name: position for position, name in enumerate(info.feature_names)}
        if feature_service is not None:
            if features:
                raise RequestError("Give either `features` or `feature_service`, not both.", 400)
            services = info.extra.get("services") or {}
            if feature_service not in services:
                raise RequestError(
                    f"Unknown feature service {feature_service!r} (known: "
                    f"{', '.join(sorted(services)) or 'none'}).",
                    404,
                )
            wanted = list(services[feature_service])
        else:
            if not features:
                raise RequestError(
                    "The body names no features: give `features` (a list of "
                    f"'{info.view}:<feature>') or `feature_service`.",
                    400,
                )
            wanted = []
            unknown = []
            for reference in features:
                if not isinstance(reference, str):
                    raise RequestError(
                        f"Feature reference {reference!r} is not a string 'view:feature'.", 422
                    )
                view, _, name = reference.rpartition(":")
                if view != info.view or name not in index:
                    unknown.append(reference)
                else:
                    wanted.append(name)
            if unknown:
                raise RequestError(
                    f"Unknown feature(s): {', '.join(unknown)}. Served: "
                    f"'{info.view}:<feature>' for a feature listed by GET /features.",
                    404,
                )
        names = [info.entity_column] + [
            f"{info.view}__{name}" if full_feature_names else name for name in wanted
        ]
        plan = Plan(names=names, positions=[index[name] for name in wanted], features=wanted)
        if len(self._plans) > 1024:
            self._plans.clear()
        self._plans[cache_key] = plan
        return plan

    def check_keys(self, info: VersionInfo | None, entities: Any) -> tuple[str, list[Any]]:
        if not isinstance(entities, dict) or not entities:
            raise RequestError(
                "`entities` must be an object mapping the join key to a list of ids.", 422
            )
        join_key = info.entity_column if info else None
        if len(entities) != 1 or (join_key and join_key not in entities):
            raise RequestError(
                f"Unknown join key(s) {', '.join(map(repr, entities))}: this store serves "
                f"entities by {join_key!r}.",
                422,
            )
        key, ids = next(iter(entities.items()))
        if not isinstance(ids, list) or not ids:
            raise RequestError(f"`entities.{key}` must be a non-empty list of ids.", 422)
        limit = self.max_entities(info)
        if len(ids) > limit:
            raise RequestError(
                f"{len(ids)} entities in one request; the limit is {limit} "
                "(max_entities_per_request in the serving model's YAML). Split the request.",
                413,
            )
        integer = info is not None and info.key_type == "integer"
        # The common case at C speed (every id of the right type, integers within SQLite's and
        # JSON's 64 bits); the loop below only runs to name the first wrong id.
        if integer:
            if (
                all(type(value) is int for value in ids)
                and MIN_KEY <= min(ids) <= max(ids) <= MAX_KEY
            ):
                return key, ids
        elif all(type(value) is str for value in ids):
            return key, ids
        for position, value in enumerate(ids):
            ok = (
                (
                    isinstance(value, int)
                    and not isinstance(value, bool)
                    and MIN_KEY <= value <= MAX_KEY
                )
                if integer
                else isinstance(value, str)
            )
            if not ok:
                expected = "a 64-bit integer" if integer else "a string"
                raise RequestError(
                    f"`entities.{key}[{position}]` is {value!r}: each {key} must be {expected}.",
                    422,
                )
        return key, ids

    def lookup(
        self,
        entities: Any,
        features: list[str] | None,
        feature_service: str | None,
        full_feature_names: bool,
    ) -> tuple[VersionInfo, Plan, list[Any], list[bytes | None]]:
        """Validate, read the vectors of one version, resolve the feature list against it."""
        # Key type and limits of the last version seen (re-read when unknown): one store
        # round trip per request, the lookup, which resolves the version itself.
        _, ids = self.check_keys(self._last_info or self.store.current(), entities)
        info, vectors = self.store.lookup(ids)
        self._last_info = info
        return info, self.plan(info, features, feature_service, full_feature_names), ids, vectors

    def get_online_features(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise RequestError("The body must be a JSON object.", 400)
        unknown = set(body) - ACCEPTED_KEYS
        if unknown:
            raise RequestError(
                f"Unknown request field(s): {', '.join(sorted(unknown))} (accepted: "
                f"{', '.join(sorted(ACCEPTED_KEYS))}).",
                422,
            )
        if "entities" not in body:
            raise RequestError("The body has no `entities`.", 422)
        full = body.get("full_feature_names", False)
        if not isinstance(full, bool):
            raise RequestError("`full_feature_names` must be true or false.", 422)
        features = body.get("features")
        if features is not None and not isinstance(features, list):
            raise RequestError("`features` must be a list of 'view:feature' strings.", 422)
        service = body.get("feature_service")
        if service is not None and not isinstance(service, str):
            raise RequestError("`feature_service` must be a string.", 422)
        info, plan, ids, vectors = self.lookup(body["entities"], features, service, full)
        requested_at = self.clock()
        response = self.respond(info, plan, ids, vectors, requested_at)
        if self.request_log is not None:
            self.request_log.record(requested_at, info, plan.features, plan.positions, ids, vectors)
        return response

    def respond(
        self,
        info: VersionInfo,
        plan: Plan,
        ids: list[Any],
        vectors: list[bytes | None],
        now: float,
    ) -> dict[str, Any]:
        count = len(ids)
        max_age = self.max_age_hours(info)
        stale = max_age is not None and (now - info.as_of_epoch) > max_age * 3600.0
        stamp = self._stamps.get(info.version)
        if stamp is None:
            stamp = self._stamps[info.version] = _timestamp(info)
        results: list[dict[str, Any]] = [
            {
                "values": list(ids),
                "statuses": [PRESENT] * count,
                "event_timestamps": [EPOCH] * count,
            }
        ]
        present = OUTSIDE_MAX_AGE if stale else PRESENT
        if None not in vectors:
            # Every entity found: decode and transpose the vectors once, at C speed.
            columns = list(zip(*map(orjson.loads, vectors), strict=True))
            stamps = [stamp] * count
            for position in plan.positions:
                values = list(columns[position])
                statuses = (
                    [present] * count
                    if None not in values
                    else [present if value is not None else NULL_VALUE for value in values]
                )
                results.append({"values": values, "statuses": statuses, "event_timestamps": stamps})
        else:
            decoded = [orjson.loads(vector) if vector is not None else None for vector in vectors]
            stamps = [stamp if row is not None else EPOCH for row in decoded]
            for position in plan.positions:
                values = [row[position] if row is not None else None for row in decoded]
                statuses = [
                    NOT_FOUND if row is None else (NULL_VALUE if value is None else present)
                    for row, value in zip(decoded, values, strict=True)
                ]
                results.append({"values": values, "statuses": statuses, "event_timestamps": stamps})
        return {"metadata": {"feature_names": plan.names}, "results": results}

    def catalog(self) -> dict[str, Any]:
        info = self.store.current()
        if info is None:
            return {"view": None, "features": [], "feature_services": {}}
        descriptions = info.extra.get("descriptions") or {}
        return {
            "view": info.view,
            "entity": info.extra.get("entity"),
            "join_key": info.entity_column,
            "version": info.version,
            "as_of": info.as_of,
            "definition_hash": info.definition_hash,
            "features": [
                {
                    "name": name,
                    "reference": f"{info.view}:{name}",
                    "view": info.view,
                    "type": data_type,
                    "description": descriptions.get(name, ""),
                }
                for name, data_type in zip(info.feature_names, info.feature_types, strict=True)
            ],
            "feature_services": info.extra.get("services") or {},
        }

    def health(self) -> dict[str, Any]:
        report: dict[str, Any] = {"store": self.store.url.split("@")[-1]}
        try:
            self.store.ping()
            info = self.store.current()
        except Exception as error:  # the store's own errors, reported as they are
            report.update(status="unavailable", store_reachable=False, error=str(error))
            return report
        report["store_reachable"] = True
        if info is None:
            report.update(status="empty", error="No version materialized yet.")
            return report
        now = self.clock()
        staleness = now - info.as_of_epoch
        max_age = self.max_age_hours(info)
        stale = max_age is not None and staleness > max_age * 3600.0
        report.update(
            status="stale" if stale else "ok",
            version=info.version,
            as_of=info.as_of,
            build_id=info.build_id,
            definition_hash=info.definition_hash,
            entities=info.entities,
            staleness_seconds=round(staleness, 3),
            max_age_hours=max_age,
            checked_at=datetime.now(UTC).isoformat(),
        )
        if self.request_log is not None:
            log = self.request_log.status()
            report["request_log"] = log
            if not log.get("ok", True):
                report["status"] = "degraded"
        return report
