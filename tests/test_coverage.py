"""Coverage-gap analysis on a hand-drawn fixture, every number worked out by hand.

The fixture, drawn in EPSG:6677 metres (origin X0, Y0), 4 km squares::

    y=8 km ┌────────┐
           │   M2   │ 11201 (pop 10,000)
    y=4 km ├────────┼────────┐        ┌────────┐
           │   W1   │   W2   │        │   M3   │ 11202 (pop 5,000), from x=8 km
    y=0    └────────┴────────┘        └────────┘
           x=0      4 km     8 km     8–12 km

W1 (11101, pop 20,000) and W2 (11102, pop 30,000) are the wards of C (11100, さいたま市 as
one municipality). Two towns per unit, twelve activities, six organisations (see below).
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from tsunagari_geo.activities.taxonomy import load_taxonomies
from tsunagari_geo.analysis.config import CoverageConfig, Spread, load_coverage_config
from tsunagari_geo.analysis.coverage import CoverageResult, coverage_from_frames
from tsunagari_geo.analysis.join import locator_for
from tsunagari_geo.errors import InputError
from tsunagari_geo.store import Store

X0, Y0 = -30_000.0, -20_000.0
_TO_LONLAT = Transformer.from_crs("EPSG:6677", "EPSG:4326", always_xy=True)


def lonlat(x_m: float, y_m: float) -> tuple[float, float]:
    lon, lat = _TO_LONLAT.transform(X0 + x_m, Y0 + y_m)
    return float(lon), float(lat)


def square(x0_km: float, y0_km: float, x1_km: float, y1_km: float) -> shapely.Polygon:
    return shapely.box(X0 + x0_km * 1000, Y0 + y0_km * 1000, X0 + x1_km * 1000, Y0 + y1_km * 1000)


POP = {  # pop_total, pop_0_14, pop_65plus, pop_15_64
    "11101": (20_000, 2_000, 5_000, 4_000),
    "11102": (30_000, 3_000, 6_000, 6_000),
    "11201": (10_000, 1_000, 4_000, 2_000),
    "11202": (5_000, 500, 2_000, 1_000),
}


def _frame(rows: list[dict[str, object]], geoms: list[shapely.Geometry]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:6677").to_crs("EPSG:4326")


def _pop(code: str) -> dict[str, int]:
    total, young, old, mid = POP[code]
    return {"pop_total": total, "pop_0_14": young, "pop_65plus": old, "pop_15_64": mid}


def _rep(x_km: float, y_km: float) -> dict[str, float]:
    lon, lat = lonlat(x_km * 1000, y_km * 1000)
    return {"rep_lng": lon, "rep_lat": lat}


def build_units() -> gpd.GeoDataFrame:
    rows = [
        {"code": "11101", "name": "W1区", "parent_code": "11100", **_pop("11101"), **_rep(2, 2)},
        {"code": "11102", "name": "W2区", "parent_code": "11100", **_pop("11102"), **_rep(6, 2)},
        {"code": "11201", "name": "M2市", "parent_code": "", **_pop("11201"), **_rep(2, 6)},
        {"code": "11202", "name": "M3町", "parent_code": "", **_pop("11202"), **_rep(10, 2)},
    ]
    return _frame(
        rows, [square(0, 0, 4, 4), square(4, 0, 8, 4), square(0, 4, 4, 8), square(8, 0, 12, 4)]
    )


def build_municipalities() -> gpd.GeoDataFrame:
    rows = [
        {"code": "11100", "name": "C市", "pop_total": 50_000, "pop_0_14": 5_000,
         "pop_65plus": 11_000, "pop_15_64": 10_000, **_rep(4, 2)},
        {"code": "11201", "name": "M2市", **_pop("11201"), **_rep(2, 6)},
        {"code": "11202", "name": "M3町", **_pop("11202"), **_rep(10, 2)},
    ]  # fmt: skip
    return _frame(rows, [square(0, 0, 8, 4), square(0, 4, 4, 8), square(8, 0, 12, 4)])


TOWNS = [  # unit, muni, x km, y km
    ("11101", "11100", 1, 1), ("11101", "11100", 3, 3),
    ("11102", "11100", 5, 1), ("11102", "11100", 7, 3),
    ("11201", "11201", 1, 5), ("11201", "11201", 3, 7),
    ("11202", "11202", 9, 1), ("11202", "11202", 11, 3),
]  # fmt: skip


def build_towns() -> gpd.GeoDataFrame:
    return _frame(
        [{"unit_code": u, "muni_code": m} for u, m, _, _ in TOWNS],
        [shapely.Point(X0 + x * 1000, Y0 + y * 1000) for _, _, x, y in TOWNS],
    )


def activity(
    ident: str,
    org: str,
    fmt: str,
    themes: str,
    stages: str,
    at: tuple[float, float] | None = None,
    **extra: object,
) -> dict[str, object]:
    lon, lat = lonlat(*at) if at else (None, None)
    row: dict[str, object] = {
        "id": ident,
        "organization_id": org,
        "format": fmt,
        "themes": themes,
        "life_stages": stages,
        "serves": "",
        "published": True,
        "location_privacy": "exact",
        "lat": lat,
        "lng": lon,
    }
    row.update(extra)
    return row


def build_activities() -> pd.DataFrame:
    rows = [
        activity("a1", "o-npo1", "in_person", "ibasho", "children", (1000, 1500)),
        activity("a2", "o-npo1", "in_person", "elderly", "elderly", (1900, 1000)),
        activity("a3", "o-co1", "in_person", "childcare;ibasho", "perinatal", (5000, 1900)),
        activity(
            "a4", "o-npo2", "in_person", "children_school", "all_ages", (7000, 2500),
            published=False, location_privacy="hidden",
        ),
        activity("a5", "o-shakyo", "in_person", "elderly", "elderly", (1000, 5500), location_privacy="town"),
        activity("a6", "o-shakyo", "outreach", "elderly", "elderly", serves="11201"),
        activity("a7", "o-npo1", "online", "consultation", "youth", serves="prefecture"),
        activity("a8", "o-npo2", "phone", "consultation", "", serves="11202"),
        activity("a9", "o-npo2", "online", "youth", "youth", (6000, 1000)),
        activity("a10", "o-npo1", "in_person", "youth", "youth", (-2000, 1000)),
        activity("a11", "o-npo1", "in_person", "ibasho", "working_age", muni_code="11101"),
        activity("a12", "o-npo2", "in_person", "ibasho", "children"),
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["muni_code"] = frame["muni_code"].fillna("")
    return frame


def build_organizations() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("o-gov-c", "C市", "行政", "11100"),
            ("o-npo1", "NPO一", "NPO等", "11101"),
            ("o-npo2", "NPO二", "NPO等", "11102"),
            ("o-co1", "株式会社一", "企業・業界団体", "11102"),
            ("o-shakyo", "M2社協", "社協", "11201"),
            ("o-gov-m3", "M3町", "行政", "11202"),
        ],
        columns=["id", "name", "kind", "base_muni_code"],
    )


def build_practices() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("gp1", "子育て事例", "団体A", "childcare", "11201", "2024", "大賞"),
            ("gp2", "若者事例", "団体B", "youth", "", "2024", "優秀賞"),
            ("gp3", "受賞なし", "団体C", "ibasho", "11202", "2025", ""),
        ],
        columns=["id", "title", "organization_name", "themes", "muni_code", "fiscal_year", "award"],
    )


UNITS = build_units()
MUNIS = build_municipalities()
TOWN_FRAME = build_towns()
LOCATOR = locator_for(UNITS)
CONFIG = load_coverage_config()


def run(
    activities: pd.DataFrame | None = None,
    organizations: pd.DataFrame | None = None,
    config: CoverageConfig | None = None,
) -> CoverageResult:
    return coverage_from_frames(
        build_activities() if activities is None else activities,
        build_organizations() if organizations is None else organizations,
        units=UNITS,
        municipalities=MUNIS,
        towns=TOWN_FRAME,
        good_practices=build_practices(),
        config=config or CONFIG,
        locator=LOCATOR,
    )


@pytest.fixture(scope="module")
def result() -> CoverageResult:
    return run()


def row(frame: pd.DataFrame, code: str) -> pd.Series:
    return frame.set_index("code").loc[code]


# --- counts -------------------------------------------------------------------------------------


def test_in_person_totals_count_hidden_and_unpublished(result: CoverageResult) -> None:
    m = result.municipalities.set_index("code")
    assert m["inperson_total"].to_dict() == {"11100": 5, "11201": 2, "11202": 0}
    assert m["inperson_published"].to_dict() == {"11100": 4, "11201": 2, "11202": 0}
    u = result.units.set_index("code")
    assert u["inperson_total"].to_dict() == {"11101": 3, "11102": 2, "11201": 2, "11202": 0}


def test_a_row_placed_only_at_city_level_counts_for_the_city_and_as_ward_unknown() -> None:
    city_only = activity("c1", "o-npo1", "in_person", "ibasho", "children", muni_code="11100")
    result = run(pd.concat([build_activities(), pd.DataFrame([city_only])], ignore_index=True))
    assert row(result.municipalities, "11100")["inperson_total"] == 6
    u = result.units.set_index("code")
    assert u["inperson_total"].to_dict() == {"11101": 3, "11102": 2, "11201": 2, "11202": 0}
    assert u["ward_unknown_inperson"].to_dict() == {"11101": 1, "11102": 1, "11201": 0, "11202": 0}


@pytest.mark.parametrize(("cell", "published"), [("×", 0), ("n", 0), ("はい", 1), ("", 1)])
def test_published_cells_are_read_by_the_one_yes_no_parser(cell: str, published: int) -> None:
    one = activity("p1", "o-npo1", "in_person", "ibasho", "children", (1000, 1500))
    result = run(pd.DataFrame([{**one, "published": cell}]))
    assert row(result.municipalities, "11100")["inperson_published"] == published


def test_an_unknown_published_cell_is_an_error_naming_it() -> None:
    one = activity("p1", "o-npo1", "in_person", "ibasho", "children", (1000, 1500))
    with pytest.raises(InputError) as info:
        run(pd.DataFrame([{**one, "published": "たぶん", "row": 7}]))
    assert (info.value.row, info.value.column, info.value.value) == (7, "published", "たぶん")


def test_per_theme_counts(result: CoverageResult) -> None:
    c = row(result.municipalities, "11100")
    assert (c["theme_ibasho"], c["theme_elderly"], c["theme_childcare"]) == (3, 1, 1)
    assert (c["theme_children_school"], c["theme_youth"], c["theme_consultation"]) == (1, 0, 0)
    assert row(result.municipalities, "11201")["theme_elderly"] == 2


def test_per_life_stage_counts_include_all_ages(result: CoverageResult) -> None:
    c = row(result.municipalities, "11100")
    stages = ["perinatal", "children", "youth", "working_age", "elderly", "all_ages"]
    assert [c[f"stage_{s}"] for s in stages] == [2, 2, 1, 2, 2, 1]
    w1 = row(result.units, "11101")
    assert [w1[f"stage_{s}"] for s in stages] == [0, 1, 0, 1, 1, 0]
    m2 = row(result.municipalities, "11201")
    assert [m2[f"stage_{s}"] for s in stages] == [0, 0, 0, 0, 2, 0]


def test_remote_activities_are_counted_apart(result: CoverageResult) -> None:
    # a7 (prefecture) everywhere, a8 only in M3, a9 (online, no serves) where it is: W2.
    assert result.municipalities.set_index("code")["remote_total"].to_dict() == {
        "11100": 2,
        "11201": 1,
        "11202": 2,
    }
    assert result.units.set_index("code")["remote_total"].to_dict() == {
        "11101": 1,
        "11102": 2,
        "11201": 1,
        "11202": 2,
    }


def test_rates_per_10000(result: CoverageResult) -> None:
    c = row(result.municipalities, "11100")
    assert c["inperson_per10k"] == pytest.approx(1.0)
    assert c["stage_perinatal_per10k"] == pytest.approx(2 / 5_000 * 1e4)  # pop_0_14
    assert c["stage_elderly_per10k"] == pytest.approx(2 / 11_000 * 1e4, abs=1e-3)  # pop_65plus
    assert c["stage_youth_per10k"] == pytest.approx(1 / 50_000 * 1e4)  # pop_total
    assert c["stage_working_age_per10k"] == pytest.approx(2 / 10_000 * 1e4)  # pop_15_64
    assert row(result.municipalities, "11201")["inperson_per10k"] == pytest.approx(2.0)


# --- town reach ----------------------------------------------------------------------------------


def test_town_reach_and_median_distance(result: CoverageResult) -> None:
    # C's towns are 500, 2283, 900 and 500 m from their nearest venue.
    c = row(result.municipalities, "11100")
    assert (c["towns"], c["reach_1km"], c["reach_2km"]) == (4, 0.75, 0.75)
    assert c["median_nearest_m"] == pytest.approx(700, abs=0.5)
    m2 = row(result.municipalities, "11201")
    assert (m2["reach_1km"], m2["reach_2km"]) == (0.5, 0.5)
    assert m2["median_nearest_m"] == pytest.approx(1500, abs=0.5)
    m3 = row(result.municipalities, "11202")
    assert (m3["reach_1km"], m3["reach_2km"]) == (0.0, 0.0)
    assert m3["median_nearest_m"] == pytest.approx((2500 + math.hypot(4000, 500)) / 2, abs=0.5)


def test_town_reach_per_life_stage(result: CoverageResult) -> None:
    c = row(result.municipalities, "11100")
    # Elderly venues a2, a4 (all ages), a5: T1 at 0.9 km, T4 at 0.5 km; T2, T3 beyond 2 km.
    assert (c["reach_1km_elderly"], c["reach_2km_elderly"]) == (0.5, 0.5)
    # Youth venues a4 and a10 (outside the prefecture, still reachable): only T4.
    assert c["reach_2km_youth"] == 0.25


# --- members, flags, score -----------------------------------------------------------------------


def test_member_presence(result: CoverageResult) -> None:
    m = result.municipalities.set_index("code")
    assert m["orgs_total"].to_dict() == {"11100": 4, "11201": 1, "11202": 1}
    assert (m.loc["11100", "orgs_npo"], m.loc["11100", "orgs_company"]) == (2, 1)
    assert m["government_member"].to_dict() == {"11100": True, "11201": False, "11202": True}
    u = result.units.set_index("code")
    # City-level members count for the city only; the city's government covers its wards.
    assert u["orgs_total"].to_dict() == {"11101": 1, "11102": 2, "11201": 1, "11202": 1}
    assert u.loc[["11101", "11102"], "government_member"].tolist() == [True, True]


def test_gap_flags(result: CoverageResult) -> None:
    m = result.municipalities.set_index("code")
    assert m["flag_no_inperson"].to_dict() == {"11100": False, "11201": False, "11202": True}
    assert m["flag_stage_missing"].to_dict() == {"11100": False, "11201": True, "11202": True}
    assert m.loc["11201", "stages_missing"] == "妊産婦・乳幼児期、子ども、若者、現役世代"
    # Densities 1.0, 2.0, 0.0: the lowest quartile ends at 0.5.
    assert m["flag_low_density"].to_dict() == {"11100": False, "11201": False, "11202": True}
    # Reach at 2 km under half: M3 only (M2 is exactly at half).
    assert m["flag_low_reach"].to_dict() == {"11100": False, "11201": False, "11202": True}
    assert m["flag_not_member"].to_dict() == {"11100": False, "11201": True, "11202": False}


def test_gap_score_rank_and_class(result: CoverageResult) -> None:
    m = result.municipalities.set_index("code")
    # M2: 20 × 4/5 stages + 15 not member = 31; M3: 30 + 20 + 15 + 20 = 85; C: 0.
    assert m["gap_score"].to_dict() == {"11100": 0.0, "11201": 31.0, "11202": 85.0}
    assert m["gap_rank"].to_dict() == {"11100": 3, "11201": 2, "11202": 1}
    assert m["gap_class"].is_monotonic_increasing
    assert m.loc["11202", "gap_class"] > m.loc["11100", "gap_class"]
    assert len(result.class_breaks["municipality"]) == m["gap_class"].nunique()


def test_weights_come_from_the_config() -> None:
    config = CONFIG.model_copy(
        update={"weights": CONFIG.weights.model_copy(update={"not_member": 0.0})}
    )
    m = run(config=config).municipalities.set_index("code")
    # Without the membership weight M2 scores 16 of 85.
    assert m.loc["11201", "gap_score"] == pytest.approx(round(16 / 85 * 100, 1))


def test_unknown_scheme_is_an_input_error() -> None:
    with pytest.raises(InputError, match="scheme"):
        coverage_from_frames(
            build_activities(),
            build_organizations(),
            units=UNITS,
            municipalities=MUNIS,
            towns=TOWN_FRAME,
            scheme="no_such_scheme",
            locator=LOCATOR,
        )


# --- suggestions and 横展開 ----------------------------------------------------------------------


def test_suggestions_list_nearest_neighbours_with_companies_apart(result: CoverageResult) -> None:
    s = result.suggestions
    m = s[s["level"] == "municipality"]
    ibasho = m[(m["area_code"] == "11201") & (m["need_code"] == "ibasho")]
    # NPO一 is 4.5 km away (a11, placed at C's representative point); the company 5.1 km.
    assert ibasho[["group", "rank", "organization_id", "distance_km"]].values.tolist() == [
        ["company", 1, "o-co1", 5.1],
        ["other", 1, "o-npo1", 4.5],
    ]
    elderly = m[(m["area_code"] == "11202") & (m["need_kind"] == "life_stage")]
    elderly = elderly[elderly["need_code"] == "elderly"]
    # a4 is hidden, so it stands at C's representative point (6 km), not at its own (3 km).
    assert elderly[["organization_id", "rank", "distance_km"]].values.tolist() == [
        ["o-npo2", 1, 6.0],
        ["o-npo1", 2, 8.2],
    ]


def test_suggestions_only_for_flagged_areas(result: CoverageResult) -> None:
    flagged = set(result.municipalities.query("flag_count > 0")["code"])
    assert set(result.suggestions.query("level == 'municipality'")["area_code"]) <= flagged
    assert "11100" not in flagged


def test_spread_lists_awarded_practices_nearby(result: CoverageResult) -> None:
    sp = result.spread[result.spread["level"] == "municipality"]
    # gp1 (childcare, 大賞, in M2) reaches M3, 8.9 km apart; M2 itself and C (has childcare) not.
    assert sp[["area_code", "practice_id", "distance_km"]].values.tolist() == [
        ["11202", "gp1", 8.9]
    ]
    assert row(result.municipalities, "11202")["spread_themes"] == "子育て"


def test_spread_can_offer_practices_of_unknown_place() -> None:
    config = CONFIG.model_copy(update={"spread": Spread(include_unlocated=True)})
    sp = run(config=config).spread.query("level == 'municipality' and practice_id == 'gp2'")
    assert sorted(sp["area_code"]) == ["11100", "11201", "11202"]
    assert sp["distance_km"].isna().all()


# --- privacy and nothing lost -------------------------------------------------------------------


def test_unlocated_in_person_activities_are_listed(result: CoverageResult) -> None:
    assert result.unlocated.values.tolist() == [["a10", "outside_prefecture"], ["a12", "no_point"]]


def test_outputs_carry_areas_not_activity_points(result: CoverageResult) -> None:
    for frame in (result.municipalities, result.units):
        assert set(frame.geom_type) <= {"Polygon", "MultiPolygon"}
        assert not {"lat", "lng", "lon", "id", "address"} & set(frame.columns)
    assert not {"lat", "lng", "x", "y", "activity_id"} & set(result.suggestions.columns)


def test_unknown_theme_code_fails_early() -> None:
    acts = build_activities()
    acts.loc[0, "themes"] = "no_such_theme"
    with pytest.raises(InputError, match="themes"):
        run(acts)


# --- properties ----------------------------------------------------------------------------------

THEMES = load_taxonomies().themes.codes
STAGES = load_taxonomies().life_stages.codes

random_activity = st.builds(
    lambda x, y, themes, stages: activity(
        "", "o-npo1", "in_person", ";".join(themes), ";".join(stages), (x, y)
    ),
    st.floats(50, 11_950),
    st.floats(50, 3_950),
    st.lists(st.sampled_from(THEMES), min_size=1, max_size=3, unique=True),
    st.lists(st.sampled_from(STAGES), min_size=1, max_size=2, unique=True),
)


def _numbered(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows) if rows else build_activities().iloc[0:0]
    frame["id"] = [f"p{i}" for i in range(len(frame))]
    return frame


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(random_activity, max_size=12), random_activity)
def test_adding_an_in_person_activity_never_raises_its_area_score(
    base: list[dict[str, object]], extra: dict[str, object]
) -> None:
    before = run(_numbered(base))
    after = run(_numbered([*base, extra]))
    where = LOCATOR.codes[LOCATOR.locate(np.array([extra["lng"]]), np.array([extra["lat"]]))[0]]
    muni = "11100" if where.startswith("111") else where
    for level, code in (("units", where), ("municipalities", muni)):
        old = row(getattr(before, level), code)["gap_score"]
        new = row(getattr(after, level), code)["gap_score"]
        assert new <= old


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(random_activity, min_size=1, max_size=15))
def test_counts_add_up(rows: list[dict[str, object]]) -> None:
    acts = _numbered(rows)
    result = run(acts)
    for level in ("municipalities", "units"):
        frame = getattr(result, level)
        assert frame["inperson_total"].sum() == len(acts)
        for theme in THEMES:
            expected = sum(theme in str(t).split(";") for t in acts["themes"])
            assert frame[f"theme_{theme}"].sum() == expected
        stages = frame[[f"stage_{s}" for s in STAGES]]
        assert (stages.le(frame["inperson_total"], axis=0)).all().all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(random_activity, min_size=1, max_size=15))
def test_wards_add_up_to_the_city(rows: list[dict[str, object]]) -> None:
    result = run(_numbered(rows))
    city = row(result.municipalities, "11100")
    wards = result.units.set_index("code").loc[["11101", "11102"]]
    # Organisations are left out: one based at city level belongs to no ward.
    counts = [c for c in wards.columns if c.startswith(("theme_", "stage_", "inperson_"))]
    counts = [c for c in counts if not c.endswith("per10k")]
    for column in [*counts, "towns", "pop_total"]:
        unknown = wards["ward_unknown_inperson"].iloc[0] if column == "inperson_total" else 0
        assert wards[column].sum() + unknown == city[column], column
    for column in ("reach_1km", "reach_2km", "reach_2km_elderly"):
        weighted = (wards[column] * wards["towns"]).sum() / wards["towns"].sum()
        assert weighted == pytest.approx(city[column], abs=1e-3), column


def test_no_activities_and_no_members_is_the_largest_gap_everywhere() -> None:
    result = coverage_from_frames(
        build_activities().iloc[0:0],
        None,
        units=UNITS,
        municipalities=MUNIS,
        towns=TOWN_FRAME,
        locator=LOCATOR,
    )
    m = result.municipalities
    assert m["gap_score"].tolist() == [100.0, 100.0, 100.0]
    assert m["gap_rank"].tolist() == [1, 1, 1]
    assert m["median_nearest_m"].isna().all()
    assert result.suggestions.empty and result.unlocated.empty


def test_the_real_store_wards_add_up_to_saitama_city(store: Store) -> None:
    from tsunagari_geo.activities.readers import read_activities, read_organizations
    from tsunagari_geo.activities.samples import SAMPLES_DIR
    from tsunagari_geo.analysis.coverage import compute_coverage

    orgs = read_organizations(SAMPLES_DIR / "organizations.csv").records
    acts = read_activities(SAMPLES_DIR / "activities.csv", organizations=orgs).records
    result = compute_coverage(acts, orgs, store)
    assert len(result.municipalities) == 63 and len(result.units) == 72
    city = row(result.municipalities, "11100")
    wards = result.units[result.units["code"].str.startswith("111")]
    assert len(wards) == 10
    for column in ("inperson_total", "theme_ibasho", "stage_elderly", "towns", "pop_total"):
        assert wards[column].sum() == city[column], column
    weighted = (wards["reach_2km"] * wards["towns"]).sum() / wards["towns"].sum()
    assert weighted == pytest.approx(city["reach_2km"], abs=1e-3)


def test_config_file_errors_name_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "coverage.toml"
    bad.write_text("[thresholds]\nreach_share = 1.5\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_coverage_config(bad)
    assert err.value.column == "thresholds.reach_share" and err.value.value == 1.5
    bad.write_text(
        "[weights]\nno_inperson = 0\nlife_stage_missing = 0\nlow_density = 0\n"
        "low_reach = 0\nnot_member = 0\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="zero"):
        load_coverage_config(bad)


def test_the_checked_in_config_matches_the_documented_defaults() -> None:
    assert load_coverage_config() == CoverageConfig()
