"""Vector tiles: the PMTiles archives with HTTP Range, single MVT tiles, and TileJSON 3."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from tsunagari_api.errors import NotBuilt, RangeNotSatisfiable, TileUnavailable, problem_responses
from tsunagari_api.settings import ApiSettings
from tsunagari_api.tilesets import TileName, TileSet, TilesetRefused, open_tileset, parse_range
from tsunagari_geo.reference.attribution import attribution_text

PMTILES = "application/vnd.pmtiles"
MVT = "application/vnd.mapbox-vector-tile"


def _tileset(settings: ApiSettings, name: TileName) -> TileSet:
    try:
        tileset = open_tileset(settings, name)
    except TilesetRefused as exc:
        raise TileUnavailable(
            f"タイル {name.value} のファイルが作成時の記録（マニフェスト）と合わないため提供して"
            "いません。`tsunagari-geo tiles build` をやり直してください",
            value=exc.reason,
        ) from None
    if tileset is None:
        raise NotBuilt(
            f"タイル {name.value} はまだ作成されていません。`tsunagari-geo tiles build` を"
            "実行してください"
        )
    return tileset


def tiles_router(settings: ApiSettings) -> APIRouter:
    """``/tiles/{name}.pmtiles``, ``/tiles/{name}/{z}/{x}/{y}.mvt``, ``/tiles/{name}.json``."""
    router = APIRouter(prefix="/tiles", tags=["ベクタータイル"])
    cache = f"public, max-age={settings.cache_max_age}"

    @router.get(
        "/{name}.pmtiles",
        summary="The PMTiles archive (supports Range requests)",
        response_class=Response,
        responses={
            200: {"content": {PMTILES: {"schema": {"type": "string", "format": "binary"}}}},
            206: {
                "description": "Partial content",
                "content": {PMTILES: {"schema": {"type": "string", "format": "binary"}}},
            },
            304: {"description": "Not modified"},
            **problem_responses(404, 416, 503),
        },
    )
    def archive(request: Request, name: Annotated[TileName, Path()]) -> Response:
        tileset = _tileset(settings, name)
        headers = {"Accept-Ranges": "bytes", "ETag": tileset.etag, "Cache-Control": cache}
        if request.headers.get("if-none-match") == tileset.etag:
            return Response(status_code=304, headers=headers)
        range_header = request.headers.get("range")
        if range_header:
            if_range = request.headers.get("if-range")
            if if_range is None or if_range == tileset.etag:
                try:
                    wanted = parse_range(range_header, tileset.size)
                except ValueError:
                    raise RangeNotSatisfiable(
                        f"Range {range_header!r} はファイル（{tileset.size} バイト）の外です",
                        headers={"Content-Range": f"bytes */{tileset.size}"},
                    ) from None
                if wanted is not None:
                    first, last = wanted
                    headers["Content-Range"] = f"bytes {first}-{last}/{tileset.size}"
                    return Response(
                        tileset.read(first, last - first + 1),
                        status_code=206,
                        media_type=PMTILES,
                        headers=headers,
                    )
        return Response(tileset.read(0, tileset.size), media_type=PMTILES, headers=headers)

    @router.get(
        "/{name}/{z}/{x}/{y}.mvt",
        summary="One Mapbox Vector Tile from the archive",
        response_class=Response,
        responses={
            200: {"content": {MVT: {"schema": {"type": "string", "format": "binary"}}}},
            204: {"description": "No features in this tile"},
            **problem_responses(404, 503),
        },
    )
    def tile(
        request: Request,
        name: Annotated[TileName, Path()],
        z: Annotated[int, Path(ge=0, le=30)],
        x: Annotated[int, Path(ge=0)],
        y: Annotated[int, Path(ge=0)],
    ) -> Response:
        tileset = _tileset(settings, name)
        if x >= 2**z or y >= 2**z:
            return Response(status_code=204, headers={"Cache-Control": cache})
        try:
            data = tileset.tile(z, x, y)
            if data is None:
                return Response(status_code=204, headers={"Cache-Control": cache})
            gzipped = tileset.gzipped and "gzip" in request.headers.get("accept-encoding", "")
            body = data if gzipped else tileset.decompress(data)
        except Exception as exc:  # a directory or tile the reader cannot decode
            raise TileUnavailable(
                f"タイル {name.value}/{z}/{x}/{y} を読めません", value=type(exc).__name__
            ) from None
        headers = {"Cache-Control": cache, "Vary": "Accept-Encoding"}
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=MVT, headers=headers)

    @router.get(
        "/{name}.json",
        summary="TileJSON 3.0.0 describing the tileset",
        responses={200: {"content": {"application/json": {}}}, **problem_responses(404, 503)},
    )
    def tilejson(request: Request, name: Annotated[TileName, Path()]) -> JSONResponse:
        tileset = _tileset(settings, name)
        base = str(request.base_url).rstrip("/")
        h = tileset.header
        meta = tileset.metadata
        bounds = [
            h["min_lon_e7"] / 1e7,
            h["min_lat_e7"] / 1e7,
            h["max_lon_e7"] / 1e7,
            h["max_lat_e7"] / 1e7,
        ]
        body: dict[str, Any] = {
            "tilejson": "3.0.0",
            "name": meta.get("name", name.value),
            "description": meta.get("description", ""),
            "version": meta.get("version", "1.0.0"),
            "attribution": meta.get("attribution", attribution_text()),
            "scheme": "xyz",
            "tiles": [f"{base}/tiles/{name.value}/{{z}}/{{x}}/{{y}}.mvt"],
            "minzoom": h["min_zoom"],
            "maxzoom": h["max_zoom"],
            "bounds": bounds,
            "center": [h["center_lon_e7"] / 1e7, h["center_lat_e7"] / 1e7, h["center_zoom"]],
            "vector_layers": meta.get("vector_layers", []),
        }
        return JSONResponse(body, headers={"Cache-Control": cache, "ETag": tileset.etag})

    return router
