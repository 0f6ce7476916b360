"""OGC API – Features Part 1 (core, GeoJSON, OpenAPI 3.0): landing page to single feature.

Each collection gets its own three routes from :func:`collection_router`, so the OpenAPI
document lists every collection's filters with their allowed values.
"""

# No `from __future__ import annotations`: FastAPI must resolve the Annotated
# dependencies built inside the factories, which refer to local variables.

import datetime as dt
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from tsunagari_api.catalog import COLLECTIONS, CollectionSpec, Dataset, filter_vocabulary
from tsunagari_api.dependencies import (
    Availability,
    Paging,
    Shape,
    availability_query,
    bbox_query,
    datetime_query,
    get_dataset,
    make_paging,
    make_require_token,
    no_availability,
    parse_open_on,
    shape_query,
    sortby_query,
)
from tsunagari_api.errors import InvalidParameter, NotBuilt, problem_responses
from tsunagari_api.models import (
    Calendar,
    CollectionInfo,
    Collections,
    Conformance,
    Extent,
    Feature,
    FeatureCollection,
    LandingPage,
    Link,
    SpatialExtent,
    TemporalExtent,
)
from tsunagari_api.providers import BBox, SortKey
from tsunagari_api.responses import Body, ResponseCache, send_body
from tsunagari_api.settings import ApiSettings
from tsunagari_api.temporal import Interval
from tsunagari_geo.activities.schedule import open_days, today
from tsunagari_geo.region import Region

GEOJSON = "application/geo+json"
JSON = "application/json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _collection_info(
    request: Request, spec: CollectionSpec, dataset: Dataset
) -> CollectionInfo | None:
    collection = dataset.collections.get(spec.id)
    spec = dataset.specs[spec.id]  # worded for the region of the data being served
    base = _base(request)
    links = [
        Link(href=f"{base}/collections/{spec.id}", rel="self", type=JSON, title=spec.title),
        Link(
            href=f"{base}/collections/{spec.id}/items", rel="items", type=GEOJSON, title=spec.title
        ),
    ]
    if collection is None:
        return None
    if spec.protected:
        # The collection list is public: nothing derived from the planners' data (its extent
        # would reach a hidden activity's exact point, its filter values name its places).
        return CollectionInfo(
            id=spec.id,
            title=spec.title,
            description=spec.description,
            links=links,
            extent=None,
            numberOfFeatures=None,
            requiresToken=True,
            filters={},
        )
    spatial = collection.provider.extent
    temporal = collection.provider.temporal_extent
    extent = None
    if spatial or temporal:
        extent = Extent(
            spatial=SpatialExtent(bbox=[list(spatial)]) if spatial else None,
            temporal=TemporalExtent(interval=[list(temporal)]) if temporal else None,
        )
    return CollectionInfo(
        id=spec.id,
        title=spec.title,
        description=spec.description,
        links=links,
        extent=extent,
        numberOfFeatures=collection.provider.count,
        requiresToken=False,
        filters={p: sorted(v) for p, v in collection.provider.filters.items()},
    )


def core_router(settings: ApiSettings) -> APIRouter:
    """Landing page, conformance and the list of collections."""
    router = APIRouter(tags=["OGC API – Features"])
    cache = f"public, max-age={settings.cache_max_age}"

    def _json(request: Request, model: Any) -> Response:
        body = Body.of(model.model_dump_json(exclude_none=True).encode())
        return send_body(request, body, media_type=JSON, cache_control=cache)

    @router.get("/", response_model=LandingPage, summary="Landing page")
    def landing(request: Request, dataset: Annotated[Dataset, Depends(get_dataset)]) -> Response:
        base = _base(request)
        page = LandingPage(
            title="つながり 地理空間API",
            description=f"{dataset.region.pref_name} 孤独・孤立対策官民連携プラットフォームの"
            "活動・相談窓口・充足状況を OGC API – Features（GeoJSON）とベクタータイルで"
            "提供します。",
            attribution=" / ".join(dataset.attribution),
            links=[
                Link(href=f"{base}/", rel="self", type=JSON, title="このページ"),
                Link(
                    href=f"{base}/api",
                    rel="service-desc",
                    type="application/vnd.oai.openapi+json;version=3.0",
                    title="OpenAPI 3.0",
                ),
                Link(href=f"{base}/conformance", rel="conformance", type=JSON, title="適合クラス"),
                Link(href=f"{base}/collections", rel="data", type=JSON, title="コレクション"),
            ],
        )
        return _json(request, page)

    @router.get("/conformance", response_model=Conformance, summary="Conformance classes")
    def conformance(request: Request) -> Response:
        return _json(request, Conformance(conformsTo=CONFORMANCE))

    @router.get("/collections", response_model=Collections, summary="Collections")
    def collections(
        request: Request, dataset: Annotated[Dataset, Depends(get_dataset)]
    ) -> Response:
        base = _base(request)
        infos = [
            info
            for spec in COLLECTIONS
            if (info := _collection_info(request, spec, dataset)) is not None
        ]
        body = Collections(
            links=[Link(href=f"{base}/collections", rel="self", type=JSON)], collections=infos
        )
        return _json(request, body)

    return router


def _filter_help(param: str, spec: CollectionSpec, region: Region) -> str:
    """The OpenAPI description of one filter parameter."""
    if param != "muni_code":
        return (
            f"Keep features whose {spec.filters[param]} has this value; "
            "repeat the parameter for several values (OR)."
        )
    cities = region.designated_city_codes
    wards = f"a designated city's code ({', '.join(cities)}) matches its wards; " if cities else ""
    return (
        "Keep features located in, or serving, this municipality or ward "
        f"({wards}prefecture-wide services match every code); repeat for several (OR)."
    )


#: Query parameters every items request may carry besides its collection's filters.
_ITEM_PARAMETERS = frozenset(
    {"limit", "offset", "bbox", "datetime", "sortby", "properties", "simplify", "f"}
)
_JSON_FORMATS = frozenset({"json", "geojson"})


def _refuse_unknown_parameters(request: Request, spec: CollectionSpec) -> None:
    """OGC API Features /req/core/query-param-unknown: an unknown parameter is a 400, so a
    misspelt filter never silently returns every feature."""
    known = _ITEM_PARAMETERS | set(spec.filters) | set(spec.conditions)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise InvalidParameter(
            f"このコレクションでは使えないパラメータです: {', '.join(unknown)}"
            f"（使えるもの: {', '.join(sorted(known))}）"
        )
    fmt = request.query_params.get("f")
    if fmt is not None and fmt not in _JSON_FORMATS:
        raise InvalidParameter(f"f={fmt} には対応していません（f=json または f=geojson）")


def _filter_dependency(spec: CollectionSpec, region: Region) -> Callable[..., dict[str, list[str]]]:
    """A dependency whose signature has one repeatable query parameter per filter.

    Values are checked against ``region``'s vocabulary in the OpenAPI document (enum), so a
    typo comes back as 400 listing the allowed values.
    """
    vocab = filter_vocabulary(spec, region)
    parameters = []
    for param, values in vocab.items():
        item_type: Any = Literal.__getitem__(tuple(values)) if values else str
        parameters.append(
            inspect.Parameter(
                param,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[
                    list[item_type] | None,
                    Query(description=_filter_help(param, spec, region)),
                ],
            )
        )

    def filters(**kwargs: list[str] | None) -> dict[str, list[str]]:
        return {k: [str(v) for v in vs] for k, vs in kwargs.items() if vs}

    filters.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return filters


#: Days of the calendar when not asked (about three months: the popup's next dates and the
#: day filter's reach), and at most (a year).
CALENDAR_DAYS = 92
MAX_CALENDAR_DAYS = 366


def _calendar_start(text: str | None) -> dt.date:
    """The calendar's ``start``: the day given, else today in Japan."""
    if text is None:
        return today()
    try:
        day = parse_open_on(text)
    except InvalidParameter as exc:
        raise InvalidParameter(
            exc.detail.replace("open_on", "start"), parameter="start", value=text
        ) from None
    assert day is not None
    return day


def _page_links(request: Request, number_matched: int, paging: Paging) -> list[dict[str, str]]:
    url = request.url
    links = [{"href": str(url), "rel": "self", "type": GEOJSON, "title": "このページ"}]
    if paging.offset + paging.limit < number_matched:
        nxt = url.include_query_params(offset=paging.offset + paging.limit, limit=paging.limit)
        links.append({"href": str(nxt), "rel": "next", "type": GEOJSON, "title": "次のページ"})
    if paging.offset > 0:
        prev = url.include_query_params(
            offset=max(0, paging.offset - paging.limit), limit=paging.limit
        )
        links.append({"href": str(prev), "rel": "prev", "type": GEOJSON, "title": "前のページ"})
    base = _base(request)
    collection_path = url.path.rsplit("/items", 1)[0]
    links.append({"href": f"{base}{collection_path}", "rel": "collection", "type": JSON})
    return links


def _collection_or_503(dataset: Dataset, spec: CollectionSpec) -> Any:
    """The dataset's collection ``spec.id``, or the 503 that says the build has not made it."""
    collection = dataset.collections.get(spec.id)
    if collection is None:
        raise NotBuilt(
            f"{spec.id} はまだ作成されていません。`tsunagari-geo build` を実行してから"
            " /admin/reload してください"
        )
    return collection


def _items_body(
    collection: Any,
    dataset: Dataset,
    request: Request,
    paging: Paging,
    query: Mapping[str, Any],
) -> bytes:
    """One page of features as a GeoJSON FeatureCollection with the OGC paging members.

    The features come from the provider as encoded fragments and are joined, not re-encoded.
    """
    page = collection.provider.query(offset=paging.offset, limit=paging.limit, **query)
    head = b'{"type":"FeatureCollection","features":['
    tail = json.dumps(
        {
            "numberMatched": page.number_matched,
            "numberReturned": len(page.features),
            "timeStamp": dataset.data_time,
            "links": _page_links(request, page.number_matched, paging),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return b"".join([head, b",".join(page.features), b"],", tail[1:]])


def _feature_body(fragment: bytes, request: Request, spec: CollectionSpec) -> bytes:
    """A single encoded feature with its self and collection links appended."""
    base = _base(request)
    links = [
        {"href": str(request.url), "rel": "self", "type": GEOJSON},
        {"href": f"{base}/collections/{spec.id}", "rel": "collection", "type": JSON},
    ]
    encoded = json.dumps(links, ensure_ascii=False, separators=(",", ":")).encode()
    return fragment[:-1] + b',"links":' + encoded + b"}"


def collection_router(
    spec: CollectionSpec,
    settings: ApiSettings,
    cache: ResponseCache,
    region: Region,
    example_id: str | None = None,
) -> APIRouter:
    """The three routes of one collection: its description, its items, one item.

    ``spec`` is worded for ``region`` (:meth:`CollectionSpec.for_region`), whose codes the
    filters accept: the OpenAPI document describes the data the app was created with.
    """
    dependencies = [Depends(make_require_token(settings))] if spec.protected else []
    router = APIRouter(tags=[spec.title], dependencies=dependencies)
    errors = problem_responses(400, 404, 503, *((401,) if spec.protected else ()))
    cache_control = (
        "private, no-store" if spec.protected else f"public, max-age={settings.cache_max_age}"
    )
    paging_dependency = make_paging(settings)
    filters_dependency = _filter_dependency(spec, region)
    # Only collections with conditions (the activities) take open_on and age.
    availability_dependency = availability_query if spec.conditions else no_availability

    @router.get(
        f"/collections/{spec.id}",
        response_model=CollectionInfo,
        responses=errors,
        summary=f"{spec.title}: description",
        operation_id=f"describe_{spec.id}",
    )
    def describe(request: Request, dataset: Annotated[Dataset, Depends(get_dataset)]) -> Response:
        _collection_or_503(dataset, spec)
        info = _collection_info(request, spec, dataset)
        assert info is not None
        body = Body.of(info.model_dump_json(exclude_none=True).encode())
        return send_body(request, body, media_type=JSON, cache_control=cache_control)

    @router.get(
        f"/collections/{spec.id}/items",
        response_model=FeatureCollection,
        responses={200: {"content": {GEOJSON: {}}}, **errors},
        summary=f"{spec.title}: features",
        operation_id=f"items_{spec.id}",
    )
    def items(
        request: Request,
        dataset: Annotated[Dataset, Depends(get_dataset)],
        paging: Annotated[Paging, Depends(paging_dependency)],
        bbox: Annotated[BBox | None, Depends(bbox_query)],
        during: Annotated[Interval | None, Depends(datetime_query)],
        sortby: Annotated[list[SortKey], Depends(sortby_query)],
        filters: Annotated[Mapping[str, list[str]], Depends(filters_dependency)],
        shape: Annotated[Shape, Depends(shape_query)],
        availability: Annotated[Availability, Depends(availability_dependency)],
    ) -> Response:
        collection = _collection_or_503(dataset, spec)
        _refuse_unknown_parameters(request, spec)
        query = {
            "bbox": bbox,
            "properties": filters,
            "sortby": sortby,
            "select": shape.properties,
            "simplify": shape.simplify,
            "datetime": during,
            "where": availability.conditions(),
        }

        def build() -> bytes:
            return _items_body(collection, dataset, request, paging, query)

        if spec.protected:
            body = Body.of(build())
        else:
            body = cache.get_or_build((dataset.version, str(request.url)), build)
        return send_body(
            request,
            body,
            media_type=GEOJSON,
            cache_control=cache_control,
            gzip_min_bytes=settings.gzip_min_bytes,
        )

    if spec.conditions:

        @router.get(
            f"/collections/{spec.id}/calendar",
            response_model=Calendar,
            responses=errors,
            summary=f"{spec.title}: open days",
            operation_id=f"calendar_{spec.id}",
            description="The days each activity is open in a window, computed from its "
            "rrule as the open_on filter does: the map shows 次の開催日 and filters by day "
            "from it. Without start, the window starts today in Japan.",
        )
        def calendar(
            request: Request,
            dataset: Annotated[Dataset, Depends(get_dataset)],
            start: Annotated[
                str | None,
                Query(
                    description="First day of the window (YYYY-MM-DD); default today in Japan.",
                    examples=["2026-12-01"],
                    max_length=20,
                ),
            ] = None,
            days: Annotated[
                int,
                Query(ge=1, le=MAX_CALENDAR_DAYS, description="Days in the window."),
            ] = CALENDAR_DAYS,
        ) -> Response:
            collection = _collection_or_503(dataset, spec)
            first = _calendar_start(start)

            def build() -> bytes:
                records = collection.provider.rows(["rrule"])
                calendar = open_days(records, first, days)
                return json.dumps(calendar, ensure_ascii=False, separators=(",", ":")).encode()

            # The day is part of the key: without start the window moves at midnight in Japan.
            key = (dataset.version, f"{request.url}#{first.isoformat()}")
            body = Body.of(build()) if spec.protected else cache.get_or_build(key, build)
            return send_body(
                request,
                body,
                media_type=JSON,
                cache_control=cache_control,
                gzip_min_bytes=settings.gzip_min_bytes,
            )

    @router.get(
        f"/collections/{spec.id}/items/{{featureId}}",
        response_model=Feature,
        responses={200: {"content": {GEOJSON: {}}}, **errors},
        summary=f"{spec.title}: one feature",
        operation_id=f"item_{spec.id}",
    )
    def item(
        request: Request,
        dataset: Annotated[Dataset, Depends(get_dataset)],
        featureId: Annotated[
            str,
            Path(
                description="The feature's id.",
                examples=[example_id] if example_id else None,
            ),
        ],
    ) -> Response:
        fragment = _collection_or_503(dataset, spec).provider.get(featureId)
        content = _feature_body(fragment, request, spec)
        return send_body(request, Body.of(content), media_type=GEOJSON, cache_control=cache_control)

    return router
