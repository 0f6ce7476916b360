"""Accessibility by the enhanced two-step floating catchment area method (E2SFCA).

Residents are the census small areas (population at a representative point), supply the
in-person venues (:func:`tsunagari_geo.analysis.reach.inperson_venues`), each weighted by its
``capacity`` where the activity gives one (else ``[access] default_capacity``). With the
Gaussian decay ``w(d) = exp(−d² / (2σ²))`` for ``d < catchment`` (0 beyond), straight-line
distance in the region's metric CRS:

    step 1, each venue j:       R_j = S_j / Σ_k P_k w(d_kj)
    step 2, each small area i:  A_i = Σ_j R_j w(d_ij)

``access_2sfca`` is A × 10,000: capacity-weighted venues per 10,000 residents within reach
(0 where none is within the catchment). Per area it is aggregated population-weighted (the
mean a resident of the area has). The settings live in ``coverage.toml`` ([access]);
``bench/access_bench.py`` checks the numbers against PySAL ``access``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.spatial import cKDTree

#: Accessibility is reported per this many residents.
PER = 10_000


def gaussian_weight(distance: npt.ArrayLike, sigma: float) -> npt.NDArray[np.float64]:
    """``exp(−d² / (2σ²))``: 1 at the venue, 0.61 at σ, 0.14 at 2σ (PySAL's ``gaussian``)."""
    d = np.asarray(distance, dtype=float)
    return np.asarray(np.exp(-(d**2) / (2.0 * sigma**2)), dtype=float)


def e2sfca(
    demand_xy: npt.NDArray[np.float64],
    population: npt.ArrayLike,
    supply_xy: npt.NDArray[np.float64],
    capacity: npt.ArrayLike,
    *,
    catchment: float,
    sigma: float,
) -> npt.NDArray[np.float64]:
    """E2SFCA accessibility ``A_i`` (supply per resident) of each demand point.

    ``demand_xy`` (n × 2) and ``supply_xy`` (m × 2) in metres; pairs at ``catchment`` or
    farther do not interact. A venue no resident reaches supplies nobody. Returns n values.
    """
    pop = np.asarray(population, dtype=float)
    cap = np.asarray(capacity, dtype=float)
    n, m = len(demand_xy), len(supply_xy)
    if n == 0 or m == 0:
        return np.zeros(n)
    pairs = cKDTree(demand_xy).sparse_distance_matrix(
        cKDTree(supply_xy), max_distance=catchment, output_type="coo_matrix"
    )
    # The pairs keep d ≤ catchment (a venue on a point, d = 0, included); the catchment is
    # strict, as in PySAL access (cost < max_cost).
    row, col, dist = pairs.row, pairs.col, pairs.data
    keep = dist < catchment
    row, col, dist = row[keep], col[keep], dist[keep]
    weight = gaussian_weight(dist, sigma)
    w = coo_matrix((weight, (row, col)), shape=(n, m)).tocsr()
    demand_seen = np.asarray(w.T @ pop, dtype=float)  # Σ_k P_k w(d_kj), per venue
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(demand_seen > 0, cap / demand_seen, 0.0)
    return np.asarray(w @ ratio, dtype=float)


def venue_capacity(acts: pd.DataFrame, default: float) -> npt.NDArray[np.float64]:
    """Each activity's ``capacity`` where it is a positive number, else ``default``."""
    if "capacity" not in acts.columns:
        return np.full(len(acts), float(default))
    values = pd.to_numeric(acts["capacity"], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(values) & (values > 0), values, float(default))


def add_access(
    table: pd.DataFrame, small_areas: pd.DataFrame, access: npt.ArrayLike, key: str
) -> None:
    """Add ``access_2sfca`` (population-weighted mean of the small areas' A × 10,000)."""
    index = pd.Index(table["code"].astype(str))
    area = small_areas[key].astype(str)
    pop = small_areas["population"].astype(float)
    weighted = (pop * np.asarray(access, dtype=float) * PER).groupby(area).sum()
    total = pop.groupby(area).sum().replace(0, np.nan)
    table["access_2sfca"] = np.asarray((weighted / total).reindex(index).round(6), dtype=float)
