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

Every candidate is offered, less those a lossless reduction drops (:func:`undominated`): a
candidate that covers nobody, and one whose covered small areas are all covered by another
candidate too (its coverage set is a subset of the other's; of equal sets the first is kept).
Whatever N places an optimum picks, swapping each dropped one for the candidate that dominates
it reaches at least as many residents, so the optimum over the kept candidates is an optimum
over all of them. Small areas covered by the same kept candidates are then one client of the
programme (their residents summed), the same optimum with fewer constraints. CBC is run as
PuLP's ``COIN_CMD`` on the solver binary of the ``cbcbox`` package (``pulp[cbc]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from tsunagari_geo.activities.taxonomy import Taxonomies
from tsunagari_geo.analysis.distance import metric_xy
from tsunagari_geo.analysis.inputs import Areas, prepare_activities
from tsunagari_geo.analysis.people_reach import (
    nearest_distances,
    small_area_xy,
    venue_groups,
)
from tsunagari_geo.analysis.reach import inperson_venues
from tsunagari_geo.errors import InputError
from tsunagari_geo.reference.locator import muni_codes_of, store_locator
from tsunagari_geo.settings import STORE_CRS
from tsunagari_geo.store import Store


@dataclass(frozen=True)
class Plan:
    """The suggested places and what they reach.

    ``choices`` (GeoDataFrame, EPSG:4326): ``order`` (1 = adds the most), ``candidate`` (the
    small area's KEY_CODE or the CSV's name), ``unit_code``, ``muni_code``, ``name``,
    ``newly_reached`` (residents now without a venue within the radius that this place adds),
    ``running_total``. ``unreached`` is how many residents had none within the radius before,
    ``population`` all residents of the small areas, ``candidates`` how many candidates
    cover anybody, ``offered`` how many of them the programme was given (the undominated ones).
    """

    choices: gpd.GeoDataFrame
    unreached: int
    population: int
    candidates: int
    offered: int
    radius_m: float
    seconds: float


@dataclass(frozen=True)
class PlanInputs:
    """What :func:`plan_new_places` is given for a store's region.

    ``activities`` are the records as :func:`.inputs.prepare_activities` places and splits
    them (``lon``/``lat``, in person or remote, groups); ``small_areas`` the store's census
    small areas (EPSG:4326 points with ``population``); ``metric_crs`` the region's.
    """

    activities: pd.DataFrame
    small_areas: pd.DataFrame
    metric_crs: str


def plan_inputs(activities: pd.DataFrame, store: Store, tax: Taxonomies) -> PlanInputs:
    """Activity records (as :func:`tsunagari_geo.analysis.coverage.compute_coverage` takes
    them: ``lat``/``lng`` or point geometry, ``unit_code``/``muni_code`` where placed) placed on
    the store's units, with the store's small areas and metric CRS. Raises InputError when the
    store has no census small areas.

    Example::

        tax = load_taxonomies()
        inputs = plan_inputs(records, store, tax)
        plan_new_places(inputs.activities, inputs.small_areas, tax, inputs.metric_crs, new=5)
    """
    if store.small_areas is None:
        raise InputError(
            "ストアに国勢調査の小地域がありません。`tsunagari-geo data import` をやり直してください",
            path=store.location,
        )
    areas = Areas(
        units=store.units,
        municipalities=store.municipalities,
        towns=store.towns,
        to_muni=muni_codes_of(store.units),
        locator=store_locator(store),
        metric_crs=store.region.metric_crs,
    )
    return PlanInputs(
        activities=prepare_activities(activities, areas, tax),
        small_areas=store.small_areas,
        metric_crs=store.region.metric_crs,
    )


def plan_from_store(
    activities: pd.DataFrame,
    store: Store,
    tax: Taxonomies,
    *,
    new: int,
    radius_m: float = 1000.0,
    group: str = "",
    candidates: pd.DataFrame | None = None,
) -> Plan:
    """:func:`plan_new_places` over :func:`plan_inputs` of the store. The command and the build
    both plan through here. Raises InputError when the store has no census small areas.
    """
    inputs = plan_inputs(activities, store, tax)
    return plan_new_places(
        inputs.activities, inputs.small_areas, tax, inputs.metric_crs,
        new=new, radius_m=radius_m, group=group, candidates=candidates,
    )  # fmt: skip


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
) -> Plan:
    """Solve the MCLP; see the module docstring. ``group`` is ``""`` (all venues),
    ``_<stage>`` or ``_theme_<code>`` (the suffixes of :func:`.people_reach.venue_groups`).

    Raises InputError when ``new`` is not positive or ``group`` is unknown.
    """
    import time

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
    useful = np.array([len(c) > 0 for c in covers], dtype=bool)
    offered = undominated(covers, len(demand))
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
        picked = solve_mclp(
            [sorted(c) for c in merged], list(merged.values()), len(offered), min(new, len(offered))
        )
        chosen = [int(offered[col]) for col in picked]
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
        candidates=int(useful.sum()),
        offered=len(offered),
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


def solve_mclp(
    clients: list[list[int]], weights: list[float], n_facilities: int, p: int
) -> list[int]:
    """The ``p`` facilities (of ``0 … n_facilities − 1``) covering the most weight, as spopt's
    :class:`~spopt.locate.MCLP` (its formulation, facility constraint and solve), by CBC.
    ``clients[i]`` lists the facilities covering client ``i`` (its ``N_i``).

    The variables and coverage constraints (Σ_{j ∈ N_i} Y_j ≥ X_i) are written here:
    ``MCLP.from_cost_matrix`` writes every constraint over all facilities, zeros too (n × m
    terms: 99 s of 104 s for 2,916 clients × 2,113 candidates), and creates its variables
    through PuLP's ``LpVariable`` constructor, deprecated for PuLP 4 (``add_variable`` here).
    """
    import pulp
    from spopt.locate import MCLP
    from spopt.locate.base import FacilityModelBuilder

    problem = pulp.LpProblem("tsunagari-plan", pulp.LpMaximize)
    model = MCLP("tsunagari-plan", problem)
    fac = [problem.add_variable(f"x[{j}]", 0, 1, pulp.LpInteger) for j in range(n_facilities)]
    cli = [problem.add_variable(f"y[{i}]", 0, 1, pulp.LpInteger) for i in range(len(clients))]
    model.fac_vars, model.cli_vars = fac, cli
    problem += pulp.lpSum(w * cli[i] for i, w in enumerate(weights)), "objective function"
    for i, covering in enumerate(clients):
        problem += pulp.lpSum(fac[j] for j in covering) >= cli[i]
    FacilityModelBuilder.add_facility_constraint(model, p)
    model.solve(cbc_solver(), results=False)
    return [j for j in range(n_facilities) if (fac[j].value() or 0) > 0.5]


def cbc_solver() -> Any:
    """CBC through PuLP's ``COIN_CMD`` on the binary ``cbcbox`` installs (``pulp[cbc]``): the
    solver PuLP names as current (its bundled ``PULP_CBC_CMD`` is deprecated for PuLP 4)."""
    import pulp
    from cbcbox import cbc_bin_path

    return pulp.COIN_CMD(path=cbc_bin_path(), msg=False)


def undominated(covers: list[list[int]], n_demand: int) -> npt.NDArray[np.int64]:
    """The candidates worth offering: those covering somebody whose coverage set is no other
    candidate's subset (of equal sets, the first one), in index order.

    ``covers[j]`` lists the demand points (``0 … n_demand − 1``) candidate ``j`` covers. A
    candidate ``j`` is dropped when some ``k`` covers every point ``j`` covers: ``|C_j ∩ C_k|
    = |C_j|``, read off the sparse product of the cover matrix with itself. Lossless for the
    MCLP (see the module docstring).
    """
    sizes = np.array([len(c) for c in covers], dtype=np.int64)
    if not len(covers) or not sizes.any():
        return np.flatnonzero(sizes > 0)
    rows = np.repeat(np.arange(len(covers)), sizes)
    cols = np.fromiter((i for c in covers for i in c), dtype=np.int64, count=int(sizes.sum()))
    cover = csr_matrix(
        (np.ones(len(cols), dtype=np.int32), (rows, cols)), shape=(len(covers), n_demand)
    )
    shared = (cover @ cover.T).tocoo()  # |C_j ∩ C_k| for every pair that shares a point
    j, k, common = shared.row, shared.col, shared.data
    contained = (j != k) & (common == sizes[j])
    # k dominates j: k covers all of j and more, or the same set and comes first.
    dominates = contained & ((sizes[k] > sizes[j]) | (k < j))
    dropped = np.zeros(len(covers), dtype=bool)
    dropped[j[dominates]] = True
    return np.flatnonzero((sizes > 0) & ~dropped)
