"""The region is data: one prefecture read from region.toml and its registry CSVs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reference_helpers import REGION_B, region_b
from tsunagari_geo.errors import RegionError
from tsunagari_geo.region import default_region, load_region


def test_the_shipped_region_is_saitama() -> None:
    region = load_region("saitama")
    assert (region.id, region.pref_code, region.pref_name) == ("saitama", "11", "埼玉県")
    assert region.metric_crs == "EPSG:6677"
    west, south, east, north = region.bounds
    assert west < 139.0 < east and south < 36.0 < north


def test_saitama_counts_come_from_its_registry() -> None:
    region = load_region("saitama")
    assert (region.unit_count, region.municipality_count) == (72, 63)
    assert region.designated_city_codes == ("11100",)
    assert len(region.wards_of("11100")) == 10


def test_a_ward_short_name_drops_its_city_name() -> None:
    region = load_region("saitama")
    assert region.ward_short_name("11101") == "西区"
    assert region.ward_short_name("11110") == "岩槻区"
    with pytest.raises(KeyError):
        region.ward_short_name("11201")  # 川越市 is no ward


def test_the_default_region_is_saitama_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSUNAGARI_REGION", raising=False)
    assert default_region().id == "saitama"


def test_tsunagari_region_names_a_region_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGARI_REGION", str(REGION_B / "region"))
    assert default_region().pref_name == "静岡県"
    assert len(default_region().registry.units) == 7


def test_a_region_may_have_two_designated_cities() -> None:
    region = region_b()
    assert region.designated_city_codes == ("22100", "22130")
    assert [w.code for w in region.wards_of("22130")] == ["22138", "22139"]
    assert region.ward_short_name("22138") == "中央区"
    assert (region.unit_count, region.municipality_count) == (7, 4)
    assert region.metric_crs == "EPSG:6676"


def test_an_unknown_region_is_named() -> None:
    with pytest.raises(RegionError, match="no such region") as err:
        load_region("/nonexistent/region")
    assert "/nonexistent/region" in str(err.value)


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REGION_B / "region", tmp_path / "region"))


def test_a_missing_key_in_region_toml_is_named(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    toml = folder / "region.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("metric_crs", "# metric_crs"), "utf-8")
    with pytest.raises(RegionError, match="lacks a text value") as err:
        load_region(folder)
    assert "metric_crs" in str(err.value) and "region.toml" in str(err.value)


def test_bounds_must_be_west_south_east_north(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    toml = folder / "region.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(
        text.replace("[137.40, 34.55, 139.20, 35.70]", "[34.55, 137.40, 35.70, 139.20]"), "utf-8"
    )
    with pytest.raises(RegionError, match="bounds"):
        load_region(folder)


def test_a_ward_whose_city_is_missing_is_refused_with_its_row(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    csv = folder / "municipalities.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    csv.write_text(
        "\n".join(line for line in lines if not line.startswith("22130,")) + "\n", "utf-8"
    )
    with pytest.raises(RegionError, match="no designated city") as err:
        load_region(folder)
    assert err.value.row is not None and err.value.column == "parent_code"
    assert err.value.value == "22130"


def test_an_unknown_kind_is_refused_with_its_row(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    csv = folder / "municipalities.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace(",town,", ",hamlet,", 1), "utf-8")
    with pytest.raises(RegionError, match="kind") as err:
        load_region(folder)
    assert (err.value.column, err.value.value) == ("kind", "hamlet")


def test_a_code_outside_the_prefecture_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    toml = folder / "region.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('pref_code = "22"', 'pref_code = "11"'), "utf-8"
    )
    with pytest.raises(RegionError, match="prefecture code 11") as err:
        load_region(folder)
    assert "municipalities.csv" in str(err.value)


def test_titles_are_region_data() -> None:
    region = load_region("saitama")
    assert region.title == "つながりマップ｜埼玉県 孤独・孤立対策"
    assert region.titles["dashboard"].startswith("カバレッジ・ダッシュボード")
    assert region_b().title == "つながりマップ｜静岡県（テスト）"


def test_pref_prefixes_are_the_full_and_the_short_name() -> None:
    assert load_region("saitama").pref_prefixes == ("埼玉県", "埼玉")
    assert region_b().pref_prefixes == ("静岡県", "静岡")


def test_a_region_without_english_names_shows_the_japanese_ones_in_english() -> None:
    registry = region_b().registry
    assert all(m.name_en == "" for m in registry.municipalities)
    assert registry.names_in("en")["22101"] == "静岡市葵区"
