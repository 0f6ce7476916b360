"""One base exception, one subclass per failure a client can act on, one table to HTTP status.

Every error leaves the service as RFC 7807 ``application/problem+json``: ours, FastAPI's
request validation (reported as 400, as OGC API – Features asks), Starlette's 404/405, and
anything unexpected (500 with a generic message; the traceback goes to the log only). The
500 is made by :class:`UnexpectedErrorMiddleware`, inside the CORS and security-header
middlewares, so it carries their headers like every other response.
``detail`` is Japanese, written for the person who will fix the request.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tsunagari_geo.errors import InputError, StoreError, ValidationError

logger = logging.getLogger("tsunagari_api")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ApiError(Exception):
    """Base of every error the service raises on purpose.

    ``parameter``, ``value`` and ``allowed`` are copied into the problem document so that a
    client can point at the offending input.
    """

    title = "エラー"

    def __init__(
        self,
        detail: str,
        *,
        parameter: str | None = None,
        value: object = None,
        allowed: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail = detail
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        self.headers = headers or {}
        super().__init__(detail)


class InvalidParameter(ApiError):
    """A query parameter or body that cannot be used as given (bbox, limit, filter, sortby)."""

    title = "パラメータが正しくありません"


class CorsRefused(InvalidParameter):
    """A CORS preflight from an origin, method or header this deployment does not allow."""

    title = "クロスオリジン要求は許可されていません"


class NotFound(ApiError):
    """No such path, collection or tileset."""

    title = "見つかりません"


class TileUnavailable(NotFound):
    """A tileset whose archive failed its check, or a tile that cannot be read: not served.

    A 404 that no cache keeps (``Cache-Control: no-store``), so the next build is seen.
    """

    title = "タイルを提供できません"

    def __init__(self, detail: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Cache-Control": "no-store"})
        super().__init__(detail, **kwargs)


class FeatureNotFound(NotFound):
    """No feature with that id in the collection."""


class Unauthorized(ApiError):
    """Missing or wrong bearer token for the planners' view or the admin endpoints."""

    title = "認証が必要です"

    def __init__(self, detail: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="tsunagari"'})
        super().__init__(detail, **kwargs)


class MethodNotAllowed(ApiError):
    """The path exists but not with this HTTP method."""

    title = "このメソッドは使えません"


class PayloadTooLarge(ApiError):
    """The request body exceeds the configured limit."""

    title = "リクエストが大きすぎます"


class RangeNotSatisfiable(ApiError):
    """A ``Range`` header outside the file."""

    title = "指定された範囲は返せません"


class ReloadRefused(ApiError):
    """``POST /admin/reload`` found the new store or layers broken; the old data stays."""

    title = "再読み込みを拒否しました"


class NotBuilt(ApiError):
    """A collection or tileset whose files have not been built yet."""

    title = "まだ作成されていません"


class InternalError(ApiError):
    """Anything unexpected. The client sees a generic message, never the traceback."""

    title = "サーバー内部エラー"


#: The one table from error class to HTTP status (most specific class first wins via MRO).
STATUS: dict[type[ApiError], int] = {
    InvalidParameter: 400,
    Unauthorized: 401,
    NotFound: 404,
    MethodNotAllowed: 405,
    ReloadRefused: 409,
    PayloadTooLarge: 413,
    RangeNotSatisfiable: 416,
    InternalError: 500,
    NotBuilt: 503,
}


def status_of(error: ApiError) -> int:
    """The HTTP status of an error, from :data:`STATUS` by class hierarchy."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


class Problem(BaseModel):
    """An RFC 7807 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", description="A URI naming the problem type.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request and how to fix it.")
    instance: str | None = Field(default=None, description="The request path.")
    parameter: str | None = Field(default=None, description="The offending parameter.")
    allowed: list[str] | None = Field(default=None, description="Values that would work.")


def problem_response(
    error: ApiError, instance: str | None = None, *, status: int | None = None
) -> Response:
    """The problem+json response for ``error`` (``status`` overrides the table's)."""
    status = status or status_of(error)
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": error.title,
        "status": status,
        "detail": error.detail,
    }
    if instance is not None:
        body["instance"] = instance
    if error.parameter is not None:
        body["parameter"] = error.parameter
    if error.value is not None:
        body["value"] = str(error.value)[:200]
    if error.allowed is not None:
        body["allowed"] = [str(a) for a in error.allowed]
    content = Problem.model_validate(body).model_dump_json(exclude_none=True)
    return Response(
        content=content, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=error.headers
    )


#: OpenAPI ``responses`` entry for a problem document, reused by every route.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` mapping documenting problem+json for the given statuses."""
    return {
        s: {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": _DESCRIPTIONS.get(s, "Problem"),
        }
        for s in statuses
    }


_DESCRIPTIONS = {
    400: "Bad request (RFC 7807 problem)",
    401: "Missing or wrong bearer token",
    404: "Not found",
    409: "Reload refused; the previous data stays",
    413: "Request body too large",
    416: "Range not satisfiable",
    503: "Not built yet",
}


_MESSAGES = {
    "greater_than_equal": "{p} は {ge} 以上にしてください",
    "less_than_equal": "{p} は {le} 以下にしてください",
    "greater_than": "{p} は {gt} より大きくしてください",
    "less_than": "{p} は {lt} より小さくしてください",
    "int_parsing": "{p} は整数で指定してください",
    "float_parsing": "{p} は数で指定してください",
    "string_too_short": "{p} が短すぎます（{min_length} 文字以上）",
    "string_too_long": "{p} が長すぎます（{max_length} 文字まで）",
    "json_invalid": "本文が JSON として読めません",
    "model_attributes_type": "本文は JSON オブジェクトにしてください",
    "dict_type": "本文は JSON オブジェクトにしてください",
    "list_type": "{p} は配列にしてください",
    "string_type": "{p} は文字列にしてください",
}


def _validation_detail(exc: RequestValidationError) -> tuple[str, str | None, list[str] | None]:
    """A Japanese sentence for the first validation error, and the parameter and choices."""
    errors = exc.errors()
    if not errors:
        return "リクエストが正しくありません", None, None
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ())]
    where = loc[0] if loc else ""
    # ("query", "theme", 0) names the parameter theme; ("body", "addresses", 3) a body field.
    parameter = ".".join(loc[1:]) if where == "body" else (loc[1] if len(loc) > 1 else where)
    parameter = parameter or "body"
    given = first.get("input")
    ctx = first.get("ctx") or {}
    kind = str(first.get("type", ""))
    if kind == "json_invalid":
        # Its location is a character offset into the body, not a parameter.
        return _MESSAGES[kind], "body", None
    if kind == "missing":
        return f"{parameter} を指定してください", parameter, None
    if kind in ("literal_error", "enum") and "expected" in ctx:
        expected = str(ctx["expected"]).replace(" or ", ", ")
        allowed = [a.strip().strip("'") for a in expected.split(",") if a.strip()]
        return f"{parameter} の値 {given!r} は使えません", parameter, allowed
    template = _MESSAGES.get(kind)
    if template is not None:
        try:
            return template.format(p=parameter, **ctx), parameter, None
        except (KeyError, IndexError):
            pass
    return f"{parameter} の値 {given!r} は使えません", parameter, None


def install_error_handlers(app: FastAPI) -> None:
    """Route every error the app can raise through :func:`problem_response`."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        detail, parameter, allowed = _validation_detail(exc)
        first = exc.errors()[0] if exc.errors() else {}
        # A path segment that does not validate (a tileset name, a zoom) names no resource.
        if first.get("loc", ("",))[0] == "path":
            error: ApiError = NotFound(f"{request.url.path} はありません", parameter=parameter)
        else:
            error = InvalidParameter(detail, parameter=parameter, allowed=allowed)
        return problem_response(error, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        error: ApiError
        if exc.status_code == 404:
            error = NotFound(f"{request.url.path} はありません。/ から辿れるURLを使ってください")
        elif exc.status_code == 405:
            error = MethodNotAllowed(
                f"{request.method} は {request.url.path} では使えません",
                headers=dict(exc.headers or {}),
            )
        else:
            return problem_response(
                ApiError(str(exc.detail)), request.url.path, status=exc.status_code
            )
        return problem_response(error, request.url.path)

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> Response:
        logger.error("store error on %s: %s", request.url.path, exc)
        return problem_response(NotBuilt("データが読み込めません。管理者に連絡してください"))

    @app.exception_handler(InputError)
    @app.exception_handler(ValidationError)
    async def _input(request: Request, exc: InputError | ValidationError) -> Response:
        return problem_response(InvalidParameter(exc.describe()), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Last resort, for a failure in the outer middlewares themselves.
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return _internal_error(request.url.path)


def _internal_error(path: str | None) -> Response:
    return problem_response(
        InternalError("予期しないエラーが発生しました。時間をおいて再度お試しください"), path
    )


class UnexpectedErrorMiddleware:
    """Turn an exception no handler took into the 500 problem, here rather than in
    Starlette's outermost ServerErrorMiddleware, so the response still passes through CORS
    and the security headers. Once a response has started, the exception is re-raised (the
    server closes the connection; there is nothing honest left to send)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started:
                raise
            logger.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            await _internal_error(scope.get("path"))(scope, receive, send)
