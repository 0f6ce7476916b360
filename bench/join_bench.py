"""Benchmark: join 1,000,000 random points inside Saitama to the 72 units.

Ours (:func:`tsunagari_geo.analysis.join.join_points`, grid + clipped boundary pieces) against
the peer, a plain ``geopandas.sjoin(points, units, predicate="intersects")``, in the same run,
on the same points; prints both times, the ratio and whether the answers agree.
Target: ours ≤ 3 s (index build included) on the 2-core team machine.

    .venv/bin/python bench/join_bench.py [--points 1000000] [--store data/build/tsunagari.gpkg]
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tsunagari_geo.analysis.join import join_points, locator_for
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import open_store


def random_points_inside(units: gpd.GeoDataFrame, n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` uniform points inside the prefecture (rejection sampling on its outline)."""
    rng = np.random.default_rng(seed)
    outline = shapely.union_all(units.geometry.values)
    shapely.prepare(outline)
    minx, miny, maxx, maxy = outline.bounds
    lon: list[np.ndarray] = []
    lat: list[np.ndarray] = []
    have = 0
    while have < n:
        x = rng.uniform(minx, maxx, n)
        y = rng.uniform(miny, maxy, n)
        keep = shapely.contains_xy(outline, x, y)
        lon.append(x[keep])
        lat.append(y[keep])
        have += int(keep.sum())
    return pd.DataFrame({"lng": np.concatenate(lon)[:n], "lat": np.concatenate(lat)[:n]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--store", default=None)
    args = parser.parse_args()

    store = open_store(args.store or get_settings().store)
    units = store.units
    points = random_points_inside(units, args.points)
    print(f"{len(points):,} random points inside 埼玉県, {len(units)} units")

    start = time.perf_counter()
    locator = locator_for(units)
    built = time.perf_counter() - start
    ours = join_points(points, units, locator=locator)
    ours_total = time.perf_counter() - start
    print(f"ours   join_points: {ours_total:6.2f} s  (index build {built:.2f} s)")

    start = time.perf_counter()
    geo = gpd.GeoDataFrame(geometry=gpd.points_from_xy(points["lng"], points["lat"]), crs=4326)
    peer = gpd.sjoin(geo, units[["code", "geometry"]], how="left", predicate="intersects")
    peer_total = time.perf_counter() - start
    print(f"peer   geopandas.sjoin: {peer_total:6.2f} s")

    peer_codes = peer.sort_values("code").groupby(level=0)["code"].first().reindex(geo.index)
    agree = bool((ours["unit_code"].to_numpy() == peer_codes.fillna("").to_numpy()).all())
    print(f"ratio  sjoin / ours = {peer_total / ours_total:.1f}x faster; answers agree: {agree}")
    print(f"target ≤ 3 s: {'met' if ours_total <= 3 else 'NOT met'}")


if __name__ == "__main__":
    main()
