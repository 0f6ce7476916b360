"""The in-memory address dictionary the geocoder matches against, built from the reference store.

Everything is a plain ``dict`` keyed by folded text (:func:`tsunagari_geo.text.fold`), so one
address costs a handful of hash lookups: municipality names by prefix length, then per unit the
town keys by prefix length (longest first), with 丁目 towns also indexed by their base name and
chōme number so ``常盤6-4-4``, ``常盤6丁目`` and ``常盤六丁目`` all reach 常盤六丁目.

Other prefectures' municipality names (all Japan, imported from the Geolonia ``ja.json`` into
the store's ``japan_municipalities``) say ``outside_prefecture`` for an address written without
its prefecture; they never produce a match here. A store without them is refused: without
them a Tokyo address written without 東京都 (中央区銀座) would land in a ward here. When the
store also holds the other prefectures' towns (``data import --japan``), an address outside is
read on to its town in a :class:`PrefectureIndex`, built per prefecture on first use, so
start-up and memory stay those of the region alone.

Everything about the place (prefecture, designated cities and their wards) comes from the
store's region, so the same code geocodes any region.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

from tsunagari_geo.errors import StoreError
from tsunagari_geo.region import PREFECTURES, Region
from tsunagari_geo.registry import Registry
from tsunagari_geo.store import Store
from tsunagari_geo.store.base import REIMPORT_HINT
from tsunagari_geo.text import fold, kanji_to_int, town_key

log = logging.getLogger(__name__)

#: 常盤六丁目, and 北花田町二丁 as 堺市 writes its 丁目 (a base of two characters at least, so a
#: name like 大八丁 stays a name).
_CHOME_RE = re.compile(
    r"^(.+?)([一二三四五六七八九十]+)丁目$|^(.{2,}?)([一二三四五六七八九十]+)丁$"
)


@dataclass(frozen=True, slots=True)
class Town:
    """One 大字・町丁目 (machiaza 町字) of the dictionary, with its representative point."""

    unit_code: str
    town: str
    koaza: str
    lat: float
    lng: float
    point_source: str


@dataclass(frozen=True, slots=True)
class TownGroup(Town):
    """A town written without the part the dictionary lists: 東越谷 for 東越谷一丁目…十丁目, or a
    大字 listed only through its 字. The point is the centre (mean) of ``parts``' points."""

    parts: tuple[Town, ...] = ()


@dataclass(slots=True)
class UnitIndex:
    """The towns of one unit (municipality or ward) keyed for prefix search."""

    code: str
    name: str
    #: folded key (大字/字 removed) → town; the main entry when a 小字 shares the key.
    plain: dict[str, Town] = field(default_factory=dict)
    #: base key of a 丁目 town (常盤) → chōme number → town (常盤六丁目).
    chome: dict[str, dict[int, Town]] = field(default_factory=dict)
    #: (town key, folded 小字) → town with the 小字's own point.
    koaza: dict[tuple[str, str], Town] = field(default_factory=dict)
    #: keys k whose dictionary also has k + 町 (大字新堀 / 新堀町): a bare k is undecided.
    machi_pairs: set[str] = field(default_factory=set)
    lengths: tuple[int, ...] = ()
    #: X for a town X町 (月吉町, 櫛引町一丁目) when no town X exists: tried only when nothing
    #: else matches, since 町 is often dropped in writing.
    alias_plain: dict[str, Town] = field(default_factory=dict)
    alias_chome: dict[str, dict[int, Town]] = field(default_factory=dict)
    alias_lengths: tuple[int, ...] = ()
    #: Y町 for a town XY町 whose X is a town of 丁目 of the same unit (四谷三栄町 beside
    #: 四谷一丁目…: 三栄町), when no town is called Y町 and only one XY町 leaves it: the name
    #: before the area's name was put in front (新宿区三栄町). Tried only when nothing else
    #: matches.
    area_dropped: dict[str, Town] = field(default_factory=dict)
    area_lengths: tuple[int, ...] = ()
    #: folded key → name as the dictionary writes it, 丁目 towns once under their base
    #: (常盤 → 常盤, 大字新堀 key 新堀 → 大字新堀): what a spelling suggestion offers.
    names: dict[str, str] = field(default_factory=dict)
    #: town key → its 小字 (folded) with their towns, longest first: ``koaza`` by town.
    koaza_by_town: dict[str, list[tuple[str, Town]]] = field(default_factory=dict)
    #: folded key of a town listed only as its 丁目 or 字 (東越谷) → the group.
    groups: dict[str, TownGroup] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit (municipality, or ward of a designated city) with its representative point."""

    code: str
    name: str
    gun: str
    lat: float
    lng: float


@dataclass(frozen=True, slots=True)
class MuniName:
    """One way of writing a municipality: its unit code and, when a former name, that name."""

    code: str
    former: str = ""
    #: folded stems a former municipality's towns kept in their new names (鳩ヶ谷本町, 菖蒲町菖蒲).
    stems: tuple[str, ...] = ()
    #: a ward written without its city (見沼区丸ヶ崎町): trusted only with a town.
    ward_alone: bool = False
    #: 三郷 for 三郷市, 鳩山 for 鳩山町: trusted only when a town of that unit follows.
    suffix_omitted: bool = False


@dataclass(slots=True)
class PrefectureIndex:
    """The towns of one other prefecture, for addresses outside the region.

    Municipalities are keyed by their name as ``ja.json`` lists it (比企郡滑川町, 札幌市中央区):
    outside the region they have no unit code. Built on first use by
    :meth:`AddressDictionary.prefecture` from the store's ``japan_towns``.
    """

    pref: str
    #: municipality (or ward) as listed → its point, the mean of its towns' points; a
    #: designated city (札幌市) is a unit too, at the mean of its wards.
    units: dict[str, Unit]
    towns: dict[str, UnitIndex]
    #: folded written form (滑川町, 比企郡滑川町, 札幌市) → the municipalities it names.
    names: dict[str, tuple[str, ...]]
    name_lengths: tuple[int, ...]
    #: designated city → its wards, derived from the listed 市+区 names (札幌市 → 札幌市中央区 …).
    wards_by_city: dict[str, tuple[str, ...]]
    load_seconds: float = 0.0

    @classmethod
    def from_rows(cls, pref: str, rows: Sequence[tuple[Any, ...]]) -> PrefectureIndex:
        """Build from the rows of ``Store.japan_town_rows(pref)`` (columns
        :data:`~tsunagari_geo.store.JAPAN_TOWN_COLUMNS`); a town without a point is left out."""
        started = time.perf_counter()
        placed = [
            (str(muni), str(town), str(koaza or ""), float(lat), float(lng), str(source))
            for _pref, muni, town, koaza, lat, lng, source in rows
            if _is_number(lat) and _is_number(lng)
        ]
        points: dict[str, list[tuple[float, float]]] = {}  # in order of first appearance
        for muni, _town, _koaza, lat, lng, _source in placed:
            points.setdefault(muni, []).append((lat, lng))
        units = {
            m: Unit(m, m, _gun_part(m), fmean(p[0] for p in ps), fmean(p[1] for p in ps))
            for m, ps in points.items()
        }
        wards: dict[str, list[str]] = defaultdict(list)
        for name in units:
            m = _CITY_WARD_RE.match(name)
            if m:
                wards[m.group(1)].append(name)
        for city, listed in wards.items():
            lat = sum(units[w].lat for w in listed) / len(listed)
            lng = sum(units[w].lng for w in listed) / len(listed)
            units[city] = Unit(city, city, "", lat, lng)
        indexes = {code: UnitIndex(code, code) for code in units}
        _index_towns(indexes, placed)
        found: dict[str, list[str]] = defaultdict(list)
        for name, unit in units.items():
            for written in {name, name[len(unit.gun) :]}:
                if name not in found[fold(written)]:
                    found[fold(written)].append(name)
        names = {k: tuple(v) for k, v in found.items()}
        result = cls(
            pref=pref,
            units=units,
            towns=indexes,
            names=names,
            name_lengths=tuple(sorted({len(k) for k in names}, reverse=True)),
            wards_by_city={city: tuple(listed) for city, listed in wards.items()},
        )
        result.load_seconds = time.perf_counter() - started
        return result


_CITY_WARD_RE = re.compile(r"^(.+?市)(.+区)$")
#: A 郡 is followed by a 町 or 村 only: 小郡市 (福岡県) is a city, not 小郡 + 市.
_GUN_PART_RE = re.compile(r"^(.+?郡)(?=.+[町村]$)")


def _is_number(value: Any) -> bool:
    return value is not None and not math.isnan(float(value))


def _gun_part(name: str) -> str:
    m = _GUN_PART_RE.match(name)
    return m.group(1) if m else ""


@dataclass
class AddressDictionary:
    """All lookup structures, built once by :meth:`from_store`; ``load_seconds`` says how long."""

    units: dict[str, Unit]
    towns: dict[str, UnitIndex]
    #: folded written form → possible municipalities: one, except where two share a name
    #: (西区 of two designated cities, 府中市-like clashes of formers); the towns decide.
    names: dict[str, list[MuniName]]
    name_lengths: tuple[int, ...]
    #: folded 郡 names of the prefecture (比企郡 …), consumed and checked when written.
    guns: dict[str, str]
    #: designated city code → its wards' codes (11100 → 11101 … 11110 in 埼玉県).
    wards_by_city: dict[str, tuple[str, ...]]
    #: folded municipality name of another prefecture → prefectures having it (pref-less input).
    other_names: dict[str, tuple[str, ...]]
    other_lengths: tuple[int, ...]
    prefectures: dict[str, str]
    #: another prefecture written without 都/府/県 (岩手, 千葉, 東京 → 岩手県 …), folded.
    prefecture_stems: dict[str, str]
    registry: Registry
    region: Region
    load_seconds: float = 0.0
    #: where the other prefectures' towns are read from on first use (None: not at all).
    store: Store | None = None
    _japan: dict[str, PrefectureIndex | None] = field(default_factory=dict, repr=False)

    @property
    def has_japan(self) -> bool:
        """Whether addresses of other prefectures can be read to town level."""
        return self.store is not None and self.store.has_japan_towns

    def prefecture(self, pref: str) -> PrefectureIndex | None:
        """The town index of another prefecture, built on first use and kept (None when the
        store holds no national towns). A prefecture costs one indexed read of the store and
        a few tens of milliseconds, so a job that never leaves the region pays nothing."""
        if pref in self._japan:
            return self._japan[pref]
        index = None
        if self.store is not None and self.store.has_japan_towns:
            rows = self.store.japan_town_rows(pref)
            if rows:
                index = PrefectureIndex.from_rows(pref, rows)
        self._japan[pref] = index
        return index

    @property
    def ward_codes(self) -> tuple[str, ...]:
        """Every ward of every designated city."""
        return tuple(c for wards in self.wards_by_city.values() for c in wards)

    @property
    def pref_prefixes(self) -> tuple[str, ...]:
        """The region's prefecture as written at the start of an address, folded: 埼玉県, 埼玉."""
        return tuple(fold(p) for p in self.region.pref_prefixes)

    @classmethod
    def from_store(cls, store: Store) -> AddressDictionary:
        """Build the dictionary from the store: units, towns, region and other prefectures.

        Raises StoreError (in Japanese and English, naming the store) when the store holds no
        other prefecture's municipality names: the geocoder must not start without them.
        """
        started = time.perf_counter()
        region = store.region
        registry = region.registry
        other, other_lengths = _other_prefectures(store, region)
        columns = ("code", "name", "gun", "rep_lat", "rep_lng")
        units = {
            str(code): Unit(str(code), str(name), str(gun or ""), lat, lng)
            for code, name, gun, lat, lng in store.rows("units", columns)
        }
        for code, name, _gun, lat, lng in store.rows("municipalities", columns):
            if str(code) not in units:
                units[str(code)] = Unit(str(code), str(name), "", lat, lng)
        towns = _build_towns(store, units)
        names, guns = _build_names(region, units)
        result = cls(
            units=units,
            towns=towns,
            names=names,
            name_lengths=tuple(sorted({len(k) for k in names}, reverse=True)),
            guns=guns,
            wards_by_city={
                city: tuple(w.code for w in region.wards_of(city))
                for city in region.designated_city_codes
            },
            other_names=other,
            other_lengths=other_lengths,
            prefectures={fold(p): p for p in PREFECTURES},
            prefecture_stems={
                fold(p[:-1]): p for p in PREFECTURES if p != region.pref_name and p[-1] in "都府県"
            },
            registry=registry,
            region=region,
            store=store,
        )
        result.load_seconds = time.perf_counter() - started
        return result


def _build_towns(store: Store, units: dict[str, Unit]) -> dict[str, UnitIndex]:
    indexes = {code: UnitIndex(code, unit.name) for code, unit in units.items()}
    columns = ("unit_code", "town", "koaza", "lat", "lng", "point_source")
    _index_towns(
        indexes,
        (
            (str(unit), str(town), str(koaza or ""), lat, lng, str(source))
            for unit, town, koaza, lat, lng, source in store.rows("towns", columns)
        ),
    )
    return indexes


def _index_towns(
    indexes: dict[str, UnitIndex], rows: Iterable[tuple[str, str, str, float, float, str]]
) -> None:
    """Fill ``indexes`` (unit → index) with ``rows`` of (unit, town, koaza, lat, lng, source)."""
    koaza_only: dict[tuple[str, str], list[Town]] = defaultdict(list)
    for unit_code, name, koaza, lat, lng, source in rows:
        # The key is recomputed rather than read from the store so that a store imported by an
        # older town_key still matches what the geocoder folds today.
        key = town_key(name)
        index = indexes[unit_code]
        town = Town(unit_code, name, koaza, float(lat), float(lng), source)
        if koaza:
            koaza_key = town_key(koaza)
            if name.startswith("（") or name.startswith("("):
                # 本庄市 （大字なし） 台町: the 小字 is the only name there is.
                index.plain.setdefault(koaza_key, town)
            else:
                index.koaza[(key, koaza_key)] = town
                index.koaza_by_town.setdefault(key, []).append((koaza_key, town))
                koaza_only[(unit_code, key)].append(town)
            continue
        index.plain[key] = town
        m = _CHOME_RE.match(name)
        if m:
            base, numeral = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            number = kanji_to_int(numeral)
            if number is not None:
                index.chome.setdefault(town_key(base), {})[number] = town
                index.names.setdefault(town_key(base), base)
                continue
        index.names.setdefault(key, name)
    for (unit_code, key), parts in koaza_only.items():
        index = indexes[unit_code]
        if key not in index.plain:
            # A 大字 the dictionary lists only through its 字: the 大字 itself is their group.
            index.groups[key] = _group(unit_code, parts[0].town, parts)
            index.names.setdefault(key, parts[0].town)
    for index in indexes.values():
        for base, numbers in index.chome.items():
            if base not in index.plain:
                # 東越谷 exists only as 東越谷一丁目…十丁目: written without its 丁目, the
                # group is what the text names (with its 字 too, where it also has some).
                aza = index.groups[base].parts if base in index.groups else ()
                chome = [numbers[n] for n in sorted(numbers)]
                index.groups[base] = _group(index.code, index.names[base], [*chome, *aza])
        for key, town in index.plain.items():
            # 大字新堀 and 新堀町: a bare 新堀 dropped either 大字 or 町. 国済寺 and 国済寺町:
            # a bare 国済寺 is exactly the first one's name.
            if key + "町" in index.plain and town.town.startswith("大字"):
                index.machi_pairs.add(key)
        _add_arabic_forms(index)
        index.lengths = tuple(
            sorted({len(k) for k in (*index.plain, *index.chome, *index.groups)}, reverse=True)
        )
        taken = set(index.plain) | set(index.chome) | set(index.groups)
        for key, town in index.plain.items():
            for alias in _machi_dropped(key):
                if alias not in taken:
                    index.alias_plain.setdefault(alias, town)
        for key, numbers in index.chome.items():
            alias = key[:-1]
            if key.endswith("町") and len(alias) >= 2 and alias not in taken:
                index.alias_chome[alias] = numbers
        index.alias_lengths = tuple(
            sorted({len(k) for k in (*index.alias_plain, *index.alias_chome)}, reverse=True)
        )
        _add_area_dropped(index, taken | set(index.alias_plain) | set(index.alias_chome))


_AREA_DROPPED_REFUSED = re.compile("丁目|大字|[0-9]")


def _add_area_dropped(index: UnitIndex, taken: set[str]) -> None:
    """Fill ``index.area_dropped``: 三栄町 for 四谷三栄町 where 四谷 is a town of 丁目 here
    (四谷一丁目…四丁目). Only names ending in 町, of three characters at least after the area
    (東町, 上町, 新町 say too little), not starting where a name goes on (町, ケ, の), with no 丁目
    or 大字 in them; a name two such towns leave is neither's. On the national dictionary: 120
    names (日本橋久松町, 千住大川町, 膳所平尾町 …)."""
    areas = [base for base in index.chome if base not in index.plain and len(base) >= 2]
    found: dict[str, list[Town]] = defaultdict(list)
    for key, town in index.plain.items():
        if not key.endswith("町") or _CHOME_RE.match(town.town):
            continue
        for area in areas:
            short = key[len(area) :]
            if (
                key.startswith(area)
                and len(short) >= 3
                and short not in taken
                and short[0] not in "町ケヶがのノ"  # 小松ケ丘町 leaves no name
                and not _AREA_DROPPED_REFUSED.search(short)
            ):
                found[short].append(town)
    index.area_dropped = {k: v[0] for k, v in found.items() if len({t.town for t in v}) == 1}
    index.area_lengths = tuple(sorted({len(k) for k in index.area_dropped}, reverse=True))


#: A kanji numeral counting something in a town's name: 北二十四条西 (札幌市), 十四号 (東神楽町),
#: 十二番丁 (和歌山市), 十二丁目 (花巻市, a whole town name). People write these in Arabic digits.
_NAME_NUMERAL_RE = re.compile("([一二三四五六七八九十百]+)(?=条|番|号|丁|線|地割|軒)")


_NUMERALS_RE = re.compile("[一二三四五六七八九十百]+")


def _arabic_form(key: str) -> str:
    """``key`` with every counted kanji numeral in Arabic digits (北二十四条西 → 北24条西)."""
    return _NAME_NUMERAL_RE.sub(lambda m: str(kanji_to_int(m.group(1))), key)


def _add_arabic_forms(index: UnitIndex) -> None:
    """Index the towns whose name counts in kanji also as written in digits: 北24条西6丁目 and
    北24条西6-1-1 reach 北二十四条西六丁目, 14号 reaches 十四号. 番丁 is also written 番町
    (7番町 for 七番丁). A form another town already has stays that town's."""
    for key in [k for k in index.plain if _NAME_NUMERAL_RE.search(k)]:
        chome = _CHOME_RE.match(key)
        if chome is not None and not _NUMERALS_RE.fullmatch(chome.group(1) or chome.group(3)):
            # 新栄三丁目 is read through its base 新栄 and the 丁目 number already; a plain
            # 新栄3丁目 would stop 新栄3丁目7丁目 at an unknown 丁目 instead.
            continue
        arabic = _arabic_form(key)
        forms = {arabic, arabic.replace("番丁", "番町"), key.replace("番丁", "番町")} - {key}
        for form in forms:
            if form not in index.chome:
                index.plain.setdefault(form, index.plain[key])
    for base in [b for b in index.chome if _NAME_NUMERAL_RE.search(b)]:
        arabic = _arabic_form(base)
        if arabic not in index.plain:
            index.chome.setdefault(arabic, index.chome[base])


def _machi_dropped(key: str) -> list[str]:
    """The town key with one 町 left out, as people write it: 月吉 for 月吉町, 木之本西山 for
    木之本町西山 (長浜市), 町野桶戸 for 町野町桶戸 (輪島市). Only a 町 with two characters
    before it, and inside a name two after it, so what is left still names something."""
    out: list[str] = []
    if "町" not in key[2:]:
        return out
    for p, c in enumerate(key):
        if c != "町" or p < 2:
            continue
        if p == len(key) - 1 or len(key) - p - 1 >= 2:
            out.append(key[:p] + key[p + 1 :])
    return out


def _group(unit_code: str, name: str, parts: list[Town]) -> TownGroup:
    lat = sum(t.lat for t in parts) / len(parts)
    lng = sum(t.lng for t in parts) / len(parts)
    return TownGroup(unit_code, name, "", lat, lng, "group_centre", tuple(parts))


def _stem(name: str) -> str:
    return name[:-1] if name[-1:] in "市町村" and len(name) > 2 else name


def _build_names(
    region: Region, units: dict[str, Unit]
) -> tuple[dict[str, list[MuniName]], dict[str, str]]:
    registry = region.registry
    names: dict[str, list[MuniName]] = defaultdict(list)
    guns: dict[str, str] = {}

    def add(text: str, entry: MuniName) -> None:
        key = fold(text)
        if all(e.code != entry.code for e in names[key]):
            names[key].append(entry)

    for m in registry.units:
        add(m.name, MuniName(m.code))
        if m.gun:
            add(m.gun + m.name, MuniName(m.code))
            guns[fold(m.gun)] = m.gun
    for city in region.designated_city_codes:
        add(registry.by_code[city].name, MuniName(city))
        for ward in region.wards_of(city):
            add(region.ward_short_name(ward.code), MuniName(ward.code, ward_alone=True))
    for m in registry.units:
        if m.kind == "ward" or m.name.endswith("区"):
            continue
        stem = m.name[:-1]
        if len(stem) >= 2 and fold(stem) not in names:
            add(stem, MuniName(m.code, suffix_omitted=True))
            if m.gun:
                add(m.gun + stem, MuniName(m.code, suffix_omitted=True))
    current = {fold(m.name) for m in registry.municipalities}
    for f in registry.former:
        if fold(f.former_name) in current:
            continue  # 秩父市 before and after its merger: the current name already covers it
        stem = _stem(f.former_name)
        entry = MuniName(f.successor_code, f.former_name, (fold(f.former_name), fold(stem)))
        add(f.former_name, entry)
        if f.former_gun:
            add(f.former_gun + f.former_name, entry)
            guns.setdefault(fold(f.former_gun), f.former_gun)
    known = {m.code for m in registry.municipalities}
    for code in units:
        if code not in known:
            log.warning("unit %s in the store is not in the registry", code)
    return dict(names), guns


def _other_prefectures(
    store: Store, region: Region
) -> tuple[dict[str, tuple[str, ...]], tuple[int, ...]]:
    names = [(p, n) for p, n in store.japan_municipality_names() if p != region.pref_name]
    if not names:
        raise StoreError(
            "参照データに他の都道府県の市区町村名がないため、東京都中央区とこの県の区を"
            "区別できず、住所検索を始められません。全国の towns/api/ja.json を含む参照元で "
            f"{REIMPORT_HINT}",
            path=store.location,
        )
    return _japan_names(names)


def _japan_names(
    names: Iterable[tuple[str, str]],
) -> tuple[dict[str, tuple[str, ...]], tuple[int, ...]]:
    """Folded name → prefectures having it, from (pref, name) of other prefectures' units."""
    found: dict[str, set[str]] = defaultdict(set)
    for pref, name in names:
        found[fold(name)].add(pref)
        # 足柄上郡大井町 is also written 大井町; 横浜市中区 also 横浜市.
        m = re.match(r"^(.+?郡)(.+[町村])$", name)
        if m:
            found[fold(m.group(2))].add(pref)
        m = re.match(r"^(.+?市)(.+区)$", name)
        if m:
            found[fold(m.group(1))].add(pref)
    other = {k: tuple(sorted(v)) for k, v in found.items()}
    return other, tuple(sorted({len(k) for k in other}, reverse=True))
