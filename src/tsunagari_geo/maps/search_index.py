"""The static site's address search, generated from the Python geocoder at ``site build`` time.

The static site has no server to ask, so it ships what the server would answer. This module
enumerates the written forms the geocoder accepts (every municipality name it knows, with and
without 埼玉県 and 郡, former municipalities, wards without their city, 丁目 as 六丁目 / 6丁目 /
6-, 大字 and 小字, other prefectures and their municipalities), runs each through the real
:class:`~tsunagari_geo.geocode.Geocoder` and keeps what it answers, as tables of folded prefix
→ answer. The character folding is exported too, as tables made by running
the Python folding on every character (:mod:`tsunagari_geo.maps.fold_table`), so the page
applies tables, never rules of its own (``static/maps/search.js``).

The page then folds the typed text by the tables and walks them: the longest key of the first
table that starts the text gives an answer and, for a municipality, the table of its towns,
where the longest key after it gives a better one, and so on while an entry leads to another
table (大字 → the towns; 常盤6 → the characters after which 6 is no 丁目: 常盤61, 常盤6番地). An
answer of :data:`MUNICIPALITY` is the municipality's own (so 三郷 and 三郷市 share their towns);
a table may extend an earlier one (``base``), changing a few entries and removing others
(:data:`DELETED`): a former municipality's towns are its successor's plus the spellings that
kept the old name.

The index is JSON: ``version``; ``end``, appended to the text before the walk; ``fold``
(:func:`~tsunagari_geo.maps.fold_table.fold_table`); ``units`` ``[code, name, lat, lng]``; ``answers``, each ``[unit, town,
lat, lng]`` for a town, ``[unit]`` for a municipality, ``[-1, prefecture]`` for another
prefecture or ``[]`` for nothing; ``tables``, each ``{"entries": [[shared, rest, answer
(, table)], …] (, "base": table)}`` with keys sorted and written as the length shared with the
key before and the rest, which gzip packs well. Coordinates have 5 decimals (about 1 m).

Example::

    >>> index = build_search_index(Geocoder.from_store(store))  # doctest: +SKIP
    >>> sorted(index)  # doctest: +SKIP
    ['answers', 'end', 'fold', 'tables', 'units', 'version']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tsunagari_geo.geocode import Geocoder, GeocodeResult
from tsunagari_geo.geocode.dictionary import AddressDictionary, MuniName, UnitIndex
from tsunagari_geo.maps.fold_table import fold_table
from tsunagari_geo.text import fold, int_to_kanji

#: Appended to the folded text before the walk, so a key can say "and the text ends here"
#: (常盤6 alone is 常盤六丁目; 常盤61 is not). Folding removes every whitespace character, so
#: no folded text contains it.
END = "\n"
VERSION = 1
#: 丁目 numbers written after a 大字 or 町 name that has none (1 … 20), and the number the
#: geocoder is asked with (no town has a 九十九丁目).
_STOP_CHOME = 20
_STOP_PROBE = 99


def place_code_of(result: GeocodeResult) -> str:
    """The code of the place a geocoding result names: its unit (one of the 72 in 埼玉県), or
    its municipality when no unit is decided (さいたま市塚本: the city, no ward)."""
    return result.unit_code or result.muni_code


# --- the written forms ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Form:
    """One way of writing a town after its municipality: the key and the text to verify it."""

    key: str
    probe: str
    #: a 大字 or 町 name: 丁目 written after it (伊草1丁目, newer than the dictionary) is a
    #: 丁目 the geocoder does not know, and it stops at the municipality.
    plain: bool = False
    #: for 常盤6丁目, 常盤6-, 常盤6 (end): 常盤6, which may stand for all three (see
    #: ``_Builder.chome_entry``).
    arabic: str = ""


def _town_forms(index: UnitIndex) -> list[_Form]:
    """Every spelling of the unit's towns the geocoder reads (folded, as keys)."""
    forms: list[_Form] = []
    for key in index.plain:
        forms.append(_Form(key, key, plain=not key.endswith("丁目")))
    for (key, koaza), _town in index.koaza.items():
        forms.append(_Form(key + koaza, key + koaza))
        forms.append(_Form(key + "字" + koaza, key + "字" + koaza))
    for chome in (index.chome, index.alias_chome):
        for base, numbers in chome.items():
            for n in numbers:
                forms.extend(_chome_forms(base, n))
    for key in index.alias_plain:
        forms.append(_Form(key, key))
    return _unique(forms)


def _unique(forms: list[_Form]) -> list[_Form]:
    """The first form of each key."""
    unique: dict[str, _Form] = {}
    for form in forms:
        unique.setdefault(form.key, form)
    return list(unique.values())


def _chome_forms(base: str, n: int) -> list[_Form]:
    arabic = f"{base}{n}"
    return [
        _Form(f"{base}{int_to_kanji(n)}丁目", f"{base}{int_to_kanji(n)}丁目"),
        _Form(f"{arabic}丁目", f"{arabic}丁目", arabic=arabic),
        # 6-4-4: the first number is the 丁目 when more follow; verified with one more.
        _Form(f"{arabic}-", f"{arabic}-1", arabic=arabic),
        _Form(arabic + END, arabic, arabic=arabic),
    ]


def _with_stems(forms: list[_Form], stems: tuple[str, ...]) -> list[_Form]:
    # 鳩ヶ谷市本町 means 鳩ヶ谷本町: a former municipality's towns that kept its name are also
    # written with the old name once, as the municipality.
    out = list(forms)
    for stem in stems:
        for f in forms:
            if f.key.startswith(stem) and len(f.key) > len(stem):
                arabic = f.arabic[len(stem) :] if len(f.arabic) > len(stem) else ""
                out.append(_Form(f.key[len(stem) :], f.probe[len(stem) :], arabic=arabic))
    return out


@dataclass(frozen=True, slots=True)
class _Reading:
    """How the geocoder reads a written municipality: the forms read alike share a town table."""

    #: the municipalities the written name may mean (two when 西区 is in two designated
    #: cities: the towns decide).
    names: tuple[MuniName, ...]
    #: 埼玉県 (or 埼玉) written before it: the geocoder then never says "elsewhere".
    pref_written: bool
    #: other prefectures with a municipality of the same name (美里町), when not written.
    elsewhere: tuple[str, ...]

    def towns_read_alike(self) -> tuple[Any, ...]:
        """What decides how the towns after it are read: 三郷 and 三郷市, or 大里町 and 熊谷市,
        read them alike; a former name's stems (鳩ヶ谷本町), a ward alone (北区 without a
        Saitama town is 東京都's), 埼玉県 written or a name used elsewhere change it."""
        meant = tuple((n.code, n.stems, n.ward_alone) for n in self.names)
        return meant, self.pref_written, self.elsewhere


def _root_forms(d: AddressDictionary) -> dict[str, _Reading | None]:
    """Folded written municipality (or prefecture) → how the geocoder reads it (None: elsewhere)."""
    # The prefecture as written before a name: 埼玉県, and 埼玉 (埼玉狭山市).
    pref_forms = ("", *d.pref_prefixes)
    forms: dict[str, _Reading | None] = {}

    def add(written: str, bare: str, names: tuple[MuniName, ...]) -> None:
        for p in pref_forms:
            elsewhere = () if p else d.other_names.get(bare, ())
            forms.setdefault(p + written, _Reading(names, bool(p), elsewhere))

    gun_of = {fold(g): g for g in d.guns}
    for key, names in d.names.items():
        gun = next((g for g in gun_of if key.startswith(g) and len(key) > len(g)), "")
        add(key, key[len(gun) :], tuple(names))
    # A wrong 郡 before a town or village (入間郡滑川町) is skipped and said so.
    plain = {
        k: tuple(n) for k, n in d.names.items() if not any(m.former or m.ward_alone for m in n)
    }
    for gun in gun_of:
        for key, name in plain.items():
            if "郡" not in key and key.endswith(("町", "村")):
                add(gun + key, key, name)
    # Names used only elsewhere in Japan, and the other prefectures: read as outside.
    for key in d.other_names:
        forms.setdefault(key, None)
    for key, pref_name in d.prefectures.items():
        if pref_name != d.region.pref_name:
            forms.setdefault(key, None)
    return forms


# --- answers and tables --------------------------------------------------------------------------

#: The answer of a town table's entry that is what the municipality written before it
#: answers alone (the start table's answer for it).
MUNICIPALITY = -1
#: The answer of an entry that removes its key from the table it extends.
DELETED = -3
_Entry = tuple[int, int | None]


@dataclass
class _Builder:
    geocoder: Geocoder
    units: list[list[Any]] = field(default_factory=list)
    unit_position: dict[str, int] = field(default_factory=dict)
    answers: list[list[Any]] = field(default_factory=list)
    answer_position: dict[tuple[Any, ...], int] = field(default_factory=dict)
    #: the first table, the start of an address, is filled last.
    tables: list[dict[str, _Entry]] = field(default_factory=lambda: [{}])
    table_position: dict[frozenset[tuple[str, _Entry]], int] = field(default_factory=dict)

    def ask(self, text: str) -> int:
        """The position of what the geocoder answers for ``text``."""
        return self.answer(self.geocoder.geocode(text, suggest=False))

    def unit(self, result: GeocodeResult) -> int:
        code = place_code_of(result)
        if code not in self.unit_position:
            unit = self.geocoder.dictionary.units[code]
            self.unit_position[code] = len(self.units)
            self.units.append([code, result.city, round(unit.lat, 5), round(unit.lng, 5)])
        return self.unit_position[code]

    def answer(self, result: GeocodeResult) -> int:
        """The position of the result's answer: ``[unit, town, lat, lng]`` for a town,
        ``[unit]`` for a municipality, ``[-1, prefecture]`` outside, ``[]`` for nothing."""
        row: list[Any]
        if result.level >= 2 and place_code_of(result) and result.lat is not None:
            row = [self.unit(result)]
            if result.level == 3 and result.lng is not None:
                row += [result.town, round(result.lat, 5), round(result.lng, 5)]
        elif result.status == "outside_prefecture":
            row = [-1, result.pref]
        else:
            row = []
        key = tuple(row)
        if key not in self.answer_position:
            self.answer_position[key] = len(self.answers)
            self.answers.append(row)
        return self.answer_position[key]

    def table(self, entries: dict[str, _Entry]) -> int:
        frozen = frozenset(entries.items())
        if frozen not in self.table_position:
            self.table_position[frozen] = len(self.tables)
            self.tables.append(entries)
        return self.table_position[frozen]

    def town_entry(self, root: str, form: _Form, municipality: int) -> _Entry:
        """The entry of ``form`` after the municipality written ``root``: its answer and, for a
        大字 or 町 name, the table of 丁目 the geocoder stops at."""
        answer = _relative(self.ask(root + form.probe), municipality)
        if not form.plain:
            return answer, None
        stop = _relative(self.ask(f"{root}{form.probe}{_STOP_PROBE}丁目"), municipality)
        if stop == answer:
            return answer, None
        numbers = range(1, _STOP_CHOME + 1)
        keys = [f"{n}丁目" for n in numbers] + [f"{int_to_kanji(n)}丁目" for n in numbers]
        return answer, self.table({k: (stop, None) for k in keys})

    def chome_entry(self, root: str, arabic: str, municipality: int) -> _Entry | None:
        """One entry for 常盤6丁目, 常盤6-4-4, 常盤6 and 常盤6亜 (a typo after the number),
        when the geocoder reads them all as one 丁目, leading to the characters after which it
        reads the number otherwise (常盤61, 常盤6番地, 常盤6の): None when it does not."""
        answers = {self.ask(root + arabic + tail) for tail in ("", "-1", "丁目", "亜")}
        reverts = {self.ask(root + arabic + tail) for tail in ("0000", "番", "号", "の")}
        if len(answers) != 1 or len(reverts) != 1:
            return None
        answer = _relative(answers.pop(), municipality)
        revert = _relative(reverts.pop(), municipality)
        if answer == revert:
            return answer, None
        return answer, self.table({c: (revert, None) for c in "0123456789番号の"})

    def town_table(self, root: str, forms: list[_Form]) -> int:
        """The towns after the municipality written ``root``, as the geocoder reads them.

        大字 or 字 before a name is read as the name alone (大字平永 → 平永), so each is one
        entry leading to the same towns, plus the names the geocoder reads otherwise with it
        (大字新堀 beside 新堀町) and every longer name they start (大字新堀町 is 新堀町). An
        answer that is the municipality's own is written :data:`MUNICIPALITY`, so 三郷 and
        三郷市 (which answer differently alone) share one table of towns."""
        municipality = self.ask(root)
        entries: dict[str, _Entry] = {}
        probes: dict[str, str] = {}
        keys = {f.key for f in forms}
        for arabic in dict.fromkeys(f.arabic for f in forms if f.arabic):
            entry = None if arabic in keys else self.chome_entry(root, arabic, municipality)
            if entry is not None:
                entries[arabic], probes[arabic] = entry, arabic + "-1"
        for f in forms:
            if f.arabic not in entries:
                entries[f.key], probes[f.key] = self.town_entry(root, f, municipality), f.probe
        after_oaza: dict[str, _Entry] = {}
        for oaza in _OAZA:
            with_oaza = {
                key: _relative(self.ask(root + oaza + probe), municipality)
                for key, probe in probes.items()
            }
            differing = [k for k, answer in with_oaza.items() if answer != entries[k][0]]
            for key, answer in with_oaza.items():
                if key in differing or any(key.startswith(d) for d in differing):
                    after_oaza.setdefault(oaza + key, (answer, entries[key][1]))
        towns = self.table(entries)  # after 大字 (once: 大字字中 is no town)
        starts = {o: (_relative(self.ask(root + o), municipality), towns) for o in _OAZA}
        return self.table({**entries, **after_oaza, **starts})


def _relative(answer: int, municipality: int) -> int:
    return MUNICIPALITY if answer == municipality else answer


_OAZA = ("大字", "字")


def build_search_index(geocoder: Geocoder) -> dict[str, Any]:
    """The static site's search index: what ``geocoder`` answers for every written form.

    Returns the JSON-ready dict the module docstring describes; the first table is the start
    of an address. About 10 s and 600 kB (150 kB gzip'd) for Saitama's 5,389 towns.

    Forms whose towns the geocoder reads alike (with or without 郡, 市, 埼玉県 or 埼玉) share
    one table of towns, asked once with the first of them (:func:`_asked_first`).
    """
    d = geocoder.dictionary
    b = _Builder(geocoder)
    forms_of = {code: _town_forms(index) for code, index in d.towns.items()}
    by_reading: dict[tuple[Any, ...], int] = {}
    root: dict[str, _Entry] = {}
    for key, reading in sorted(_root_forms(d).items(), key=_asked_first):
        table: int | None = None
        if reading is not None:
            group = reading.towns_read_alike()
            if group not in by_reading:
                forms = []
                for name in reading.names:
                    # A designated city written without its ward: the towns of all its wards.
                    wards = d.wards_by_city.get(name.code, (name.code,))
                    own = [f for code in wards for f in forms_of[code]]
                    forms += _with_stems(own, name.stems) if name.stems else own
                by_reading[group] = b.town_table(key, _unique(forms))
            table = by_reading[group]
        root[key] = (b.ask(key), table)
    # A municipality elsewhere in Japan written without its prefecture (松戸市) is kept only
    # where it stops a shorter Saitama name from matching: without it the page finds nothing,
    # which is what it shows for "outside" too. The prefectures themselves are always kept.
    nothing = b.ask("")
    prefectures = set(d.prefectures)
    root = {
        k: (nothing, None)
        if t is None and k not in prefectures and b.answers[a][:1] == [-1]
        else (a, t)
        for k, (a, t) in root.items()
    }
    root.update(_postal_entries(b, _sample_address(d), nothing))
    b.tables[0] = _pruned(root, nothing)
    tables = _with_bases(b.tables)
    # Characters in no key end every match whatever their folding; ASCII and kana are kept
    # all the same, so that what the page folds reads as the geocoder's (１Ｆ → 1F, ﾏ → マ).
    useful = {c for table in tables for k in table["keys"] for c in k}
    useful |= {chr(c) for c in (*range(0x21, 0x7F), *range(0x3041, 0x3100))}
    return {
        "version": VERSION,
        "end": END,
        "fold": fold_table(useful),
        "units": b.units,
        "answers": b.answers,
        "tables": [_encoded(t) for t in tables],
    }


def _asked_first(item: tuple[str, _Reading | None]) -> tuple[bool, bool, int, str]:
    """The order forms are asked in: a group's table is asked with its first, the current name
    (三郷市 rather than 三郷: 三郷 + 市助 would read as 三郷市 + 助)."""
    key, reading = item
    if reading is None:
        return False, False, len(key), key
    first = reading.names[0]
    return first.suffix_omitted, bool(first.former), len(key), key


#: How a postal code may be written before an address (〒330-0061, 郵便番号：3300061, 330ー0061),
#: each checked with the geocoder before the page is told to skip it.
_POSTAL_WRITTEN = ("〒", "〒:", "郵便番号", "郵便番号:", "1234567", "123-4567", "〒123-4567")


def _postal_entries(b: _Builder, sample: str, nothing: int) -> dict[str, _Entry]:
    """Entries of the start table that read a leading postal code (or 〒, 郵便番号) and go back to
    the start, as the geocoder skips them; none when it reads any of them otherwise."""
    expected = b.ask(sample)
    if expected == nothing or any(b.ask(p + sample) != expected for p in _POSTAL_WRITTEN):
        return {}
    digits = "0123456789"

    def then(table: int) -> int:
        return b.table({d: (nothing, table) for d in digits})

    # Three digits, an optional dash, four digits, and back to the start (table 0).
    fourth = then(0)
    second_group = then(then(then(fourth)))
    after_three = b.table(
        {**{d: (nothing, then(then(fourth))) for d in digits}, "-": (nothing, second_group)}
    )
    first_group = then(then(after_three))
    entries: dict[str, _Entry] = {d: (nothing, first_group) for d in digits}
    for mark in ("〒", "郵便番号"):
        entries[mark] = entries[mark + ":"] = (nothing, 0)
    return entries


def _sample_address(d: AddressDictionary) -> str:
    """A written municipality and one of its towns, the first the dictionary has."""
    for key, names in d.names.items():
        index = d.towns.get(names[0].code)
        if index is not None and index.plain and not (names[0].former or names[0].ward_alone):
            return key + next(iter(index.plain))
    return ""


def _pruned(entries: dict[str, _Entry], fallback: int) -> dict[str, _Entry]:
    """Without the entries that answer what the text would get without them: kept when the
    answer differs from ``fallback``, when it leads to a table, or when a shorter key starts
    it (the walk would otherwise stop at that shorter key's answer)."""
    return {
        key: (answer, table)
        for key, (answer, table) in entries.items()
        if answer != fallback or table is not None or _has_shorter(key, entries)
    }


def _has_shorter(key: str, entries: dict[str, Any]) -> bool:
    return any(key[:n] in entries for n in range(1, len(key)))


def _with_bases(tables: list[dict[str, _Entry]]) -> list[dict[str, Any]]:
    """Each table as its own entries or as an earlier one's changed (``base``), whichever is
    smaller: a former municipality's towns are its successor's plus the spellings with the
    old name. A key of the base that the table lacks is written with :data:`DELETED`."""
    out: list[dict[str, Any]] = []
    for i, table in enumerate(tables):
        best: dict[str, Any] = {"base": None, "keys": table}
        for j in range(1, i):
            base = tables[j]
            if not len(table) // 2 < len(base) < 2 * len(table):
                continue
            diff = {k: v for k, v in table.items() if base.get(k) != v}
            diff.update({k: (DELETED, None) for k in base if k not in table})
            if len(diff) < len(best["keys"]):
                best = {"base": j, "keys": diff}
        out.append(best)
    return out


def _encoded(table: dict[str, Any]) -> dict[str, Any]:
    rows: list[list[Any]] = []
    previous = ""
    for key in sorted(table["keys"]):
        answer, next_table = table["keys"][key]
        shared = 0
        limit = min(len(key), len(previous))
        while shared < limit and key[shared] == previous[shared]:
            shared += 1
        row: list[Any] = [shared, key[shared:], answer]
        if next_table is not None:
            row.append(next_table)
        rows.append(row)
        previous = key
    encoded: dict[str, Any] = {"entries": rows}
    if table["base"] is not None:
        encoded["base"] = table["base"]
    return encoded
