"""The municipality registry: every unit, its codes and names, and every former name since 2001."""

from __future__ import annotations

import pytest

from tsunagari_geo.region import load_region
from tsunagari_geo.registry import lg_code


def test_registry_lists_72_units_and_63_municipalities() -> None:
    reg = load_region("saitama").registry
    assert len(reg.units) == 72
    assert len(reg.municipalities_63) == 63
    assert [w.name for w in reg.wards_of("11100")][:2] == ["さいたま市西区", "さいたま市北区"]


def test_every_row_has_kana_and_a_source() -> None:
    for m in load_region("saitama").registry.municipalities:
        assert m.name_kana and all("\u30a0" <= ch <= "\u30ff" for ch in m.name_kana), m
        assert m.source_url.startswith("http"), m


def test_gun_is_kept_apart_from_the_name() -> None:
    by_code = load_region("saitama").registry.by_code
    assert (by_code["11341"].gun, by_code["11341"].name) == ("比企郡", "滑川町")
    assert by_code["11341"].full_name == "比企郡滑川町"
    assert by_code["11107"].muni_code == "11100"


@pytest.mark.parametrize(
    ("code", "expected"),
    [("13101", "131016"), ("11100", "111007"), ("11233", "112330"), ("11224", "112241")],
)
def test_six_digit_code_check_digit(code: str, expected: str) -> None:
    assert lg_code(code) == expected


def test_a_malformed_code_is_refused() -> None:
    with pytest.raises(ValueError, match="5 digits"):
        lg_code("1120")


@pytest.mark.parametrize(
    ("former", "successor"),
    [
        ("大宮市", "11100"),
        ("浦和市", "11100"),
        ("与野市", "11105"),
        ("岩槻市", "11110"),
        ("鳩ヶ谷市", "11203"),
        ("騎西町", "11210"),
        ("上福岡市", "11245"),
        ("大井町", "11245"),
        ("菖蒲町", "11232"),
        ("吹上町", "11217"),
        ("名栗村", "11209"),
        ("都幾川村", "11349"),
    ],
)
def test_former_names_map_to_todays_code(former: str, successor: str) -> None:
    rows = [f for f in load_region("saitama").registry.former if f.former_name == former]
    assert rows, former
    assert {f.successor_code for f in rows} == {successor}


def test_every_merger_row_names_a_current_code_a_date_and_a_source() -> None:
    reg = load_region("saitama").registry
    for f in reg.former:
        assert f.successor_code in reg.by_code, f
        assert f.effective_date >= "2001-01-01", f
        assert f.source_url.startswith("http"), f


def test_every_row_has_one_english_name_of_its_own() -> None:
    reg = load_region("saitama").registry
    names = [m.name_en for m in reg.municipalities]
    assert all(n and n.isascii() for n in names)
    assert len(set(names)) == len(names)  # 三郷市 and 美里町 are Misato City and Misato Town
    assert reg.by_code["11201"].name_in("en") == "Kawagoe"
    assert reg.by_code["11103"].name_in("en") == "Saitama City Omiya-ku"
    assert reg.by_code["11369"].name_in("en") == "Higashichichibu"


def test_japanese_and_easy_japanese_pages_keep_the_japanese_name() -> None:
    m = load_region("saitama").registry.by_code["11341"]
    assert m.name_in("ja") == m.name_in("easy") == "比企郡滑川町"
