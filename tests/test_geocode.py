"""The offline geocoder, one behaviour per test, against the real town dictionary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_helpers import (
    heavy_modules_after,
    make_region_b_source,
    make_source,
    mini_region,
    region_b,
)
from tsunagari_geo.errors import StoreError
from tsunagari_geo.geocode import REASONS, Geocoder
from tsunagari_geo.geocode.core import reason_text
from tsunagari_geo.reference.importer import import_reference
from tsunagari_geo.store import Store, open_store
from tsunagari_geo.text import normalize_address


@pytest.fixture(scope="session")
def geocoder(store: Store) -> Geocoder:
    return Geocoder.from_store(store)


def _codes(reason: str) -> set[str]:
    return {c.split(":")[0] for c in reason.split(",") if c}


# --- result shape ----------------------------------------------------------------------------


def test_a_full_address_gives_every_field(geocoder: Geocoder, store: Store) -> None:
    r = geocoder.geocode("埼玉県さいたま市浦和区常盤六丁目4番4号")
    town = store.towns.query("unit_code == '11107' and town == '常盤六丁目'").iloc[0]
    assert (r.pref, r.city, r.unit_code, r.town, r.rest) == (
        "埼玉県",
        "さいたま市浦和区",
        "11107",
        "常盤六丁目",
        "4-4",
    )
    assert (r.level, r.status) == (3, "matched")
    assert (r.lat, r.lng) == (town.lat, town.lng)


def test_every_reason_code_is_documented(geocoder: Geocoder) -> None:
    samples = [
        "",
        "東京都千代田区丸の内1-1",
        "さいたま市常盤6-4-4",
        "さいたま市宮町1",
        "川口市新堀1234",
        "大宮市桜木町1-1",
        "入間郡滑川町福田1",
        "あいうえお",
        "美里町xyz",
        "三郷鷹野4-39-1",
        "川越市月吉19-19",
        "入間市高倉3",
        "入間市高倉3-5",
        "さいたま市西区大字中野林字中郷650",
        "上尾市今泉三丁目5",
    ]
    for text in samples:
        for code in _codes(geocoder.geocode(text).reason):
            assert code in REASONS, (text, code)


def test_level_two_point_is_the_municipality_representative_point(
    geocoder: Geocoder, store: Store
) -> None:
    r = geocoder.geocode("埼玉県川越市存在しない町1")
    unit = store.units.set_index("code").loc["11201"]
    assert (r.level, r.status, r.reason) == (2, "partial", "town_not_found")
    assert (r.lat, r.lng) == (unit.rep_lat, unit.rep_lng)


def test_imputed_town_point_is_said_in_reason(geocoder: Geocoder, store: Store) -> None:
    imputed = store.towns[store.towns.point_source != "dictionary"].iloc[0]
    city = geocoder.dictionary.units[imputed.unit_code].name
    r = geocoder.geocode(f"{city}{imputed.town}1")
    assert r.town == imputed.town
    assert f"point_imputed:{imputed.point_source}" in r.reason


# --- NFKC, dashes, postal codes, notes -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "埼玉県さいたま市浦和区常盤６－４－４",
        "〒330-0061 埼玉県さいたま市浦和区常盤6-4-4",
        "〒３３０－００６１　埼玉県さいたま市浦和区常盤6‐4‐4",
        "330-0061 さいたま市浦和区常盤6ー4ー4",
        "埼玉県 さいたま市 浦和区 常盤 6−4−4",
        "さいたま市浦和区常盤6―4―4（○○ビル2階）",
        "さいたま市浦和区常盤6–4–4 ※裏口",
    ],
)
def test_width_dashes_postal_codes_and_notes(geocoder: Geocoder, text: str) -> None:
    r = geocoder.geocode(text)
    assert (r.unit_code, r.town, r.level) == ("11107", "常盤六丁目", 3)
    assert r.rest.startswith("4-4")


# --- 丁目 and 番地 forms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "さいたま市大宮区桜木町一丁目2番3号",
        "さいたま市大宮区桜木町1丁目2番3号",
        "さいたま市大宮区桜木町１丁目２番３号",
        "さいたま市大宮区桜木町1-2-3",
        "さいたま市大宮区桜木町一丁目二番地の三",
        "さいたま市大宮区桜木町1丁目2番地3",
        "さいたま市大宮区桜木町1丁目2の3",
    ],
)
def test_chome_forms_and_block_numbers(geocoder: Geocoder, text: str) -> None:
    r = geocoder.geocode(text)
    assert (r.town, r.rest) == ("桜木町一丁目", "2-3")


def test_chome_from_the_first_number_is_reported(geocoder: Geocoder) -> None:
    assert "chome_from_number" in geocoder.geocode("さいたま市大宮区桜木町1-2-3").reason
    assert "chome_from_number" not in geocoder.geocode("さいたま市大宮区桜木町1丁目2-3").reason


def test_first_number_is_not_a_chome_where_the_town_has_none(geocoder: Geocoder) -> None:
    r = geocoder.geocode("川口市宮町1-2-3")
    assert (r.town, r.rest) == ("宮町", "1-2-3")


def test_chome_newer_than_the_dictionary_is_the_town_with_the_reason(geocoder: Geocoder) -> None:
    # The dictionary has only 大字今泉: the town written, at its point, the 丁目 kept in rest
    # and named in the reason (never a silent town).
    r = geocoder.geocode("埼玉県上尾市今泉三丁目5番地7")
    town = geocoder.geocode("埼玉県上尾市大字今泉")
    assert (r.level, r.status, r.town) == (3, "matched", "大字今泉")
    assert (r.lat, r.lng) == (town.lat, town.lng)
    assert "chome_not_found" in r.reason.split(",") and r.rest.startswith("三丁目")


@pytest.mark.parametrize(
    ("rest", "expected"),
    [("4番地", "4"), ("4番4号", "4-4"), ("4番地の4", "4-4"), ("四番地四", "4-4"), ("1234", "1234")],
)
def test_banchi_forms_in_rest(geocoder: Geocoder, rest: str, expected: str) -> None:
    assert geocoder.geocode(f"川口市宮町{rest}").rest == expected


def test_building_after_the_block_number_stays_in_rest(geocoder: Geocoder) -> None:
    r = geocoder.geocode("さいたま市浦和区高砂3丁目15番1号 一番館")
    assert (r.town, r.rest) == ("高砂三丁目", "15-1 一番館")


def test_koaza_stays_in_rest(geocoder: Geocoder) -> None:
    # 原 is no 小字 of the dictionary: it stays in rest, as written.
    r = geocoder.geocode("桶川市坂田字原５１６番地１")
    assert (r.town, r.koaza, r.rest) == ("大字坂田", "", "字原516-1")


@pytest.mark.parametrize(
    ("text", "town", "koaza"),
    [
        ("熊谷市佐谷田字南砂原1234", "佐谷田", "南砂原"),
        ("熊谷市佐谷田南砂原1234", "佐谷田", "南砂原"),
        ("狭山市入間川沢久保1-2", "入間川", "沢久保"),
    ],
)
def test_a_koaza_of_the_dictionary_is_said_beside_its_oaza(
    geocoder: Geocoder, text: str, town: str, koaza: str
) -> None:
    # The 大字 stays the town (town-level privacy shows the 大字), the 小字 gives the point.
    r = geocoder.geocode(text)
    oaza = geocoder.geocode(f"{r.city}{town}")
    assert (r.town, r.koaza, r.level) == (town, koaza, 3)
    assert "koaza" in r.reason.split(",") and r.lat != oaza.lat and oaza.koaza == ""
    assert r.rest == text.rsplit(koaza, 1)[1]


def test_a_koaza_without_an_oaza_is_the_town(geocoder: Geocoder) -> None:
    # 本庄市 （大字なし） 台町: the 小字 is the only name, so it is the town.
    r = geocoder.geocode("本庄市台町1")
    assert (r.town, r.koaza, r.rest) == ("台町", "", "1")


# --- spelling variants -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "town"),
    [
        ("さいたま市見沼区丸ｹ崎町1", "丸ヶ崎町"),
        ("さいたま市見沼区丸ケ崎町1", "丸ヶ崎町"),
        ("さいたま市見沼区丸が崎町1", "丸ヶ崎町"),
        ("さいたま市見沼区丸ガ崎町1", "丸ヶ崎町"),
        ("さいたま市見沼区丸ヵ崎町1", "丸ヶ崎町"),
        ("熊谷市市之坪1", "市ノ坪"),
        ("熊谷市市の坪1", "市ノ坪"),
        ("熊谷市成澤1", "成沢"),
        ("川越市池邊1", "大字池辺"),
        ("川越市池邉1", "大字池辺"),
        ("行田市齋条1", "大字斎条"),
        ("行田市齊条1", "大字斎条"),
        ("さいたま市西区嶋根1", "大字島根"),
        ("志木市舘1丁目", "館一丁目"),
        ("さいたま市浦和区瀨ヶ崎1-1", "瀬ヶ崎一丁目"),
        ("さいたま市大宮区櫻木町1-1", "桜木町一丁目"),
        ("越生町竜ヶ谷100", "大字龍ケ谷"),
        ("上尾市平方領領家213", "大字平方領々家"),
        ("比企郡嵐山町大字将軍沢1", "大字将軍澤"),
    ],
)
def test_spelling_variants_come_out_in_dictionary_spelling(
    geocoder: Geocoder, text: str, town: str
) -> None:
    r = geocoder.geocode(text)
    assert (r.town, r.level) == (town, 3)


# --- prefecture, 郡, ward, 大字 ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "埼玉県比企郡滑川町大字福田1",
        "比企郡滑川町大字福田1",
        "滑川町大字福田1",
        "滑川町福田1",
        "埼玉県滑川町字福田1",
        "埼玉滑川町福田1",
    ],
)
def test_prefecture_gun_and_oaza_may_be_omitted_or_extra(geocoder: Geocoder, text: str) -> None:
    r = geocoder.geocode(text)
    assert (r.city, r.unit_code, r.town, r.rest, r.status) == (
        "比企郡滑川町",
        "11341",
        "大字福田",
        "1",
        "matched",
    )


def test_a_wrong_gun_is_read_past_and_reported(geocoder: Geocoder) -> None:
    r = geocoder.geocode("入間郡滑川町福田1")
    assert (r.unit_code, r.town) == ("11341", "大字福田")
    assert "gun_mismatch" in r.reason


def test_saitama_city_ward_is_inferred_when_unique(geocoder: Geocoder) -> None:
    r = geocoder.geocode("さいたま市常盤6-4-4")
    assert (r.city, r.unit_code, r.town) == ("さいたま市浦和区", "11107", "常盤六丁目")
    assert "ward_inferred" in r.reason


def test_saitama_city_ward_is_ambiguous_when_several_wards_have_the_town(
    geocoder: Geocoder, store: Store
) -> None:
    r = geocoder.geocode("さいたま市宮町1")
    wards = store.towns.query("muni_code == '11100' and key.str.startswith('宮町')").unit_code
    assert wards.nunique() > 1
    # The ward is not known, so none is given: the row is in the city, in no ward.
    assert (r.status, r.level, r.unit_code, r.muni_code) == ("ambiguous", 2, "", "11100")
    assert len(r.candidates) == wards.nunique()
    assert all(c.startswith("さいたま市") and "区" in c for c in r.candidates)


def test_saitama_city_ward_is_inferred_for_an_undecided_town(geocoder: Geocoder) -> None:
    # 丸ヶ崎 is only in 見沼区, as 大字丸ヶ崎 and 丸ヶ崎町: the ward is known, the town is not.
    r = geocoder.geocode("さいたま市丸ヶ崎123")
    with_ward = geocoder.geocode("さいたま市見沼区丸ヶ崎123")
    assert (r.city, r.unit_code, r.status) == ("さいたま市見沼区", "11104", "ambiguous")
    assert (
        r.candidates
        == with_ward.candidates
        == (
            "さいたま市見沼区大字丸ヶ崎",
            "さいたま市見沼区丸ヶ崎町",
        )
    )
    assert _codes(r.reason) == {"ward_inferred", "oaza_machi_pair"}


def test_ward_without_city_is_read_only_with_a_town(geocoder: Geocoder) -> None:
    r = geocoder.geocode("見沼区丸ケ崎町1")
    assert (r.unit_code, r.town) == ("11104", "丸ヶ崎町")
    assert "ward_without_city" in r.reason
    tokyo = geocoder.geocode("中央区銀座1-1")
    assert (tokyo.status, tokyo.level, tokyo.pref) == ("outside_prefecture", 1, "東京都")


def test_oaza_and_machi_pair_is_decided_by_the_written_form(geocoder: Geocoder) -> None:
    assert geocoder.geocode("川口市大字新堀1234").town == "大字新堀"
    assert geocoder.geocode("川口市新堀町1-2").town == "新堀町"
    assert geocoder.geocode("さいたま市見沼区大字丸ヶ崎123").town == "大字丸ヶ崎"
    assert geocoder.geocode("さいたま市見沼区丸ヶ崎町1").town == "丸ヶ崎町"


@pytest.mark.parametrize("text", ["川口市新堀1234", "さいたま市見沼区丸が崎123"])
def test_oaza_and_machi_pair_is_never_resolved_silently(geocoder: Geocoder, text: str) -> None:
    r = geocoder.geocode(text)
    assert (r.status, r.level, r.town) == ("ambiguous", 2, "")
    assert "oaza_machi_pair" in r.reason
    assert len(r.candidates) == 2
    assert any("大字" in c for c in r.candidates)
    assert any(c.endswith("町") for c in r.candidates)


def test_lone_number_after_a_town_with_both_oaza_and_chome_is_undecided(
    geocoder: Geocoder,
) -> None:
    # 入間市 has 大字高倉 and 高倉一丁目…: 高倉3 may be 三丁目 or 3番地.
    r = geocoder.geocode("入間市高倉3")
    assert (r.status, r.level, r.town) == ("ambiguous", 2, "")
    assert set(r.candidates) == {"入間市大字高倉", "入間市高倉三丁目"}
    assert geocoder.geocode("入間市大字高倉3").town == "大字高倉"
    assert geocoder.geocode("入間市高倉3丁目").town == "高倉三丁目"


def test_chome_block_form_is_read_as_chome_and_says_an_oaza_shares_the_name(
    geocoder: Geocoder,
) -> None:
    r = geocoder.geocode("入間市高倉3-5")
    assert (r.town, r.rest) == ("高倉三丁目", "5")
    assert "oaza_same_name" in r.reason


def test_an_oaza_named_like_a_chome(geocoder: Geocoder) -> None:
    # 八潮市 has a 大字 whose name is 二丁目.
    assert geocoder.geocode("八潮市大字二丁目1064").town == "大字二丁目"


def test_exact_name_of_one_of_a_pair_is_that_place(geocoder: Geocoder) -> None:
    # 深谷市 has 国済寺 (no 大字) and 国済寺町: 国済寺 written is exactly the first one's name.
    assert geocoder.geocode("深谷市国済寺477-1").town == "国済寺"


def test_dropped_machi_is_read_only_when_nothing_else_matches(geocoder: Geocoder) -> None:
    r = geocoder.geocode("川越市月吉19-19")
    assert r.town == "月吉町"
    assert "machi_omitted" in r.reason
    assert geocoder.geocode("さいたま市大宮区櫛引1丁目661").town == "櫛引町一丁目"


def test_municipality_without_its_suffix_needs_a_town(geocoder: Geocoder) -> None:
    r = geocoder.geocode("埼玉県三郷鷹野4-39-1")
    assert (r.unit_code, r.town) == ("11237", "鷹野四丁目")
    assert "municipality_suffix_omitted" in r.reason
    assert geocoder.geocode("三郷").status == "unmatched"
    r = geocoder.geocode("埼玉県比企郡鳩山熊井76-1")
    assert (r.unit_code, r.town, r.reason) == ("11348", "大字熊井", "municipality_suffix_omitted")


# --- former municipalities -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "town", "former"),
    [
        ("大宮市桜木町1-1", "11103", "桜木町一丁目", "大宮市"),
        ("浦和市常盤六丁目四番地の四", "11107", "常盤六丁目", "浦和市"),
        ("鳩ヶ谷市本町1-2-3", "11203", "鳩ヶ谷本町一丁目", "鳩ヶ谷市"),
        ("北埼玉郡騎西町騎西123", "11210", "騎西", "騎西町"),
        ("南埼玉郡菖蒲町菖蒲123", "11232", "菖蒲町菖蒲", "菖蒲町"),
    ],
)
def test_former_municipality_names_are_read_and_reported(
    geocoder: Geocoder, text: str, code: str, town: str, former: str
) -> None:
    r = geocoder.geocode(text)
    assert (r.unit_code, r.town, r.level) == (code, town, 3)
    assert f"former_municipality:{former}" in r.reason


# --- longest match ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "town", "rest"),
    [
        ("さいたま市西区指扇領別所100", "大字指扇領別所", "100"),
        ("さいたま市西区指扇100", "大字指扇", "100"),
        ("川越市並木新町1", "並木新町", "1"),
        ("川越市並木西町1", "並木西町", "1"),
        ("川越市並木1", "大字並木", "1"),
        ("さいたま市浦和区常盤10-1", "常盤十丁目", "1"),
        ("さいたま市浦和区常盤1-10", "常盤一丁目", "10"),
    ],
)
def test_longest_town_wins_and_numbers_are_not_part_of_names(
    geocoder: Geocoder, text: str, town: str, rest: str
) -> None:
    r = geocoder.geocode(text)
    assert (r.town, r.rest) == (town, rest)


# --- outside Saitama, empty, nonsense --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pref"),
    [
        ("東京都千代田区丸の内1-1", "東京都"),
        ("東京都府中市宮町1-1", "東京都"),
        ("広島県府中市府川町1", "広島県"),
        ("千葉県印旛郡栄町安食1", "千葉県"),
        ("北海道札幌市中央区北1条西2丁目", "北海道"),
        ("大阪府大阪市北区梅田1", "大阪府"),
        ("千代田区丸の内1-1", "東京都"),
        ("横浜市中区本町1", "神奈川県"),
    ],
)
def test_other_prefectures_are_outside_and_never_matched(
    geocoder: Geocoder, text: str, pref: str
) -> None:
    r = geocoder.geocode(text)
    assert (r.status, r.level, r.pref, r.muni_code, r.lat) == (
        "outside_prefecture",
        1,
        pref,
        "",
        None,
    )


def test_name_used_in_several_prefectures_lists_them(geocoder: Geocoder) -> None:
    r = geocoder.geocode("府中市宮町1")
    assert (r.status, r.pref) == ("outside_prefecture", "")
    assert set(r.candidates) == {"東京都", "広島県"}


def test_saitama_name_also_used_elsewhere_needs_a_saitama_town(geocoder: Geocoder) -> None:
    assert geocoder.geocode("美里町大字下児玉1").unit_code == "11381"
    r = geocoder.geocode("美里町xyz")
    assert (r.status, r.level, r.muni_code) == ("ambiguous", 0, "")
    assert "埼玉県児玉郡美里町" in r.candidates
    assert "宮城県" in r.candidates


@pytest.mark.parametrize("text", ["", "   ", "\u3000\t", None])
def test_empty_input(geocoder: Geocoder, text: str | None) -> None:
    r = geocoder.geocode(text)
    assert (r.status, r.level, r.reason) == ("empty", 0, "empty")


def test_nonsense_is_unmatched_with_what_was_recognised(geocoder: Geocoder) -> None:
    r = geocoder.geocode("あいうえお")
    assert (r.status, r.level, r.reason) == ("unmatched", 0, "municipality_not_found")
    r = geocoder.geocode("埼玉県ほげほげ1-2")
    assert (r.status, r.level, r.pref, r.rest) == ("unmatched", 1, "埼玉県", "ほげほげ1-2")


# --- context (a separate 市区町村 column) ------------------------------------------------------


def test_context_fills_a_missing_municipality(geocoder: Geocoder) -> None:
    r = geocoder.geocode("稲荷5-1-31", "草加市")
    assert (r.unit_code, r.town) == ("11221", "稲荷五丁目")
    assert "municipality_from_context" in r.reason


def test_context_does_not_double_a_written_municipality(geocoder: Geocoder) -> None:
    r = geocoder.geocode("埼玉県草加市稲荷5-1-31", "草加市")
    assert (r.unit_code, r.town, r.reason) == ("11221", "稲荷五丁目", "chome_from_number")


def test_context_beats_a_pref_less_name_from_elsewhere(geocoder: Geocoder) -> None:
    # 栄町 alone is 千葉県印旛郡栄町; with 市区町村 = 上尾市, whose towns include 栄町, the
    # context leads to a Saitama place and wins.
    alone = geocoder.geocode("栄町704")
    assert alone.status == "outside_prefecture"
    r = geocoder.geocode("栄町704", "上尾市")
    assert r.unit_code == "11219"
    tokyo = geocoder.geocode("千代田区丸の内1-1", "川口市")
    assert (tokyo.status, tokyo.pref) == ("outside_prefecture", "東京都")


def test_context_gives_outside_prefecture_instead_of_nothing(geocoder: Geocoder) -> None:
    r = geocoder.geocode("1-1", "東京都千代田区丸の内")
    assert (r.status, r.level, r.pref) == ("outside_prefecture", 1, "東京都")
    r = geocoder.geocode("1-2", "千葉県松戸市")
    assert (r.status, r.level, r.pref) == ("outside_prefecture", 1, "千葉県")


def test_saitama_context_beats_a_town_like_name_from_elsewhere(geocoder: Geocoder) -> None:
    # 栄町 is 千葉県印旛郡栄町, but beside 埼玉県 / 白岡市 the row means 白岡市.
    for context in ("埼玉県白岡市", "白岡市"):
        r = geocoder.geocode("栄町704", context)
        assert (r.pref, r.city, r.unit_code, r.level) == ("埼玉県", "白岡市", "11246", 2)
        assert "municipality_from_context" in r.reason


# --- determinism -----------------------------------------------------------------------------

ADDRESSES = [
    "さいたま市常盤6-4-4",
    "〒330-0061 埼玉県さいたま市浦和区常盤６－４－４",
    "川口市新堀1234",
    "東京都千代田区丸の内1-1",
    "浦和市常盤六丁目四番地の四 ○○ビル",
    "",
]


@pytest.mark.parametrize("text", ADDRESSES)
def test_same_input_same_output_and_normalized_input_same_result(
    geocoder: Geocoder, text: str
) -> None:
    first = geocoder.geocode(text)
    assert geocoder.geocode(text) == first
    again = geocoder.geocode(first.normalized)
    assert normalize_address(first.normalized) == first.normalized
    assert {k: v for k, v in again.to_dict().items() if k != "input"} == {
        k: v for k, v in first.to_dict().items() if k != "input"
    }


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet="埼玉県さいたま市浦和区常盤川口新堀町大字丁目一二三0123-ー 番地の号ヶ", max_size=30
    )
)
def test_never_raises_and_never_claims_more_than_it_found(geocoder: Geocoder, text: str) -> None:
    r = geocoder.geocode(text)
    assert 0 <= r.level <= 3
    assert (r.level == 3) == (r.status == "matched")
    assert (r.lat is None) == (r.level < 2)
    if r.level >= 2:
        assert r.muni_code and r.city


# --- spelling suggestions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "status", "suggestions"),
    [
        # One wrong kanji from the IME, in the municipality or in the town.
        ("埼玉県伊那町小室1-2", "unmatched", ("北足立郡伊奈町小室1-2",)),
        ("北足立郡伊那町小室", "unmatched", ("北足立郡伊奈町小室",)),
        ("さいたま市浦和区常磐6-4-4", "partial", ("さいたま市浦和区常盤6-4-4",)),
        ("さいたま市常磐6-4", "partial", ("さいたま市浦和区常盤6-4",)),
        ("川口市大字新掘1", "partial", ("川口市大字新堀1",)),
        ("埼玉県所沢市並本1-1", "partial", ("所沢市並木1-1",)),
        ("埼玉県北足立郡伊那町小室1-2", "unmatched", ("北足立郡伊奈町小室1-2",)),
        # さいたま市 and a misspelt ward: the ward is suggested.
        ("さいたま市浦話区常盤6", "partial", ("さいたま市浦和区常盤6",)),
        # Two names one character away: the one under which the rest reads to a town first.
        ("川超市元町1-1", "unmatched", ("川越市元町1-1", "川口市元町1-1")),
    ],
)
def test_a_name_one_character_off_is_suggested_never_applied(
    geocoder: Geocoder, address: str, status: str, suggestions: tuple[str, ...]
) -> None:
    r = geocoder.geocode(address)
    assert r.status == status and r.level < 3
    assert r.suggestions == suggestions
    assert r.to_dict()["suggestions"] == list(suggestions)
    # Each suggestion is the address corrected; the first reads down to its town.
    assert geocoder.geocode(suggestions[0]).status == "matched"


@pytest.mark.parametrize(
    "address",
    [
        "さいたま市浦和区常盤6-4-4",  # matched
        "川越市元町三丁目1",  # a 丁目 the dictionary lacks: no spelling to suggest
        "北足立郡伊那町小室",  # 北区 (two characters) is not offered for 北足
        "東京都千代田区丸の内1-1",
        "",
    ],
)
def test_no_suggestion_where_none_helps(geocoder: Geocoder, address: str) -> None:
    r = geocoder.geocode(address)
    assert "さいたま市北区" not in r.suggestions
    if address != "北足立郡伊那町小室":
        assert r.suggestions == ()


@pytest.mark.parametrize(
    "address",
    [
        "所沢市Q町" + "1" * 5000,
        "さいたま市浦和区常盤" + "1" * 5000,
        "さいたま市浦和区常磐" + "1" * 5000 + "丁目",
        "さいたま市浦和区常盤" + "一" * 5000 + "丁目",
        "川越市元町" + "〇" * 5000,
    ],
)
def test_a_huge_number_never_breaks_the_geocoder(geocoder: Geocoder, address: str) -> None:
    # int() refuses digit runs over 4,300; the suggestion step re-reads corrected addresses.
    r = geocoder.geocode(address)
    assert r.level >= 2 and r.status in ("matched", "partial")


# --- everything from the store, nothing from the source folder -----------------------------


def test_the_geocoder_refuses_a_store_without_other_prefectures(tmp_path: Path) -> None:
    # The mini source's ja.json lists 埼玉県 only, so the store has no other prefecture.
    path = tmp_path / "store.gpkg"
    import_reference(make_source(tmp_path / "src"), path, region=mini_region())
    with pytest.raises(StoreError, match="他の都道府県の市区町村名がない") as err:
        Geocoder.from_store(open_store(path))
    message = str(err.value)
    assert (
        "`tsunagari-geo data import` をもう一度実行してください" in message and str(path) in message
    )


@pytest.mark.parametrize(
    "address", ["中央区銀座1-1", "北区赤羽1-1"], ids=["tokyo_chuo", "tokyo_kita"]
)
def test_lookup_without_any_source_folder_knows_tokyo_wards(
    address: str, store_path: Path, tmp_path: Path
) -> None:
    # A service deployed with only its store: no ../shared, no TSUNAGARI_SOURCE.
    env = {k: v for k, v in os.environ.items() if k != "TSUNAGARI_SOURCE"}
    env["TSUNAGARI_STORE"] = str(store_path)
    result = subprocess.run(
        [sys.executable, "-m", "tsunagari_geo", "lookup", address],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["status"], answer["pref"], answer["city"]) == (
        "outside_prefecture",
        "東京都",
        "",
    )


def test_reason_texts_name_the_region(geocoder: Geocoder) -> None:
    assert geocoder.reason_text("outside_prefecture") == "埼玉県外の住所です"
    assert geocoder.reason_text("ward_inferred") == "さいたま市の区を町名から推定しました"
    assert reason_text("ward_inferred", region_b()) == "静岡市・浜松市の区を町名から推定しました"


# --- a second region through the same code --------------------------------------------------


@pytest.fixture(scope="module")
def geocoder_b(tmp_path_factory: pytest.TempPathFactory) -> Geocoder:
    folder = tmp_path_factory.mktemp("region_b")
    path = folder / "store.gpkg"
    import_reference(make_region_b_source(folder / "source"), path, region=region_b())
    return Geocoder.from_store(open_store(path))


def test_region_b_reads_its_own_prefecture(geocoder_b: Geocoder) -> None:
    r = geocoder_b.geocode("静岡県静岡市葵区追手町9-6")
    assert (r.status, r.pref, r.city, r.unit_code, r.town, r.rest) == (
        "matched", "静岡県", "静岡市葵区", "22101", "追手町", "9-6",
    )  # fmt: skip
    short = geocoder_b.geocode("静岡浜松市中央区元城町1")
    assert (short.status, short.unit_code, short.town) == ("matched", "22138", "元城町")


def test_region_b_infers_the_ward_in_either_designated_city(geocoder_b: Geocoder) -> None:
    shizuoka = geocoder_b.geocode("静岡市追手町9-6")
    hamamatsu = geocoder_b.geocode("浜松市三方原町1")
    assert (shizuoka.unit_code, shizuoka.town) == ("22101", "追手町")
    assert (hamamatsu.unit_code, hamamatsu.town) == ("22138", "三方原町")
    assert "ward_inferred" in _codes(shizuoka.reason) and "ward_inferred" in _codes(
        hamamatsu.reason
    )


def test_region_b_leaves_a_town_of_two_wards_at_the_city(geocoder_b: Geocoder) -> None:
    r = geocoder_b.geocode("静岡市中島1-1")
    assert (r.status, r.level, r.unit_code, r.muni_code, r.town) == (
        "ambiguous",
        2,
        "",
        "22100",
        "",
    )
    assert r.candidates == ("静岡市駿河区中島", "静岡市清水区中島")


def test_region_b_reads_a_ward_written_alone(geocoder_b: Geocoder) -> None:
    r = geocoder_b.geocode("中央区鍛冶町100")
    assert (r.status, r.city, r.town) == ("matched", "浜松市中央区", "鍛冶町")
    assert "ward_without_city" in _codes(r.reason)


def test_region_b_sends_a_tokyo_ward_outside(geocoder_b: Geocoder) -> None:
    r = geocoder_b.geocode("中央区銀座1-1")
    assert (r.status, r.pref, r.city) == ("outside_prefecture", "東京都", "")
    saitama = geocoder_b.geocode("埼玉県さいたま市浦和区常盤6-4-4")
    assert (saitama.status, saitama.pref) == ("outside_prefecture", "埼玉県")


def test_region_b_name_shared_with_hokkaido_needs_a_town(geocoder_b: Geocoder) -> None:
    with_town = geocoder_b.geocode("森町森1")
    alone = geocoder_b.geocode("森町1-1")
    assert (with_town.status, with_town.city, with_town.town) == ("matched", "周智郡森町", "森")
    assert (alone.status, alone.level, alone.muni_code) == ("ambiguous", 0, "")
    assert alone.candidates == ("静岡県周智郡森町", "北海道")
    assert geocoder_b.geocode("北海道森町1").status == "outside_prefecture"


def test_region_b_a_name_of_two_municipalities_is_decided_by_the_town(
    geocoder_b: Geocoder,
) -> None:
    # 浜松市北区 was split in 2024 between 中央区 and 浜名区.
    central = geocoder_b.geocode("浜松市北区三方原町1")
    hamana = geocoder_b.geocode("浜松市北区細江町気賀1")
    assert (central.unit_code, central.town) == ("22138", "三方原町")
    assert (hamana.unit_code, hamana.town) == ("22139", "細江町気賀")
    assert "former_municipality" in _codes(hamana.reason)


def test_region_b_a_name_of_two_municipalities_without_a_town_stays_undecided(
    geocoder_b: Geocoder,
) -> None:
    r = geocoder_b.geocode("浜松市北区1-1")
    assert (r.status, r.level, r.pref, r.muni_code) == ("ambiguous", 1, "静岡県", "")
    assert r.candidates == ("浜松市中央区", "浜松市浜名区")
    assert "municipality_ambiguous" in _codes(r.reason)


def test_region_b_reads_a_former_city(geocoder_b: Geocoder) -> None:
    r = geocoder_b.geocode("清水市旭町1-1")
    assert (r.status, r.city, r.town) == ("matched", "静岡市清水区", "旭町")


def test_a_chome_town_in_digits_is_still_read_through_its_base(geocoder: Geocoder) -> None:
    # Counted numerals are also indexed in digits (北24条西 for 北二十四条西); a 丁目 town's own
    # number is not, so 新栄3丁目 followed by more text reads as before: 新栄 + 三丁目.
    r = geocoder.geocode("埼玉県草加市新栄3丁目７丁目４番地の2")
    assert (r.level, r.town) == (3, "新栄三丁目")


def test_loading_the_geocoder_and_geocoding_imports_no_frame_or_geometry_library(
    store_path: Path,
) -> None:
    # The dictionary is read as plain rows (sqlite3): what a batch job's start-up pays for.
    code = (
        "from tsunagari_geo.geocode.core import Geocoder\n"
        "from tsunagari_geo.store import open_store\n"
        f"store = open_store({str(store_path)!r})\n"
        "geocoder = Geocoder.from_store(store)\n"
        "assert geocoder.geocode('さいたま市浦和区常盤6-4-4').town == '常盤六丁目'\n"
        "assert geocoder.geocode('中央区銀座4-1').status == 'outside_prefecture'\n"
        "assert store.region.pref_name == '埼玉県' and store.meta['units'] == '72'"
    )
    assert heavy_modules_after(code) == []
