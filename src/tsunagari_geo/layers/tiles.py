"""Vector tiles of the published layers: one PMTiles archive per layer, zooms 5–14.

Only the public layer file is read, so a tile can never hold what the public view left out.
For each zoom, geometries are projected to Web Mercator (EPSG:3857) and simplified to about
one tile pixel; for each tile the STRtree finds the candidates, polygons are clipped to the
tile plus a small buffer, and mapbox-vector-tile encodes them (4096 extent, gzip). The
``pmtiles`` writer stores tiles in Hilbert order with run-length-deduplicated directories,
and the archives and ``manifest.json`` (their SHA-256 and sizes) are written to temporary files
and renamed as one set, manifest last, so a server never serves half a file or one that does
not match the manifest.

MVT has no list type: list properties (themes, life stages) become ``;``-joined text, and
null properties are left out of the feature.

The tilesets' descriptions and the bounds of an empty archive come from the region of the
store the layers were built from.

Example::

    >>> region = open_store("data/build/tsunagari.gpkg").region
    >>> build_tiles(Path("data/build/layers.gpkg"), Path("tiles"), region=region)
    {'activities': PosixPath('tiles/activities.pmtiles'), ...}
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import shapely
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from tsunagari_geo.errors import StoreError
from tsunagari_geo.layers.paths import DEFAULT_LAYERS, DEFAULT_TILES_DIR
from tsunagari_geo.reference.attribution import attribution_text
from tsunagari_geo.region import Region
from tsunagari_geo.store import open_layers, published_version
from tsunagari_geo.store.manifest import (
    manifest_text,
    tiles_manifest_path,
)
from tsunagari_geo.tables import atomic_path, atomic_paths, remove_stale_temporaries

MIN_ZOOM = 5
MAX_ZOOM = 14
EXTENT = 4096
#: Buffer around each tile, in tile pixels, so that clipped polygon edges do not show.
BUFFER = 64
#: Half the width of the Web Mercator world, in metres.
ORIGIN = 20037508.342789244

#: The tilesets, each from one layer of the public file.
TILESETS = ("activities", "municipalities")


def tileset_descriptions(region: Region) -> dict[str, str]:
    """Each tileset's description, worded for ``region`` (市町村（63）と充足状況 in 埼玉県)."""
    return {
        "activities": "活動（公開）",
        "municipalities": f"{region.titles['municipalities']}と充足状況",
    }


@dataclass(frozen=True)
class TileSpec:
    """Zoom range of a build."""

    min_zoom: int = MIN_ZOOM
    max_zoom: int = MAX_ZOOM


def _tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Web Mercator bounds (minx, miny, maxx, maxy) of tile z/x/y (XYZ scheme, y down)."""
    size = 2 * ORIGIN / 2**z
    minx = -ORIGIN + x * size
    maxy = ORIGIN - y * size
    return (minx, maxy - size, minx + size, maxy)


def _tile_range(bounds: tuple[float, float, float, float], z: int) -> Iterator[tuple[int, int]]:
    size = 2 * ORIGIN / 2**z
    minx, miny, maxx, maxy = bounds
    x0 = max(0, math.floor((minx + ORIGIN) / size))
    x1 = min(2**z - 1, math.floor((maxx + ORIGIN) / size))
    y0 = max(0, math.floor((ORIGIN - maxy) / size))
    y1 = min(2**z - 1, math.floor((ORIGIN - miny) / size))
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            yield x, y


def _mvt_value(value: Any) -> str | int | float | bool | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return ";".join(str(v) for v in value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    text = str(value)
    return text if text else None


def _properties(frame: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    columns = [c for c in frame.columns if c != frame.geometry.name and not c.startswith("_")]
    out = []
    for record in frame[columns].to_dict("records"):
        props = {k: _mvt_value(v) for k, v in record.items()}
        out.append({k: v for k, v in props.items() if v is not None})
    return out


def _field_types(frame: gpd.GeoDataFrame) -> dict[str, str]:
    """TileJSON ``fields``: property name → Number | Boolean | String."""
    types: dict[str, str] = {}
    for column in frame.columns:
        if column == frame.geometry.name or column.startswith("_"):
            continue
        series = frame[column]
        if pd.api.types.is_bool_dtype(series):
            types[column] = "Boolean"
        elif pd.api.types.is_numeric_dtype(series):
            types[column] = "Number"
        else:
            types[column] = "String"
    return types


def tiles_of_layer(
    frame: gpd.GeoDataFrame, layer: str, spec: TileSpec = TileSpec()
) -> Iterator[tuple[int, int, int, bytes]]:
    """Every non-empty tile of ``frame`` (EPSG:4326) as (z, x, y, gzip-compressed MVT)."""
    frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
    if frame.empty:
        return
    mercator = frame.to_crs(3857)
    geoms = np.asarray(mercator.geometry.values, dtype=object)
    props = _properties(frame)
    points_only = bool(np.all(shapely.get_type_id(geoms) == 0))
    bounds = tuple(float(b) for b in shapely.total_bounds(geoms))
    for z in range(spec.min_zoom, spec.max_zoom + 1):
        pixel = 2 * ORIGIN / 2**z / EXTENT
        at_zoom = geoms if points_only else shapely.simplify(geoms, pixel, preserve_topology=True)
        tree = shapely.STRtree(at_zoom)
        for x, y in _tile_range(bounds, z):  # type: ignore[arg-type]
            minx, miny, maxx, maxy = _tile_bounds(z, x, y)
            pad = BUFFER * pixel
            box = (minx - pad, miny - pad, maxx + pad, maxy + pad)
            hits = np.sort(tree.query(shapely.box(*box), predicate="intersects"))
            if len(hits) == 0:
                continue
            parts = at_zoom[hits] if points_only else shapely.clip_by_rect(at_zoom[hits], *box)
            # Tile pixel coordinates (y up), done here with one vectorised shapely call
            # rather than per feature inside the encoder.
            scale = EXTENT / (maxx - minx)
            local = shapely.transform(
                parts,
                lambda c, minx=minx, miny=miny, scale=scale: np.round((c - [minx, miny]) * scale),
            )
            features = [
                {"geometry": g, "properties": props[i], "id": int(i) + 1}
                for i, g in zip(hits, local, strict=True)
                if g is not None and not g.is_empty
            ]
            if not features:
                continue
            data = mapbox_vector_tile.encode(
                [{"name": layer, "features": features}],
                default_options={"extents": EXTENT},
            )
            yield z, x, y, gzip.compress(data, compresslevel=6, mtime=0)


def _empty_tile(layer: str, lon: float, lat: float, spec: TileSpec) -> tuple[int, bytes]:
    """(tile id, gzip MVT) of a tile with no features at ``spec.min_zoom`` holding lon/lat."""
    z = spec.min_zoom
    x, y = next(_tile_range(_mercator_point(lon, lat), z))
    data = mapbox_vector_tile.encode(
        [{"name": layer, "features": []}], default_options={"extents": EXTENT}
    )
    return zxy_to_tileid(z, x, y), gzip.compress(data, compresslevel=6, mtime=0)


def _mercator_point(lon: float, lat: float) -> tuple[float, float, float, float]:
    mx = lon * ORIGIN / 180
    my = math.log(math.tan((90 + lat) * math.pi / 360)) * ORIGIN / math.pi
    return (mx, my, mx, my)


def write_pmtiles(
    frame: gpd.GeoDataFrame,
    layer: str,
    out: Path,
    *,
    spec: TileSpec = TileSpec(),
    description: str = "",
    empty_bounds: tuple[float, float, float, float] = (-180.0, -85.0, 180.0, 85.0),
    into: Path | None = None,
) -> Path:
    """Write ``frame`` as a one-layer PMTiles archive at ``out``, atomically.

    With ``into``, the archive is written there instead (a temporary of a set that
    :func:`build_tiles` renames to ``out`` with the others).

    ``empty_bounds`` (west, south, east, north in lon/lat) is what the header says when
    ``frame`` has no geometry (no public activity yet): the region's bounds, from
    :func:`build_tiles`. Such an archive holds one empty tile at its centre, since a PMTiles
    archive cannot be empty, so that the map still opens it.
    """
    tiles = sorted(
        ((zxy_to_tileid(z, x, y), data) for z, x, y, data in tiles_of_layer(frame, layer, spec)),
        key=lambda t: t[0],
    )
    present = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
    if present.empty:
        min_lon, min_lat, max_lon, max_lat = empty_bounds
        tiles = [_empty_tile(layer, (min_lon + max_lon) / 2, (min_lat + max_lat) / 2, spec)]
    else:
        min_lon, min_lat, max_lon, max_lat = (float(b) for b in present.total_bounds)
    header = {
        "tile_type": TileType.MVT,
        "tile_compression": Compression.GZIP,
        "min_zoom": spec.min_zoom,
        "max_zoom": spec.max_zoom,
        "min_lon_e7": int(min_lon * 1e7),
        "min_lat_e7": int(min_lat * 1e7),
        "max_lon_e7": int(max_lon * 1e7),
        "max_lat_e7": int(max_lat * 1e7),
        "center_zoom": min(max(spec.min_zoom, 9), spec.max_zoom),
        "center_lon_e7": int((min_lon + max_lon) / 2 * 1e7),
        "center_lat_e7": int((min_lat + max_lat) / 2 * 1e7),
    }
    metadata = {
        "name": layer,
        "description": description,
        "version": "1.0.0",
        "attribution": attribution_text(),
        "type": "overlay",
        "format": "pbf",
        "vector_layers": [
            {
                "id": layer,
                "description": description,
                "minzoom": spec.min_zoom,
                "maxzoom": spec.max_zoom,
                "fields": _field_types(frame),
            }
        ],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    if into is not None:
        _write_archive(into, tiles, header, metadata)
        return out
    with atomic_path(out) as tmp:
        _write_archive(tmp, tiles, header, metadata)
    return out


def _write_archive(
    path: Path, tiles: list[tuple[int, bytes]], header: dict[str, Any], metadata: dict[str, Any]
) -> None:
    with path.open("wb") as f:
        writer = Writer(f)
        for tile_id, data in tiles:
            writer.write_tile(tile_id, data)
        writer.finalize(header, json.loads(json.dumps(metadata, ensure_ascii=False)))


def build_tiles(
    layers: str | Path = DEFAULT_LAYERS,
    out_dir: Path = DEFAULT_TILES_DIR,
    *,
    region: Region,
    spec: TileSpec = TileSpec(),
) -> dict[str, Path]:
    """Build every tileset from the public layer set at ``layers``; returns name → archive path.

    ``region`` is the region of the store the layers were built from (``store.region``): it
    words the descriptions and bounds an archive with nothing in it. Raises StoreError when
    the layer set is missing or broken, or when a build published another set while the
    tiles were being made. The tiles manifest records the set's version (``layers_version``,
    for a GeoPackage or a database alike), which the service compares with what it serves.
    """
    layers_version = published_version(layers) or ""
    public = open_layers(layers, "public")
    descriptions = tileset_descriptions(region)
    written = {name: out_dir / f"{name}.pmtiles" for name in TILESETS}
    manifest_path = tiles_manifest_path(out_dir)
    targets = [*written.values(), manifest_path]
    out_dir.mkdir(parents=True, exist_ok=True)
    for target in targets:
        remove_stale_temporaries(target)
    # Every archive and the manifest of their hashes first, then the renames, manifest last:
    # the service serves an archive only while it matches the manifest.
    with atomic_paths(targets) as tmps:
        for (name, out), tmp in zip(written.items(), tmps, strict=False):
            write_pmtiles(
                public.frames[name],
                name,
                out,
                spec=spec,
                description=descriptions[name],
                empty_bounds=region.bounds,
                into=tmp,
            )
        members = {
            name: (out, tmp, {name: len(public.frames[name])})
            for (name, out), tmp in zip(written.items(), tmps, strict=False)
        }
        if (published_version(layers) or "") != layers_version:
            # The frames may be of either set: these tiles would name a set they do not show.
            raise StoreError(
                "タイルの作成中に別のレイヤーが公開されました。`tsunagari-geo tiles build` を"
                "やり直してください",
                path=str(layers),
            )
        text = manifest_text(manifest_path, "tiles", members, {"layers_version": layers_version})
        tmps[-1].write_text(text, encoding="utf-8")
    return written
