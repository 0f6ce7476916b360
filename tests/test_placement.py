"""One rule from a geocoding result to a placed point, and no invented precision.

An address the geocoder leaves at municipality level stays there: in さいたま市 it belongs to the
city (11100) and to no ward, in the CLI's coverage and in the pipeline build alike.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from tsunagari_geo.analysis.placement import placed_point
from tsunagari_geo.cli import _register, app
from tsunagari_geo.geocode import Geocoder
from tsunagari_geo.layers.build import BuildInputs, build_layers
from tsunagari_geo.layers.privacy import locate_activities, public_activities
from tsunagari_geo.layers.published import LayerSet
from tsunagari_geo.store import Store, open_store

#: 塚本 is a town of both 西区 and 桜区: the address does not say which ward.
SEVERAL_WARDS = "さいたま市塚本1-1"


@pytest.fixture(scope="module")
def geocoder(store: Store) -> Geocoder:
    return Geocoder.from_store(store)


def _city_point(store: Store) -> shapely.Point:
    city = store.municipalities.set_index("code").loc["11100"]
    return shapely.Point(float(city["rep_lng"]), float(city["rep_lat"]))


@pytest.mark.parametrize("address", [SEVERAL_WARDS, "さいたま市"])
def test_saitama_city_without_its_ward_is_placed_in_the_city_and_no_ward(
    geocoder: Geocoder, store: Store, address: str
) -> None:
    place = placed_point(geocoder.geocode(address))
    assert (place.unit_code, place.muni_code, place.precision) == ("", "11100", "municipality")
    assert not place.locates
    assert shapely.Point(place.lng, place.lat).equals(_city_point(store))


def test_a_town_is_placed_at_its_point_and_locates_the_row(geocoder: Geocoder) -> None:
    result = geocoder.geocode("さいたま市浦和区常盤6-4-4")
    place = placed_point(result)
    assert (place.unit_code, place.muni_code, place.precision) == ("11107", "11100", "town")
    assert (place.lng, place.lat) == (result.lng, result.lat)
    assert place.locates


def test_a_ward_without_its_town_keeps_the_ward(geocoder: Geocoder) -> None:
    place = placed_point(geocoder.geocode("さいたま市浦和区"))
    assert (place.unit_code, place.muni_code, place.precision) == (
        "11107",
        "11100",
        "municipality",
    )


def test_an_address_outside_the_prefecture_has_no_place(geocoder: Geocoder) -> None:
    place = placed_point(geocoder.geocode("東京都千代田区丸の内1-1"))
    assert (place.lng, place.unit_code, place.muni_code, place.precision) == (
        None,
        "",
        "",
        "none",
    )


def _activities(*rows: dict[str, object]) -> pd.DataFrame:
    base = {
        "organization_id": "org-001",
        "themes": "ibasho",
        "life_stages": "all_ages",
        "format": "in_person",
        "published": "true",
        "location_privacy": "exact",
    }
    return pd.DataFrame([{**base, **row} for row in rows])


def test_the_pipeline_invents_no_ward_and_shows_the_city_point(
    geocoder: Geocoder, store: Store
) -> None:
    frame = _activities({"id": "a1", "name": "区の分からない活動", "address": SEVERAL_WARDS})
    located = locate_activities(frame, store, geocoder)
    record = located.iloc[0]
    assert (record["unit_code"], record["muni_code"], record["point_precision"]) == (
        "",
        "11100",
        "municipality",
    )
    public, _ = public_activities(located, store)
    shown = public.iloc[0]
    assert shown["location_precision"] == "municipality"
    assert (shown["unit_code"], shown["muni_code"]) == ("", "11100")
    assert shown["municipality"] == "さいたま市"
    assert public.geometry.iloc[0].equals(_city_point(store))


# --- coverage and build agree ------------------------------------------------------------------

ORGANIZATIONS = "id,name,kind,base_muni_code\norg-001,テスト団体,NPO等,11201\n"
ACTIVITY_ROWS = [
    # given coordinates (in 川越市)
    {"id": "g1", "name": "座標のある活動", "lng": 139.4857, "lat": 35.9251},
    # a town, geocoded to its point
    {"id": "t1", "name": "町字の活動", "address": "さいたま市浦和区常盤6-4-4"},
    {"id": "t2", "name": "秩父の活動", "address": "秩父市熊木町8-15"},
    # municipality level: no point of their own
    {"id": "m1", "name": "区の分からない活動", "address": SEVERAL_WARDS},
    {"id": "m2", "name": "市だけの活動", "address": "さいたま市"},
    {"id": "m3", "name": "町字の分からない活動", "address": "川口市"},
]


def _inputs(folder: Path) -> BuildInputs:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "organizations.csv").write_text(ORGANIZATIONS, encoding="utf-8")
    _activities(*ACTIVITY_ROWS).to_csv(folder / "activities.csv", index=False)
    return BuildInputs(folder / "organizations.csv", folder / "activities.csv")


def _coverage_cli(inputs: BuildInputs, store_path: Path, out: Path, level: str) -> pd.DataFrame:
    _register()
    result = CliRunner().invoke(
        app,
        [
            "coverage",
            "--activities", str(inputs.activities),
            "--organizations", str(inputs.organizations),
            "--out", str(out),
            "--level", level,
            "--store", str(store_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return pd.read_csv(out, dtype={"code": str}, encoding="utf-8-sig").set_index("code")


@pytest.fixture(scope="module")
def both(
    tmp_path_factory: pytest.TempPathFactory, store_path: Path, geocoder: Geocoder
) -> tuple[dict[str, pd.DataFrame], LayerSet]:
    folder = tmp_path_factory.mktemp("agree")
    inputs = _inputs(folder / "inputs")
    cli = {
        "municipalities": _coverage_cli(inputs, store_path, folder / "m.csv", "municipality"),
        "units": _coverage_cli(inputs, store_path, folder / "u.csv", "unit"),
    }
    build_layers(
        open_store(store_path),
        inputs=inputs,
        out=folder / "layers.gpkg",
        planner_out=folder / "planner.gpkg",
        geocoder=geocoder,
    )
    return cli, LayerSet.open(folder / "layers.gpkg", "public")


COMPARED = ["inperson_total", "towns", "reach_1km", "reach_2km", "median_nearest_m"]


@pytest.mark.parametrize("level", ["municipalities", "units"])
def test_coverage_and_build_compute_the_same_figures_for_the_same_input(
    both: tuple[dict[str, pd.DataFrame], LayerSet], level: str
) -> None:
    cli, public = both
    built = pd.DataFrame(public.frames[level]).set_index("code")
    columns = [*COMPARED, *(["ward_unknown_inperson"] if level == "units" else [])]
    pd.testing.assert_frame_equal(
        cli[level].loc[built.index, columns].astype(float),
        built[columns].astype(float),
        check_names=False,
    )


def test_a_row_without_its_ward_counts_for_the_city_and_in_no_ward(
    both: tuple[dict[str, pd.DataFrame], LayerSet],
) -> None:
    cli, public = both
    munis, units = cli["municipalities"], cli["units"]
    wards = units[units.index.str.startswith("111")]
    # 常盤 (浦和区) is the only ward-level row; 塚本 and さいたま市 alone are the city's only.
    assert munis.loc["11100", "inperson_total"] == 3
    assert wards["inperson_total"].sum() == 1
    assert wards.loc["11107", "inperson_total"] == 1
    assert (wards["ward_unknown_inperson"] == 2).all()
    assert (units.loc[~units.index.str.startswith("111"), "ward_unknown_inperson"] == 0).all()
    # 見沼区 holds the city's centre point: it must not gain the city's rows.
    assert wards.loc["11104", "inperson_total"] == 0
    built = pd.DataFrame(public.frames["units"]).set_index("code")
    assert built.loc["11104", "inperson_total"] == 0
