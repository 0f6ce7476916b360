"""Where next: the places where N new in-person venues would reach the most residents who have
none within reach, as a maximal covering location problem (MCLP, PySAL ``spopt``, solved by
CBC through PuLP).

Demand is every populated census small area (小地域) whose nearest existing venue of the
chosen kind (all, a theme, a life stage; :func:`.people_reach.venue_groups`) is farther than
``radius``, weighted by its population. Candidates are those small areas' own representative
points, or the venues a planner names (公民館 and the like, a CSV with ``name``, ``lat``,
``lng``). A candidate covers a small area within ``radius`` (straight line, the region's
metric CRS). MCLP picks the ``new`` candidates covering the most residents; the choices are
then ordered by what each adds to those before it, so ``newly_reached`` and
``running_total`` read as a plan. Planners' output only: it names no activity.

To keep the integer programme small, candidates that cover nobody are dropped and only the
``max_candidates`` candidates covering the most residents on their own are offered (every
choice of the optimum over that set is exact for it; the report says how many were offered).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from tsunagari_geo.activities.taxonomy import Taxonomies
from tsunagari_geo.analysis.distance import metric_xy
from tsunagari_geo.analysis.people_reach import (
    nearest_distances,
    small_area_xy,
    venue_groups,
)
from tsunagari_geo.analysis.reach import inperson_venues
from tsunagari_geo.errors import InputError
from tsunagari_geo.settings import STORE_CRS


@dataclass(frozen=True)
class Plan:
    """The suggested places and what they reach.

    ``choices`` (GeoDataFrame, EPSG:4326): ``order`` (1 = adds the most), ``candidate`` (the
    small area's KEY_CODE or the CSV's name), ``unit_code``, ``muni_code``, ``name``,
    ``newly_reached`` (residents now without a venue within the radius that this place adds),
    ``running_total``. ``unreached`` is how many residents had none within the radius before,
    ``population`` all residents of the small areas, ``candidates`` how many were offered.
    """

    choices: gpd.GeoDataFrame
    unreached: int
    population: int
    candidates: int
    radius_m: float
    seconds: float


def plan_new_places(
    acts: pd.DataFrame,
    small_areas: pd.DataFrame,
    tax: Taxonomies,
    metric_crs: str,
    *,
    new: int,
    radius_m: float = 1000.0,
    group: str = "",
    candidates: pd.DataFrame | None = None,
    max_candidates: int = 300,
) -> Plan:
    """Solve the MCLP; see the module docstring. ``group`` is ``""`` (all venues),
    ``_<stage>`` or ``_theme_<code>`` (the suffixes of :func:`.people_reach.venue_groups`).

    Raises InputError when ``new`` is not positive or ``group`` is unknown.
    """
    import time

    import pulp
    from spopt.locate import MCLP

    if new < 1:
        raise InputError("--new は 1 以上です", column="new", value=new)
    groups = venue_groups(acts, tax)
    if group not in groups:
        raise InputError("unknown theme or life stage", column="group", value=group)
    start = time.perf_counter()
    areas = pd.DataFrame(small_areas).reset_index(drop=True)
    venue = inperson_venues(acts)
    venue_xy = metric_xy(acts["lon"][venue], acts["lat"][venue], metric_crs)[groups[group]]
    xy = small_area_xy(areas, metric_crs)
    pop = areas["population"].to_numpy(dtype=float)
    nearest = nearest_distances(xy, venue_xy)
    demand = np.flatnonzero((pop > 0) & (nearest > radius_m))
    demand_xy, weights = xy[demand], pop[demand]

    if candidates is None:
        cand = pd.DataFrame(
            {
                "candidate": areas["key_code"].astype(str).to_numpy()[demand],
                "name": areas["name"].astype(str).to_numpy()[demand],
                "lng": areas["lng"].to_numpy(dtype=float)[demand],
                "lat": areas["lat"].to_numpy(dtype=float)[demand],
                "unit_code": areas["unit_code"].astype(str).to_numpy()[demand],
                "muni_code": areas["muni_code"].astype(str).to_numpy()[demand],
            }
        )
        cand_xy = demand_xy
    else:
        cand = candidates.reset_index(drop=True).copy()
        cand_xy = metric_xy(cand["lng"], cand["lat"], metric_crs)
    # Who each candidate covers (sparse), and the candidates worth offering.
    covers: list[list[int]] = (
        cKDTree(cand_xy).query_ball_tree(cKDTree(demand_xy), r=radius_m)
        if len(demand) and len(cand)
        else [[] for _ in range(len(cand))]
    )
    alone = np.array([weights[c].sum() if c else 0.0 for c in covers], dtype=float)
    offered = np.argsort(-alone, kind="stable")[:max_candidates]
    offered = offered[alone[offered] > 0]
    choices: list[int] = []
    if len(offered):
        # Small areas covered by the same offered candidates are one client of the programme
        # (their residents summed): the same optimum with fewer constraints.
        by_client: dict[int, set[int]] = {}
        for col, j in enumerate(offered):
            for i in covers[j]:
                by_client.setdefault(i, set()).add(col)
        merged: dict[frozenset[int], float] = {}
        for i, cols in by_client.items():
            key = frozenset(cols)
            merged[key] = merged.get(key, 0.0) + float(weights[i])
        cost = np.full((len(merged), len(offered)), np.inf)
        for row_index, covering in enumerate(merged):
            cost[row_index, list(covering)] = 0.0
        model = MCLP.from_cost_matrix(
            cost, np.array(list(merged.values())), service_radius=radius_m,
            p_facilities=min(new, len(offered)), name="tsunagari-plan",
        )  # fmt: skip
        model = model.solve(pulp.PULP_CBC_CMD(msg=False))
        chosen = [
            int(offered[col]) for col in range(len(offered)) if model.fac_vars[col].value() > 0.5
        ]
        choices = _ordered(chosen, covers, weights)
    rows = []
    reached_so_far: set[int] = set()
    total = 0
    for order, j in enumerate(choices, start=1):
        gain = set(covers[j]) - reached_so_far
        reached_so_far |= gain
        added = int(weights[list(gain)].sum()) if gain else 0
        total += added
        rows.append(
            {
                "order": order,
                "candidate": str(cand.at[j, "candidate"]) if "candidate" in cand else str(j),
                "unit_code": str(cand.get("unit_code", pd.Series([""] * len(cand))).iat[j]),
                "muni_code": str(cand.get("muni_code", pd.Series([""] * len(cand))).iat[j]),
                "name": str(cand.at[j, "name"]),
                "newly_reached": added,
                "running_total": total,
                "lng": float(cand["lng"].to_numpy(dtype=float)[j]),
                "lat": float(cand["lat"].to_numpy(dtype=float)[j]),
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=["order", "candidate", "unit_code", "muni_code", "name", "newly_reached",
                 "running_total", "lng", "lat"],
    )  # fmt: skip
    return Plan(
        choices=gpd.GeoDataFrame(
            frame, geometry=gpd.points_from_xy(frame["lng"], frame["lat"]), crs=STORE_CRS
        ),
        unreached=int(weights.sum()),
        population=int(pop.sum()),
        candidates=len(offered),
        radius_m=radius_m,
        seconds=time.perf_counter() - start,
    )


def _ordered(
    chosen: list[int], covers: list[list[int]], weights: npt.NDArray[np.float64]
) -> list[int]:
    """The chosen places, each next the one adding the most residents to those before."""
    left, out = list(chosen), []
    seen: set[int] = set()
    while left:
        gains = [weights[list(set(covers[j]) - seen)].sum() for j in left]
        best = left.pop(int(np.argmax(gains)))
        seen |= set(covers[best])
        out.append(best)
    return out
