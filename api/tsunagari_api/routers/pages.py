"""The HTML pages and their assets: ``/map``, ``/dashboard``, ``/dashboard/{muni_code}``.

The pages are built by :mod:`tsunagari_geo.maps.pages` from the current dataset and read their
data from this service's own collections, so they follow ``/admin/reload`` like the API.
``/assets/...`` serves the page scripts and the vendored Leaflet files: nothing a page loads
comes from another origin (the 地理院タイル background, when the settings ask for it, aside).
The tables behind the dashboard download as ``/dashboard/table/{level}.csv`` or ``.xlsx``
(formula injection neutralised by :func:`tsunagari_geo.tables.write_table`).

Every page speaks the language the reader chose (:mod:`tsunagari_geo.maps.i18n`): ``?lang=ja|en|easy``
(the language switch's links; it also sets a cookie, so the next page keeps it), else that
cookie, else the browser's Accept-Language, else Japanese. Responses therefore vary on
``Accept-Language`` and ``Cookie``, and the rendered pages are cached per dataset version and
language.

The pages are HTML for people; they are left out of the OpenAPI document, which stays the
contract for the JSON API.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from tsunagari_api.catalog import Dataset
from tsunagari_api.dependencies import get_dataset
from tsunagari_api.errors import NotBuilt, NotFound
from tsunagari_api.security import page_policy
from tsunagari_api.settings import ApiSettings
from tsunagari_geo.maps.data import SiteData
from tsunagari_geo.maps.i18n import COOKIE, choose_language, normalize_language
from tsunagari_geo.maps.pages import (
    api_links,
    build_dashboard_page,
    build_map_page,
    build_municipality_page,
)
from tsunagari_geo.maps.settings import MapSettings, get_map_settings
from tsunagari_geo.maps.vendor import STATIC_DIR, is_vendored
from tsunagari_geo.region import Region
from tsunagari_geo.tables import write_table

_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class _SiteCache:
    """:class:`SiteData` and rendered pages per dataset version (reload → rebuilt).

    Keyed by version, not reset on change: a request still running on the old dataset after
    a reload must neither throw away the new generation's pages nor store an old page under
    the new one. The two newest generations are kept.
    """

    _GENERATIONS = 2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, SiteData] = {}
        self._pages: dict[tuple[str, ...], str] = {}

    def data(self, dataset: Dataset, with_suggestions: bool) -> SiteData:
        with self._lock:
            found = self._data.get(dataset.version)
            if found is None:
                planner = dataset.planner if with_suggestions else None
                store = dataset.store
                found = SiteData.from_layer_sets(dataset.public, store, planner)
                self._data[dataset.version] = found
                while len(self._data) > self._GENERATIONS:
                    self._data.pop(next(iter(self._data)))
                self._pages = {k: v for k, v in self._pages.items() if k[0] in self._data}
            return found

    def page(self, dataset: Dataset, key: tuple[str, ...], build: Callable[[], str]) -> str:
        full = (dataset.version, *key)
        with self._lock:
            cached = self._pages.get(full)
        if cached is None:
            cached = build()
            with self._lock:
                if dataset.version in self._data:
                    self._pages[full] = cached
        return cached


def _code_hint(region: Region) -> str:
    """What a municipality code looks like in ``region``: 63市町村の5桁コード、例: 11201."""
    plain = [m.code for m in region.registry.municipalities_63 if m.kind != "designated_city"]
    example = min(plain or [m.code for m in region.registry.municipalities_63])
    return f"{region.municipality_count}市町村の5桁コード、例: {example}"


def _language(request: Request) -> str:
    """The page language of a request: ``?lang=``, the switch's cookie, Accept-Language, ja."""
    return choose_language(
        query=request.query_params.get("lang"),
        cookie=request.cookies.get(COOKIE),
        accept_language=request.headers.get("accept-language"),
    )


def pages_router(settings: ApiSettings, map_settings: MapSettings | None = None) -> APIRouter:
    """The pages, the table downloads and ``/assets``."""
    del settings  # the pages read the dataset the service already holds
    look = map_settings or get_map_settings()
    router = APIRouter(include_in_schema=False)
    cache = _SiteCache()
    static_root = STATIC_DIR.resolve()

    def html(body: str, request: Request) -> HTMLResponse:
        # Each page gets a policy with the hashes of its own inline scripts and styles.
        headers = {
            "Cache-Control": "no-cache",
            "Content-Security-Policy": page_policy(body, look),
            "Vary": "Accept-Language, Cookie",
        }
        response = HTMLResponse(body, headers=headers)
        chosen = normalize_language(request.query_params.get("lang"))
        if chosen:  # the switch was used: keep the language on the next pages
            root = request.scope.get("root_path", "") or "/"
            response.set_cookie(
                COOKIE, chosen, max_age=365 * 24 * 3600, path=root, samesite="lax", httponly=True
            )
        return response

    @router.get("/map", response_class=HTMLResponse)
    def map_page(request: Request, dataset: Annotated[Dataset, Depends(get_dataset)]) -> Response:
        data = cache.data(dataset, look.dashboard_suggestions)
        root = request.scope.get("root_path", "")
        lang = _language(request)
        return html(
            cache.page(
                dataset,
                ("map", root, lang),
                lambda: build_map_page(
                    api_links(root),
                    look,
                    data.attribution,
                    data.vocabulary,
                    region=data.store.region,
                    lang=lang,
                ),
            ),
            request,
        )

    @router.get("/dashboard", response_class=HTMLResponse)
    def dashboard_page(
        request: Request, dataset: Annotated[Dataset, Depends(get_dataset)]
    ) -> Response:
        data = cache.data(dataset, look.dashboard_suggestions)
        root = request.scope.get("root_path", "")
        lang = _language(request)
        return html(
            cache.page(
                dataset,
                ("dashboard", root, lang),
                lambda: build_dashboard_page(api_links(root), look, data, lang=lang),
            ),
            request,
        )

    @router.get("/dashboard/table/{level}.{fmt}")
    def table(
        level: Literal["municipalities", "units"],
        fmt: Literal["csv", "xlsx"],
        dataset: Annotated[Dataset, Depends(get_dataset)],
    ) -> Response:
        data = cache.data(dataset, look.dashboard_suggestions)
        if dataset.public is None:
            raise NotBuilt("集計がまだありません。`tsunagari-geo build` を実行してください")
        with tempfile.TemporaryDirectory() as folder:
            path = write_table(
                data.table(level), Path(folder) / f"table.{fmt}", attribution=data.attribution
            )
            body = path.read_bytes()
        filename = f"coverage_{level}.{fmt}"
        return Response(
            body,
            media_type=_MEDIA[fmt],
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-cache",
            },
        )

    @router.get("/dashboard/{muni_code}", response_class=HTMLResponse)
    def municipality_page(
        request: Request, muni_code: str, dataset: Annotated[Dataset, Depends(get_dataset)]
    ) -> Response:
        data = cache.data(dataset, look.dashboard_suggestions)
        root = request.scope.get("root_path", "")
        lang = _language(request)
        try:
            body = cache.page(
                dataset,
                ("municipality", root, muni_code, lang),
                lambda: build_municipality_page(api_links(root), data, muni_code, lang=lang),
            )
        except KeyError as exc:
            raise NotFound(
                f"市町村コード {muni_code} はありません（{_code_hint(dataset.region)}）",
                parameter="muni_code",
                value=muni_code,
            ) from exc
        return html(body, request)

    @router.get("/assets/{path:path}")
    def assets(path: str) -> Response:
        # A NUL byte (%00) cannot name a file; the OS call would raise, so refuse it first.
        target = (static_root / path).resolve() if "\x00" not in path else static_root
        if not target.is_relative_to(static_root) or not target.is_file():
            if path.startswith("vendor/") and not is_vendored():
                raise NotBuilt("地図のライブラリが未配置です。`make vendor` を実行してください")
            raise NotFound(f"/assets/{path} はありません")
        return FileResponse(target, headers={"Cache-Control": "public, max-age=3600"})

    return router
