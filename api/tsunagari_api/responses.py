"""Finished bodies with ETag, conditional GET (304), gzip and a bounded response cache.

A body is a pure function of (dataset version, URL), so finished bodies are kept in an LRU
cache bounded in bytes, with their ETag and, when first asked for, their gzip form. A full
municipality layer (2.7 MB for 埼玉県) is then served without serialising or compressing again.
ETags are weak (``W/"…"``) because the same entity is sent plain or gzip-encoded.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import Response


@dataclass
class Body:
    """A finished body, its ETag, and its gzip form once computed."""

    content: bytes
    etag: str
    _gzipped: bytes | None = field(default=None, repr=False)

    @classmethod
    def of(cls, content: bytes) -> Body:
        digest = hashlib.blake2b(content, digest_size=16).hexdigest()
        return cls(content=content, etag=f'W/"{digest}"')

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            # Level 5: nearly level 9's size at a third of the time; done once per body.
            self._gzipped = gzip.compress(self.content, compresslevel=5, mtime=0)
        return self._gzipped


class ResponseCache:
    """LRU of finished bodies keyed by (dataset version, URL), bounded by total bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], Body] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get_or_build(self, key: tuple[str, str], build: Callable[[], bytes]) -> Body:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        body = Body.of(build())
        if len(body.content) > self.max_bytes // 4:
            return body  # too large to be worth evicting everything else for
        with self._lock:
            if key not in self._items:
                self._items[key] = body
                self._size += len(body.content)
                while self._size > self.max_bytes and self._items:
                    _, old = self._items.popitem(last=False)
                    self._size -= len(old.content)
        return body

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (RFC 9110 §12.5.3): ``gzip`` (or
    ``x-gzip``) with q > 0, or ``*`` with q > 0 when gzip is not named; ``gzip;q=0`` refuses."""
    weights: dict[str, float] = {}
    for item in header.lower().split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        if not coding:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[coding] = weight
    for coding in ("gzip", "x-gzip", "*"):
        if coding in weights:
            return weights[coding] > 0
    return False


def _accepts_gzip(request: Request) -> bool:
    return accepts_gzip(request.headers.get("accept-encoding", ""))


def _etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    # Weak comparison (RFC 9110 §13.1.2): compare opaque tags, ignoring W/.
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def send_body(
    request: Request,
    body: Body,
    *,
    media_type: str,
    cache_control: str,
    gzip_min_bytes: int = 1000,
    status_code: int = 200,
) -> Response:
    """The response for ``body``: 304 when the client has it, gzip when accepted and worth it."""
    headers = {"ETag": body.etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if _etag_matches(request, body.etag):
        return Response(status_code=304, headers=headers)
    if _accepts_gzip(request) and len(body.content) >= gzip_min_bytes:
        headers["Content-Encoding"] = "gzip"
        return Response(
            body.gzipped(), status_code=status_code, media_type=media_type, headers=headers
        )
    return Response(body.content, status_code=status_code, media_type=media_type, headers=headers)
