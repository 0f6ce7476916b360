"""Bad sources fail early with a message naming the file and the value, and never harm the store."""

from __future__ import annotations

import re
from pathlib import Path

import pyogrio
import pytest

from reference_helpers import BOUNDARY_NAME, make_source, mini_region
from tsunagari_geo.errors import SourceError, StoreError, ValidationError
from tsunagari_geo.reference.importer import import_reference, n03_edition
from tsunagari_geo.store import open_store


def _import(source: Path, tmp_path: Path):
    return import_reference(source, tmp_path / "store.gpkg", region=mini_region())


def test_the_mini_source_imports(tmp_path: Path) -> None:
    report = _import(make_source(tmp_path / "src"), tmp_path)
    assert (report.units, report.municipalities, report.towns) == (3, 2, 5)
    assert report.population == 8000
    store = open_store(tmp_path / "store.gpkg")
    assert store.municipalities.set_index("code").loc["11100", "pop_total"] == 3000


def test_a_town_without_a_point_gets_its_siblings_point(tmp_path: Path) -> None:
    _import(make_source(tmp_path / "src"), tmp_path)
    towns = open_store(tmp_path / "store.gpkg").towns.set_index("town")
    assert towns.loc["元町二丁目", "point_source"] == "sibling_chome"
    assert (towns.loc["元町二丁目", "lat"], towns.loc["元町二丁目", "lng"]) == (35.95, 139.50)


def test_missing_boundary_file_is_named(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src")
    (source / "municipal_boundaries" / BOUNDARY_NAME).unlink()
    with pytest.raises(SourceError, match="no N03 boundary file") as err:
        _import(source, tmp_path)
    assert "municipal_boundaries" in str(err.value)


def test_missing_town_file_is_named(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src")
    (source / "towns/api/ja/埼玉県/川越市.json").unlink()
    with pytest.raises(SourceError, match=r"town file listed in ja\.json is missing") as err:
        _import(source, tmp_path)
    assert "川越市.json" in str(err.value)


def test_missing_census_file_explains_how_to_supply_it(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src")
    (source / "population/census_2020_saitama.csv").unlink()
    with pytest.raises(SourceError, match="e-Stat") as err:
        _import(source, tmp_path)
    assert "census_2020_saitama.csv" in str(err.value)


def test_a_code_set_other_than_expected_lists_missing_and_extra(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", boundaries="extra_code.geojson")
    with pytest.raises(ValidationError) as err:
        _import(source, tmp_path)
    message = str(err.value)
    assert "missing ['11201']" in message
    assert "extra ['11999']" in message
    assert BOUNDARY_NAME in message


def test_a_projected_crs_is_refused(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", boundaries="web_mercator.geojson")
    with pytest.raises(ValidationError, match="geographic WGS 84, JGD2000 or JGD2011") as err:
        _import(source, tmp_path)
    assert "3857" in str(err.value)


def test_invalid_geometry_is_repaired_and_reported(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", boundaries="bowtie.geojson")
    report = _import(source, tmp_path)
    assert report.repaired_codes == ["11201"]
    assert any("make_valid" in w and "11201" in w for w in report.warnings)
    store = open_store(tmp_path / "store.gpkg")
    assert store.units.geometry.is_valid.all()
    assert store.info()["repaired_codes"] == ["11201"]


def test_population_row_matching_no_unit_is_named(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", census="census_stray_row.csv")
    with pytest.raises(ValidationError, match=r"population rows match no unit: \['11999'\]") as e:
        _import(source, tmp_path)
    assert "6 行目" in str(e.value) and "census_2020_saitama.csv" in str(e.value)


def test_unit_without_population_is_named(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", census="census_missing_unit.csv")
    with pytest.raises(ValidationError, match=r"units have no population row: \['11201'\]"):
        _import(source, tmp_path)


def test_towns_of_an_unknown_municipality_are_named(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", towns_index="ja_unknown_municipality.json")
    (source / "towns/api/ja/埼玉県/比企郡幻町.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ValidationError, match="not in the boundaries") as err:
        _import(source, tmp_path)
    assert "比企郡幻町" in str(err.value)


def test_a_failed_import_leaves_the_previous_store_intact(tmp_path: Path) -> None:
    good = make_source(tmp_path / "good")
    _import(good, tmp_path)
    before = (tmp_path / "store.gpkg").read_bytes()
    bad = make_source(tmp_path / "bad", census="census_stray_row.csv")
    with pytest.raises(ValidationError):
        _import(bad, tmp_path)
    assert (tmp_path / "store.gpkg").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".store.gpkg.")] == []


def test_ministry_zip_with_shift_jis_shapefile_and_ward_in_n03_005(tmp_path: Path) -> None:
    """Newer N03 editions put さいたま市 in N03_004 and the ward in N03_005, Shift_JIS."""
    source = make_source(tmp_path / "src")
    geojson = source / "municipal_boundaries" / BOUNDARY_NAME
    frame = pyogrio.read_dataframe(geojson)
    wards = frame["N03_003"] == "さいたま市"
    frame["N03_005"] = frame["N03_004"].where(wards, None)
    frame.loc[wards, "N03_004"] = "さいたま市"
    frame.loc[wards, "N03_003"] = None
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    pyogrio.write_dataframe(frame, shp_dir / "N03-20240101_11.shp", encoding="cp932")
    (shp_dir / "N03-20240101_11.cpg").unlink(missing_ok=True)  # as the Ministry ships it
    import zipfile

    with zipfile.ZipFile(source / "municipal_boundaries/N03-20240101_11_GML.zip", "w") as zf:
        for part in shp_dir.iterdir():
            zf.write(part, f"N03-20240101_11_GML/{part.name}")
    geojson.unlink()
    report = _import(source, tmp_path)
    assert report.units == 3
    assert report.n03_edition == "2024-01-01"
    assert not [w for w in report.warnings if "named" in w]  # names rebuilt as さいたま市西区
    units = open_store(tmp_path / "store.gpkg").units.set_index("code")
    assert units.loc["11101", "name"] == "さいたま市西区"


@pytest.mark.parametrize(
    ("filename", "edition"),
    [
        ("saitama_N03-22_220101.geojson", "2022-01-01"),
        ("N03-20240101_11_GML.zip", "2024-01-01"),
        ("boundaries.geojson", "unknown"),
    ],
)
def test_n03_edition_is_read_from_the_file_name(filename: str, edition: str) -> None:
    assert n03_edition(filename) == edition


def test_a_truncated_store_is_refused_with_the_reason(tmp_path: Path) -> None:
    _import(make_source(tmp_path / "src"), tmp_path)
    path = tmp_path / "store.gpkg"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(
        StoreError,
        match=re.compile("壊れています|途中で切れています|読めない|metadata 表がありません"),
    ):
        open_store(path)


def test_a_file_that_is_not_a_geopackage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.gpkg"
    path.write_text("not a database", encoding="utf-8")
    with pytest.raises(StoreError, match="SQLite の見出しがない"):
        open_store(path)
