"""Importing the real public data gives the store the rest of the product relies on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from tsunagari_geo.store import Store

N03_AREA_KM2 = 3797.75


def test_store_has_72_units_63_municipalities_and_5389_towns(store: Store) -> None:
    assert len(store.units) == 72
    assert store.units["code"].is_unique
    assert len(store.municipalities) == 63
    assert len(store.towns) == 5389


def test_units_are_the_62_municipalities_and_the_10_wards(store: Store) -> None:
    kinds = store.units["kind"].value_counts().to_dict()
    assert kinds == {"city": 39, "town": 22, "village": 1, "ward": 10}
    wards = store.units[store.units["kind"] == "ward"]
    assert sorted(wards["code"]) == [f"111{i:02d}" for i in range(1, 11)]
    assert set(wards["parent_code"]) == {"11100"}
    assert set(store.municipalities["code"]) - set(store.units["code"]) == {"11100"}


def test_total_area_is_within_0_2_percent_of_n03(store: Store) -> None:
    total = store.units["area_km2"].sum()
    assert abs(total - N03_AREA_KM2) / N03_AREA_KM2 < 0.002
    assert store.municipalities["area_km2"].sum() == pytest.approx(total, rel=1e-6)


def test_area_is_computed_in_a_metric_crs_not_degrees(store: Store) -> None:
    kawagoe = store.units.set_index("code").loc["11201"]
    metric = (
        gpd.GeoSeries([kawagoe.geometry], crs=4326).to_crs(store.region.metric_crs).area.iloc[0]
    )
    assert kawagoe["area_km2"] == pytest.approx(metric / 1e6)
    assert 100 < kawagoe["area_km2"] < 120  # 川越市 is 109.13 km²


def test_population_totals_the_census(store: Store) -> None:
    assert store.units["pop_total"].sum() == 7_344_765
    assert store.municipalities["pop_total"].sum() == 7_344_765
    saitama = store.municipalities.set_index("code").loc["11100"]
    assert saitama["pop_total"] == 1_324_025  # the census's own 11100 row
    assert saitama["designated_city"]


def test_every_ward_lies_inside_saitama_city(store: Store) -> None:
    city = store.municipalities.set_index("code").loc["11100"].geometry
    wards = store.units[store.units["parent_code"] == "11100"]
    for code, geom in zip(wards["code"], wards["geometry"], strict=True):
        outside = shapely.area(shapely.difference(geom, city))
        assert outside < 1e-10, code


def test_units_do_not_overlap_beyond_slivers(store: Store) -> None:
    geoms = store.units.to_crs(store.region.metric_crs).geometry.values
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert overlap.max() < 1.0  # m²: shared borders only


def test_six_digit_codes_carry_the_check_digit(store: Store) -> None:
    codes = store.units.set_index("code")["lg_code"]
    assert codes["11201"] == "112011"  # 川越市
    assert codes["11233"] == "112330"  # 北本市: remainder 1 gives check digit 0
    assert codes["11224"] == "112241"  # 戸田市: remainder 0 gives check digit 1
    assert (codes.str[:5] == codes.index).all()


def test_towns_carry_unit_muni_code_and_matching_key(store: Store) -> None:
    towns = store.towns
    assert set(towns["unit_code"]) <= set(store.units["code"])
    assert set(towns["muni_code"]) <= set(store.municipalities["code"])
    row = towns[(towns["unit_code"] == "11104") & (towns["town"] == "大字丸ヶ崎")].iloc[0]
    assert row["key"] == "丸ケ崎"
    assert row["muni_code"] == "11100"


def test_towns_without_a_dictionary_point_are_kept_and_marked(store: Store) -> None:
    sources = store.towns["point_source"].value_counts().to_dict()
    assert sources["dictionary"] == 5389 - 31
    assert sources.get("sibling_chome", 0) + sources.get("unit_point", 0) == 31
    assert store.towns.geometry.notna().all()


def test_metadata_records_every_source_with_its_checksum(store: Store) -> None:
    info = store.info()
    assert info["n03_edition"] == "2022-01-01"
    roles = {s["role"] for s in info["sources"]}
    assert roles == {"boundaries", "census", "towns", "small_areas"}
    # boundaries, census workbook, small areas, ja.json, 72 town files
    assert len(info["sources"]) == 1 + 1 + 1 + 1 + 72
    assert all(len(s["sha256"]) == 64 for s in info["sources"])
    assert any("国土数値情報" in line for line in info["attribution"])
    assert any("Geolonia" in line for line in info["attribution"])


def test_store_round_trips_through_pyogrio_and_geopandas(store_path: Path) -> None:
    layers = {name: geom for name, geom in pyogrio.list_layers(store_path)}
    assert layers["units"] == "MultiPolygon"
    assert layers["municipalities"] == "MultiPolygon"
    assert layers["towns"] == "Point"
    units = gpd.read_file(store_path, layer="units")
    assert units.crs.to_epsg() == 4326
    assert units.geometry.is_valid.all()


def test_store_is_a_conforming_geopackage(store_path: Path) -> None:
    with sqlite3.connect(store_path) as conn:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        contents = dict(conn.execute("SELECT table_name, data_type FROM gpkg_contents"))
        srs = {r[0] for r in conn.execute("SELECT srs_id FROM gpkg_geometry_columns")}
    assert app_id == 0x47504B47  # 'GPKG'
    assert contents["units"] == "features"
    assert contents["metadata"] == "attributes"
    assert srs == {4326}
