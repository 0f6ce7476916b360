"""What a geocoding result says to a person: Japanese labels for statuses, levels and reasons,
and what a person has to do about a row that needs one.

The codes (``matched``, ``town_not_found`` …) stay for programs; these words are what the batch
output (columns 結果, 一致レベル, 理由, and 対応 in the failures file), the CLI summary and
``/geocode`` show beside them. The reason texts are :data:`tsunagari_geo.geocode.core.REASONS`
(one table, read here through :func:`~tsunagari_geo.geocode.core.reason_text`); the prefecture
and designated cities in them come from the region, never from here.

>>> status_label("partial", load_region("saitama"))  # doctest: +SKIP
'市区町村まで (町名が見つからない)'
>>> action_for("partial", "town_not_found", (), load_region("saitama"))  # doctest: +SKIP
'町名が辞書にない'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tsunagari_geo.geocode.core import REASONS, reason_text
from tsunagari_geo.region import Region

#: Each status in words; {pref} is the region's prefecture.
STATUS_LABELS: dict[str, str] = {
    "matched": "町字まで一致",
    "partial": "市区町村まで (町名が見つからない)",
    "ambiguous": "候補が複数",
    "outside_prefecture": "{pref}外の住所",
    "empty": "住所が空",
    "unmatched": "住所として読めない",
    "overridden": "上書きファイルで指定",
}

#: Each level in words, as the summary and the 一致レベル column say it.
LEVEL_LABELS: dict[int, str] = {
    0: "住所として読めない",
    1: "都道府県まで",
    2: "市区町村まで",
    3: "町字まで",
}

#: Each coordinate-check code (batch job, when the input has 緯度/経度) in words.
COORD_CHECK_LABELS: dict[str, str] = {
    "ok": "住所と一致",
    "missing": "緯度経度がない",
    "outside_prefecture": "緯度経度が{pref}外",
    "other_municipality": "緯度経度が別の市区町村",
    "far_from_address": "緯度経度が町の代表点から離れている",
    "unchecked": "住所に市区町村がないため確かめていない",
}

#: What a person has to do, in the order the failures file lists them (the first that applies
#: to a row is its 対応). Each is (label, reason codes that lead to it).
ACTIONS: tuple[tuple[str, frozenset[str]], ...] = (
    ("住所が空", frozenset({"empty"})),
    ("{pref}外の住所", frozenset({"outside_prefecture", "name_outside_prefecture"})),
    ("住所に市町村名がない", frozenset({"municipality_not_found"})),
    (
        "候補が複数",
        frozenset(
            {
                "municipality_ambiguous",
                "name_in_other_prefectures",
                "ward_ambiguous",
                "oaza_machi_pair",
                "chome_or_banchi",
            }
        ),
    ),
    ("丁目が辞書にない", frozenset({"chome_not_found"})),
    ("町名が辞書にない", frozenset({"town_not_found"})),
)
#: The 対応 of a row with a spelling suggestion: the 「もしかして」 column says what to check.
ACTION_SUGGESTED = "表記の誤りかも (もしかして欄を確認)"
#: The 対応 of a row whose address is fine but whose published point is not.
COORD_ACTIONS: dict[str, str] = {
    "outside_prefecture": "公表の緯度経度が{pref}外",
    "other_municipality": "公表の緯度経度が別の市区町村",
    "far_from_address": "公表の緯度経度が住所から離れている",
}
#: The failures file's columns for people (the row, its 対応, candidates and suggestions).
ROW_COLUMN = "行"
ACTION_COLUMN = "対応"
CANDIDATES_COLUMN = "候補"
SUGGESTIONS_COLUMN = "もしかして"

#: What each column the batch job adds means, as the XLSX 列の説明 sheet says it: the codes'
#: columns keep their English names for programs, so a person reads here what they hold.
COLUMN_MEANINGS: dict[str, str] = {
    "unit_code": "集計の単位のコード (市区町村、政令指定都市は区。区が分からないときは空)",
    "muni_code": "市区町村コード (全国地方公共団体コード5桁、政令指定都市は市)",
    "pref": "都道府県",
    "city": "市区町村 (政令指定都市は区まで。区が分からないときは市)",
    "town": "町字 (大字・町丁目)",
    "koaza": "小字 (町字の後ろに書かれ、辞書にあるとき)",
    "rest": "町字より後ろ (番地・号、建物名など)",
    "level": "一致レベルの番号 (0〜3)",
    "一致レベル": "どこまで住所が読めたか (0 住所として読めない、1 都道府県まで、"
    "2 市区町村まで、3 町字まで)",
    "lat": "緯度 (世界測地系、町字または市区町村の代表点)",
    "lng": "経度 (世界測地系、町字または市区町村の代表点)",
    "status": "結果のコード (プログラム用)",
    "結果": "結果を言葉で (町字まで一致、候補が複数 など)",
    "reason": "理由のコード (プログラム用、カンマ区切り)",
    "理由": "そう読んだ理由 (複数は「／」区切り)",
    "coord_check": "入力の緯度経度の確認のコード (プログラム用)",
    "緯度経度の確認": "入力の緯度経度が住所と合っているか",
    "coord_distance_m": "入力の緯度経度から住所の代表点までの距離 (m)",
    ROW_COLUMN: "入力ファイルの行番号 (見出しが1行目)",
    ACTION_COLUMN: "その行に人がすること",
    CANDIDATES_COLUMN: "住所が一つに決まらないときの候補 (「|」区切り)",
    SUGGESTIONS_COLUMN: "町名などが一字違いのときの候補 (確かめてから直してください。自動では直しません)",
}


def column_meaning(column: str, region: Region) -> str:
    """What an added column holds, in words ("" for a column this table does not know)."""
    return _words(COLUMN_MEANINGS.get(column, ""), region)


#: Anything else a person must look at (a status no rule above names).
ACTION_OTHER = "内容を確認"


def _words(template: str, region: Region) -> str:
    return template.format(pref=region.pref_name)


def status_label(status: str, region: Region) -> str:
    """A status in words (an unknown code is returned as it is)."""
    template = STATUS_LABELS.get(status)
    return status if template is None else _words(template, region)


def level_label(level: int | str) -> str:
    """A level (0–3, as a number or its text) in words; an unknown one is returned as text."""
    try:
        return LEVEL_LABELS[int(level)]
    except (KeyError, ValueError):
        return str(level)


def coord_check_label(code: str, region: Region) -> str:
    """A coordinate-check code in words (an unknown code is returned as it is)."""
    template = COORD_CHECK_LABELS.get(code)
    return code if template is None else _words(template, region)


def reason_labels(reason: str, region: Region) -> list[str]:
    """The reason codes of a result (comma-separated) in words, one per code.

    A code's detail follows its words: ``former_municipality:大宮市`` →
    ``旧市町村名から現在の市町村に読み替えました (大宮市)``; an override's detail is the
    overrides file's row. A code this table does not know is kept as it is.
    """
    out: list[str] = []
    for code in filter(None, reason.split(",")):
        name, _, detail = code.partition(":")
        if name not in REASONS:
            out.append(code)
            continue
        text = reason_text(name, region)
        if detail and name.startswith("override_"):
            text += f" (上書きファイル {detail} 行目)"
        elif detail and name != "point_imputed":
            text += f" ({detail})"
        out.append(text)
    return out


def reason_label(reason: str, region: Region) -> str:
    """:func:`reason_labels` as one cell: the texts joined by 「／」."""
    return "／".join(reason_labels(reason, region))


def result_labels(status: str, level: int, reason: str, region: Region) -> dict[str, Any]:
    """The words of one result as JSON fields: ``status_label``, ``level_label`` and
    ``reason_labels`` (a list, one per reason code), as ``/geocode`` returns them."""
    return {
        "status_label": status_label(status, region),
        "level_label": level_label(level),
        "reason_labels": reason_labels(reason, region),
    }


def action_for(
    status: str,
    reason: str,
    suggestions: Sequence[str],
    region: Region,
    coord_check: str = "",
) -> str:
    """What a person has to do about a row (its 対応 in the failures file), in words."""
    codes = {c.partition(":")[0] for c in reason.split(",") if c}
    codes.add(status)
    if status in ("matched", "overridden") and coord_check in COORD_ACTIONS:
        return _words(COORD_ACTIONS[coord_check], region)
    if suggestions and status in ("partial", "unmatched"):
        return ACTION_SUGGESTED
    for label, leads in ACTIONS:
        if codes & leads:
            return _words(label, region)
    if coord_check in COORD_ACTIONS:
        return _words(COORD_ACTIONS[coord_check], region)
    return ACTION_OTHER


def action_order(region: Region) -> list[str]:
    """Every 対応 label in the order the failures file groups rows by."""
    return [
        *(_words(label, region) for label, _ in ACTIONS),
        ACTION_SUGGESTED,
        *(_words(t, region) for t in COORD_ACTIONS.values()),
        ACTION_OTHER,
    ]
