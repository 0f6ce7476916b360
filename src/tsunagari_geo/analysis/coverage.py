"""Coverage-gap analysis: where support is missing, for whom, and who could fill the gap.

:func:`compute_coverage` (a :class:`Store` in) and :func:`coverage_from_frames`
(hand-made frames in) compute the same :class:`CoverageResult` for the 63 municipalities and
the 72 units (さいたま市 split into its 10 wards). Lengths are measured in EPSG:6677; every
output frame is in EPSG:4326 and holds **aggregates per area only**: no activity's point ever
appears in it. Which activities it is given decides whom the figures are for: the build
passes every activity for the planners' file and only the public view's rows for the published
layers (:mod:`tsunagari_geo.layers.build`), so no published figure counts a withheld activity.

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
    When the store holds census small areas (小地域) also: ``small_area_population``,
    ``pop_reach_500m``, ``pop_reach_1km``, ``pop_reach_2km`` (share of residents, 0..1, whose
    nearest in-person venue is within the distance; see :mod:`.people_reach`) and the same per
    life stage (``pop_reach_1km_<stage>``) and theme (``pop_reach_1km_theme_<theme>``),
    ``access_2sfca`` (E2SFCA, :mod:`.access`); when its census has the household counts, the
    need indicators ``single_household_share``, ``older_alone_share``, ``children_share``,
    ``foreign_share``, ``need_score`` (0–100), ``supply_score`` (0..1), ``need_gap_score``
    (0–100) and ``need_gap_rank`` (see :mod:`.need`).

``small_areas`` (GeoDataFrame or None): one point per census small area with ``key_code``,
    ``unit_code``, ``muni_code``, ``name``, ``population``, ``households``, ``nearest_m``,
    ``pop_reach_500m`` / ``pop_reach_1km`` / ``pop_reach_2km`` (0 or 1: its residents stand at
    its point) and ``access_2sfca`` (see :func:`.people_reach.small_area_table` and
    :data:`.people_reach.SMALL_AREA_FIELDS`).

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

Each idea lives in its own module of :mod:`tsunagari_geo.analysis`: ``inputs`` (where each
activity counts), ``counts``, ``reach``, ``gap_score``, ``classes``, ``suggestions`` and
``spread``; this module assembles them.

Example::

    >>> result = compute_coverage(activities, organizations, store, scheme="quantiles")
    >>> result.municipalities.sort_values("gap_rank")[["name", "gap_score"]].head()
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from tsunagari_geo.activities.taxonomy import Taxonomies, load_taxonomies
from tsunagari_geo.analysis.access import PER as ACCESS_PER
from tsunagari_geo.analysis.access import add_access, e2sfca, venue_capacity
from tsunagari_geo.analysis.classes import classify_gap
from tsunagari_geo.analysis.config import CoverageConfig, load_coverage_config
from tsunagari_geo.analysis.counts import add_counts, add_members, population_columns
from tsunagari_geo.analysis.distance import metric_xy
from tsunagari_geo.analysis.gap_score import add_flags_and_score
from tsunagari_geo.analysis.inputs import (
    Areas,
    prepare_activities,
    prepare_organizations,
    prepare_practices,
)
from tsunagari_geo.analysis.need import INDICATORS, add_need, add_need_gap
from tsunagari_geo.analysis.people_reach import (
    add_people_reach,
    small_area_distances,
    small_area_table,
    small_area_xy,
)
from tsunagari_geo.analysis.reach import add_reach, inperson_venues, town_distances
from tsunagari_geo.analysis.spread import spread_candidates, spread_themes
from tsunagari_geo.analysis.suggestions import suggest_members
from tsunagari_geo.reference.locator import (
    PointLocator,
    locator_for,
    muni_codes_of,
    store_locator,
)
from tsunagari_geo.settings import STORE_CRS
from tsunagari_geo.store import Store

LEVELS = ("municipality", "unit")
#: Census counts the need indicators read, carried from the store's areas into the tables.
NEED_COLUMNS = tuple(dict.fromkeys(c for pair in INDICATORS.values() for c in pair))


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
    small_areas: gpd.GeoDataFrame | None = field(default=None, repr=False)


def compute_coverage(
    activities: pd.DataFrame,
    organizations: pd.DataFrame | None,
    store: Store,
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
        metric_crs=store.region.metric_crs,
        small_areas=store.small_areas,
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
    metric_crs: str | None = None,
    small_areas: pd.DataFrame | None = None,
) -> CoverageResult:
    """:func:`compute_coverage` on explicit frames (e.g. hand-drawn ones in tests).

    ``units`` need ``code``, ``name``, ``parent_code`` (empty unless a ward), the population
    columns the life stages name, and polygons; ``municipalities`` the same without
    ``parent_code``; ``towns`` ``unit_code``, ``muni_code`` and point geometry (or
    ``lat``/``lng``). ``locator`` may be a prebuilt :class:`PointLocator` of ``units``;
    ``metric_crs`` is where distances are measured (the region's; by default the UTM zone of
    ``units``). ``small_areas`` (``key_code``, ``unit_code``, ``muni_code``, ``name``,
    ``population``, ``households``, ``lat``, ``lng``) adds reach in people and 2SFCA.
    """
    tax = taxonomies or load_taxonomies()
    cfg = config or load_coverage_config()
    areas = Areas(
        units=units.to_crs(STORE_CRS),
        municipalities=municipalities.to_crs(STORE_CRS),
        towns=towns,
        to_muni=muni_codes_of(units),
        locator=locator or locator_for(units),
        metric_crs=metric_crs or str(units.to_crs(STORE_CRS).estimate_utm_crs()),
    )
    acts = prepare_activities(activities, areas, tax)
    orgs = prepare_organizations(organizations, areas)
    reach = town_distances(acts, areas, tax)
    practices = prepare_practices(good_practices, tax)
    people = _people(acts, small_areas, areas, tax, cfg)

    frames: dict[str, gpd.GeoDataFrame] = {}
    breaks: dict[str, list[float]] = {}
    suggestions: list[pd.DataFrame] = []
    spreads: list[pd.DataFrame] = []
    for level in LEVELS:
        table = _level_table(level, acts, orgs, reach, areas, tax, cfg)
        _add_people_and_need(table, level, people, areas, cfg)
        table, breaks[level] = classify_gap(table, scheme, cfg.classes.k)
        suggestions.append(suggest_members(level, table, acts, orgs, tax, cfg, areas.metric_crs))
        spread = spread_candidates(level, table, practices, areas, tax, cfg)
        spreads.append(spread)
        table["spread_themes"] = spread_themes(spread, table["code"])
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
        small_areas=people.table if people is not None else None,
    )


@dataclass(frozen=True)
class _People:
    """Small areas with their distances to venues and their E2SFCA accessibility."""

    small_areas: pd.DataFrame
    distances: pd.DataFrame
    access: npt.NDArray[np.float64]
    table: gpd.GeoDataFrame


def _people(
    acts: pd.DataFrame,
    small_areas: pd.DataFrame | None,
    areas: Areas,
    tax: Taxonomies,
    cfg: CoverageConfig,
) -> _People | None:
    if small_areas is None or len(small_areas) == 0:
        return None
    frame = pd.DataFrame(small_areas).reset_index(drop=True)
    distances = small_area_distances(acts, frame, tax, areas.metric_crs)
    venue = inperson_venues(acts)
    venue_xy = metric_xy(acts["lon"][venue], acts["lat"][venue], areas.metric_crs)
    access = e2sfca(
        small_area_xy(frame, areas.metric_crs),
        frame["population"].to_numpy(dtype=float),
        venue_xy,
        venue_capacity(acts[venue], cfg.access.default_capacity),
        catchment=cfg.access.catchment_m,
        sigma=cfg.access.sigma_m,
    )
    extra = pd.DataFrame({"access_2sfca": np.round(access * ACCESS_PER, 6)})
    return _People(frame, distances, access, small_area_table(frame, distances, extra))


def _add_people_and_need(
    table: pd.DataFrame,
    level: str,
    people: _People | None,
    areas: Areas,
    cfg: CoverageConfig,
) -> None:
    """Reach in people, 2SFCA, need and the need gap, where the store has what they need."""
    base = areas.units if level == "unit" else areas.municipalities
    for column in NEED_COLUMNS:
        if column in base.columns and column not in table.columns:
            table[column] = base[column].to_numpy()
    if people is not None:
        key = "unit_code" if level == "unit" else "muni_code"
        add_people_reach(table, people.small_areas, people.distances, key)
        add_access(table, people.small_areas, people.access, key)
    if add_need(table, cfg):
        add_need_gap(table, cfg)
        if "need_gap_score" in table.columns:
            table["need_gap_rank"] = (
                table["need_gap_score"].rank(method="min", ascending=False).astype("Int64")
            )


def _level_table(
    level: str,
    acts: pd.DataFrame,
    orgs: pd.DataFrame,
    reach: pd.DataFrame,
    areas: Areas,
    tax: Taxonomies,
    cfg: CoverageConfig,
) -> gpd.GeoDataFrame:
    """Counts, rates, reach, members, flags and gap score for one level."""
    base = areas.units if level == "unit" else areas.municipalities
    keep = ["code", "name", *[c for c in population_columns(tax) if c in base.columns]]
    table = pd.DataFrame(base[keep]).copy()
    table["code"] = base["code"].astype(str).to_numpy()
    table.insert(0, "level", level)
    table["muni_code"] = [areas.to_muni.get(c, c) for c in table["code"]]
    add_counts(table, level, acts, areas, tax)
    add_reach(table, reach, "unit_code" if level == "unit" else "muni_code", tax)
    add_members(table, level, orgs, areas)
    add_flags_and_score(table, tax, cfg)
    return gpd.GeoDataFrame(table, geometry=base.geometry.to_numpy(), crs=STORE_CRS)
