"""Benchmark: E2SFCA accessibility over all census small areas, ours against PySAL ``access``.

Both get the same inputs: the store's census small areas (population at a representative
point, 5,979 in 埼玉県), ``--venues`` venues at real town points with seeded random capacities
(1–50), straight-line distances in the region's metric CRS, the Gaussian decay and catchment
of ``coverage.toml`` ([access]). Ours is :func:`tsunagari_geo.analysis.access.e2sfca`
(KD-tree pairs, sparse matrices); the peer is ``access.Access.enhanced_two_stage_fca`` with
``access.weights.gaussian``, given the pairs within the catchment as its cost table (the
time to build that table is reported apart). The two must agree to 1e-9 (relative to the
largest value) in every small area.

    .venv/bin/pip install -r requirements.lock -r requirements-bench.lock
    .venv/bin/python bench/access_bench.py [--venues 2000] [--store PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from tsunagari_geo.analysis.access import e2sfca
from tsunagari_geo.analysis.config import load_coverage_config
from tsunagari_geo.analysis.distance import metric_xy
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venues", type=int, default=2000)
    parser.add_argument("--store", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    from access import Access, weights  # the peer, from the bench extra

    # access 1.1.9 fills NaN in place on a copy (pandas copy-on-write warns); no NaN arises
    # here: a venue no resident reaches is dropped by its join before the fill.
    warnings.filterwarnings("ignore", module="access")

    store = open_store(args.store or get_settings().store)
    areas = store.small_areas
    if areas is None:
        raise SystemExit("the store has no census small areas; re-run `tsunagari-geo data import`")
    crs = store.region.metric_crs
    cfg = load_coverage_config().access
    rng = np.random.default_rng(args.seed)
    towns = store.towns
    pick = rng.integers(0, len(towns), args.venues)
    venue_xy = metric_xy(towns["lng"].to_numpy()[pick], towns["lat"].to_numpy()[pick], crs)
    capacity = rng.integers(1, 51, args.venues).astype(float)
    demand_xy = metric_xy(areas["lng"].astype(float), areas["lat"].astype(float), crs)
    population = areas["population"].to_numpy(dtype=float)

    ours_times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        ours = e2sfca(
            demand_xy, population, venue_xy, capacity,
            catchment=cfg.catchment_m, sigma=cfg.sigma_m,
        )  # fmt: skip
        ours_times.append(time.perf_counter() - t)

    t = time.perf_counter()
    pairs = cKDTree(demand_xy).sparse_distance_matrix(
        cKDTree(venue_xy), max_distance=cfg.catchment_m, output_type="coo_matrix"
    )
    cost = pd.DataFrame({"origin": pairs.row, "dest": pairs.col, "cost": pairs.data})
    cost_build = time.perf_counter() - t
    demand = pd.DataFrame({"geoid": np.arange(len(population)), "pop": population})
    supply = pd.DataFrame({"geoid": np.arange(len(capacity)), "cap": capacity})
    peer_times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        model = Access(
            demand_df=demand, demand_index="geoid", demand_value="pop",
            supply_df=supply, supply_index="geoid", supply_value="cap",
            cost_df=cost, cost_origin="origin", cost_dest="dest", cost_name="cost",
        )  # fmt: skip
        result = model.enhanced_two_stage_fca(
            name="e2sfca", max_cost=cfg.catchment_m, weight_fn=weights.gaussian(cfg.sigma_m)
        )
        peer_times.append(time.perf_counter() - t)
    column = result["e2sfca_cap"] if "e2sfca_cap" in result.columns else result.iloc[:, -1]
    peer = column.reindex(demand["geoid"]).fillna(0.0).to_numpy(dtype=float)

    scale = max(float(np.abs(ours).max()), 1e-300)
    worst = float(np.abs(ours - peer).max())
    print(f"small areas {len(areas):,}, venues {args.venues:,}, pairs within the catchment "
          f"{len(cost):,} (catchment {cfg.catchment_m:g} m, σ {cfg.sigma_m:g} m)")  # fmt: skip
    print(f"ours   e2sfca: best {min(ours_times):.4f} s of {args.repeat}")
    print(f"access e2sfca: best {min(peer_times):.4f} s of {args.repeat} "
          f"(+ {cost_build:.4f} s to build its cost table)")  # fmt: skip
    print(f"largest |ours − access| = {worst:.3e}, relative {worst / scale:.3e}; "
          f"areas with access > 0: ours {int((ours > 0).sum())}, access {int((peer > 0).sum())}")  # fmt: skip
    if worst / scale > 1e-9:
        raise SystemExit("ours and PySAL access disagree beyond 1e-9")
    print("agree to 1e-9: yes")


if __name__ == "__main__":
    main()
