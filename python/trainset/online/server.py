"""The HTTP feature server: Feast's `POST /get-online-features`, plus `/health` and `/features`.

Settings come from the environment, so that `uvicorn --workers N` can build the app in each
worker: TRAINSET_ONLINE_STORE (SQLite path or redis:// URL), TRAINSET_ONLINE_LOG_DIR (request
log folder; unset: no log), TRAINSET_ONLINE_API_KEY (when set, every route but `/health` and the
docs needs `Authorization: Bearer <key>` or `X-API-Key: <key>`), TRAINSET_ONLINE_MAX_AGE_HOURS
(overrides the serving model's `max_age_hours`), TRAINSET_ONLINE_LOG_FLUSH_SECONDS (5).

Bodies are parsed and written with orjson, not through pydantic models (they cost more than the
lookup itself); the request model below only documents the body in the OpenAPI schema.
"""

from __future__ import annotations

import hmac
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ..project import find_project_dir
from .request_log import RequestLog
from .service import FeatureService, RequestError
from .store import NotMaterializedError, StoreUnavailableError, default_store_url, open_store


class GetOnlineFeaturesRequest(BaseModel):
    """Feast's request body."""

    entities: dict[str, list[Any]]
    features: list[str] | None = None
    feature_service: str | None = None
    full_feature_names: bool = False
    include_feature_view_version_metadata: bool = False


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def _error_body(status: int, message: str) -> bytes:
    return orjson.dumps({"detail": message, "status_code": status})


def _error(status: int, message: str) -> Response:
    return Response(_error_body(status, message), status_code=status, media_type="application/json")


class FastPath:
    """Answers `POST /get-online-features` before FastAPI's routing, request and response
    objects (which cost more than the lookup); everything else, and the OpenAPI description
    of that route, is FastAPI's."""

    def __init__(self, app: FastAPI, handle):
        self.app = app
        self.handle = handle

    async def __call__(self, scope, receive, send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != "/get-online-features"
            or scope["method"] != "POST"
        ):
            await self.app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        status, payload = self.handle(dict(scope["headers"]), b"".join(chunks))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def create_app(
    store_url: str | None = None,
    log_dir: str | Path | None = None,
    api_key: str | None = None,
    max_age_hours: float | None = None,
) -> FastPath:
    store_url = store_url or default_store_url(_project_dir())
    log_dir = log_dir or os.environ.get("TRAINSET_ONLINE_LOG_DIR") or None
    api_key = api_key or os.environ.get("TRAINSET_ONLINE_API_KEY") or None
    if max_age_hours is None and os.environ.get("TRAINSET_ONLINE_MAX_AGE_HOURS"):
        max_age_hours = float(os.environ["TRAINSET_ONLINE_MAX_AGE_HOURS"])
    store = open_store(store_url)
    flush_seconds = float(os.environ.get("TRAINSET_ONLINE_LOG_FLUSH_SECONDS") or 5.0)
    request_log = RequestLog(log_dir, flush_seconds=flush_seconds) if log_dir else None
    service = FeatureService(store, max_age_hours=max_age_hours, request_log=request_log)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        if request_log is not None:
            request_log.close()
        store.close()

    app = FastAPI(
        title="trainset feature server",
        description="Online features in Feast's request and response shape, computed by the same "
        "definitions as the training sets.",
        lifespan=lifespan,
    )
    app.state.service = service
    expected = api_key.encode() if api_key else None

    def authorized_headers(headers: dict[bytes, bytes]) -> bool:
        if expected is None:
            return True
        key = headers.get(b"x-api-key") or b""
        bearer = headers.get(b"authorization") or b""
        if not key and bearer.lower().startswith(b"bearer "):
            key = bearer[7:]
        return hmac.compare_digest(key, expected)

    def authorized(request: Request) -> bool:
        return authorized_headers({key.lower(): value for key, value in request.headers.raw})

    def handle(headers: dict[bytes, bytes], raw: bytes) -> tuple[int, bytes]:
        if not authorized_headers(headers):
            return 401, _error_body(401, "Missing or wrong API key (Authorization: Bearer <key>).")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            return 400, _error_body(400, f"The body is not JSON: {error}")
        try:
            return 200, orjson.dumps(service.get_online_features(body))
        except RequestError as error:
            return error.status, _error_body(error.status, str(error))
        except NotMaterializedError as error:
            return 503, _error_body(503, str(error))
        except StoreUnavailableError as error:
            return 503, _error_body(503, f"Online store unavailable, retry later: {error}")

    @app.post(
        "/get-online-features",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": GetOnlineFeaturesRequest.model_json_schema()}
                },
            }
        },
        summary="Feature vectors of the given entities (Feast's feature-server shape)",
    )
    async def get_online_features(request: Request) -> Response:
        # Served by FastPath; kept for the OpenAPI description and for direct use of `app`.
        status, payload = handle(
            {key.lower(): value for key, value in request.headers.raw}, await request.body()
        )
        return Response(payload, status_code=status, media_type="application/json")

    @app.get("/health", summary="Store reachable, as_of, staleness, request log")
    async def health() -> Response:
        report = service.health()
        return _json(report, 200 if report.get("status") in {"ok", "degraded"} else 503)

    @app.get("/features", summary="The catalog: every feature with its view, type and description")
    async def features(request: Request) -> Response:
        if not authorized(request):
            return _error(401, "Missing or wrong API key (Authorization: Bearer <key>).")
        try:
            return _json(service.catalog())
        except StoreUnavailableError as error:
            return _error(503, f"Online store unavailable, retry later: {error}")

    return FastPath(app, handle)


def _project_dir() -> Path:
    try:
        return find_project_dir()
    except Exception:
        return Path.cwd()


def serve(
    host: str = "127.0.0.1",
    port: int = 6566,
    workers: int = 1,
    *,
    store_url: str | None = None,
    log_dir: str | None = None,
) -> None:
    """Run the server with uvicorn until interrupted."""
    import uvicorn

    if store_url:
        os.environ["TRAINSET_ONLINE_STORE"] = store_url
    if log_dir:
        os.environ["TRAINSET_ONLINE_LOG_DIR"] = log_dir
    uvicorn.run(
        "trainset.online.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
