"""Query parameters parsed and checked once, as FastAPI dependencies, so routes read simply.

Each maker takes the settings (limits differ between deployments) and returns the dependency.
Bad values raise :class:`InvalidParameter` with a Japanese message naming the parameter.
"""

# No `from __future__ import annotations`: FastAPI must resolve the Annotated
# dependencies built inside the factories, which refer to local variables.

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tsunagari_api.catalog import DataHolder, Dataset
from tsunagari_api.errors import InvalidParameter, Unauthorized
from tsunagari_api.providers import BBox, SortKey
from tsunagari_api.security import token_matches
from tsunagari_api.settings import ApiSettings
from tsunagari_api.temporal import Interval, parse_datetime
from tsunagari_geo.activities.schedule import check_day


def get_dataset(request: Request) -> Dataset:
    """The dataset current when the request started; a reload does not change it mid-request."""
    holder: DataHolder = request.app.state.holder
    return holder.dataset(request.app.state.settings)


def parse_bbox(text: str | None) -> BBox | None:
    """``minLon,minLat,maxLon,maxLat`` (a 6-number 3D bbox drops its heights) in CRS84;
    ``minLon > maxLon`` crosses the antimeridian."""
    if text is None or not text.strip():
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (4, 6):
        raise InvalidParameter(
            "bbox は「最小経度,最小緯度,最大経度,最大緯度」の4つの数で指定してください",
            parameter="bbox",
            value=text,
        )
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise InvalidParameter(
            "bbox には数だけを書いてください", parameter="bbox", value=text
        ) from None
    if not all(math.isfinite(n) for n in numbers):
        raise InvalidParameter("bbox に無限大や NaN は使えません", parameter="bbox", value=text)
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    min_lon, min_lat, max_lon, max_lat = numbers
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise InvalidParameter("bbox の経度は -180〜180 です", parameter="bbox", value=text)
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise InvalidParameter("bbox の緯度は -90〜90 です", parameter="bbox", value=text)
    if min_lat > max_lat:
        raise InvalidParameter(
            "bbox の最小緯度が最大緯度より大きくなっています", parameter="bbox", value=text
        )
    # min_lon > max_lon is a box crossing the antimeridian (OGC API – Features §7.15.3);
    # the provider reads it as two boxes.
    return (min_lon, min_lat, max_lon, max_lat)


def bbox_query(
    bbox: Annotated[
        str | None,
        Query(
            description="Bounding box in CRS84 longitude/latitude: minLon,minLat,maxLon,maxLat.",
            examples=["139.55,35.85,139.70,35.95"],
            max_length=200,
        ),
    ] = None,
) -> BBox | None:
    """The ``bbox`` parameter, parsed."""
    return parse_bbox(bbox)


def datetime_query(
    datetime: Annotated[
        str | None,
        Query(
            description="RFC 3339 instant or interval ('start/end', '..' for an open end). "
            "Collections with a temporal property (activities: last_verified, the date the "
            "entry was last confirmed; dates are whole days in JST) keep the features that "
            "intersect it; collections without one keep every feature.",
            examples=["2025-04-01/.."],
            max_length=100,
        ),
    ] = None,
) -> Interval | None:
    """The ``datetime`` parameter, parsed."""
    return parse_datetime(datetime)


@dataclass(frozen=True)
class Availability:
    """``open_on`` and ``age`` of an activities request: when it is open, whom it accepts.

    Both are answered by :mod:`tsunagari_geo.activities.schedule`, the module the map's
    calendar uses too.
    """

    open_on: dt.date | None = None
    age: int | None = None

    def conditions(self) -> dict[str, object]:
        """The given ones, as the provider's ``where``."""
        return {k: v for k, v in (("open_on", self.open_on), ("age", self.age)) if v is not None}


def parse_open_on(text: str | None) -> dt.date | None:
    """``open_on=YYYY-MM-DD``: a calendar day in Japan."""
    if text is None:
        return None
    value = text.strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidParameter(
            "open_on は日付を YYYY-MM-DD（例: 2026-12-05）で指定してください",
            parameter="open_on",
            value=text,
        ) from None
    try:
        return check_day(day)
    except ValueError as exc:
        raise InvalidParameter(f"open_on は{exc}", parameter="open_on", value=text) from None


def availability_query(
    open_on: Annotated[
        str | None,
        Query(
            description="Keep activities whose schedule (RFC 5545 rrule) has an occurrence on "
            "this day (YYYY-MM-DD, a calendar day in Japan, 2000-01-01 to 2099-12-31). "
            "Activities with no rrule never match.",
            examples=["2026-12-05"],
            max_length=20,
        ),
    ] = None,
    age: Annotated[
        int | None,
        Query(
            ge=0,
            le=120,
            description="Keep activities that accept someone of this age in years: "
            "minimum_age ≤ age ≤ maximum_age, a missing bound being no limit.",
            examples=[15],
        ),
    ] = None,
) -> Availability:
    """The ``open_on`` and ``age`` parameters, parsed."""
    return Availability(parse_open_on(open_on), age)


def no_availability() -> Availability:
    """For collections without ``open_on``/``age``: no condition (and no parameter)."""
    return Availability()


def parse_sortby(text: str | None) -> list[SortKey]:
    """``sortby=+name,-pop_total`` (``+`` or nothing ascending, ``-`` descending)."""
    if text is None or not text.strip():
        return []
    keys = []
    for part in text.split(","):
        term = part.strip()
        if not term or term in "+-":
            raise InvalidParameter(
                "sortby は「項目名」か「-項目名」をカンマで区切って書いてください",
                parameter="sortby",
                value=text,
            )
        descending = term.startswith("-")
        keys.append(SortKey(term.lstrip("+-").strip(), descending))
    return keys


def sortby_query(
    sortby: Annotated[
        str | None,
        Query(description="Properties to sort by, comma-separated; prefix '-' for descending."),
    ] = None,
) -> list[SortKey]:
    """The ``sortby`` parameter, parsed."""
    return parse_sortby(sortby)


#: Largest ``simplify`` tolerance, in degrees (about 2 km): coarser outlines stop being
#: recognisable at the zooms where a municipality fills the screen.
MAX_SIMPLIFY = 0.02


@dataclass(frozen=True)
class Shape:
    """What each returned feature carries: ``properties`` (None: all) and ``simplify``."""

    properties: tuple[str, ...] | None = None
    simplify: float | None = None


def parse_properties(text: str | None) -> tuple[str, ...] | None:
    """``properties=code,name``: the properties to return (OGC API Features Part 6)."""
    if text is None:
        return None
    return tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))


def parse_simplify(value: float | None) -> float | None:
    """``simplify`` in degrees, 0 ≤ value ≤ :data:`MAX_SIMPLIFY`; 0 means as stored."""
    if value is None or value == 0:
        return None
    if not math.isfinite(value) or not 0 < value <= MAX_SIMPLIFY:
        raise InvalidParameter(
            f"simplify は 0 から {MAX_SIMPLIFY} までの度単位の数で指定してください",
            parameter="simplify",
            value=str(value),
        )
    return value


def shape_query(
    properties: Annotated[
        str | None,
        Query(
            description="Return only these properties, comma-separated (the id is always "
            "returned); empty returns the id only.",
            examples=["code,name"],
            max_length=2000,
        ),
    ] = None,
    simplify: Annotated[
        float | None,
        Query(
            description="Simplify polygon geometries with this tolerance in degrees "
            f"(0–{MAX_SIMPLIFY}, rounded to 0.00001; 0.0002 is about 20 m). Shared borders "
            "stay shared; points are unchanged.",
            examples=[0.0002],
        ),
    ] = None,
) -> Shape:
    """The ``properties`` and ``simplify`` parameters, parsed."""
    return Shape(parse_properties(properties), parse_simplify(simplify))


@dataclass(frozen=True)
class Paging:
    """``limit`` and ``offset`` of an items request."""

    limit: int
    offset: int


def make_paging(settings: ApiSettings) -> Callable[..., Paging]:
    """The paging dependency with this deployment's default and maximum ``limit``."""

    def paging(
        limit: Annotated[
            int,
            Query(
                ge=1,
                le=settings.max_limit,
                description=f"Items per page (1–{settings.max_limit}).",
            ),
        ] = settings.default_limit,
        offset: Annotated[
            int, Query(ge=0, le=2**31 - 1, description="Items to skip (0 is the first).")
        ] = 0,
    ) -> Paging:
        return Paging(limit=limit, offset=offset)

    return paging


bearer = HTTPBearer(auto_error=False, description="The token set in TSUNAGARI_TOKEN.")


def make_require_token(settings: ApiSettings) -> Callable[..., None]:
    """The dependency that refuses (401) unless the request carries the configured token."""

    def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if settings.token is None or not settings.token.get_secret_value():
            raise Unauthorized(
                "このサーバーにはトークンが設定されていないため、この操作はできません"
                "（TSUNAGARI_TOKEN を設定してください）"
            )
        if credentials is None:
            raise Unauthorized("Authorization: Bearer <トークン> ヘッダーを付けてください")
        if not token_matches(credentials.credentials, settings.token.get_secret_value()):
            raise Unauthorized("トークンが正しくありません")

    return require_token
