"""The official census workbook and the census small areas (小地域), imported with validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_helpers import (
    MINI_SMALL_AREAS,
    MINI_WORKBOOK_ROWS,
    make_census_source,
    mini_census_region,
    write_small_areas,
    write_workbook,
)
from tsunagari_geo.errors import ValidationError
from tsunagari_geo.reference import sources
from tsunagari_geo.reference.importer import import_reference
from tsunagari_geo.region import default_region
from tsunagari_geo.store import Store, open_store

# --- the real Saitama sources ---------------------------------------------------------------


def test_units_sum_to_the_workbooks_prefecture_row_in_every_count(
    store: Store, source_dir: Path
) -> None:
    book = sources.read_census_workbook(source_dir, default_region())
    for column in sources.WORKBOOK_COLUMNS:
        assert store.units[column].sum() == book.prefecture[column], column
        assert store.municipalities[column].sum() == book.prefecture[column], column


def test_age_bands_are_the_official_ones_and_sum_to_the_total(store: Store) -> None:
    units = store.units
    bands = units["pop_0_14"] + units["pop_15_64"] + units["pop_65plus"]
    assert (bands == units["pop_total"]).all()  # 不詳補完 values: no age-unknown remainder
    kawaguchi = units.set_index("code").loc["11203"]
    assert kawaguchi["pop_15_64"] > 0.6 * kawaguchi["pop_total"]


def test_every_small_area_is_stored_with_its_unit_and_population(store: Store) -> None:
    areas = store.small_areas
    assert areas is not None
    assert areas["key_code"].is_unique
    assert len(areas) == int(store.meta["small_areas"])
    assert set(areas["unit_code"]) <= set(store.units["code"])
    per_unit = areas.groupby("unit_code")["population"].sum()
    census = store.units.set_index("code")["pop_total"]
    assert (per_unit.reindex(census.index, fill_value=0) == census).all()


def test_info_reports_how_many_small_areas_match_the_town_dictionary(
    store: Store,
) -> None:
    info = store.info()
    areas = store.small_areas
    assert areas is not None
    named = areas[areas["name"] != ""]
    assert info["small_areas_matched"] == int(named["town_matched"].sum())
    assert info["small_areas_unmatched"] == len(named) - info["small_areas_matched"]
    assert sum(info["small_areas_unmatched_by_unit"].values()) == info["small_areas_unmatched"]
    assert info["census_source"] == "workbook" and info["census_year"] == 2020


# --- the mini region, hand-made workbook and table -------------------------------------------


def _import(tmp_path: Path):
    region = mini_census_region(tmp_path / "region")
    return import_reference(tmp_path / "src", tmp_path / "store.gpkg", region=region)


def test_the_mini_workbook_and_small_areas_import(tmp_path: Path) -> None:
    make_census_source(tmp_path / "src")
    report = _import(tmp_path)
    assert report.census_source == "workbook"
    assert (report.small_areas, report.small_area_population) == (5, 8000)
    # 霞ケ関北 is not in the mini town dictionary: counted, reported, kept.
    assert (report.small_areas_matched, report.small_areas_unmatched) == (4, 1)
    assert report.small_areas_unmatched_by_unit == {"11201": 1}
    store = open_store(tmp_path / "store.gpkg")
    city = store.municipalities.set_index("code").loc["11100"]
    assert (city["pop_15_64"], city["single_65plus_households"]) == (1900, 150)
    assert store.small_areas is not None and len(store.small_areas) == 5


def test_units_that_do_not_sum_to_the_prefecture_row_are_refused(tmp_path: Path) -> None:
    make_census_source(tmp_path / "src")
    rows = list(MINI_WORKBOOK_ROWS)
    rows[4] = ("11201_川越市", 2, 5001, 601, 3000, 1400, 4951, 50, 2000, 1994, 600, 230)
    write_workbook(tmp_path / "src/population/major_results.xlsx", tuple(rows))
    with pytest.raises(ValidationError, match="sum to 8,001") as err:
        _import(tmp_path)
    message = str(err.value)
    assert "major_results.xlsx" in message and "10 行目" in message and "pop_total" in message
    assert not (tmp_path / "store.gpkg").exists()


def test_a_count_that_is_not_a_number_names_its_row_and_column(tmp_path: Path) -> None:
    make_census_source(tmp_path / "src")
    rows = list(MINI_WORKBOOK_ROWS)
    rows[2] = ("11101_さいたま市西区", 0, 1000, "-", 600, 300, 990, 10, 400, 399, 150, 60)
    write_workbook(tmp_path / "src/population/major_results.xlsx", tuple(rows))
    with pytest.raises(ValidationError, match="not a non-negative number") as err:
        _import(tmp_path)
    assert "12 行目" in str(err.value) and "15歳未満" in str(err.value)


def test_a_small_area_named_for_another_unit_is_refused(tmp_path: Path) -> None:
    make_census_source(tmp_path / "src")
    rows = list(MINI_SMALL_AREAS)
    rows[3] = ("11201001001", "さいたま市西区", "元町一丁目", 4000, 1600, 139.50, 35.95)
    write_small_areas(tmp_path / "src/small_areas/r2ka11.dbf", tuple(rows))
    with pytest.raises(ValidationError, match="CITY_NAME") as err:
        _import(tmp_path)
    assert "4 行目" in str(err.value) and "さいたま市西区" in str(err.value)


def test_a_small_area_whose_point_lies_in_another_unit_is_reported_not_dropped(
    tmp_path: Path,
) -> None:
    make_census_source(tmp_path / "src")
    rows = list(MINI_SMALL_AREAS)
    rows[4] = ("11201009000", "川越市", "霞ケ関北", 1000, 400, 139.62, 35.92)  # in 北区
    write_small_areas(tmp_path / "src/small_areas/r2ka11.dbf", tuple(rows))
    report = _import(tmp_path)
    assert report.small_areas_outside_unit == 1
    assert any("another unit's polygon" in w for w in report.warnings)
    store = open_store(tmp_path / "store.gpkg")
    assert store.small_areas is not None
    moved = store.small_areas.set_index("key_code").loc["11201009000"]
    assert (moved["unit_code"], moved["point_unit_code"]) == ("11201", "11102")
