"""Text folding and address normalisation: the spellings the geocoder must treat as one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsunagari_geo.text import (
    fold,
    int_to_kanji,
    kanji_to_int,
    normalize_address,
    town_key,
)


@pytest.mark.parametrize(
    "variants",
    [
        ("丸ヶ崎", "丸ケ崎", "丸が崎", "丸ガ崎", "丸ｹ崎", "丸ヵ崎"),
        ("三ノ輪", "三之輪", "三の輪"),
        ("大沢", "大澤"),
        ("渡辺", "渡邊", "渡邉"),
        ("斎藤", "齋藤", "齊藤"),
        ("島田", "嶋田"),
        ("館林", "舘林"),
        ("瀬戸", "瀨戸"),
        ("桜木", "櫻木"),
        ("竜ケ崎", "龍ヶ崎"),
        ("平方領々家", "平方領領家"),
    ],
)
def test_fold_makes_spelling_variants_equal(variants: tuple[str, ...]) -> None:
    assert len({fold(v) for v in variants}) == 1


def test_fold_leaves_kana_words_alone() -> None:
    # が is only a variant of ヶ between two kanji; in ときがわ it is a syllable.
    assert fold("ときがわ町") == "ときがわ町"


def test_town_key_drops_leading_oaza_only() -> None:
    assert town_key("大字大門") == "大門"
    assert town_key("字中島") == "中島"
    assert town_key("大字") == "大字"
    assert town_key("常盤六丁目") == "常盤六丁目"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("〒330-0061　埼玉県さいたま市浦和区常盤６－４－４", "埼玉県さいたま市浦和区常盤6-4-4"),
        ("〒3300061 さいたま市浦和区常盤6-4-4", "さいたま市浦和区常盤6-4-4"),
        ("330-0061 さいたま市浦和区常盤6-4-4", "さいたま市浦和区常盤6-4-4"),
        ("郵便番号:330-0061 さいたま市", "さいたま市"),
        ("ｻｲﾀﾏ市", "サイタマ市"),
        ("埼玉県　川越市　元町1丁目", "埼玉県川越市元町1丁目"),
        ("日本 埼玉県川越市", "埼玉県川越市"),
        ("  \t ", ""),
    ],
)
def test_normalize_address(raw: str, expected: str) -> None:
    assert normalize_address(raw) == expected


@pytest.mark.parametrize("dash", list("－‐‑–—―−ｰー-‒"))
def test_every_dash_between_digits_becomes_a_hyphen(dash: str) -> None:
    assert normalize_address(f"常盤6{dash}4{dash}4") == "常盤6-4-4"


def test_long_mark_inside_words_is_kept() -> None:
    assert normalize_address("センター1ー2") == "センター1-2"


@given(st.text(max_size=40))
def test_normalize_address_is_idempotent(text: str) -> None:
    once = normalize_address(text)
    assert normalize_address(once) == once


@given(st.text(alphabet="丸ヶケがの之澤沢々一二大字町 0123-", max_size=30))
def test_fold_is_idempotent_and_length_preserving_without_spaces(text: str) -> None:
    compact = text.replace(" ", "")
    assert fold(fold(compact)) == fold(compact)
    assert len(fold(compact)) == len(compact)


def test_kanji_numerals_round_trip() -> None:
    for n in range(1, 100):
        assert kanji_to_int(int_to_kanji(n)) == n
    assert kanji_to_int("二〇一") == 201
    assert kanji_to_int("千二百") == 1200
    assert kanji_to_int("東") is None
