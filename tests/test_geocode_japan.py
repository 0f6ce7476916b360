"""Addresses anywhere in Japan read to their town; towns written without their 丁目.

The national store is imported from a small national folder (four prefectures' real files,
assembled in a temporary folder from ../shared/data/japan) so that shared names (府中市,
伊達市, 北区) have their real rivals; one test imports the whole national folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from reference_helpers import heavy_modules_after, plain_rows
from tsunagari_geo.analysis.placement import placed_point
from tsunagari_geo.geocode.core import REASONS, Geocoder
from tsunagari_geo.reference.importer import import_reference
from tsunagari_geo.store import JAPAN_TOWN_COLUMNS, Store, open_store
from tsunagari_geo.text import fold

#: The other prefectures of the small national folder and the municipalities taken from each.
SMALL_JAPAN = {
    "東京都": ["府中市", "北区", "千代田区"],
    "広島県": ["府中市"],
    "北海道": ["札幌市中央区", "札幌市北区", "伊達市"],
    "福島県": ["伊達市", "双葉郡富岡町"],
}


def _small_japan(japan_dir: Path, dest: Path) -> Path:
    for pref, munis in SMALL_JAPAN.items():
        (dest / "towns/api/ja" / pref).mkdir(parents=True)
        for muni in munis:
            name = f"{muni}.json"
            shutil.copy(japan_dir / "towns/api/ja" / pref / name, dest / "towns/api/ja" / pref)
    index = {**SMALL_JAPAN, "埼玉県": ["さいたま市西区"]}  # the region's own: skipped
    (dest / "towns/api/ja.json").write_text(json.dumps(index, ensure_ascii=False), "utf-8")
    return dest


@pytest.fixture(scope="module")
def small_store(
    source_dir: Path, japan_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Store:
    japan = _small_japan(japan_dir, tmp_path_factory.mktemp("small_japan"))
    path = tmp_path_factory.mktemp("small_store") / "tsunagari.gpkg"
    import_reference(source_dir, path, japan=japan)
    return open_store(path)


@pytest.fixture(scope="module")
def geocoder(small_store: Store) -> Geocoder:
    return Geocoder.from_store(small_store)


# --- the national import ----------------------------------------------------------------------


def test_import_adds_other_prefectures_towns_and_keeps_the_regions(
    small_store: Store, store: Store, japan_dir: Path
) -> None:
    files = {
        (pref, muni): json.loads(
            (japan_dir / "towns/api/ja" / pref / f"{muni}.json").read_text("utf-8")
        )
        for pref, munis in SMALL_JAPAN.items()
        for muni in munis
    }
    info = small_store.info()
    assert info["japan_towns"] == sum(len(rows) for rows in files.values())
    tokyo = small_store.japan_towns("東京都")
    assert set(tokyo["municipality"]) == {"府中市", "北区", "千代田区"}
    assert small_store.japan_towns("埼玉県").empty  # the region's towns stay in `towns`
    assert len(small_store.towns) == len(store.towns)
    roles = small_store.sources["role"]
    assert (roles == "japan_towns").sum() == 1 + len(files)  # ja.json and every town file


def test_a_store_without_the_national_source_says_so(store: Store) -> None:
    assert not store.has_japan_towns and store.japan_towns("東京都").empty


def test_the_whole_national_folder_imports_in_seconds(japan_store_path: Path) -> None:
    store = open_store(japan_store_path)
    assert store.info()["japan_towns"] > 270_000
    started = time.perf_counter()
    osaka = store.japan_towns("大阪府")
    assert time.perf_counter() - started < 1.0
    assert "大阪市北区" in set(osaka["municipality"])


# --- addresses outside the region -------------------------------------------------------------


def test_an_address_outside_gets_its_town_and_point_but_stays_outside(
    geocoder: Geocoder,
) -> None:
    r = geocoder.geocode("東京都千代田区丸の内1-1-1")
    assert (r.status, r.level, r.pref, r.city, r.town) == (
        "outside_prefecture", 3, "東京都", "千代田区", "丸の内一丁目"
    )  # fmt: skip
    assert r.lat == pytest.approx(35.68, abs=0.01) and r.lng == pytest.approx(139.77, abs=0.01)
    assert r.unit_code == "" and r.muni_code == ""  # not one of the region's units
    assert r.reason.split(",")[0] == "outside_prefecture"


def test_an_address_outside_is_not_placed_in_the_regions_analysis(geocoder: Geocoder) -> None:
    result = geocoder.geocode("東京都北区赤羽1-2")
    assert result.lat is not None
    place = placed_point(result)
    assert (place.lng, place.unit_code, place.precision) == (None, "", "none")


def test_a_ward_name_of_both_reads_here_with_our_town_and_there_with_theirs(
    geocoder: Geocoder,
) -> None:
    here = geocoder.geocode("北区宮原町1-2")
    there = geocoder.geocode("北区赤羽1-2")
    assert (here.status, here.city) == ("matched", "さいたま市北区")
    assert (there.status, there.pref, there.city, there.town) == (
        "outside_prefecture", "東京都", "北区", "赤羽一丁目"
    )  # fmt: skip


def test_a_name_of_two_prefectures_is_decided_by_the_prefecture(geocoder: Geocoder) -> None:
    tokyo = geocoder.geocode("東京都府中市府中町1")
    hiroshima = geocoder.geocode("広島県府中市府中町1")
    assert (tokyo.pref, tokyo.level) == ("東京都", 3)
    assert (hiroshima.pref, hiroshima.level) == ("広島県", 3)
    assert tokyo.lat != hiroshima.lat


def test_a_name_of_two_prefectures_is_decided_by_a_town_only_one_has(geocoder: Geocoder) -> None:
    r = geocoder.geocode("府中市宮西町1-1")
    assert (r.pref, r.city, r.town, r.level) == ("東京都", "府中市", "宮西町一丁目", 3)
    r = geocoder.geocode("伊達市梁川町")
    assert (r.pref, r.city, r.level) == ("福島県", "伊達市", 3)


def test_a_name_the_text_does_not_decide_is_ambiguous_with_candidates(geocoder: Geocoder) -> None:
    r = geocoder.geocode("府中市府中町")  # both 府中市 have a 府中町
    assert r.status == "outside_prefecture" and "municipality_ambiguous" in r.reason
    assert (r.pref, r.level, r.lat) == ("", 1, None)
    assert set(r.candidates) == {"東京都府中市府中町", "広島県府中市府中町"}
    alone = geocoder.geocode("伊達市")
    assert set(alone.candidates) == {"北海道伊達市", "福島県伊達市"} and alone.lat is None


def test_a_designated_citys_ward_outside_is_read_or_inferred(geocoder: Geocoder) -> None:
    written = geocoder.geocode("北海道札幌市北区北七条西2")
    assert (written.city, written.town) == ("札幌市北区", "北七条西二丁目")
    inferred = geocoder.geocode("札幌市北七条西2")
    assert (inferred.city, inferred.town, inferred.level) == ("札幌市北区", "北七条西二丁目", 3)
    assert "ward_inferred" in inferred.reason
    city_only = geocoder.geocode("北海道札幌市")
    assert (city_only.city, city_only.level) == ("札幌市", 2) and city_only.lat is not None


def test_gun_may_be_written_left_out_or_wrong(geocoder: Geocoder) -> None:
    with_gun = geocoder.geocode("福島県双葉郡富岡町小浜")
    without = geocoder.geocode("福島県富岡町小浜")
    wrong = geocoder.geocode("福島県伊達郡富岡町小浜")
    assert with_gun.city == without.city == wrong.city == "双葉郡富岡町"
    assert with_gun.town == without.town == wrong.town
    assert "gun_mismatch" in wrong.reason and "gun_mismatch" not in without.reason


def test_other_prefectures_are_indexed_only_when_first_used(small_store: Store) -> None:
    geocoder = Geocoder.from_store(small_store)
    assert geocoder.dictionary._japan == {}
    geocoder.geocode("越谷市東越谷1-2")
    assert geocoder.dictionary._japan == {}
    geocoder.geocode("東京都北区赤羽1-2")
    assert set(geocoder.dictionary._japan) == {"東京都"}


@pytest.fixture(scope="module")
def japan_geocoder(japan_store_path: Path) -> Geocoder:
    return Geocoder.from_store(open_store(japan_store_path))


def test_designated_cities_everywhere_come_from_the_dictionary(japan_geocoder: Geocoder) -> None:
    geocoder = japan_geocoder
    for address, city in (
        ("名古屋市栄3-4-5", "名古屋市中区"),
        ("大阪府堺市北区長曽根町", "堺市北区"),
        ("神奈川県横浜市中区山下町1", "横浜市中区"),
        ("福岡市博多区博多駅前2-1", "福岡市博多区"),
    ):
        r = geocoder.geocode(address)
        assert (r.status, r.city, r.level) == ("outside_prefecture", city, 3), address
    cities = {
        p.pref: len(p.wards_by_city)
        for pref in ("北海道", "神奈川県", "大阪府")
        if (p := geocoder.dictionary.prefecture(pref)) is not None
    }
    assert cities == {"北海道": 1, "神奈川県": 3, "大阪府": 2}


# --- towns written without 丁目 ----------------------------------------------------------------


@pytest.fixture(scope="module")
def region_geocoder(store: Store) -> Geocoder:
    return Geocoder.from_store(store)


@pytest.mark.parametrize(
    ("address", "city", "town", "chome"),
    [
        ("越谷市東越谷", "越谷市", "東越谷", 10),
        ("さいたま市浦和区高砂", "さいたま市浦和区", "高砂", 4),
        ("さいたま市大宮区桜木町", "さいたま市大宮区", "桜木町", 4),
        ("越谷市レイクタウン", "越谷市", "レイクタウン", 9),
    ],
)
def test_a_town_written_without_its_chome_is_the_group(
    region_geocoder: Geocoder, address: str, city: str, town: str, chome: int
) -> None:
    r = region_geocoder.geocode(address)
    assert (r.status, r.level, r.city, r.town) == ("matched", 3, city, town)
    assert "chome_not_given" in r.reason.split(",")
    assert len(r.candidates) == chome and all(c.startswith(city + town) for c in r.candidates)
    points = [region_geocoder.geocode(c) for c in r.candidates]
    assert r.lat == pytest.approx(sum(p.lat or 0 for p in points) / chome)
    assert r.lng == pytest.approx(sum(p.lng or 0 for p in points) / chome)
    assert r.suggestions == ()


def test_a_chome_written_still_reads_that_chome(region_geocoder: Geocoder) -> None:
    assert region_geocoder.geocode("越谷市東越谷3-2").town == "東越谷三丁目"
    missing = region_geocoder.geocode("越谷市東越谷11丁目")  # no 十一丁目: not the group
    assert (missing.status, missing.reason) == ("partial", "chome_not_found")


def test_a_group_name_the_text_goes_on_from_is_not_the_group(region_geocoder: Geocoder) -> None:
    # 上青木 exists as 上青木一丁目…; 上青木東 is no town: not 上青木 with 東 left over.
    r = region_geocoder.geocode("川口市上青木東3")
    assert (r.status, r.level) == ("partial", 2)
    assert "川口市上青木西3" in r.suggestions


def test_a_ward_is_inferred_for_a_town_group_too(region_geocoder: Geocoder) -> None:
    r = region_geocoder.geocode("さいたま市高砂")
    assert (r.city, r.town) == ("さいたま市浦和区", "高砂") and "ward_inferred" in r.reason


def test_an_oaza_listed_only_through_its_aza_is_the_group(japan_geocoder: Geocoder) -> None:
    r = japan_geocoder.geocode("熊本県人吉市下原田町")  # listed only through its 7 字
    assert (r.level, r.town) == (3, "下原田町") and "aza_not_given" in r.reason.split(",")
    assert len(r.candidates) == 7
    assert all(c.startswith("熊本県人吉市下原田町") for c in r.candidates)
    both = japan_geocoder.geocode("岩手県宮古市田老")  # 田老一〜四丁目 and 17 字
    assert (both.town, len(both.candidates)) == ("田老", 4 + 17)
    one = japan_geocoder.geocode(r.candidates[0])
    assert "koaza" in one.reason and one.lat != r.lat


def test_a_group_outside_the_region_is_read_the_same_way(geocoder: Geocoder) -> None:
    r = geocoder.geocode("東京都北区赤羽")
    assert (r.status, r.town, r.level) == ("outside_prefecture", "赤羽", 3)
    assert "chome_not_given" in r.reason and r.candidates[0] == "東京都北区赤羽一丁目"


def test_new_reasons_have_japanese_texts() -> None:
    assert "丁目" in REASONS["chome_not_given"] and "字" in REASONS["aza_not_given"]


# --- suggestions ------------------------------------------------------------------------------


def test_suggestions_always_read_further_than_the_input(region_geocoder: Geocoder) -> None:
    for address in ("越谷市西越谷", "越谷市東越ケ谷町", "さいたま市浦和区高沙", "越谷市北越谷区"):
        r = region_geocoder.geocode(address)
        for suggestion in r.suggestions:
            assert region_geocoder.geocode(suggestion).level > r.level, (address, suggestion)


def test_suggestions_never_lead_back(region_geocoder: Geocoder) -> None:
    seen: set[str] = set()
    frontier = ["越谷市西越谷", "さいたま市浦和区高沙"]
    while frontier:
        address = frontier.pop()
        assert address not in seen, f"suggestions lead back to {address}"
        seen.add(address)
        frontier.extend(region_geocoder.geocode(address).suggestions)
    assert len(seen) > 2  # the inputs did get suggestions


# --- accuracy floor on the peer's own suite ---------------------------------------------------

#: Prefectures of the sample: the region's own and four others (each indexed once, on first use).
FLOOR_PREFECTURES = ("埼玉県", "東京都", "大阪府", "神奈川県", "愛知県")


def test_accuracy_floor_on_a_sample_of_the_peers_suite(
    japan_geocoder: Geocoder, japan_dir: Path
) -> None:
    suite = pd.read_csv(japan_dir / "peer_tests/addresses.csv", dtype=str, keep_default_na=False)
    sample = suite[suite["都道府県"].isin(FLOOR_PREFECTURES)].iloc[::5]
    assert len(sample) > 300
    muni = town = asserted = 0
    for row in sample.itertuples():
        r = japan_geocoder.geocode(row.住所, suggest=False)
        muni += r.pref == row.都道府県 and fold(r.city) == fold(row.市区町村)
        if row.町字:
            asserted += 1
            town += fold(r.town + r.koaza) == fold(row.町字)  # the suite's 町字 has the 小字
    # Measured on this sample (1,304 rows): 100.0% and 99.9% (bench/geocode_japan_accuracy.py: whole suite).
    assert muni / len(sample) >= 0.99
    assert town / asserted >= 0.985


def test_the_cli_imports_the_national_folder_and_looks_up_outside(
    source_dir: Path, japan_dir: Path, tmp_path: Path
) -> None:
    japan = _small_japan(japan_dir, tmp_path / "japan")
    store = tmp_path / "cli.gpkg"
    cli = [sys.executable, "-m", "tsunagari_geo"]
    run = {"capture_output": True, "text": True, "timeout": 120}
    imported = subprocess.run(
        [*cli, "data", "import", "--source", str(source_dir), "--japan", str(japan),
         "--store", str(store)],
        **run,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "他県の町字" in imported.stdout
    env = {**os.environ, "TSUNAGARI_STORE": str(store)}
    lookup = subprocess.run([*cli, "lookup", "東京都府中市宮西町1-1"], env=env, **run)
    assert lookup.returncode == 0, lookup.stderr
    found = json.loads(lookup.stdout)
    assert (found["status"], found["town"], found["level"]) == (
        "outside_prefecture", "宮西町一丁目", 3
    )  # fmt: skip


# --- spellings found in the peer's national suite -------------------------------------------------
# Rows of @geolonia/normalize-japanese-addresses' test/addresses/addresses.csv
# (../shared/data/japan/peer_tests) that each rule below was written for; the expected towns
# are that suite's, read against the national dictionary.


@pytest.mark.parametrize(
    ("address", "pref", "city", "town"),
    [
        ("岩手花巻市１２丁目７０４", "岩手県", "花巻市", "十二丁目"),
        ("福島石川郡石川町字長久保185-4", "福島県", "石川郡石川町", "字長久保"),
        ("千葉市川市八幡1丁目1番1号", "千葉県", "市川市", "八幡一丁目"),
    ],
)
def test_another_prefecture_without_its_ken_is_read_when_its_municipality_follows(
    japan_geocoder: Geocoder, address: str, pref: str, city: str, town: str
) -> None:
    r = japan_geocoder.geocode(address)
    assert (r.status, r.pref, r.city, r.town) == ("outside_prefecture", pref, city, town)


def test_a_prefecture_stem_that_is_the_start_of_a_city_stays_the_city(
    japan_geocoder: Geocoder,
) -> None:
    # 千葉市中央区: 千葉 followed by no municipality of 千葉県, so the city 千葉市.
    r = japan_geocoder.geocode("千葉市中央区中央1丁目")
    assert (r.pref, r.city, r.town) == ("千葉県", "千葉市中央区", "中央一丁目")


def test_a_look_alike_of_shi_is_read_as_shi(japan_geocoder: Geocoder) -> None:
    r = japan_geocoder.geocode("千葉県巿川巿巿川1丁目")  # 巿 (U+5DFF) typed for 市
    assert (r.pref, r.city, r.town) == ("千葉県", "市川市", "市川一丁目")


@pytest.mark.parametrize(
    ("address", "city", "town"),
    [
        ("北海道札幌市北区北２４条西６丁目１−１", "札幌市北区", "北二十四条西六丁目"),
        ("北海道札幌市北区北24条西6-1-1", "札幌市北区", "北二十四条西六丁目"),
        ("岩手県花巻市12丁目７０４", "花巻市", "十二丁目"),
        ("北海道上川郡東神楽町14号北1番地", "上川郡東神楽町", "十四号"),
        ("和歌山県和歌山市12番丁45", "和歌山市", "十二番丁"),
        ("和歌山県和歌山市7番町19", "和歌山市", "七番丁"),
    ],
)
def test_a_name_that_counts_in_kanji_is_read_in_digits(
    japan_geocoder: Geocoder, address: str, city: str, town: str
) -> None:
    r = japan_geocoder.geocode(address)
    assert (r.level, r.city, r.town) == (3, city, town)


@pytest.mark.parametrize(
    ("address", "town"),
    [("滋賀県長浜市木之本西山123-4", "木之本町西山"), ("石川県輪島市町野桶戸", "町野町桶戸")],
)
def test_a_machi_left_out_inside_a_name_is_read_and_reported(
    japan_geocoder: Geocoder, address: str, town: str
) -> None:
    r = japan_geocoder.geocode(address)
    assert (r.level, r.town) == (3, town) and "machi_omitted" in r.reason.split(",")


@pytest.mark.parametrize(
    ("address", "city", "town", "rest"),
    [
        (
            "京都府京都市中京区河原町二条下ル一之船入町537-50",
            "京都市中京区",
            "一之船入町",
            "537-50",
        ),
        ("京都府京都市下京区西中筋通北小路通上る丸屋町", "京都市下京区", "丸屋町", ""),
    ],
)
def test_streets_and_directions_before_the_town_are_read_past(
    japan_geocoder: Geocoder, address: str, city: str, town: str, rest: str
) -> None:
    r = japan_geocoder.geocode(address)
    assert (r.city, r.town, r.rest) == (city, town, rest)
    assert "street_directions" in r.reason.split(",")


@pytest.mark.parametrize(
    ("address", "town", "rest"),
    [
        ("大阪府大阪市天王寺区悲田院町１丁目３８", "悲田院町", "1丁目38"),
        ("神奈川県伊勢原市東成瀬３丁目１", "東成瀬", "3丁目1"),
    ],
)
def test_a_chome_newer_than_the_dictionary_reads_to_its_town(
    japan_geocoder: Geocoder, address: str, town: str, rest: str
) -> None:
    r = japan_geocoder.geocode(address)
    bare = japan_geocoder.geocode(address.split(town)[0] + town)
    assert (r.level, r.town, r.rest) == (3, town, rest)
    assert (r.lat, r.lng) == (bare.lat, bare.lng) and bare.reason == "outside_prefecture"
    assert "chome_not_found" in r.reason.split(",")


def test_a_chome_missing_from_a_town_of_chome_is_still_not_found(japan_geocoder: Geocoder) -> None:
    # 丸の内 has 一丁目…三丁目 only: a 九丁目 is no town, not 丸の内 as a whole.
    r = japan_geocoder.geocode("東京都千代田区丸の内9丁目1")
    assert (r.level, r.town) == (2, "") and "chome_not_found" in r.reason.split(",")


def test_fune_written_for_the_other_fune_only_when_no_town_has_it(japan_geocoder: Geocoder) -> None:
    r = japan_geocoder.geocode("京都府京都市中京区河原町二条下ル一之舟入町537-50")
    assert (r.town, r.rest) == ("一之船入町", "537-50")
    assert {"variant_kanji", "street_directions"} <= set(r.reason.split(","))
    # 中京区 has both 舟屋町 and 船屋町: each as written, two towns.
    boat = japan_geocoder.geocode("京都府京都市中京区舟屋町1")
    ship = japan_geocoder.geocode("京都府京都市中京区船屋町1")
    assert (boat.town, ship.town) == ("舟屋町", "船屋町") and boat.lat != ship.lat
    assert "variant_kanji" not in boat.reason


@pytest.mark.parametrize(
    ("address", "area", "town"),
    [("東京都新宿区三栄町２－８", "四谷", "三栄町"), ("東京都中央区久松町1", "日本橋", "久松町")],
)
def test_a_town_written_without_the_area_put_before_it(
    japan_geocoder: Geocoder, address: str, area: str, town: str
) -> None:
    # 四谷 (四谷一丁目…) and 日本橋 (日本橋一丁目…) were put before these names later.
    r = japan_geocoder.geocode(address)
    full = japan_geocoder.geocode(address.replace(town, area + town))
    town = area + town
    assert (r.level, r.town, r.lat) == (3, town, full.lat)
    assert "area_name_omitted" in r.reason.split(",")
    assert "area_name_omitted" not in full.reason


def test_a_short_name_is_not_read_as_a_town_with_its_area(japan_geocoder: Geocoder) -> None:
    # 東京都板橋区 has 大谷口上町 (beside 大谷口一丁目…), but 上町 says too little.
    r = japan_geocoder.geocode("東京都板橋区上町1")
    assert (r.level, r.town) == (2, "")


def test_a_town_written_first_keeps_its_street_in_rest(japan_geocoder: Geocoder) -> None:
    r = japan_geocoder.geocode("京都府京都市上京区役人町中立売通堀川西入２６０番")
    assert (r.town, "street_directions" in r.reason) == ("役人町", False)


def test_variant_kanji_of_a_town_name_meet(japan_geocoder: Geocoder) -> None:
    # 莵道 in the dictionary, 菟道 as written: one town either way.
    written = japan_geocoder.geocode("京都府宇治市菟道8−10")
    listed = japan_geocoder.geocode("京都府宇治市莵道8−10")
    assert (written.town, written.lat) == (listed.town, listed.lat) == ("莵道", listed.lat)
    assert written.level == 3


def test_a_koaza_written_after_its_oaza_is_read_into_koaza(japan_geocoder: Geocoder) -> None:
    # 木津川市 木津 小字 池田: the 大字 stays the town, the 小字 is said beside it, at its point.
    r = japan_geocoder.geocode("京都府木津川市木津池田３０－８")
    oaza = japan_geocoder.geocode("京都府木津川市木津３０－８")
    assert (r.town, r.koaza, r.rest, r.level) == ("木津", "池田", "30-8", 3)
    assert "koaza" in r.reason.split(",") and r.lat != oaza.lat
    assert (oaza.town, oaza.koaza) == ("木津", "")


def test_a_koaza_is_said_as_the_dictionary_writes_it(japan_geocoder: Geocoder) -> None:
    # 字 written before the 小字, and a variant kanji of the 大字 (菟道 for 莵道).
    with_aza = japan_geocoder.geocode("愛知県名古屋市昭和区広路町字石坂５－４")
    assert (with_aza.town, with_aza.koaza, with_aza.rest) == ("広路町", "石坂", "5-4")
    variant = japan_geocoder.geocode("京都府宇治市菟道森本8−10")
    assert (variant.town, variant.koaza) == ("莵道", "森本")


def test_other_prefectures_towns_are_read_without_a_frame_or_geometry_library(
    small_store: Store,
) -> None:
    code = (
        "from tsunagari_geo.geocode.core import Geocoder\n"
        "from tsunagari_geo.store import open_store\n"
        f"geocoder = Geocoder.from_store(open_store({small_store.location!r}))\n"
        "assert geocoder.geocode('東京都千代田区丸の内1-1').town == '丸の内一丁目'"
    )
    assert heavy_modules_after(code) == []


def test_a_prefectures_town_rows_are_its_frame(small_store: Store) -> None:
    frame = small_store.japan_towns("東京都")
    assert plain_rows(frame, JAPAN_TOWN_COLUMNS) == small_store.japan_town_rows("東京都")
    assert frame["lat"].dtype == "float64" and len(frame) > 0
    assert small_store.japan_town_rows("埼玉県") == []
