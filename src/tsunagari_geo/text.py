"""Japanese text folding shared by the reference store and the geocoder.

This is the lowest layer: pure functions on strings, no data. The store keeps, for every town,
the key that :func:`town_key` makes, and the geocoder folds the user's address the same way, so
both sides meet on one spelling whatever variant was written.
"""

from __future__ import annotations

import re
import unicodedata

#: Old or variant kanji found in Saitama place names, folded to the common form. The dictionary
#: keeps its own spelling; only the matching key is folded.
KANJI_VARIANTS: dict[str, str] = {
    "澤": "沢",
    "邊": "辺",
    "邉": "辺",
    "齋": "斎",
    "齊": "斎",
    "嶋": "島",
    "嶌": "島",
    "舘": "館",
    "瀨": "瀬",
    "櫻": "桜",
    "龍": "竜",
    "檜": "桧",
    "萬": "万",
    "與": "与",
    "眞": "真",
    "條": "条",
    "藏": "蔵",
    "寳": "宝",
    "濱": "浜",
    "廣": "広",
    "國": "国",
    "莊": "荘",
    "當": "当",
    "壽": "寿",
    "髙": "高",
    "﨑": "崎",
    "嵜": "崎",
    "冨": "富",
    "惠": "恵",
    "榮": "栄",
    "淺": "浅",
    "變": "変",
    "實": "実",
    "會": "会",
    "黑": "黒",
    "德": "徳",
    "邨": "村",
    "莖": "茎",
    "彌": "弥",
    "雜": "雑",
    "龜": "亀",
    "鷄": "鶏",
    "驛": "駅",
    "舊": "旧",
    "縣": "県",
    "增": "増",
    "槇": "槙",
    "曾": "曽",
}
_KANJI_TABLE = str.maketrans(KANJI_VARIANTS)

#: Every dash, hyphen and long mark a member may type between numbers.
DASHES = "-‐‑‒–—―−－ｰーｰ─━"
_DASH_RE = re.compile(f"[{re.escape(DASHES)}]")

_KANJI = r"[\u3400-\u9fff\uf900-\ufaff々〆]"
#: ヶ ケ ヵ が ガ between two kanji (丸ヶ崎, 丸が崎, 丸ケ崎) are one sound written many ways.
_GA_RE = re.compile(f"(?<={_KANJI})[ヶケヵがガカｹ](?={_KANJI})")
#: 之 ノ の between kanji (三ノ輪, 三之輪, 三の輪).
_NO_RE = re.compile(f"(?<={_KANJI})[之ノの](?={_KANJI})")
_SPACE_RE = re.compile(r"\s+")


def nfkc(text: str) -> str:
    """Unicode NFKC: full-width letters and digits to ASCII, half-width kana to full width."""
    return unicodedata.normalize("NFKC", text)


def fold(text: str) -> str:
    """Fold a place name for matching: NFKC, no spaces, one form per kanji and ヶ/の variant.

    >>> fold("丸が崎") == fold("丸ヶ崎") == fold("丸ケ崎")
    True
    """
    t = _SPACE_RE.sub("", nfkc(text)).translate(_KANJI_TABLE)
    t = _GA_RE.sub("ケ", t)
    return _NO_RE.sub("ノ", t)


def town_key(town: str) -> str:
    """The matching key of a 大字・町丁目 name: folded, with a leading 大字 or 字 removed.

    大字 is dropped from the key only; whether it was written is still in the town name, which
    the geocoder uses to tell 大字新堀 from 新堀町 (different places with different keys anyway).
    """
    t = fold(town)
    for prefix in ("大字", "字"):
        if t.startswith(prefix) and len(t) > len(prefix):
            return t[len(prefix) :]
    return t
