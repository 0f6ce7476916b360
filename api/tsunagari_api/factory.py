"""``create_app(settings)``: the FastAPI application, assembled from routers built by factories.

Example::

    from tsunagari_api.factory import create_app
    from tsunagari_api.settings import ApiSettings

    app = create_app(ApiSettings(store="data/build/tsunagari.gpkg"))

The data is opened and checked before the app exists: a missing or broken store raises
:class:`~tsunagari_geo.errors.StoreError` here, not on the first request.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tsunagari_api.catalog import DataHolder, Dataset
from tsunagari_api.errors import (
    PayloadTooLarge,
    UnexpectedErrorMiddleware,
    install_error_handlers,
    problem_response,
)
from tsunagari_api.responses import ResponseCache, accepts_gzip
from tsunagari_api.routers.admin import admin_router
from tsunagari_api.routers.geocode import geocode_router
from tsunagari_api.routers.ogc import collection_router, core_router
from tsunagari_api.routers.tiles import MVT, PMTILES, tiles_router
from tsunagari_api.security import install_cors, install_security
from tsunagari_api.settings import ApiSettings, get_api_settings
from tsunagari_api.supervision import follow_supervisor


class HeadAsGetMiddleware:
    """Answer HEAD as GET without the body (RFC 9110 §9.3.2): routes are declared GET only,
    and PMTiles and HTTP clients probe with HEAD before ranged reads."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


class RelativeRedirectMiddleware:
    """Make every redirect's ``Location`` relative (path and query only).

    Starlette builds the trailing-slash redirect from the request's ``Host`` header, so a
    forged ``Host`` would be echoed into the ``Location`` a cache or a client follows. A
    relative location (RFC 9110 §10.2.2) is resolved against the URL the client asked for.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_relative(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, _relative(v) if k.lower() == b"location" else v)
                    for k, v in message.get("headers", [])
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_relative)


def _relative(location: bytes) -> bytes:
    parts = urlsplit(location.decode("latin-1"))
    path = parts.path or "/"
    # "//evil" would be read as another host: keep one leading slash.
    path = "/" + path.lstrip("/")
    return (path + (f"?{parts.query}" if parts.query else "")).encode("latin-1")


class NegotiatedGZipMiddleware(GZipMiddleware):
    """Starlette's gzip, reading Accept-Encoding by RFC 9110: ``gzip;q=0`` or only other
    codings get the identity encoding, ``*`` gets gzip. The header is rewritten to what was
    decided (``gzip`` or nothing) for everything inside."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = [v for k, v in scope.get("headers", []) if k == b"accept-encoding"]
            if raw:
                headers = [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]
                if accepts_gzip(b",".join(raw).decode("latin-1")):
                    headers.append((b"accept-encoding", b"gzip"))
                scope = {**scope, "headers": headers}
        await super().__call__(scope, receive, send)


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        too_large = PayloadTooLarge(
            f"リクエストの本文は {self.max_bytes} バイトまでです。分けて送ってください"
        )
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await problem_response(too_large, scope.get("path"))(scope, receive, send)
            return
        received = 0
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _TooLarge()
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # The body parser caught _TooLarge and answers "cannot parse" (400); the
                # client must hear the real reason instead, once, and nothing else.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await problem_response(too_large, scope.get("path"))(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await problem_response(too_large, scope.get("path"))(scope, receive, send)


class _TooLarge(Exception):
    pass


def _nullable_30(schema: Any) -> Any:
    """Rewrite pydantic's JSON Schema 2020-12 idioms into OpenAPI 3.0's dialect.

    ``anyOf: [X, {type: null}]`` becomes X with ``nullable: true``; ``const`` becomes a
    one-value ``enum``; ``examples`` becomes ``example``; numeric ``exclusiveMinimum`` and
    ``exclusiveMaximum`` become the boolean form.
    """
    if isinstance(schema, list):
        return [_nullable_30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _nullable_30(v) for k, v in schema.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        # Children are already rewritten, so a null option reads {"nullable": true} here.
        null = ({"type": "null"}, {"nullable": True})
        if isinstance(options, list) and any(o in null for o in options):
            rest = [o for o in options if o not in null]
            del out[key]
            if len(rest) == 1:
                only = rest[0]
                if "$ref" in only:
                    out["allOf"] = [only]
                else:
                    out.update(only)
            else:
                out[key] = rest
            out["nullable"] = True
    if out.get("type") == "null":
        out.pop("type")
        out["nullable"] = True
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if "examples" in out and isinstance(out["examples"], list) and "type" in out:
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    for key, flag in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(key), (int, float)) and not isinstance(out.get(key), bool):
            out[flag] = out.pop(key)
            out[key] = True
    return out


def _openapi_30(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document in version 3.0.3, with 422 replaced by the 400 problem we send."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        openapi_version="3.0.3",
    )
    document = copy.deepcopy(document)
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            if "422" in responses:
                del responses["422"]
                responses.setdefault(
                    "400",
                    {
                        "description": "Bad request (RFC 7807 problem)",
                        "content": {
                            "application/problem+json": {
                                "schema": {"$ref": "#/components/schemas/Problem"}
                            }
                        },
                    },
                )
            # A route without its own 404 can still be asked for a path it does not have.
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    if "Problem" not in schemas:
        from tsunagari_api.errors import Problem

        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    document = _nullable_30(document)
    app.openapi_schema = document
    return document


def create_app(settings: ApiSettings | None = None, dataset: Dataset | None = None) -> FastAPI:
    """Assemble the service for ``settings`` (default: from the environment).

    ``dataset`` may be passed when already loaded (tests share one across apps). Raises
    StoreError when the store or an existing layer file cannot be opened.
    """
    # A worker of `serve --workers N` stops with its supervisor (no orphan keeps the port).
    follow_supervisor()
    settings = settings or get_api_settings()
    dataset = dataset or Dataset.load(settings)
    region = dataset.region
    app = FastAPI(
        title="つながり 地理空間API (tsunagari-geo)",
        version="0.1.0",
        description="OGC API – Features (Part 1 core, GeoJSON), vector tiles (PMTiles) and "
        f"offline geocoding for the platform of {region.pref_name} against loneliness and "
        "isolation.",
        openapi_url="/api",
        # FastAPI's Swagger page loads its scripts from a public CDN; nothing here may make
        # a visitor's browser call a third party, so the document is served as JSON only.
        docs_url=None,
        redoc_url=None,
    )
    app.openapi = lambda: _openapi_30(app)  # type: ignore[method-assign]
    app.state.settings = settings
    holder = DataHolder(dataset, stamp=settings.stamp_path())
    holder.follow_publications(settings)
    app.state.holder = holder
    cache = ResponseCache(settings.response_cache_bytes)
    app.state.response_cache = cache

    install_error_handlers(app)
    app.include_router(core_router(settings))
    for spec in dataset.specs.values():
        collection = dataset.collections.get(spec.id)
        example = collection.provider.first_id if collection is not None else None
        app.include_router(collection_router(spec, settings, cache, region, example))
    app.include_router(tiles_router(settings))
    app.include_router(geocode_router(settings, region))
    app.include_router(admin_router(settings, cache))
    from tsunagari_api.routers.pages import pages_router  # the HTML map and dashboard

    app.include_router(pages_router(settings))

    # Added innermost first. From the outside in: HEAD as GET, security headers, CORS, the
    # 500 for unexpected errors, the body size limit, gzip. Every response the app or a
    # middleware makes (413, 500, preflight) passes through CORS and the security headers.
    app.add_middleware(
        NegotiatedGZipMiddleware,
        minimum_size=settings.gzip_min_bytes,
        compresslevel=5,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, PMTILES, MVT),
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(UnexpectedErrorMiddleware)
    install_cors(app, settings)
    install_security(app)
    app.add_middleware(RelativeRedirectMiddleware)
    app.add_middleware(HeadAsGetMiddleware)
    return app
