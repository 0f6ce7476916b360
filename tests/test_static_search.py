"""The static site's address search answers as the server's geocoder does.

The index is generated from the real :class:`Geocoder` over the real store, and searched by
the page's own ``search.js`` in node, on a few hundred varied real addresses: care facilities
of the MHLW sample as published, and towns of the store written as people write them (full-width
digits, 丁目 in kanji / arabic / 6-, with and without 埼玉県 and 郡, former municipalities, a
ward without its city, another prefecture, a typo).
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from reference_helpers import make_region_b_source, region_b
from static_search_helpers import SEARCH_JS, run_static_search
from tsunagari_geo.geocode import Geocoder
from tsunagari_geo.maps.search_index import (
    DELETED,
    MUNICIPALITY,
    VERSION,
    build_search_index,
    place_code_of,
)
from tsunagari_geo.reference.importer import import_reference
from tsunagari_geo.region import load_region
from tsunagari_geo.store import Store, open_store
from tsunagari_geo.text import fold_compact, normalize_address

REPORTED = {
    # What the old JavaScript geocoder answered wrongly (issue: one core under every seam).
    "東京都新宿区西新宿2-8-1": "宮代町字東",
    "大宮市桜木町1丁目": "秩父市大宮",
    "川口市本町4-1-1": "川口市 only",
}
OTHER_PREFECTURES = (
    "東京都新宿区西新宿2-8-1",
    "新宿区西新宿2-8-1",
    "東京都北区赤羽1-1",
    "北区赤羽1-1",
    "中央区銀座1-1",
    "千葉県松戸市松戸1307-1",
    "松戸市松戸1307-1",
    "横浜市中区本町6-50-10",
    "群馬県高崎市高松町35-1",
    "栃木県足利市本城3-2145",
    "茨城県古河市長谷町38-18",
    "府中市宮西町2-24",
    "美里町",
    "宮城県遠田郡美里町北浦字駒米13",
)
_CHOME_RE = re.compile(r"^(.+?)([一二三四五六七八九十]+)丁目$")
_KANJI_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


@pytest.fixture(scope="module")
def geocoder(store: Store) -> Geocoder:
    return Geocoder.from_store(store)


@pytest.fixture(scope="module")
def index_file(geocoder: Geocoder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("search") / "towns.json"
    index = build_search_index(geocoder)
    path.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), "utf-8")
    return path


@pytest.fixture(scope="module")
def addresses(store: Store, source_dir: Path) -> list[str]:
    """A few hundred addresses, the same on every run (every n-th row, fixed variants)."""
    sample = source_dir / "samples" / "care_facilities_mhlw_2025.csv"
    with sample.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = [r["address"] + (r["building"] or "") for r in rows[::10]]
    # A character mistyped halfway, or the dashes typed as long marks.
    out += [_typo(r["address"]) for r in rows[5::40]]
    out += [r["address"].replace("-", "ー") for r in rows[7::40]]
    out += _written_towns(store)
    out += list(OTHER_PREFECTURES) + list(REPORTED)
    return list(dict.fromkeys(out))


def _written_towns(store: Store) -> list[str]:
    registry = load_region("saitama").registry
    units = {u.code: u for u in registry.units}
    formers = [f for f in registry.former if f.former_name in ("大宮市", "浦和市", "鳩ヶ谷市")]
    towns = store.towns[store.towns["koaza"].fillna("") == ""]
    out: list[str] = []
    for i, (code, town) in enumerate(zip(towns["unit_code"], towns["town"], strict=True)):
        if i % 23:
            continue
        unit = units[str(code)]
        city = unit.full_name  # with 郡 for towns and villages, the ward with its city
        m = _CHOME_RE.match(str(town))
        chome = (m.group(1), _KANJI_NUMBERS.get(m.group(2), 10)) if m else None
        variant = (i // 23) % 9
        if variant == 0:
            out.append(f"{city}{town}1-2")
        elif variant == 1:
            out.append(f"埼玉県{unit.name}{town}3番地")
        elif variant == 2 and chome:
            out.append(f"{city}{chome[0]}{chome[1]}丁目4番5号")
        elif variant == 3 and chome:
            out.append(f"埼玉県{city}{chome[0]}{chome[1]}-4-5".translate(_FULL_WIDTH))
        elif variant == 4 and unit.kind == "ward":
            out.append(f"{unit.name.split('市', 1)[1]}{town}12-3")  # 浦和区常盤…
        elif variant == 5 and unit.kind == "ward":
            out.append(f"さいたま市{town}7")  # the ward left out
        elif variant == 6 and len(str(town)) > 1:
            out.append(f"{city}{str(town)[0]}亜{str(town)[2:]}9-9")  # a typo in the town
        elif variant == 7 and formers:
            former = formers[i % len(formers)]
            out.append(f"{former.former_name}{town}2-1")
        elif variant == 8:  # 大字 written or left out
            oaza = str(town).startswith("大字")
            out.append(f"{city}{str(town)[2:]}100" if oaza else f"{city}大字{town}1")
        else:
            out.append(f"{city}　{town}　２－１４".translate(_FULL_WIDTH))
    out += [
        "さいたま市浦話区常盤6-4-4",
        "伊那町小室1-2",
        "北足立郡伊奈町小室1-2",
        "鳩ヶ谷市本町4-1-1",
    ]
    # 大字X and X町 both exist; 大字 before a name written with 字.
    out += ["さいたま市見沼区大字丸ヶ崎町1", "飯能市大字南川12-3", "南埼玉郡宮代町大字字中1"]
    # Pasted with a postal code, or a mark, in front.
    out += ["〒330-0061 埼玉県さいたま市浦和区常盤6-4-4", "〒３６０ー００１３　熊谷市中西4-1"]
    out += [
        "郵便番号：3500043 川越市新富町1-22",
        "〒 さいたま市見沼区丸ヶ崎1-1",
        "1-2-3 川口市本町",
    ]
    return out


def _typo(address: str) -> str:
    middle = len(address) // 2
    return address[:middle] + "亜" + address[middle + 1 :]


@cache
def _run_node(index: Path, texts: tuple[str, ...]) -> list[dict[str, Any]]:
    return run_static_search(index, texts)


def _static(index: Path, texts: list[str]) -> list[tuple[str, str]]:
    out = []
    for row in _run_node(index, tuple(texts)):
        answer = row["answer"] or {}
        out.append((answer.get("code", ""), answer.get("town", "")))
    return out


def _server(geocoder: Geocoder, text: str) -> tuple[str, str]:
    result = geocoder.geocode(text)
    if result.level < 2 or result.lat is None:
        return "", ""
    return place_code_of(result), result.town if result.level == 3 else ""


def test_the_addresses_are_many_and_varied(addresses: list[str]) -> None:
    assert len(addresses) >= 400
    assert any("丁目" in a for a in addresses) and any("－" in a for a in addresses)
    assert any(a.startswith("埼玉県") for a in addresses)
    assert any(a.startswith(("大宮市", "浦和市", "鳩ヶ谷市")) for a in addresses)


def test_the_reported_addresses_answer_as_the_server_does(
    geocoder: Geocoder, index_file: Path
) -> None:
    texts = list(REPORTED)
    static = _static(index_file, texts)
    assert static == [_server(geocoder, t) for t in texts]
    assert static[0] == ("", "")  # 東京都: outside the prefecture, no place in it
    assert static[1][1] == "桜木町一丁目" and static[1][0] != "11207"  # not 秩父市
    assert static[2] == ("11203", "本町四丁目")


def test_another_prefecture_is_never_a_place_in_saitama(
    geocoder: Geocoder, index_file: Path
) -> None:
    rows = _run_node(index_file, OTHER_PREFECTURES)
    for text, row in zip(OTHER_PREFECTURES, rows, strict=True):
        server = geocoder.geocode(text)
        answer = row["answer"]
        if server.status == "outside_prefecture" and server.pref and text.startswith(server.pref):
            assert answer == {"level": 1, "outside": True, "pref": server.pref}, text
        else:  # without its prefecture: outside, or nothing found (the page says the same)
            assert answer is None or answer.get("level", 0) < 2, text


def test_static_search_never_names_another_municipality(
    geocoder: Geocoder, index_file: Path, addresses: list[str]
) -> None:
    static = _static(index_file, addresses)
    different = [
        (text, code, _server(geocoder, text))
        for text, (code, _town) in zip(addresses, static, strict=True)
        if code and code != _server(geocoder, text)[0]
    ]
    assert different == []


def test_static_search_agrees_on_the_town(
    geocoder: Geocoder, index_file: Path, addresses: list[str]
) -> None:
    static = _static(index_file, addresses)
    server = [_server(geocoder, t) for t in addresses]
    agree = sum(s == p for s, p in zip(static, server, strict=True))
    share = agree / len(addresses)
    print(f"static search agrees with the geocoder on {agree}/{len(addresses)} = {share:.2%}")
    assert share >= 0.99, [
        (t, s, p) for t, s, p in zip(addresses, static, server, strict=True) if s != p
    ]


def test_the_page_folds_text_as_the_geocoder_does(index_file: Path, addresses: list[str]) -> None:
    tricky = [
        "丸が崎",
        "丸ケ崎",
        "ﾏﾙｶﾞｻｷ",
        "領々家",
        "６ー４ー４",
        "6 - 4",
        "齋藤\u200b澤",
        "三の輪",
        "ＡＢＣ　１２",
        "々丸々々崎",
        "丸ヶヶ崎",
        "㊀ヶ崎",
        "1\u30fc\u30fc2",
        "\u30ab\u3099ケ崎",
    ]
    # A postal code or 〒 in front is the start table's to read (the comparison tests cover it).
    texts = [t for t in [*addresses, *tricky] if not t.startswith(("〒", "郵便番号"))]
    folded = [row["fold"] for row in _run_node(index_file, tuple(texts))]
    assert folded == [fold_compact(normalize_address(t).replace(" ", "")) for t in texts]


def test_the_index_is_small_enough_for_a_phone(index_file: Path) -> None:
    raw = index_file.read_bytes()
    packed = len(gzip.compress(raw, 6))
    print(f"search index: {len(raw):,} bytes, {packed:,} gzip")
    assert packed < 250_000


def test_the_page_script_reads_this_version_of_the_index(index_file: Path) -> None:
    script = SEARCH_JS.read_text(encoding="utf-8")
    assert f"var VERSION = {VERSION};" in script
    assert f"var MUNICIPALITY = {MUNICIPALITY};" in script and f"var DELETED = {DELETED};" in script
    assert json.loads(index_file.read_text(encoding="utf-8"))["version"] == VERSION


REGION_B_ADDRESSES = (
    "静岡県静岡市葵区追手町9-6",
    "静岡浜松市中央区元城町1",
    "静岡市追手町9-6",
    "浜松市三方原町1",
    "静岡市中島1-1",  # in two wards: the city, no ward
    "中央区鍛冶町100",
    "中央区銀座1-1",
    "埼玉県さいたま市浦和区常盤6-4-4",
    "森町森1",
    "森町1-1",
    "北海道森町1",
    "浜松市北区三方原町1",  # one former name, two wards: the town decides
    "浜松市北区細江町気賀1",
    "浜松市北区1-1",
    "清水市中島1",
)


def test_a_second_region_searches_with_its_own_geocoder(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """静岡県 in miniature: two designated cities, a town in two wards, a former name now in two
    wards, names shared with other prefectures; the same code builds its index."""
    folder = tmp_path_factory.mktemp("region_b")
    import_reference(make_region_b_source(folder / "source"), folder / "s.gpkg", region=region_b())
    store = open_store(folder / "s.gpkg")
    geocoder = Geocoder.from_store(store)
    index = folder / "towns.json"
    index.write_text(json.dumps(build_search_index(geocoder), ensure_ascii=False), "utf-8")
    registry = store.region.registry
    cities = {u.code: u.full_name for u in registry.units}
    written = [
        f"{prefix}{cities[str(code)]}{town}{tail}"
        for code, town in zip(store.towns["unit_code"], store.towns["town"], strict=True)
        for prefix, tail in (("", "1-2"), ("静岡県", ""), ("", "３－４"))
    ]
    texts = [*REGION_B_ADDRESSES, *written]
    static = _static(index, texts)
    assert static == [_server(geocoder, t) for t in texts]
    assert static[REGION_B_ADDRESSES.index("静岡市中島1-1")] == ("22100", "")  # no ward invented
