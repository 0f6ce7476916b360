"""How to get in touch (HSDS ``phone``, ``email``, ``url``) and in which languages.

The rules, written once for activities and consultation windows (相談窓口):

* **Telephone numbers** are Japanese numbers as dialled inside Japan: ``0`` and 9 or 10 more
  digits (``048-555-0123``, ``090-1234-5678``, ``050-…``, ``0120-000-123``, ``0570-…``,
  ``0800-…``), or a short service number (``189``, ``#7119``). Full-width digits, the
  hyphens a Japanese keyboard types (ー, −, ‐) and an area code in brackets (``048(555)0123``)
  are read; the number is stored in its written form with hyphens. The hyphens are the
  member's: a geographic number's area code has 1 to 5 digits and only its owner knows the
  split, so a geographic number written without hyphens is refused with an example rather
  than guessed. Non-geographic numbers (0120, 0800, 0570, 050, 070, 080, 090) are grouped
  by their fixed pattern when written as bare digits.
* :func:`tel_uri` builds the ``tel:`` link from the digits as dialled in Japan
  (``tel:0485550123``), not ``+81``: freephone (0120, 0800), navi-dial (0570) and the short
  numbers cannot be reached through the international form, and the map is for residents
  calling from inside Japan.
* **E-mail** is ``local@domain.tld`` without spaces; **LINE** is an ``https://line.me/…`` or
  ``https://lin.ee/…`` link (the forms LINE's official accounts hand out).
* **Languages** are BCP 47 tags from :data:`LANGUAGES` (the languages Saitama's
  multilingual services list), written as the tag (``zh-Hans``, any case) or its Japanese
  name (中国語（簡体字）).

Whether a contact of an activity is public is the member's ``contact_public`` cell: see
:mod:`tsunagari_geo.layers.privacy`.

Example::

    >>> normalise_phone("０４８（５５５）０１２３"), tel_uri("0120-000-123")
    ('048-555-0123', 'tel:0120000123')
"""

from __future__ import annotations

import re

from tsunagari_geo.text import nfkc

#: BCP 47 tag → its name in Japanese, in the order the map lists them.
LANGUAGES: dict[str, str] = {
    "ja": "日本語",
    "en": "英語",
    "zh-Hans": "中国語（簡体字）",
    "zh-Hant": "中国語（繁体字）",
    "ko": "韓国語",
    "vi": "ベトナム語",
    "pt": "ポルトガル語",
    "es": "スペイン語",
    "tl": "タガログ語",
    "ne": "ネパール語",
    "id": "インドネシア語",
    "th": "タイ語",
    "my": "ミャンマー語",
    "si": "シンハラ語",
    "bn": "ベンガル語",
    "hi": "ヒンディー語",
    "ur": "ウルドゥー語",
    "mn": "モンゴル語",
    "ru": "ロシア語",
    "uk": "ウクライナ語",
    "fr": "フランス語",
    "ar": "アラビア語",
    "fa": "ペルシャ語",
    "tr": "トルコ語",
}
_LANGUAGE_SPELLINGS = {
    **{tag.lower(): tag for tag in LANGUAGES},
    **{nfkc(name): tag for tag, name in LANGUAGES.items()},
    "zh": "zh-Hans",
    "zh-cn": "zh-Hans",
    "zh-tw": "zh-Hant",
    "中国語": "zh-Hans",
    "中国語(簡体字)": "zh-Hans",
    "中国語(繁体字)": "zh-Hant",
    "韓国・朝鮮語": "ko",
    "フィリピノ語": "tl",
    "fil": "tl",
}

_DASHES = re.compile(r"[‐‑‒–—―−ーｰ-]")
#: Prefixes with a fixed grouping, longest first: (prefix, digits in all, group sizes).
_FIXED_GROUPS = (
    ("0120", 10, (4, 3, 3)),
    ("0800", 11, (4, 3, 4)),
    ("0570", 10, (4, 3, 3)),
    ("050", 11, (3, 4, 4)),
    ("070", 11, (3, 4, 4)),
    ("080", 11, (3, 4, 4)),
    ("090", 11, (3, 4, 4)),
)
_ELEVEN_DIGIT_PREFIXES = ("050", "060", "070", "080", "090", "0800")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_LINE = re.compile(r"^https://(?:line\.me|lin\.ee|page\.line\.me|liff\.line\.me)/\S+$")
_PHONE_EXAMPLE = "（例: 048-555-0123、0120-000-123、#7119）"


def normalise_phone(value: str) -> str:
    """A Japanese telephone number in its written form with hyphens (see the module).

    Raises:
        ValueError: not such a number (the message, in Japanese, names the value).
    """
    text = nfkc(str(value)).strip().replace(" ", "")
    text = re.sub(r"^\((0\d{1,4})\)", r"\1-", text)  # (048)555-0123
    text = re.sub(r"^(0\d{1,4})\((\d{1,4})\)", r"\1-\2-", text)  # 048(555)0123
    text = _DASHES.sub("-", text)
    if re.fullmatch(r"1\d{2}|#\d{4}", text):
        return text
    if not re.fullmatch(r"0\d+(?:-\d+){0,2}", text) or "--" in text:
        raise ValueError(f"電話番号として読めません: {value!r}{_PHONE_EXAMPLE}")
    digits = text.replace("-", "")
    eleven = digits.startswith(_ELEVEN_DIGIT_PREFIXES)
    if digits.startswith("00") or len(digits) != (11 if eleven else 10):
        raise ValueError(
            f"電話番号の桁数が合いません（0から始まる10桁、携帯・IP電話・0800は11桁）: {value!r}"
        )
    if "-" in text:
        return text
    for prefix, length, groups in _FIXED_GROUPS:
        if digits.startswith(prefix) and len(digits) == length:
            out, at = [], 0
            for size in groups:
                out.append(digits[at : at + size])
                at += size
            return "-".join(out)
    raise ValueError(
        f"市外局番の区切りがわかるよう、電話番号はハイフンを入れて書いてください: {value!r}"
        f"{_PHONE_EXAMPLE}"
    )


def tel_uri(phone: str | None) -> str | None:
    """The ``tel:`` link of a number :func:`normalise_phone` wrote, as dialled in Japan."""
    if not phone:
        return None
    return "tel:" + phone.replace("-", "").replace("#", "%23")


def check_email(value: str) -> str:
    """An e-mail address as written; raises ValueError naming it when it is not one."""
    text = nfkc(str(value)).strip().removeprefix("mailto:")
    if not _EMAIL.match(text) or len(text) > 254:
        raise ValueError(f"メールアドレスとして読めません: {value!r}（例: info@example.jp）")
    return text


def check_line_url(value: str) -> str:
    """A LINE link (``https://line.me/…``, ``https://lin.ee/…``); raises ValueError otherwise."""
    text = nfkc(str(value)).strip()
    if not _LINE.match(text):
        raise ValueError(
            f"LINE のリンクは https://line.me/… か https://lin.ee/… で書いてください: {value!r}"
        )
    return text


def parse_languages(items: list[str]) -> list[str]:
    """BCP 47 tags of :data:`LANGUAGES` from tags or Japanese names, duplicates dropped.

    Raises:
        ValueError: a value that is not one of them (named, with the tags allowed).
    """
    out: list[str] = []
    for item in items:
        text = nfkc(item).strip()
        tag = _LANGUAGE_SPELLINGS.get(text.lower().replace("_", "-"), _LANGUAGE_SPELLINGS.get(text))
        if tag is None:
            raise ValueError(
                f"対応言語は BCP 47 の言語タグか言語名で書いてください: {item!r}"
                f"（{', '.join(LANGUAGES)}）"
            )
        if tag not in out:
            out.append(tag)
    return out
