"""Security headers on every response, and CORS without credentials.

:class:`SecurityHeadersMiddleware` adds, unless the route set its own:

* ``X-Content-Type-Options: nosniff`` (a GeoJSON body is never run as a script),
* ``Referrer-Policy: no-referrer`` (the 地理院タイル server is not told which page, e.g. which
  municipality's support, a visitor looked at),
* ``X-Frame-Options: DENY`` and ``frame-ancestors 'none'`` (no clickjacking in a frame),
* ``Cross-Origin-Opener-Policy: same-origin``,
* ``Permissions-Policy`` keeping only geolocation, for 近くの活動, on the page's own origin,
* ``Content-Security-Policy: default-src 'none'`` for everything that is not a page: JSON,
  tiles and downloads load nothing. The pages carry their own policy
  (:func:`page_policy`), with hashes of their inline scripts instead of ``'unsafe-inline'``.

:func:`token_matches` is the one comparison of a bearer token, in constant time, for the
planners' view and ``/admin/reload`` alike.

:func:`install_cors` allows the configured origins only, and never with credentials: the
planners' token travels in the ``Authorization`` header the client sets itself, so no cookie
or browser-held login is ever offered to another origin, and ``*`` stays safe.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tsunagari_api.errors import CorsRefused, problem_response
from tsunagari_api.settings import ApiSettings
from tsunagari_geo.maps.csp import content_security_policy, origin_of
from tsunagari_geo.maps.settings import MapSettings

#: Headers added to every response (a route's own value wins).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=(), payment=()",
}
#: The policy of anything that is not a page: it loads nothing and may not be framed.
NON_PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


class SecurityHeadersMiddleware:
    """Add :data:`SECURITY_HEADERS` and a default CSP to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = NON_PAGE_POLICY
            await send(message)

        await self.app(scope, receive, with_headers)


def token_matches(given: str, expected: str) -> bool:
    """Whether ``given`` is the configured token, in time independent of both.

    Both sides are hashed first so that even their lengths do not show in the timing
    (``hmac.compare_digest`` itself returns early on unequal lengths).
    """
    return hmac.compare_digest(
        hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


def page_policy(html: str, look: MapSettings) -> str:
    """The Content-Security-Policy of one rendered page under the map settings ``look``."""
    images = (origin_of(look.gsi_tile_url),) if look.basemap == "gsi" else ()
    return content_security_policy(html, images)


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, answering a refused preflight with problem+json like every other
    error (Starlette sends "Disallowed CORS origin" as text/plain)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS").strip()
        problem = problem_response(
            CorsRefused(
                f"この要求元からのクロスオリジン要求は許可されていません（{refused}）",
                parameter="Origin",
                value=request_headers.get("origin"),
            )
        )
        problem.headers["Vary"] = "Origin"
        return problem


def install_cors(app: FastAPI, settings: ApiSettings) -> None:
    """Allow cross-origin reads from ``settings.cors_origins`` only (none: same origin only).

    Credentials are never allowed (see the module docstring), whatever the origins.
    """
    if not settings.cors_origins:
        return
    app.add_middleware(
        ProblemCORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=False,
        allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "If-None-Match", "Range"],
        expose_headers=["ETag", "Content-Range", "Accept-Ranges", "Content-Length"],
        max_age=600,
    )


def install_security(app: FastAPI) -> None:
    """Add the security headers as the outermost layer, so every response carries them
    (413s from the body limit and CORS preflights included). Call after every other
    middleware."""
    app.add_middleware(SecurityHeadersMiddleware)
