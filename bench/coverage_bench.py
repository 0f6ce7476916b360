"""Benchmark: coverage for 100,000 activities over the 63 municipalities and 72 units.

Ours (:func:`tsunagari_geo.analysis.coverage.compute_coverage`, everything: join, counts, town
reach per life stage, members, flags, score, classes, suggestions) against a naive plain
geopandas peer computing only the core of it (``geopandas.sjoin`` for the areas, counts by
``groupby``, ``geopandas.sjoin_nearest`` per life stage for town reach), in the same run.
Target: ours ≤ 10 s on the 2-core team machine.

    .venv/bin/python bench/coverage_bench.py [--activities 100000] [--store PATH]
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import pandas as pd

from tsunagari_geo.activities.taxonomy import load_taxonomies
from tsunagari_geo.analysis.coverage import compute_coverage
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import Store, open_store


def random_activities(store: Store, n: int, seed: int = 2) -> pd.DataFrame:
    """Activities scattered around real towns, with random themes, stages and formats."""
    rng = np.random.default_rng(seed)
    tax = load_taxonomies()
    towns = store.towns
    pick = rng.integers(0, len(towns), n)
    themes, stages = list(tax.themes.codes), list(tax.life_stages.codes)
    return pd.DataFrame(
        {
            "id": [f"a{i}" for i in range(n)],
            "organization_id": [f"o{i % 2000}" for i in range(n)],
            "format": rng.choice(
                ["in_person", "outreach", "online", "phone"], n, p=[0.7, 0.1, 0.1, 0.1]
            ),
            "themes": [[themes[i % 13], themes[(i * 7 + 3) % 13]] for i in range(n)],
            "life_stages": [[stages[i % 6]] for i in range(n)],
            "serves": [[] for _ in range(n)],
            "published": rng.random(n) > 0.02,
            "lng": towns["lng"].to_numpy()[pick] + rng.normal(0, 0.004, n),
            "lat": towns["lat"].to_numpy()[pick] + rng.normal(0, 0.004, n),
        }
    )


def organizations(store: Store, n: int = 2000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": [f"o{i}" for i in range(n)],
            "name": [f"団体{i}" for i in range(n)],
            "kind": rng.choice(["行政", "NPO等", "社協", "企業・業界団体", "その他"], n),
            "base_muni_code": rng.choice(store.units["code"].to_numpy(), n),
        }
    )


def naive(store: Store, acts: pd.DataFrame) -> pd.DataFrame:
    """The core counts and town reach with plain geopandas joins."""
    tax = load_taxonomies()
    points = gpd.GeoDataFrame(acts, geometry=gpd.points_from_xy(acts["lng"], acts["lat"]), crs=4326)
    local = points[points["format"].isin(["in_person", "outreach"])]
    joined = gpd.sjoin(local, store.units[["code", "geometry"]], predicate="intersects")
    table = joined.groupby("code").size().rename("inperson_total").to_frame()
    for column in ("themes", "life_stages"):
        exploded = joined[["code", column]].explode(column)
        table = table.join(pd.crosstab(exploded["code"], exploded[column]).add_prefix(column))
    towns = store.towns.to_crs(store.region.metric_crs)[["unit_code", "geometry"]]
    venues = local[local["format"] == "in_person"].to_crs(store.region.metric_crs)
    for stage in (None, *tax.life_stages.codes):
        sub = (
            venues
            if stage is None
            else venues[venues["life_stages"].map(lambda s, st=stage: st in s)]
        )
        near = gpd.sjoin_nearest(towns, sub[["geometry"]], distance_col="d")
        near = near[~near.index.duplicated()]
        table[f"reach_2km_{stage or 'any'}"] = (near["d"] <= 2000).groupby(near["unit_code"]).mean()
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--store", default=None)
    args = parser.parse_args()

    store = open_store(args.store or get_settings().store)
    _ = store.units, store.municipalities, store.towns  # read the store before timing
    acts = random_activities(store, args.activities)
    orgs = organizations(store)
    print(f"{len(acts):,} activities, {len(orgs):,} organisations")

    start = time.perf_counter()
    result = compute_coverage(acts, orgs, store)
    ours = time.perf_counter() - start
    print(
        f"ours   compute_coverage: {ours:6.2f} s  ({len(result.municipalities)} municipalities, "
        f"{len(result.units)} units, {len(result.suggestions):,} suggestions)"
    )

    start = time.perf_counter()
    peer_table = naive(store, acts)
    peer = time.perf_counter() - start
    print(f"peer   naive geopandas (counts + reach only): {peer:6.2f} s")

    same = bool(
        (
            result.units.set_index("code")["inperson_total"]
            .reindex(peer_table.index)
            .eq(peer_table["inperson_total"])
        ).all()
    )
    print(f"ratio  naive / ours = {peer / ours:.1f}x; unit counts agree: {same}")
    print(f"target ≤ 10 s: {'met' if ours <= 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
