"""Matching suggestions: nearby members that already do what a flagged area lacks.

Four steps, one function each: the needs of flagged areas (:func:`_needs`), what every member
activity offers and where (:func:`_offers`), the offers of neighbouring areas matched to the
needs and measured (:func:`_nearest`), and the labels people read (:func:`_labelled`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from tsunagari_geo.activities.taxonomy import ALL_AGES, Taxonomies
from tsunagari_geo.analysis.config import CoverageConfig
from tsunagari_geo.analysis.distance import metric_xy, neighbours_of, rep_points

#: Columns of the suggestions frame, in order.
COLUMNS = [
    "level", "area_code", "area_name", "need_kind", "need_code", "need_label", "group",
    "rank", "organization_id", "organization_name", "organization_kind",
    "provider_area_code", "provider_area_name", "distance_km",
]  # fmt: skip
_NEED = ["area_code", "need_kind", "need_code"]


def suggest_members(
    level: str,
    table: gpd.GeoDataFrame,
    acts: pd.DataFrame,
    orgs: pd.DataFrame,
    tax: Taxonomies,
    cfg: CoverageConfig,
    crs: str,
) -> pd.DataFrame:
    """Nearest members in neighbouring areas that already do what a flagged area lacks.

    One row per flagged area × need × suggested organisation (see :data:`COLUMNS`), at most
    ``cfg.suggestions.per_need`` per group (companies apart from the others); distances in
    ``crs`` (the region's metric CRS).
    """
    needs = _needs(table, tax)
    if needs.empty:
        return _empty()
    key = "unit_code" if level == "unit" else "muni_code"
    rep = dict(zip(table["code"], rep_points(table, crs), strict=True))
    neighbours = neighbours_of(table, cfg.suggestions.neighbour_rings)
    pairs = pd.DataFrame(
        [(a, n) for a in needs["area_code"].unique() for n in sorted(neighbours[a])],
        columns=["area_code", "provider_area_code"],
    )
    candidates = needs.merge(pairs, on="area_code").merge(
        _offers(acts, key, rep, crs), on=["provider_area_code", "need_kind", "need_code"]
    )
    if candidates.empty:
        return _empty()
    nearest = _nearest(candidates, rep, orgs, cfg.suggestions.per_need)
    return _labelled(nearest, level, table, tax)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in COLUMNS})


def _needs(table: gpd.GeoDataFrame, tax: Taxonomies) -> pd.DataFrame:
    """(area, need kind, need code) for every life stage and theme a flagged area lacks."""
    flagged = table[table["flag_count"] > 0]
    needs: list[tuple[str, str, str]] = []
    for kind, taxonomy, prefix in (
        ("life_stage", tax.life_stages, "stage_"),
        ("theme", tax.themes, "theme_"),
    ):
        for code in taxonomy.codes:
            if kind == "life_stage" and code == ALL_AGES:
                continue
            lacking = flagged.loc[flagged[f"{prefix}{code}"] == 0, "code"]
            needs.extend((a, kind, code) for a in lacking)
    return pd.DataFrame(needs, columns=_NEED)


def _offers(
    acts: pd.DataFrame, key: str, rep: dict[str, npt.NDArray[np.float64]], crs: str
) -> pd.DataFrame:
    """Per in-person activity and tag: its area, organisation and where it is measured from."""
    local = acts[acts["local"] & (acts[key] != "")]
    provider_xy = np.array([rep[c] for c in local[key]]).reshape(-1, 2)
    # Only published exact-privacy points measure distances; the others stand at their area's
    # point, so no distance in the suggestions can help locate a hidden, unpublished or
    # town-level activity.
    has_point = (
        ~np.isnan(local["lon"].to_numpy(dtype=float))
        & np.isin(local["privacy"].to_numpy(), ["exact", ""])
        & local["published"].to_numpy(dtype=bool)
    )
    if has_point.any():
        provider_xy[has_point] = metric_xy(local["lon"][has_point], local["lat"][has_point], crs)
    base = pd.DataFrame(
        {
            "provider_area_code": local[key].to_numpy(),
            "organization_id": local["organization_id"].to_numpy(),
            "x": provider_xy[:, 0],
            "y": provider_xy[:, 1],
        }
    )
    by_kind = [
        base.assign(need_kind=kind, need_code=local[column].to_numpy()).explode("need_code")
        for kind, column in (("theme", "themes"), ("life_stage", "stages"))
    ]
    return pd.concat(by_kind).dropna(subset=["need_code"])


def _nearest(
    candidates: pd.DataFrame,
    rep: dict[str, npt.NDArray[np.float64]],
    orgs: pd.DataFrame,
    per_need: int,
) -> pd.DataFrame:
    """Each organisation once per need, at its nearest offer; ranked within its group."""
    target = np.array([rep[a] for a in candidates["area_code"]])
    candidates["distance_km"] = (
        np.hypot(candidates["x"] - target[:, 0], candidates["y"] - target[:, 1]) / 1000
    )
    nearest = candidates.sort_values(["distance_km", "organization_id"]).drop_duplicates(
        [*_NEED, "organization_id"]
    )
    org_info = orgs.drop_duplicates("id").set_index("id")
    nearest["organization_name"] = nearest["organization_id"].map(org_info["name"]).fillna("")
    nearest["organization_kind"] = nearest["organization_id"].map(org_info["kind"]).fillna("")
    nearest["group"] = np.where(
        nearest["organization_kind"] == "企業・業界団体", "company", "other"
    )
    nearest["rank"] = nearest.groupby([*_NEED, "group"]).cumcount() + 1
    return nearest[nearest["rank"] <= per_need].copy()


def _labelled(
    nearest: pd.DataFrame, level: str, table: gpd.GeoDataFrame, tax: Taxonomies
) -> pd.DataFrame:
    """The suggestions with area names and need labels, in :data:`COLUMNS` order."""
    names = dict(zip(table["code"], table["name"], strict=True))
    labels = {**tax.themes.labels, **tax.life_stages.labels}
    nearest["level"] = level
    nearest["area_name"] = nearest["area_code"].map(names)
    nearest["provider_area_name"] = nearest["provider_area_code"].map(names)
    nearest["need_label"] = [
        (tax.themes.labels if k == "theme" else tax.life_stages.labels).get(c, labels.get(c, c))
        for k, c in zip(nearest["need_kind"], nearest["need_code"], strict=True)
    ]
    nearest["distance_km"] = nearest["distance_km"].round(1)
    return nearest.sort_values([*_NEED, "group", "rank"])[COLUMNS].reset_index(drop=True)
