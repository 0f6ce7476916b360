"""Distances in metres (the region's metric CRS) and neighbouring areas, for reach,
suggestions and 横展開."""

from __future__ import annotations

from functools import cache

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer

from tsunagari_geo.settings import STORE_CRS


@cache
def _to_metric(crs: str) -> Transformer:
    return Transformer.from_crs(STORE_CRS, crs, always_xy=True)


def metric_xy(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str) -> npt.NDArray[np.float64]:
    """Lon/lat (EPSG:4326) as x/y metres in ``crs`` (the region's metric CRS), one row each."""
    x, y = _to_metric(crs).transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.column_stack([x, y])


def rep_points(areas: gpd.GeoDataFrame, crs: str) -> npt.NDArray[np.float64]:
    if {"rep_lng", "rep_lat"} <= set(areas.columns):
        return metric_xy(areas["rep_lng"].astype(float), areas["rep_lat"].astype(float), crs)
    rep = shapely.point_on_surface(areas.to_crs(STORE_CRS).geometry.values)
    return metric_xy(shapely.get_x(rep), shapely.get_y(rep), crs)


def neighbours_of(base: gpd.GeoDataFrame, rings: int) -> dict[str, set[str]]:
    """Areas sharing a border (or a corner) with each area, ``rings`` steps out."""
    geoms = base.geometry.values
    codes = base["code"].astype(str).to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    direct: dict[str, set[str]] = {c: set() for c in codes}
    for a, b in zip(left, right, strict=True):
        if a != b:
            direct[codes[a]].add(codes[b])
    result: dict[str, set[str]] = {}
    for code in codes:
        seen, frontier = {code}, {code}
        for _ in range(rings):
            frontier = {n for f in frontier for n in direct[f]} - seen
            seen |= frontier
        result[code] = seen - {code}
    return result
