"""Benchmark: `coverage plan` over every candidate small area, against the 300 strongest.

The MCLP of :mod:`tsunagari_geo.analysis.plan` is offered every candidate small area (less the
dominated ones, a lossless reduction); until this change it was offered only the 300 that
cover the most residents on their own. The peer in the same run is that older reduction,
given to the same solver as pinned candidates: the same demand (small areas with no venue of
the sample activities within the radius), the 300 strongest demand points as the only
candidates. Reported per radius and number of places: the solve's time (median of
``--repeat``), the residents reached by each, and how many candidates each was offered.

    .venv/bin/python bench/plan_bench.py [--store PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from tsunagari_geo.activities.models import Vocabulary
from tsunagari_geo.activities.readers import read_activities
from tsunagari_geo.activities.taxonomy import load_taxonomies
from tsunagari_geo.analysis.distance import metric_xy
from tsunagari_geo.analysis.people_reach import nearest_distances, small_area_xy
from tsunagari_geo.analysis.plan import plan_inputs, plan_new_places
from tsunagari_geo.analysis.reach import inperson_venues
from tsunagari_geo.cli.analysis import _geocode_missing
from tsunagari_geo.errors import InputError
from tsunagari_geo.resources import SAMPLES_DIR
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import open_store


def strongest(
    prepared: pd.DataFrame, areas: pd.DataFrame, crs: str, radius: float, n: int = 300
) -> pd.DataFrame:
    """The ``n`` demand small areas covering the most unreached residents on their own."""
    venue = inperson_venues(prepared)
    venue_xy = metric_xy(prepared["lon"][venue], prepared["lat"][venue], crs)
    xy = small_area_xy(areas, crs)
    pop = areas["population"].to_numpy(dtype=float)
    demand = np.flatnonzero((pop > 0) & (nearest_distances(xy, venue_xy) > radius))
    covers = cKDTree(xy[demand]).query_ball_tree(cKDTree(xy[demand]), r=radius)
    alone = np.array([pop[demand][c].sum() for c in covers])
    top = demand[np.argsort(-alone, kind="stable")[:n]]
    return pd.DataFrame(
        {
            "candidate": areas["key_code"].astype(str).to_numpy()[top],
            "name": areas["name"].astype(str).to_numpy()[top],
            "lng": areas["lng"].to_numpy(dtype=float)[top],
            "lat": areas["lat"].to_numpy(dtype=float)[top],
            "unit_code": areas["unit_code"].astype(str).to_numpy()[top],
            "muni_code": areas["muni_code"].astype(str).to_numpy()[top],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    store = open_store(args.store or get_settings().store)
    records = read_activities(
        SAMPLES_DIR / "activities.csv", vocabulary=Vocabulary.for_region(store.region)
    ).records
    _geocode_missing(records, store)
    tax = load_taxonomies()
    try:
        # The same placed activities and small areas `coverage plan` gives the solver.
        inputs = plan_inputs(records, store, tax)
    except InputError as e:
        raise SystemExit(str(e)) from None
    prepared, small, crs = inputs.activities, inputs.small_areas, inputs.metric_crs
    print(
        "radius  N  | all candidates: offered, reached, solve s | 300 strongest: reached, solve s"
    )
    for radius in (1000.0, 2000.0):
        top = strongest(prepared, small, crs, radius)
        for new in (5, 20):
            ours, peer = [], []
            for _ in range(args.repeat):
                ours.append(plan_new_places(prepared, small, tax, crs, new=new, radius_m=radius))
                peer.append(
                    plan_new_places(
                        prepared, small, tax, crs, new=new, radius_m=radius, candidates=top
                    )
                )
            a, b = ours[-1], peer[-1]
            reached_a = int(a.choices["running_total"].max())
            reached_b = int(b.choices["running_total"].max())
            print(
                f"{radius:>6g} {new:>2} | {a.offered:,} of {a.candidates:,}, {reached_a:,}, "
                f"{statistics.median(p.seconds for p in ours):.2f} | {reached_b:,}, "
                f"{statistics.median(p.seconds for p in peer):.2f} "
                f"(+{reached_a - reached_b:,} residents with every candidate)"
            )


if __name__ == "__main__":
    main()
