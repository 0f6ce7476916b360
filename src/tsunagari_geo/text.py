"""Japanese text folding shared by the reference store and the geocoder.

This is the lowest layer: pure functions on strings, no data. The store keeps, for every town,
the key that :func:`town_key` makes, and the geocoder folds the user's address the same way, so
both sides meet on one spelling whatever variant was written.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import unicodedata

#: Old or variant kanji found in place names, folded to the common form. The dictionary keeps its
#: own spelling; only the matching key is folded.
KANJI_VARIANTS: dict[str, str] = {
    "澤": "沢",
    "邊": "辺",
    "邉": "辺",
    "齋": "斎",
    "齊": "斎",
    "斉": "斎",  # not the same kanji, but interchanged in place names (斎条 / 斉条)
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
    # Found across Japan (the national dictionary and the addresses people write there):
    "莵": "菟",  # 莵道 (宇治市) is written 菟道 as often
    "籔": "藪",
    "薮": "藪",
    "栁": "柳",
    "峯": "峰",
    "渕": "淵",
    "舩": "船",
    "濵": "浜",
    "靜": "静",
    "巿": "市",  # not a variant but a look-alike (U+5DFF) typed for 市: 巿川巿 is 市川市
}
_KANJI_TABLE = str.maketrans(KANJI_VARIANTS)

#: Every dash, hyphen and long mark a member may type between numbers.
DASHES = "-‐‑‒–—―−－ｰーｰ─━"

_KANJI = r"[\u3400-\u9fff\uf900-\ufaff々〆]"
#: ヶ ケ ヵ が ガ between two kanji (丸ヶ崎, 丸が崎, 丸ケ崎) are one sound written many ways.
_GA_CHARS = frozenset("ヶケヵがガカｹ")
_GA_RE = re.compile(f"(?<={_KANJI})[{''.join(sorted(_GA_CHARS))}](?={_KANJI})")
#: 之 ノ の between kanji (三ノ輪, 三之輪, 三の輪).
_NO_CHARS = frozenset("之ノの")
_NO_RE = re.compile(f"(?<={_KANJI})[{''.join(sorted(_NO_CHARS))}](?={_KANJI})")
_SPACE_RE = re.compile(r"\s+")
_KANJI_CHAR_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _expand_repeat(text: str) -> str:
    # The iteration mark repeats the kanji before it: 領々家 and 領領家 are one name.
    out: list[str] = []
    for c in text:
        if c == "々" and out and _KANJI_CHAR_RE.match(out[-1]):
            c = out[-1]
        out.append(c)
    return "".join(out)


def nfkc(text: str) -> str:
    """Unicode NFKC: full-width letters and digits to ASCII, half-width kana to full width."""
    # The quick check is a tenth of the normalisation, and many addresses need none.
    if unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


def fold(text: str) -> str:
    """Fold a place name for matching: NFKC, no spaces, one form per kanji and ヶ/の variant.

    >>> fold("丸が崎") == fold("丸ヶ崎") == fold("丸ケ崎")
    True
    """
    return fold_compact(_SPACE_RE.sub("", nfkc(text)))


def fold_compact(text: str) -> str:
    """:func:`fold` for text already in NFKC without spaces; one character per character."""
    t = text.translate(_KANJI_TABLE)
    if "々" in t:
        t = _expand_repeat(t)
    # Each rule runs only on text holding one of its characters (on every address and town).
    if not _GA_CHARS.isdisjoint(t):
        t = _GA_RE.sub("ケ", t)
    if not _NO_CHARS.isdisjoint(t):
        t = _NO_RE.sub("ノ", t)
    return t


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


# --- address normalisation ---------------------------------------------------------------------

_KANJI_DIGITS = {
    "〇": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
KANJI_NUMERAL_CHARS = "〇一二三四五六七八九十百千"
_DIGIT_KANJI = "〇一二三四五六七八九"

#: A dash between two digits; every variant has already been mapped to "-" by then.
_DIGIT_DASH_RE = re.compile(f"(?<=[0-9])\\s*[{re.escape(DASHES)}]\\s*(?=[0-9])")
_POSTAL_RE = re.compile(r"^(?:〒|郵便番号|〒\s*郵便番号)?[:：]?\s*\d{3}\s*-?\s*\d{4}(?![0-9-])\s*")
_POSTAL_MARK_RE = re.compile(r"^(?:(?:〒|郵便番号)[:：]?\s*)+")
_COUNTRY_RE = re.compile(r"^(?:(?:日本国|日本) ?)+")
_PREFECTURE_CHAR_RE = re.compile("[都道府県]")


def _strip_country(t: str) -> str:
    # 日本 (once or repeated) goes only when a prefecture follows in the same word, so
    # 日本橋… stays. Checked once after the prefix, not by a lookahead per repetition, which
    # took seconds on 50,000 repetitions.
    m = _COUNTRY_RE.match(t)
    if m is None:
        return t
    rest = t[m.end() :]
    return rest if _PREFECTURE_CHAR_RE.search(rest.split(" ", 1)[0]) else t


def kanji_to_int(text: str) -> int | None:
    """A kanji numeral (一 … 九千九百九十九, positional 二〇一 too) as an int, else None.

    >>> kanji_to_int("二十三"), kanji_to_int("百五"), kanji_to_int("二〇一"), kanji_to_int("東")
    (23, 105, 201, None)
    """
    if not text or len(text) > 12:  # no address number is longer; int() refuses huge runs
        return None
    if any(c not in _KANJI_DIGITS and c not in _KANJI_UNITS for c in text):
        return None
    if not any(c in _KANJI_UNITS for c in text):
        return int("".join(str(_KANJI_DIGITS[c]) for c in text))
    total, current = 0, 0
    for c in text:
        if c in _KANJI_DIGITS:
            current = _KANJI_DIGITS[c]
        else:
            total += (current or 1) * _KANJI_UNITS[c]
            current = 0
    return total + current


def int_to_kanji(number: int) -> str:
    """1..99 as a 丁目-style kanji numeral (十一, 二十), as the town dictionary spells them.

    >>> int_to_kanji(1), int_to_kanji(10), int_to_kanji(12), int_to_kanji(20)
    ('一', '十', '十二', '二十')
    """
    if number < 10:
        return _DIGIT_KANJI[number]
    tens, ones = divmod(number, 10)
    head = "" if tens == 1 else _DIGIT_KANJI[tens]
    return head + "十" + (_DIGIT_KANJI[ones] if ones else "")


@functools.lru_cache(maxsize=4096)
def normalize_address(text: str) -> str:
    """Clean a free-text address for matching; idempotent, keeps what the writer wrote.

    NFKC (full-width letters, digits and spaces to ASCII, half-width kana to full width),
    whitespace collapsed to single spaces, every dash or long mark between two digits to ``-``,
    a leading 〒 / 郵便番号 / postal code and a leading 日本 removed (repeatedly), invisible
    control and format characters (NUL, bidi marks, zero-width spaces) removed. Spellings, 丁目 and 番地
    forms are left alone: the geocoder reads those.

    >>> normalize_address("〒330-0061　埼玉県さいたま市浦和区常盤６－４－４")
    '埼玉県さいたま市浦和区常盤6-4-4'
    """
    # The regexes run only where they can apply: this is on the geocoder's hot path. The last
    # few thousand answers are kept: the batch job normalises a row's address to know whether
    # it has read that form already, then the geocoder normalises the same text again.
    # Invisible characters pasted with an address (bidi marks, zero-width spaces, NUL) would
    # split a name in two without anyone seeing why it did not match.
    t = " ".join(nfkc(_INVISIBLE_RE.sub("", text)).split())
    # Dashes first: a postal code typed 330ー0061 is recognised only once it reads 330-0061.
    t = _DIGIT_DASH_RE.sub("-", t)
    t = _strip_prefixes(t)
    if " " in t:
        # Japanese addresses have no meaningful space between two Japanese characters; one
        # there (埼玉県 さいたま市) would otherwise survive into `rest` after the town.
        t = _strip_prefixes(_JA_SPACE_RE.sub("", t).strip())
    return t


def _strip_prefixes(t: str) -> str:
    # Until none is left: a postal code pasted before an address that has one, or 日本 before
    # 〒, would otherwise surface only on a second pass and break idempotence.
    while True:
        before = t
        if t[:1].isdigit() or t[:1] in ("〒", "郵"):
            t = _POSTAL_RE.sub("", t)
            t = _POSTAL_MARK_RE.sub("", t)
        if t.startswith("日本"):
            t = _strip_country(t)
        if t == before:
            return t


#: Control (Cc, except whitespace) and format (Cf) characters: NUL, bidi controls (RLM, RLO,
#: LRI …), zero-width space/joiners, word joiner, BOM, soft hyphen, tag characters.
_INVISIBLE_RE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u061c\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)
_JA_CHAR = r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff々〆ヶ]"
_JA_SPACE_RE = re.compile(f"(?<={_JA_CHAR}) (?={_JA_CHAR})")


#: Japan Standard Time: what every person reading a page or a message of this project lives in.
JST = _dt.timezone(_dt.timedelta(hours=9), "JST")


def japanese_datetime(value: str) -> str:
    """An ISO 8601 instant as a Japanese reader writes it, in JST: 「2026年12月2日 4:39」.

    A value without an offset is read as UTC (how the build records its time); a value that is
    not a date-time comes back unchanged rather than being lost.

    >>> japanese_datetime("2026-12-01T19:39:34+00:00")
    '2026年12月2日 4:39'
    """
    try:
        instant = _dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=_dt.UTC)
    local = instant.astimezone(JST)
    return f"{local.year}年{local.month}月{local.day}日 {local.hour}:{local.minute:02d}"
