"""Reach in people, E2SFCA accessibility and need, on the hand-drawn coverage fixture.

Three census small areas in ward W1 (11101), in EPSG:6677 metres from the fixture's origin:
s1 (1000, 1000) 5,000 residents, 500 m from a1; s3 (1900, 1800) 4,000 residents, 800 m from a2;
s2 (3000, 3000) 1,000 residents, more than 2 km from every venue. W1's two towns are one near,
one far: town reach says half, residents say nine in ten.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from test_coverage import (
    CONFIG,
    LOCATOR,
    MUNIS,
    TOWN_FRAME,
    UNITS,
    build_activities,
    build_organizations,
    lonlat,
    row,
)
from tsunagari_geo.analysis.access import e2sfca, gaussian_weight
from tsunagari_geo.analysis.config import Access, CoverageConfig
from tsunagari_geo.analysis.coverage import CoverageResult, coverage_from_frames
from tsunagari_geo.analysis.need import add_need, add_need_gap

SMALL = [  # key, x m, y m, population
    ("s1", 1000, 1000, 5000),
    ("s2", 3000, 3000, 1000),
    ("s3", 1900, 1800, 4000),
]


def small_areas() -> pd.DataFrame:
    rows = []
    for key, x, y, pop in SMALL:
        lon, lat = lonlat(x, y)
        rows.append(
            {"key_code": key, "unit_code": "11101", "muni_code": "11100", "name": key,
             "population": pop, "households": pop // 2, "lat": lat, "lng": lon}
        )  # fmt: skip
    return pd.DataFrame(rows)


def run(activities: pd.DataFrame | None = None, config: CoverageConfig | None = None):
    return coverage_from_frames(
        build_activities() if activities is None else activities,
        build_organizations(),
        units=UNITS,
        municipalities=MUNIS,
        towns=TOWN_FRAME,
        config=config or CONFIG,
        locator=LOCATOR,
        metric_crs="EPSG:6677",
        small_areas=small_areas(),
    )


@pytest.fixture(scope="module")
def result() -> CoverageResult:
    return run()


def test_reach_in_people_weighs_each_small_area_by_its_residents(result: CoverageResult) -> None:
    w1 = row(result.units, "11101")
    assert w1["reach_1km"] == pytest.approx(0.5)  # one town of two
    assert w1["pop_reach_500m"] == pytest.approx(0.5)  # s1 at exactly 500 m counts
    assert w1["pop_reach_1km"] == pytest.approx(0.9)  # s1 + s3
    assert w1["pop_reach_2km"] == pytest.approx(0.9)  # s2 stays out
    assert w1["small_area_population"] == 10_000


def test_reach_in_people_per_life_stage_and_theme_counts_only_their_venues(
    result: CoverageResult,
) -> None:
    w1 = row(result.units, "11101")
    assert w1["pop_reach_1km_elderly"] == pytest.approx(0.9)  # a2 is for older people
    assert w1["pop_reach_1km_perinatal"] == pytest.approx(0.0)  # a3 is 3 km away
    assert w1["pop_reach_1km_theme_childcare"] == pytest.approx(0.0)
    assert w1["pop_reach_1km_theme_ibasho"] == pytest.approx(0.9)


def test_areas_without_small_areas_have_no_reach_in_people(result: CoverageResult) -> None:
    assert math.isnan(row(result.units, "11201")["pop_reach_1km"])
    assert row(result.municipalities, "11100")["pop_reach_1km"] == pytest.approx(0.9)


def test_the_small_area_table_says_what_each_resident_has_nearby(result: CoverageResult) -> None:
    table = result.small_areas
    assert table is not None
    s = table.set_index("key_code")
    assert s.loc["s1", "nearest_m"] == pytest.approx(500.0, abs=0.1)
    assert s.loc["s3", "pop_reach_1km"] == 1.0 and s.loc["s3", "pop_reach_500m"] == 0.0
    assert s.loc["s2", "pop_reach_2km"] == 0.0
    assert str(table.crs) == "EPSG:4326"


def test_the_small_area_table_has_every_documented_field(result: CoverageResult) -> None:
    from tsunagari_geo.activities.taxonomy import load_taxonomies
    from tsunagari_geo.analysis.people_reach import SMALL_AREA_FIELDS

    table = result.small_areas
    assert table is not None
    columns = [c for c in table.columns if c != "geometry"]
    assert columns[: len(SMALL_AREA_FIELDS)] == list(SMALL_AREA_FIELDS)
    tax = load_taxonomies()
    assert columns[len(SMALL_AREA_FIELDS) :] == [
        *(f"nearest_m_{stage}" for stage in tax.life_stages.codes),
        *(f"nearest_m_theme_{theme}" for theme in tax.themes.codes),
    ]
    assert table[["pop_reach_500m", "pop_reach_1km", "pop_reach_2km"]].isin([0.0, 1.0]).all().all()


def test_e2sfca_by_hand() -> None:
    # One venue of capacity 2 at (0, 0); residents at 0 m (100), 1 km (300) and 3 km (50).
    demand = np.array([[0.0, 0.0], [1000.0, 0.0], [3000.0, 0.0]])
    access = e2sfca(
        demand, [100, 300, 50], np.array([[0.0, 0.0]]), [2.0], catchment=2000, sigma=1000
    )
    w = math.exp(-0.5)
    ratio = 2 / (100 + 300 * w)
    assert access == pytest.approx([ratio, ratio * w, 0.0], rel=1e-12)
    assert gaussian_weight(1000, 1000) == pytest.approx(w)


def test_e2sfca_catchment_is_strict_and_a_venue_nobody_reaches_supplies_nobody() -> None:
    demand = np.array([[0.0, 0.0]])
    supply = np.array([[2000.0, 0.0], [9000.0, 0.0]])
    access = e2sfca(demand, [10], supply, [1.0, 5.0], catchment=2000, sigma=1000)
    assert access == pytest.approx([0.0])


def test_capacity_weights_the_supply_where_an_activity_gives_it() -> None:
    acts = build_activities()
    base = row(run(acts).units, "11101")["access_2sfca"]
    acts.loc[acts["id"] == "a1", "capacity"] = 10
    more = row(run(acts).units, "11101")["access_2sfca"]
    assert more > base > 0


def test_access_settings_come_from_the_config(result: CoverageResult) -> None:
    wide = CONFIG.model_copy(update={"access": Access(catchment_m=5000, sigma_m=3000)})
    far = row(run(config=wide).units, "11101")["access_2sfca"]
    assert far != pytest.approx(row(result.units, "11101")["access_2sfca"])


# --- need ----------------------------------------------------------------------------------------


def _need_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": ["A", "B", "C"],
            "pop_total": [1000, 1000, 1000],
            "pop_0_14": [100, 200, 150],
            "pop_65plus": [300, 200, 100],
            "foreign_pop": [10, 30, 20],
            "general_households": [500, 400, 400],
            "single_households": [100, 200, 100],
            "single_65plus_households": [30, 40, 10],
        }
    )


def test_need_indicators_are_census_shares_and_the_score_ranks_them() -> None:
    table = _need_table()
    assert add_need(table, CONFIG)
    b = table.set_index("code").loc["B"]
    assert b["single_household_share"] == pytest.approx(0.5)
    assert b["older_alone_share"] == pytest.approx(0.2)
    assert b["children_share"] == pytest.approx(0.2)
    assert b["foreign_share"] == pytest.approx(0.03)
    # B is highest on every indicator (single share: A 0.2, B 0.5, C 0.25).
    assert b["need_score"] == pytest.approx(100.0)


def test_need_gap_sets_supply_against_need() -> None:
    table = _need_table()
    add_need(table, CONFIG)
    table["pop_reach_1km"] = [1.0, 0.0, 0.5]
    table["access_2sfca"] = [3.0, 1.0, 2.0]
    add_need_gap(table, CONFIG)
    by = table.set_index("code")
    assert by.loc["B", "supply_score"] == pytest.approx(0.0)
    assert by.loc["B", "need_gap_score"] == pytest.approx(by.loc["B", "need_score"])
    assert by.loc["A", "supply_score"] == pytest.approx(1.0)
    assert by.loc["A", "need_gap_score"] == pytest.approx(0.0)


def test_without_household_counts_there_is_no_need_score() -> None:
    table = _need_table().drop(columns="single_households")
    assert not add_need(table, CONFIG)
    assert "need_score" not in table.columns


def test_small_area_distances_per_group_add_up_to_the_municipal_reach(
    result: CoverageResult,
) -> None:
    """A small area's nearest venue of a life stage or theme, at 1 km and weighted by its
    residents, gives back the municipality's reach for that group."""
    from tsunagari_geo.activities.taxonomy import load_taxonomies

    table = result.small_areas
    assert table is not None
    tax = load_taxonomies()
    groups = [*tax.life_stages.codes, *(f"theme_{t}" for t in tax.themes.codes)]
    checked = 0
    for muni in result.municipalities.itertuples():
        mine = table[table["muni_code"] == muni.code]
        people = mine["population"].sum()
        if people == 0:
            continue
        for group in groups:
            expected = getattr(muni, f"pop_reach_1km_{group}")
            near = mine["population"][mine[f"nearest_m_{group}"] <= 1000].sum()
            assert near / people == pytest.approx(expected, abs=1e-4), (muni.code, group)
            checked += 1
    assert checked > 0
