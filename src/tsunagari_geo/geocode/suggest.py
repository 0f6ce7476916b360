"""Spelling suggestions for addresses the geocoder could not finish, for the person fixing them.

Most unmatched rows in member spreadsheets are one wrong character: a kanji taken from the
wrong IME candidate (伊那町 for 伊奈町, 常磐 for 常盤). When a municipality or a town is not
found, the names that differ from what was written in exactly one character, at the same
length, become ``suggestions``: the address as it reads with that character corrected
(``北足立郡伊奈町小室1-2``), only those that read further than the input (so suggestions
never lead in a circle), those that read down to a town first. A correction that only turns a
longer word into the name (さいたま都市計画事業 → さいたま市市計画事業: 都 of 都市 swapped for the
市 that follows) is no suggestion. They never change the result: the row stays ``partial`` or
``unmatched``
until a person confirms (in the overrides file or at the source), because a wrong guess
would put a place for vulnerable people in the wrong town.

Keys are folded (:func:`tsunagari_geo.text.fold_compact`), so variants the geocoder already
accepts (ヶ/ケ, 澤/沢 …) never count as a difference.

Example::

    suggest_towns(dictionary, "11107", "常磐6-4-4", level_of, above=2)  # ('さいたま市浦和区常盤6-4-4',)
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tsunagari_geo.geocode.dictionary import AddressDictionary
from tsunagari_geo.text import fold_compact, town_key

#: At most this many suggestions per row.
MAX_SUGGESTIONS = 5
#: Shortest municipality name offered (北区 from 北足立郡 is one character of two: noise).
MIN_MUNICIPALITY_LENGTH = 3
#: Shortest town key offered; a town must also be followed by its number or nothing.
MIN_TOWN_LENGTH = 2

_GUN_RE = re.compile(r"[^市区町村郡]{1,5}郡")  # matched at a position: no ^
#: What may follow a town name in an address: its 丁目 or block number, or nothing.
_AFTER_TOWN = re.compile(r"$|[0-9０-９一二三四五六七八九十丁番号ノの\-－ 　]")

#: The level the geocoder reaches for an address (3: a town).
LevelOf = Callable[[str], int]


def differs_by_one(written: str, name: str) -> bool:
    """Whether ``written`` starts with ``name`` but for exactly one character."""
    if len(written) < len(name):
        return False
    return sum(a != b for a, b in zip(written, name, strict=False)) == 1


def suggest_municipalities(
    dictionary: AddressDictionary, compact: str, level_of: LevelOf, *, above: int
) -> tuple[str, ...]:
    """Municipalities (or wards) one character away from the start of ``compact`` (the
    normalised address without spaces) that read deeper than level ``above``."""
    key = fold_compact(compact)
    start = next((len(p) for p in dictionary.pref_prefixes if key.startswith(p)), 0)
    starts = [start]
    gun = _GUN_RE.match(key, start)
    if gun is not None:
        starts.append(gun.end())
    registry = dictionary.registry
    named = [(m.full_name, m.name) for m in registry.municipalities]
    found: list[tuple[str, str]] = []
    for full, name in named:
        name_key = fold_compact(name)
        if len(name_key) < MIN_MUNICIPALITY_LENGTH:
            continue
        for s in starts:
            if differs_by_one(key[s:], name_key) and not _reinserts_suffix(key, s, name_key):
                found.append((full, compact[s + len(name_key) :]))
                break
    return _ranked(found, level_of, above)


def _reinserts_suffix(key: str, start: int, name_key: str) -> bool:
    """Whether reading ``name_key`` at ``start`` only swaps a character of a longer word for
    the name's 市/町/村/区, which the text writes right after it: さいたま都市計画事業 is not
    さいたま市 + 市計画事業 (都市 is one word), 川越都市計画 not 川越市 + 市計画."""
    end = start + len(name_key)
    return key[end - 1] != name_key[-1] and key[end : end + 1] == name_key[-1]


def suggest_towns(
    dictionary: AddressDictionary, muni_code: str, rest: str, level_of: LevelOf, *, above: int
) -> tuple[str, ...]:
    """Towns of ``muni_code`` (of every ward for a designated city) one character away from
    the start of ``rest``, the address after its municipality, that read deeper than level
    ``above``."""
    codes = list(dictionary.wards_by_city.get(muni_code, (muni_code,)))
    compact = rest.replace(" ", "")
    written = town_key(compact)
    offset = len(fold_compact(compact)) - len(written)  # a written 大字/字 the key dropped
    registry = dictionary.registry.by_code
    found: list[tuple[str, str]] = []
    for code in codes:
        index = dictionary.towns.get(code)
        if index is None:
            continue
        city = registry[code].full_name if code in registry else index.name
        for key, base in index.names.items():
            if len(key) < MIN_TOWN_LENGTH or not differs_by_one(written, key):
                continue
            if _AFTER_TOWN.match(written, len(key)) is None:
                continue
            found.append((f"{city}{base}", compact[offset + len(key) :]))
    return _ranked(found, level_of, above)


def _ranked(found: list[tuple[str, str]], level_of: LevelOf, above: int) -> tuple[str, ...]:
    """The corrected addresses (name + the rest as written) that read deeper than ``above``,
    the input's own level, deepest first, each once, at most MAX_SUGGESTIONS.

    A suggestion that reads no further than the input helps nobody, and dropping it is what
    keeps suggestions from going in a circle: each step must gain a level, so a chain of them
    can never come back to where it started.
    """
    # Each check is one more parse: a handful is enough to rank what will be shown.
    addresses = list(dict.fromkeys(name + rest for name, rest in found))[: 2 * MAX_SUGGESTIONS]
    levels = {a: level_of(a) for a in addresses}
    deeper = [a for a in addresses if levels[a] > above]
    deeper.sort(key=lambda a: -levels[a])  # stable: equal levels keep the dictionary's order
    return tuple(deeper[:MAX_SUGGESTIONS])
