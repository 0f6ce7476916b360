"""Where next: the maximal covering location problem over census small areas (spopt, CBC)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from test_coverage import LOCATOR, MUNIS, TOWN_FRAME, UNITS, build_activities, lonlat
from test_people_reach import small_areas
from tsunagari_geo.activities.taxonomy import load_taxonomies
from tsunagari_geo.analysis.inputs import Areas, prepare_activities
from tsunagari_geo.analysis.plan import plan_new_places
from tsunagari_geo.errors import InputError
from tsunagari_geo.reference.locator import muni_codes_of

TAX = load_taxonomies()


def _prepared(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    areas = Areas(
        units=UNITS, municipalities=MUNIS, towns=TOWN_FRAME, to_muni=muni_codes_of(UNITS),
        locator=LOCATOR, metric_crs="EPSG:6677",
    )  # fmt: skip
    return prepare_activities(build_activities() if frame is None else frame, areas, TAX)


def _many_areas() -> pd.DataFrame:
    # Two clusters without a venue within 1 km: 3 × 1,000 residents around (10 km, 10 km),
    # 2 × 500 around (20 km, 10 km); one more far away with 100.
    rows = []
    for key, x, y, pop in (
        ("c1", 10_000, 10_000, 1000), ("c2", 10_300, 10_000, 1000),
        ("c3", 10_000, 10_300, 1000), ("d1", 20_000, 10_000, 500),
        ("d2", 20_200, 10_000, 500), ("e1", 40_000, 40_000, 100),
    ):  # fmt: skip
        lon, lat = lonlat(x, y)
        rows.append(
            {"key_code": key, "unit_code": "11101", "muni_code": "11100", "name": key,
             "population": pop, "households": pop // 2, "lat": lat, "lng": lon}
        )  # fmt: skip
    return pd.concat([small_areas(), pd.DataFrame(rows)], ignore_index=True)


def test_only_residents_without_a_venue_within_the_radius_are_demand() -> None:
    plan = plan_new_places(_prepared(), small_areas(), TAX, "EPSG:6677", new=1, radius_m=1000)
    assert plan.unreached == 1000  # s2; s1 and s3 have a venue within 1 km
    assert plan.choices["candidate"].tolist() == ["s2"]
    assert plan.choices["newly_reached"].tolist() == [1000]


def test_the_plan_reaches_the_most_residents_and_orders_choices_by_what_they_add() -> None:
    plan = plan_new_places(_prepared(), _many_areas(), TAX, "EPSG:6677", new=2, radius_m=1000)
    choices = plan.choices
    assert choices["newly_reached"].tolist() == [3000, 1000]
    assert choices["running_total"].tolist() == [3000, 4000]
    assert choices["candidate"].iloc[0] in {"c1", "c2", "c3"}


def test_pinned_candidate_venues_are_the_only_places_offered() -> None:
    lon, lat = lonlat(20_100, 10_000)
    pinned = pd.DataFrame(
        {"candidate": ["公民館"], "name": ["公民館"], "lng": [lon], "lat": [lat],
         "unit_code": ["11101"], "muni_code": ["11100"]}
    )  # fmt: skip
    plan = plan_new_places(
        _prepared(), _many_areas(), TAX, "EPSG:6677", new=3, radius_m=1000, candidates=pinned
    )
    assert plan.choices["name"].tolist() == ["公民館"]
    assert plan.choices["newly_reached"].tolist() == [1000]


def test_a_life_stage_plan_counts_only_that_stages_venues() -> None:
    plan = plan_new_places(
        _prepared(), small_areas(), TAX, "EPSG:6677", new=1, radius_m=1000, group="_perinatal"
    )
    assert plan.unreached == 10_000  # no perinatal venue within 1 km of anyone


def _crowd_and_one_apart() -> pd.DataFrame:
    """301 small areas of 10 residents within a few metres of each other (each covers all 301:
    3,010 residents) and, 30 km away, one of 1,000: the 302nd candidate by what it covers alone."""
    rows = []
    for i in range(301):
        lon, lat = lonlat(10_000 + (i % 20), 10_000 + (i // 20))
        rows.append(
            {"key_code": f"a{i:03d}", "unit_code": "11101", "muni_code": "11100",
             "name": f"a{i}", "population": 10, "households": 5, "lat": lat, "lng": lon}
        )  # fmt: skip
    lon, lat = lonlat(40_000, 10_000)
    rows.append(
        {"key_code": "b", "unit_code": "11101", "muni_code": "11100", "name": "b",
         "population": 1000, "households": 500, "lat": lat, "lng": lon}
    )  # fmt: skip
    return pd.DataFrame(rows)


def test_every_candidate_is_considered_not_only_the_strongest_alone() -> None:
    """Before: only the 300 candidates covering most on their own were offered, so the second
    place went to the crowd again (3,010 residents in all) instead of the area apart (4,010)."""
    plan = plan_new_places(
        _prepared(_no_venue()), _crowd_and_one_apart(), TAX, "EPSG:6677", new=2, radius_m=1000
    )
    assert plan.choices["newly_reached"].tolist() == [3010, 1000]
    assert plan.choices["candidate"].iloc[1] == "b"
    assert plan.candidates == 302
    # The 301 equal coverage sets of the crowd are one candidate for the programme.
    assert plan.offered == 2


def _no_venue() -> pd.DataFrame:
    frame = build_activities()
    return frame[frame["format"] != "in_person"].reset_index(drop=True)


def test_dropping_dominated_candidates_keeps_the_optimum() -> None:
    """Lossless: on random instances the MCLP over the undominated candidates reaches as many
    people as the best of every combination of all candidates."""
    import itertools

    import numpy as np

    from tsunagari_geo.analysis.plan import solve_mclp, undominated

    rng = np.random.default_rng(7)
    for _ in range(20):
        n_cand, n_demand, p = 9, 14, 3
        covers = [
            sorted(rng.choice(n_demand, size=int(rng.integers(0, 6)), replace=False).tolist())
            for _ in range(n_cand)
        ]
        weights = rng.integers(1, 100, size=n_demand).astype(float)

        def reached(
            chosen: tuple[int, ...] | list[int],
            covers: list[list[int]] = covers,
            weights: np.ndarray = weights,
        ) -> float:
            return float(weights[sorted({i for j in chosen for i in covers[j]})].sum())

        best = max(reached(c) for c in itertools.combinations(range(n_cand), p))
        kept = undominated(covers, n_demand).tolist()
        assert all(covers[j] for j in kept)
        clients = [[col for col, j in enumerate(kept) if i in covers[j]] for i in range(n_demand)]
        demand = [i for i in range(n_demand) if clients[i]]
        picked = solve_mclp(
            [clients[i] for i in demand], [float(weights[i]) for i in demand], len(kept),
            min(p, len(kept)),
        )  # fmt: skip
        assert reached([kept[c] for c in picked]) == best


def test_a_candidate_whose_coverage_another_contains_is_dropped() -> None:
    from tsunagari_geo.analysis.plan import undominated

    covers = [[0, 1], [0, 1, 2], [3], [3], [], [2, 4]]
    # 0 ⊂ 1; 3 equals 2 (the first is kept); 4 covers nobody; 5 is nobody's subset.
    assert undominated(covers, 5).tolist() == [1, 2, 5]


def test_the_solver_is_cbc_through_the_current_pulp_api() -> None:
    """Before: ``pulp.PULP_CBC_CMD`` and spopt's ``LpVariable(...)``, both deprecated for
    PuLP 4.0, warned on every plan."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan_new_places(_prepared(), _many_areas(), TAX, "EPSG:6677", new=2, radius_m=1000)
    assert not [w for w in caught if issubclass(w.category, DeprecationWarning)]


def test_zero_new_places_is_refused() -> None:
    with pytest.raises(InputError):
        plan_new_places(_prepared(), small_areas(), TAX, "EPSG:6677", new=0)


# --- the command -----------------------------------------------------------------------------


def test_coverage_plan_command_names_the_places_and_what_each_adds(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import tsunagari_geo.cli.analysis  # noqa: F401  (registers the commands)
    from reference_helpers import make_census_source, mini_census_region
    from tsunagari_geo.cli import app
    from tsunagari_geo.reference.importer import import_reference

    store = tmp_path / "store.gpkg"
    region = mini_census_region(tmp_path / "region")
    import_reference(make_census_source(tmp_path / "src"), store, region=region)
    activities = tmp_path / "activities.csv"
    lon, lat = 139.50, 35.95  # at 元町一丁目 (川越市, 4,000 residents)
    activities.write_text(
        "id,organization_id,name,themes,life_stages,format,lat,lng,serves,location_privacy,published\n"
        f"a1,o1,居場所,ibasho,all_ages,in_person,{lat},{lon},,exact,true\n",
        encoding="utf-8",
    )
    out = tmp_path / "plan.csv"
    result = CliRunner().invoke(
        app,
        ["coverage", "plan", "--activities", str(activities), "--new", "2",
         "--radius", "500m", "--store", str(store), "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "500 m 以内に対面の場所がない住民: 4,000 人" in result.output
    assert "新たに 2,000 人（累計 2,000 人）" in result.output  # 宮原町一丁目 (北区) first
    plan = pd.read_csv(out, encoding="utf-8-sig")
    assert plan["累計"].tolist() == [2000, 3000]
    assert "総務省統計局 令和2年国勢調査（小地域集計）" in result.output


def test_coverage_plan_refuses_a_radius_it_cannot_read(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import tsunagari_geo.cli.analysis  # noqa: F401
    from tsunagari_geo.cli import app

    result = CliRunner().invoke(
        app, ["coverage", "plan", "--activities", "x.csv", "--radius", "近く",
              "--store", str(tmp_path / "none.gpkg")],
    )  # fmt: skip
    assert result.exit_code != 0


def test_coverage_plan_takes_its_defaults_from_the_settings(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import tsunagari_geo.cli.analysis  # noqa: F401
    from reference_helpers import make_census_source, mini_census_region
    from tsunagari_geo.cli import app
    from tsunagari_geo.reference.importer import import_reference
    from tsunagari_geo.resources import COVERAGE_TOML

    store = tmp_path / "store.gpkg"
    import_reference(
        make_census_source(tmp_path / "src"), store, region=mini_census_region(tmp_path / "r")
    )
    activities = tmp_path / "activities.csv"
    activities.write_text(
        "id,organization_id,name,themes,life_stages,format,lat,lng,serves,location_privacy,published\n"
        "a1,o1,居場所,ibasho,all_ages,in_person,35.95,139.50,,exact,true\n",
        encoding="utf-8",
    )
    config = tmp_path / "coverage.toml"
    config.write_text(
        COVERAGE_TOML.read_text(encoding="utf-8").replace("new = 5", "new = 1")
        .replace("radius_m = 1000.0", "radius_m = 500.0"),
        encoding="utf-8",
    )  # fmt: skip
    result = CliRunner().invoke(
        app,
        ["coverage", "plan", "--activities", str(activities), "--store", str(store),
         "--config", str(config)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "500 m 以内に対面の場所がない住民: 4,000 人" in result.output
    assert "1 か所を選びました" in result.output and "  2. " not in result.output
