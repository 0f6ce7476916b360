"""Coverage-gap analysis: where support is missing, for whom, and who could fill the gap.

:func:`compute_coverage` (a :class:`ReferenceStore` in) and :func:`coverage_from_frames`
(hand-made frames in) compute the same :class:`CoverageResult` for the 63 municipalities and
the 72 units (さいたま市 split into its 10 wards). Lengths are measured in EPSG:6677; every
output frame is in EPSG:4326 and holds **aggregates per area only**: no activity's point ever
appears in it, so hidden (非表示) and unpublished activities count toward coverage without
being shown.

Which activities count where
    *In-person* (対面) means ``format`` in_person or outreach (訪問) and not prefecture-wide.
    An in-person activity counts in the area holding its point; without a point, in the
    area of its ``unit_code`` or ``muni_code`` column (the geocoder's, placed by
    :func:`tsunagari_geo.analysis.placement.placed_point`) or of its single ``serves`` code; if
    none of these, it is listed in ``CoverageResult.unlocated``. Rows placed only at
    さいたま市 level count for the city but for none of its wards. Online, phone and
    prefecture-wide activities count *apart*, as reachable remotely, in every area they serve
    (``serves``; prefecture = every area; empty = the area where they are). A life stage's
    count includes activities for all ages (全世代).

Columns of ``municipalities`` and ``units`` (GeoDataFrames, EPSG:4326, one row per area):
    ``level`` (municipality | unit), ``code``, ``name``, ``muni_code`` (63-level code),
    ``pop_total`` and the census denominators, ``inperson_total``, ``inperson_published``,
    ``ward_unknown_inperson`` (units only: for a ward of さいたま市, the city's in-person
    activities whose ward is not known, 区不明, counted for the city and in no ward; else 0),
    ``theme_<code>`` per theme, ``stage_<code>`` per life stage, ``remote_total``,
    ``inperson_per10k`` and ``stage_<code>_per10k`` (per 10,000 of the stage's denominator),
    ``towns`` (大字・町丁目 points), ``reach_1km``, ``reach_2km`` (share of towns whose nearest
    in-person activity is within 1 / 2 km), ``median_nearest_m``, ``reach_1km_<stage>`` and
    ``reach_2km_<stage>`` (only activities for that stage or all ages),
    ``orgs_total`` and ``orgs_<kind>`` (government, npo, shakyo, company, other: member
    organisations based there), ``government_member`` (the municipal government 行政 is a
    member; for a ward, the ward or さいたま市), flags ``flag_no_inperson``,
    ``flag_stage_missing`` (+ ``stages_missing``, Japanese labels joined by ``、``),
    ``flag_low_density``, ``flag_low_reach``, ``flag_not_member``, ``flag_count``,
    ``gap_score`` (0–100, weights in ``data/coverage.toml``), ``gap_rank`` (1 = largest gap,
    ties share a rank), ``gap_class`` (0 … k−1, mapclassify scheme), ``spread_themes``
    (theme labels with a nearby awarded good practice, 横展開), ``geometry``.

``suggestions`` (DataFrame), one row per flagged area × need × suggested organisation:
    ``level``, ``area_code``, ``area_name``, ``need_kind`` (life_stage | theme), ``need_code``,
    ``need_label``, ``group`` (company | other: companies are listed apart), ``rank`` (1 =
    nearest within group), ``organization_id``, ``organization_name``, ``organization_kind``,
    ``provider_area_code``, ``provider_area_name``, ``distance_km`` (from the provider's
    nearest such activity to the area's representative point, 0.1 km; an activity whose
    privacy is not ``exact`` is measured from its area's representative point instead).

``spread`` (DataFrame), one row per area × missing theme × awarded good practice nearby:
    ``level``, ``area_code``, ``area_name``, ``theme``, ``theme_label``, ``practice_id``,
    ``title``, ``organization_name``, ``award``, ``fiscal_year``, ``practice_muni_code``,
    ``distance_km`` (empty when the practice's municipality is unknown).

Example::

    >>> result = compute_coverage(activities, organizations, store, scheme="quantiles")
    >>> result.municipalities.sort_values("gap_rank")[["name", "gap_score"]].head()
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import mapclassify
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from tsunagari_geo.activities.models import LOCAL_FORMATS, PREFECTURE, split_list
from tsunagari_geo.activities.taxonomy import ALL_AGES, Taxonomies, load_taxonomies
from tsunagari_geo.analysis.config import CoverageConfig, load_coverage_config
from tsunagari_geo.analysis.join import coordinates
from tsunagari_geo.cells import coordinate_columns, yes_no_column
from tsunagari_geo.errors import InputError
from tsunagari_geo.reference.locator import (
    PointLocator,
    locator_for,
    muni_codes_of,
    store_locator,
    unit_codes_at,
)
from tsunagari_geo.reference.store import ReferenceStore
from tsunagari_geo.settings import METRIC_CRS, STORE_CRS

#: Organisation kinds (Japanese names in the data) → column suffixes.
KIND_KEYS = {
    "行政": "government",
    "NPO等": "npo",
    "社協": "shakyo",
    "企業・業界団体": "company",
    "その他": "other",
}
#: Awards that make a good practice worth spreading.
AWARDS = ("大賞", "優秀賞")
LEVELS = ("municipality", "unit")

_TO_METRIC = Transformer.from_crs(STORE_CRS, METRIC_CRS, always_xy=True)


@dataclass(frozen=True)
class CoverageResult:
    """Coverage per area at both levels, matching suggestions and 横展開 candidates.

    ``class_breaks`` maps each level to the upper bounds of its gap-score classes;
    ``unlocated`` lists in-person activities that could be placed in no area (``id``,
    ``reason``), so nothing disappears silently.
    """

    municipalities: gpd.GeoDataFrame
    units: gpd.GeoDataFrame
    suggestions: pd.DataFrame
    spread: pd.DataFrame
    class_breaks: dict[str, list[float]]
    unlocated: pd.DataFrame
    scheme: str
    config: CoverageConfig = field(repr=False)


# --- preparing the inputs ----------------------------------------------------------------------


def _list_column(frame: pd.DataFrame, column: str) -> list[list[str]]:
    if column not in frame.columns:
        return [[] for _ in range(len(frame))]
    # Lists of codes pass as they are (the fast path for frames built in code).
    return [
        v if isinstance(v, list) else split_list(v) if not _is_missing(v) else []
        for v in frame[column]
    ]


def _is_missing(value: object) -> bool:
    if isinstance(value, list | tuple | np.ndarray):
        return False
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _text_column(frame: pd.DataFrame, column: str) -> npt.NDArray[np.object_]:
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[column].fillna("").astype(str).str.strip().to_numpy(dtype=object)


def _check_codes(
    lists: list[list[str]], allowed: tuple[str, ...], ids: npt.NDArray[Any], what: str
) -> None:
    known = set(allowed)
    for i, items in enumerate(lists):
        for item in items:
            if item not in known:
                # Frames reach here without spreadsheet rows; the record id locates it.
                raise InputError(
                    f"unknown {what} code in record {ids[i]!r}; validate with the readers first",
                    column=what,
                    value=item,
                )


@dataclass(frozen=True)
class _Areas:
    """Both levels' frames, their codes and the unit → municipality map."""

    units: gpd.GeoDataFrame
    municipalities: gpd.GeoDataFrame
    towns: pd.DataFrame
    to_muni: dict[str, str]
    locator: PointLocator


def _metric_xy(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.float64]:
    x, y = _TO_METRIC.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.column_stack([x, y])


def _rep_points(areas: gpd.GeoDataFrame) -> npt.NDArray[np.float64]:
    if {"rep_lng", "rep_lat"} <= set(areas.columns):
        return _metric_xy(areas["rep_lng"].astype(float), areas["rep_lat"].astype(float))
    rep = shapely.point_on_surface(areas.to_crs(STORE_CRS).geometry.values)
    return _metric_xy(shapely.get_x(rep), shapely.get_y(rep))


# --- the analysis ------------------------------------------------------------------------------


def compute_coverage(
    activities: pd.DataFrame,
    organizations: pd.DataFrame | None,
    store: ReferenceStore,
    *,
    good_practices: pd.DataFrame | None = None,
    taxonomies: Taxonomies | None = None,
    config: CoverageConfig | None = None,
    scheme: str = "quantiles",
) -> CoverageResult:
    """Coverage of ``activities`` over the store's 63 municipalities and 72 units.

    Args:
        activities: activity records (the model's columns; lists as lists or ``a;b`` text),
            with coordinates as ``lat``/``lng`` or point geometry in EPSG:4326.
        organizations: member organisations (``id``, ``name``, ``kind``, ``base_muni_code``),
            or None (then no member presence and every government counts as not a member).
        store: the reference store (boundaries, population, towns).
        good_practices: 好事例 (``id``, ``title``, ``organization_name``, ``themes``,
            ``muni_code``, ``fiscal_year``, ``award``), or None for no 横展開.
        taxonomies: defaults to ``data/taxonomies``.
        config: defaults to ``data/coverage.toml``.
        scheme: mapclassify scheme for ``gap_class`` (quantiles, equalinterval,
            naturalbreaks, fisherjenks, …).

    Returns:
        A :class:`CoverageResult`; see the module docstring for every column.

    Raises:
        InputError: an activity carries a theme or life stage code the taxonomies lack, or the
            scheme is unknown.
    """
    return coverage_from_frames(
        activities,
        organizations,
        units=store.units,
        municipalities=store.municipalities,
        towns=store.towns,
        good_practices=good_practices,
        taxonomies=taxonomies,
        config=config,
        scheme=scheme,
        locator=store_locator(store),
    )


def coverage_from_frames(
    activities: pd.DataFrame,
    organizations: pd.DataFrame | None,
    *,
    units: gpd.GeoDataFrame,
    municipalities: gpd.GeoDataFrame,
    towns: pd.DataFrame,
    good_practices: pd.DataFrame | None = None,
    taxonomies: Taxonomies | None = None,
    config: CoverageConfig | None = None,
    scheme: str = "quantiles",
    locator: PointLocator | None = None,
) -> CoverageResult:
    """:func:`compute_coverage` on explicit frames (e.g. hand-drawn ones in tests).

    ``units`` need ``code``, ``name``, ``parent_code`` (empty unless a ward), the population
    columns the life stages name, and polygons; ``municipalities`` the same without
    ``parent_code``; ``towns`` ``unit_code``, ``muni_code`` and point geometry (or
    ``lat``/``lng``). ``locator`` may be a prebuilt :class:`PointLocator` of ``units``.
    """
    tax = taxonomies or load_taxonomies()
    cfg = config or load_coverage_config()
    areas = _Areas(
        units=units.to_crs(STORE_CRS),
        municipalities=municipalities.to_crs(STORE_CRS),
        towns=towns,
        to_muni=muni_codes_of(units),
        locator=locator or locator_for(units),
    )
    acts = _prepare_activities(activities, areas, tax)
    orgs = _prepare_organizations(organizations, areas)
    reach = _town_distances(acts, areas, tax)
    practices = _prepare_practices(good_practices, tax)

    frames: dict[str, gpd.GeoDataFrame] = {}
    breaks: dict[str, list[float]] = {}
    suggestions: list[pd.DataFrame] = []
    spreads: list[pd.DataFrame] = []
    for level in LEVELS:
        table = _level_metrics(level, acts, orgs, reach, areas, tax, cfg)
        table, breaks[level] = _classify(table, scheme, cfg.classes.k)
        suggestions.append(_suggestions(level, table, acts, orgs, areas, tax, cfg))
        spread = _spread(level, table, practices, areas, tax, cfg)
        spreads.append(spread)
        themes_by_area: dict[str, list[str]] = {}
        for code, label in zip(spread["area_code"], spread["theme_label"], strict=True):
            themes_by_area.setdefault(code, [])
            if label not in themes_by_area[code]:
                themes_by_area[code].append(label)
        table["spread_themes"] = ["、".join(themes_by_area.get(c, [])) for c in table["code"]]
        frames[level] = table

    unlocated = acts.loc[acts["local"] & (acts["muni_code"] == ""), ["id", "reason"]]
    return CoverageResult(
        municipalities=frames["municipality"],
        units=frames["unit"],
        suggestions=pd.concat(suggestions, ignore_index=True),
        spread=pd.concat(spreads, ignore_index=True),
        class_breaks=breaks,
        unlocated=unlocated.reset_index(drop=True),
        scheme=scheme,
        config=cfg,
    )


def _prepare_activities(frame: pd.DataFrame, areas: _Areas, tax: Taxonomies) -> pd.DataFrame:
    """One row per activity: where it is, how it counts, its themes and life stages."""
    n = len(frame)
    ids = _text_column(frame, "id")
    themes = _list_column(frame, "themes")
    stages = _list_column(frame, "life_stages")
    serves = _list_column(frame, "serves")
    _check_codes(themes, tax.themes.codes, ids, "themes")
    _check_codes(stages, tax.life_stages.codes, ids, "life_stages")
    fmt = _text_column(frame, "format")
    bad_fmt = ~np.isin(fmt, ["in_person", "online", "phone", "outreach"])
    if bad_fmt.any():
        i = int(np.flatnonzero(bad_fmt)[0])
        raise InputError(f"unknown format of activity {ids[i]!r}", column="format", value=fmt[i])

    if n and (coordinate_columns(frame.columns) or isinstance(frame, gpd.GeoDataFrame)):
        lon, lat, missing, bad = coordinates(frame)
    else:
        lon = lat = np.full(n, np.nan)
        missing, bad = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    unit = unit_codes_at(areas.locator, lon, lat)
    reason = np.where(
        missing,
        "no_point",
        np.where(bad, "bad_point", np.where(unit == "", "outside_prefecture", "")),
    ).astype(object)

    # No point inside the prefecture: fall back on the geocoder's codes (unit_code, then
    # muni_code, either of which may be a unit or a municipality), then on `serves`.
    unit_ref = _text_column(frame, "unit_code")
    ref = _text_column(frame, "muni_code")
    muni_codes = set(areas.municipalities["code"].astype(str))
    muni = np.array([areas.to_muni.get(u, "") for u in unit], dtype=object)
    prefwide = np.array([PREFECTURE in s for s in serves], dtype=bool)
    for i in np.flatnonzero(unit == "").tolist():
        single = serves[i][0] if len(serves[i]) == 1 and not prefwide[i] else ""
        for candidate in (unit_ref[i], ref[i], single):
            if candidate in areas.to_muni:
                unit[i], muni[i] = candidate, areas.to_muni[candidate]
                break
            if candidate in muni_codes:
                muni[i] = candidate
                break

    local = np.isin(fmt, list(LOCAL_FORMATS)) & ~prefwide
    every_stage = set(tax.life_stages.codes)
    stage_sets = [set(s) | every_stage if ALL_AGES in s else set(s) for s in stages]
    org_ids = _text_column(frame, "organization_id")
    return pd.DataFrame(
        {
            "id": ids,
            "organization_id": org_ids,
            "format": fmt,
            "local": local,
            "published": yes_no_column(frame, "published", default=True),
            "privacy": _text_column(frame, "location_privacy"),
            "themes": themes,
            "stages": [sorted(s) for s in stage_sets],
            "serves": serves,
            "prefecture_wide": prefwide,
            "lon": lon,
            "lat": lat,
            "unit_code": unit,
            "muni_code": muni,
            "reason": reason,
        }
    )


def _prepare_organizations(frame: pd.DataFrame | None, areas: _Areas) -> pd.DataFrame:
    columns = ["id", "name", "kind", "kind_key", "unit_code", "muni_code"]
    if frame is None or len(frame) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    base = _text_column(frame, "base_muni_code")
    kind = _text_column(frame, "kind")
    unknown = ~np.isin(kind, list(KIND_KEYS))
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        ident = _text_column(frame, "id")[i]
        raise InputError(f"unknown kind of organisation {ident!r}", column="kind", value=kind[i])
    muni_codes = set(areas.municipalities["code"].astype(str))
    return pd.DataFrame(
        {
            "id": _text_column(frame, "id"),
            "name": _text_column(frame, "name"),
            "kind": kind,
            "kind_key": [KIND_KEYS[k] for k in kind],
            # A unit code is a unit; さいたま市 itself (11100) is a municipality only.
            "unit_code": [b if b in areas.to_muni else "" for b in base],
            "muni_code": [areas.to_muni.get(b, b if b in muni_codes else "") for b in base],
        }
    )


def _prepare_practices(frame: pd.DataFrame | None, tax: Taxonomies) -> pd.DataFrame:
    columns = ["id", "title", "organization_name", "themes", "muni_code", "fiscal_year", "award"]
    if frame is None or len(frame) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    out = pd.DataFrame(
        {
            "id": _text_column(frame, "id"),
            "title": _text_column(frame, "title"),
            "organization_name": _text_column(frame, "organization_name"),
            "themes": _list_column(frame, "themes"),
            "muni_code": _text_column(frame, "muni_code"),
            "fiscal_year": _text_column(frame, "fiscal_year"),
            "award": _text_column(frame, "award"),
        }
    )
    _check_codes(list(out["themes"]), tax.themes.codes, out["id"].to_numpy(), "themes")
    return out[out["award"].isin(AWARDS)].reset_index(drop=True)


def _town_distances(acts: pd.DataFrame, areas: _Areas, tax: Taxonomies) -> pd.DataFrame:
    """Per town: distance (m) to the nearest in-person venue, overall and per life stage.

    Venues are in-person activities with a point (outreach has no venue: it goes to homes).
    Points outside the prefecture still count: a resident may cross the border.
    """
    towns = areas.towns
    if "lat" in towns.columns and "lng" in towns.columns:
        t_lon, t_lat = towns["lng"].astype(float), towns["lat"].astype(float)
    else:
        geo = gpd.GeoSeries(towns.geometry).to_crs(STORE_CRS)
        t_lon, t_lat = geo.x, geo.y
    town_xy = _metric_xy(t_lon, t_lat)
    out = pd.DataFrame(
        {
            "unit_code": towns["unit_code"].astype(str).to_numpy(),
            "muni_code": towns["muni_code"].astype(str).to_numpy(),
        }
    )
    venue = (
        acts["local"].to_numpy()
        & (acts["format"].to_numpy() == "in_person")
        & ~np.isnan(acts["lon"].to_numpy(dtype=float))
    )
    venue_xy = _metric_xy(acts["lon"][venue], acts["lat"][venue])
    venue_stages = acts["stages"][venue].tolist()

    def nearest(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        if not mask.any() or len(town_xy) == 0:
            return np.full(len(town_xy), np.inf)
        dist, _ = cKDTree(venue_xy[mask]).query(town_xy, k=1)
        return np.asarray(dist, dtype=float)

    out["d_any"] = nearest(np.ones(len(venue_xy), dtype=bool))
    for stage in tax.life_stages.codes:
        mask = np.array([stage in s for s in venue_stages], dtype=bool)
        out[f"d_{stage}"] = nearest(mask)
    return out


def _level_metrics(
    level: str,
    acts: pd.DataFrame,
    orgs: pd.DataFrame,
    reach: pd.DataFrame,
    areas: _Areas,
    tax: Taxonomies,
    cfg: CoverageConfig,
) -> gpd.GeoDataFrame:
    """Counts, rates, reach, members, flags and gap score for one level."""
    key = "unit_code" if level == "unit" else "muni_code"
    base = areas.units if level == "unit" else areas.municipalities
    code = base["code"].astype(str)
    keep = ["code", "name", *[c for c in _population_columns(tax) if c in base.columns]]
    table = pd.DataFrame(base[keep]).copy()
    table["code"] = code.to_numpy()
    table.insert(0, "level", level)
    table["muni_code"] = [areas.to_muni.get(c, c) for c in table["code"]]
    index = pd.Index(table["code"])

    local = acts[acts["local"] & (acts[key] != "")]

    def per_area(series: pd.Series) -> npt.NDArray[Any]:
        return series.reindex(index, fill_value=0).to_numpy()

    table["inperson_total"] = per_area(local.groupby(key).size())
    table["inperson_published"] = per_area(local[local["published"]].groupby(key).size())
    if level == "unit":
        table["ward_unknown_inperson"] = _ward_unknown(acts, table["code"], areas)
    theme_rows = local[[key, "themes"]].explode("themes").dropna()
    theme_counts = pd.crosstab(theme_rows[key], theme_rows["themes"]) if len(theme_rows) else None
    for theme in tax.themes.codes:
        counts = (
            theme_counts[theme]
            if theme_counts is not None and theme in theme_counts
            else pd.Series(dtype=int)
        )
        table[f"theme_{theme}"] = per_area(counts).astype(int)
    stage_rows = local[[key, "stages"]].explode("stages").dropna()
    stage_counts = pd.crosstab(stage_rows[key], stage_rows["stages"]) if len(stage_rows) else None
    for stage in tax.life_stages.codes:
        counts = (
            stage_counts[stage]
            if stage_counts is not None and stage in stage_counts
            else pd.Series(dtype=int)
        )
        table[f"stage_{stage}"] = per_area(counts).astype(int)
    table["remote_total"] = _remote_counts(level, acts, table["code"], areas)

    pop = table["pop_total"].astype(float).replace(0, np.nan)
    table["inperson_per10k"] = (table["inperson_total"] / pop * 1e4).round(3)
    for stage, column in tax.life_stages.denominators.items():
        denominator = table[column].astype(float).replace(0, np.nan)
        table[f"stage_{stage}_per10k"] = (table[f"stage_{stage}"] / denominator * 1e4).round(3)

    _add_reach(table, reach, key, tax)
    _add_members(table, level, orgs, areas)
    _add_flags_and_score(table, tax, cfg)
    return gpd.GeoDataFrame(table, geometry=base.geometry.to_numpy(), crs=STORE_CRS)


def _ward_unknown(acts: pd.DataFrame, codes: pd.Series, areas: _Areas) -> list[int]:
    """Per ward: in-person activities of its city whose ward is not known (区不明).

    They count for the city at the 63 level and in no ward; each ward of the city shows the
    city's figure, so that the 72-unit table still accounts for them. 0 outside such cities.
    """
    unknown = acts[acts["local"] & (acts["unit_code"] == "") & (acts["muni_code"] != "")]
    per_city = unknown.groupby("muni_code").size()
    out = []
    for code in codes:
        city = areas.to_muni.get(code, code)
        out.append(int(per_city.get(city, 0)) if city != code else 0)
    return out


def _population_columns(tax: Taxonomies) -> list[str]:
    return list(dict.fromkeys(["pop_total", *tax.life_stages.denominators.values()]))


def _remote_counts(
    level: str, acts: pd.DataFrame, codes: pd.Series, areas: _Areas
) -> npt.NDArray[np.int64]:
    """Online, phone and prefecture-wide activities reaching each area."""
    remote = acts[~acts["local"]]
    everywhere = int(remote["prefecture_wide"].sum())
    wards: dict[str, list[str]] = {}
    for unit, muni in areas.to_muni.items():
        wards.setdefault(muni, []).append(unit)
    reached: list[str] = []
    for serves, unit, muni in zip(
        remote["serves"][~remote["prefecture_wide"]],
        remote["unit_code"][~remote["prefecture_wide"]],
        remote["muni_code"][~remote["prefecture_wide"]],
        strict=True,
    ):
        targets = serves or [unit or muni]
        if level == "unit":
            found = {u for t in targets for u in ([t] if t in areas.to_muni else wards.get(t, []))}
        else:
            found = {areas.to_muni.get(t, t) for t in targets if t}
        reached.extend(found)
    counts = pd.Series(reached, dtype=object).value_counts()
    return (counts.reindex(pd.Index(codes), fill_value=0).to_numpy() + everywhere).astype(np.int64)


def _add_reach(table: pd.DataFrame, reach: pd.DataFrame, key: str, tax: Taxonomies) -> None:
    """Town reach: share of towns within 1 / 2 km of a venue, and the median distance."""
    index = pd.Index(table["code"])
    area = reach[key]
    table["towns"] = area.value_counts().reindex(index, fill_value=0).to_numpy()

    def share(column: str, limit: float) -> npt.NDArray[np.float64]:
        s = (reach[column] <= limit).astype(float).groupby(area).mean()
        return np.asarray(s.reindex(index).round(4), dtype=np.float64)

    table["reach_1km"] = share("d_any", 1000)
    table["reach_2km"] = share("d_any", 2000)
    # No venue at all gives infinite distances; their median is not a number to publish.
    median = reach["d_any"].replace(np.inf, np.nan).groupby(area).median()
    has_inf = np.isinf(reach["d_any"]).groupby(area).any()
    median[has_inf.reindex(median.index, fill_value=False)] = np.nan
    table["median_nearest_m"] = median.reindex(index).round(1).to_numpy(dtype=float)
    for stage in tax.life_stages.codes:
        table[f"reach_1km_{stage}"] = share(f"d_{stage}", 1000)
        table[f"reach_2km_{stage}"] = share(f"d_{stage}", 2000)


def _add_members(table: pd.DataFrame, level: str, orgs: pd.DataFrame, areas: _Areas) -> None:
    key = "unit_code" if level == "unit" else "muni_code"
    index = pd.Index(table["code"])
    based = orgs[orgs[key] != ""]
    table["orgs_total"] = based.groupby(key).size().reindex(index, fill_value=0).to_numpy()
    for kind in KIND_KEYS.values():
        counts = based[based["kind_key"] == kind].groupby(key).size()
        table[f"orgs_{kind}"] = counts.reindex(index, fill_value=0).to_numpy()
    government = set(orgs.loc[orgs["kind_key"] == "government", "muni_code"])
    government_units = set(orgs.loc[orgs["kind_key"] == "government", "unit_code"])
    if level == "unit":
        # A ward office is part of the city: the city's membership covers its wards.
        table["government_member"] = [
            c in government_units
            or (areas.to_muni.get(c, c) != c and areas.to_muni[c] in government)
            for c in table["code"]
        ]
    else:
        table["government_member"] = [c in government for c in table["code"]]


def _add_flags_and_score(table: pd.DataFrame, tax: Taxonomies, cfg: CoverageConfig) -> None:
    stages = [s for s in tax.life_stages.codes if s != ALL_AGES]
    labels = tax.life_stages.labels
    missing = table[[f"stage_{s}" for s in stages]].to_numpy() == 0
    table["flag_no_inperson"] = table["inperson_total"] == 0
    table["flag_stage_missing"] = missing.any(axis=1)
    table["stages_missing"] = [
        "、".join(labels[s] for s, m in zip(stages, row, strict=True) if m) for row in missing
    ]
    density = table["inperson_per10k"].astype(float)
    # At-or-below the quantile: adding an activity raises the area's density by δ and the
    # quantile by at most δ, so an unflagged area never becomes flagged by gaining one.
    threshold = float(np.nanquantile(density, cfg.thresholds.density_quantile))
    table["flag_low_density"] = (density <= threshold).to_numpy()
    reach = table[f"reach_{cfg.thresholds.reach_distance_m // 1000}km"].astype(float)
    share = cfg.thresholds.reach_share
    table["flag_low_reach"] = (reach < share).fillna(False).to_numpy(dtype=bool)
    table["flag_not_member"] = ~table["government_member"].astype(bool)
    flags = ["flag_no_inperson", "flag_stage_missing", "flag_low_density", "flag_low_reach"]
    table["flag_count"] = table[[*flags, "flag_not_member"]].sum(axis=1).astype(int)

    w = cfg.weights
    components = {
        "no_inperson": table["flag_no_inperson"].astype(float),
        "life_stage_missing": pd.Series(missing.mean(axis=1), index=table.index),
        "low_density": table["flag_low_density"].astype(float),
        "low_reach": ((share - reach.fillna(share)) / share).clip(lower=0, upper=1),
        "not_member": table["flag_not_member"].astype(float),
    }
    weights = w.model_dump()
    total = sum(weights.values())
    score = sum(weights[name] * value for name, value in components.items()) / total * 100
    table["gap_score"] = pd.Series(score, index=table.index).round(1)
    table["gap_rank"] = table["gap_score"].rank(ascending=False, method="min").astype(int)


def _classify(table: gpd.GeoDataFrame, scheme: str, k: int) -> tuple[gpd.GeoDataFrame, list[float]]:
    """``gap_class`` by a mapclassify scheme; all-equal scores fall in class 0."""
    y = table["gap_score"].to_numpy(dtype=float)
    if np.unique(y).size < 2:
        table["gap_class"] = 0
        return table, [float(y.max())] if len(y) else []
    try:
        with warnings.catch_warnings():
            # Few distinct scores make some schemes warn that they merge classes; that's fine.
            warnings.simplefilter("ignore")
            classifier = mapclassify.classify(y, scheme, k=min(k, int(np.unique(y).size)))
    except (KeyError, ValueError, TypeError) as exc:
        raise InputError(f"unknown or unusable classification scheme: {exc}", value=scheme) from exc
    table["gap_class"] = np.asarray(classifier.yb, dtype=int)
    return table, [float(b) for b in classifier.bins]


def _neighbours(base: gpd.GeoDataFrame, rings: int) -> dict[str, set[str]]:
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


def _suggestions(
    level: str,
    table: gpd.GeoDataFrame,
    acts: pd.DataFrame,
    orgs: pd.DataFrame,
    areas: _Areas,
    tax: Taxonomies,
    cfg: CoverageConfig,
) -> pd.DataFrame:
    """Nearest members in neighbouring areas that already do what a flagged area lacks."""
    columns = [
        "level", "area_code", "area_name", "need_kind", "need_code", "need_label", "group",
        "rank", "organization_id", "organization_name", "organization_kind",
        "provider_area_code", "provider_area_name", "distance_km",
    ]  # fmt: skip
    key = "unit_code" if level == "unit" else "muni_code"
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
    if not needs:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    need_frame = pd.DataFrame(needs, columns=["area_code", "need_kind", "need_code"])

    neighbours = _neighbours(table, cfg.suggestions.neighbour_rings)
    pairs = pd.DataFrame(
        [(a, n) for a in need_frame["area_code"].unique() for n in sorted(neighbours[a])],
        columns=["area_code", "provider_area_code"],
    )
    local = acts[acts["local"] & (acts[key] != "")]
    rep = dict(zip(table["code"], _rep_points(table), strict=True))
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
        provider_xy[has_point] = _metric_xy(local["lon"][has_point], local["lat"][has_point])
    base = pd.DataFrame(
        {
            "provider_area_code": local[key].to_numpy(),
            "organization_id": local["organization_id"].to_numpy(),
            "x": provider_xy[:, 0],
            "y": provider_xy[:, 1],
        }
    )
    tags = pd.concat(
        [
            base.assign(need_kind="theme", need_code=local["themes"].to_numpy()).explode(
                "need_code"
            ),
            base.assign(need_kind="life_stage", need_code=local["stages"].to_numpy()).explode(
                "need_code"
            ),
        ]
    ).dropna(subset=["need_code"])
    candidates = need_frame.merge(pairs, on="area_code").merge(
        tags, on=["provider_area_code", "need_kind", "need_code"]
    )
    if candidates.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    target = np.array([rep[a] for a in candidates["area_code"]])
    candidates["distance_km"] = (
        np.hypot(candidates["x"] - target[:, 0], candidates["y"] - target[:, 1]) / 1000
    )
    nearest = candidates.sort_values(["distance_km", "organization_id"]).drop_duplicates(
        ["area_code", "need_kind", "need_code", "organization_id"]
    )
    org_info = orgs.drop_duplicates("id").set_index("id")
    nearest["organization_name"] = nearest["organization_id"].map(org_info["name"]).fillna("")
    nearest["organization_kind"] = nearest["organization_id"].map(org_info["kind"]).fillna("")
    nearest["group"] = np.where(
        nearest["organization_kind"] == "企業・業界団体", "company", "other"
    )
    nearest["rank"] = (
        nearest.groupby(["area_code", "need_kind", "need_code", "group"]).cumcount() + 1
    )
    nearest = nearest[nearest["rank"] <= cfg.suggestions.per_need].copy()
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
    return nearest.sort_values(["area_code", "need_kind", "need_code", "group", "rank"])[
        columns
    ].reset_index(drop=True)


def _spread(
    level: str,
    table: gpd.GeoDataFrame,
    practices: pd.DataFrame,
    areas: _Areas,
    tax: Taxonomies,
    cfg: CoverageConfig,
) -> pd.DataFrame:
    """横展開: awarded practices nearby whose theme the area has no in-person activity for."""
    columns = [
        "level", "area_code", "area_name", "theme", "theme_label", "practice_id", "title",
        "organization_name", "award", "fiscal_year", "practice_muni_code", "distance_km",
    ]  # fmt: skip
    rows = practices.explode("themes").dropna(subset=["themes"])
    if rows.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    muni_rep = dict(
        zip(
            areas.municipalities["code"].astype(str), _rep_points(areas.municipalities), strict=True
        )
    )
    area_rep = _rep_points(table)
    out = []
    for i, (code, name) in enumerate(zip(table["code"], table["name"], strict=True)):
        for p in rows.itertuples(index=False):
            # A practice in the area itself is already there; spreading means going elsewhere.
            if table[f"theme_{p.themes}"].iat[i] > 0 or p.muni_code == table["muni_code"].iat[i]:
                continue
            if p.muni_code in muni_rep:
                dist = float(np.hypot(*(area_rep[i] - muni_rep[p.muni_code]))) / 1000
                if dist > cfg.spread.max_distance_km:
                    continue
                distance: float | None = round(dist, 1)
            elif cfg.spread.include_unlocated:
                distance = None
            else:
                continue
            out.append(
                (
                    level, code, name, p.themes, tax.themes.labels[str(p.themes)], p.id, p.title,
                    p.organization_name, p.award, p.fiscal_year, p.muni_code, distance,
                )
            )  # fmt: skip
    return pd.DataFrame(out, columns=columns)
