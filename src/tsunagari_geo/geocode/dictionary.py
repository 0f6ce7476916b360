"""The in-memory address dictionary the geocoder matches against, built from the reference store.

Everything is a plain ``dict`` keyed by folded text (:func:`tsunagari_geo.text.fold`), so one
address costs a handful of hash lookups: municipality names by prefix length, then per unit the
town keys by prefix length (longest first), with 丁目 towns also indexed by their base name and
chōme number so ``常盤6-4-4``, ``常盤6丁目`` and ``常盤六丁目`` all reach 常盤六丁目.

Other prefectures' municipality names (all Japan, imported from the Geolonia ``ja.json`` into
the store's ``japan_municipalities``) are kept only to say ``outside_prefecture`` for an address
written without its prefecture; they never produce a match. A store without them is refused:
without them a Tokyo address written without 東京都 (中央区銀座) would land in a ward here.

Everything about the place (prefecture, designated cities and their wards) comes from the
store's region, so the same code geocodes any region.
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd

from tsunagari_geo.errors import StoreError
from tsunagari_geo.region import Region
from tsunagari_geo.registry import Registry
from tsunagari_geo.store import Store
from tsunagari_geo.text import fold, kanji_to_int, town_key

log = logging.getLogger(__name__)

#: The 47 prefectures, as written in addresses.
PREFECTURES: tuple[str, ...] = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
)  # fmt: skip

_CHOME_RE = re.compile(r"^(.+?)([一二三四五六七八九十]+)丁目$")


@dataclass(frozen=True, slots=True)
class Town:
    """One 大字・町丁目 (machiaza 町字) of the dictionary, with its representative point."""

    unit_code: str
    town: str
    koaza: str
    lat: float
    lng: float
    point_source: str


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
    #: folded key → name as the dictionary writes it, 丁目 towns once under their base
    #: (常盤 → 常盤, 大字新堀 key 新堀 → 大字新堀): what a spelling suggestion offers.
    names: dict[str, str] = field(default_factory=dict)


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
    registry: Registry
    region: Region
    load_seconds: float = 0.0

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
        units_frame = store.units
        units = {
            str(r.code): Unit(str(r.code), str(r.name), str(r.gun or ""), r.rep_lat, r.rep_lng)
            for r in units_frame.itertuples()
        }
        municipalities = store.municipalities
        for r in municipalities.itertuples():
            if str(r.code) not in units:
                units[str(r.code)] = Unit(str(r.code), str(r.name), "", r.rep_lat, r.rep_lng)
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
            registry=registry,
            region=region,
        )
        result.load_seconds = time.perf_counter() - started
        return result


def _build_towns(store: Store, units: dict[str, Unit]) -> dict[str, UnitIndex]:
    indexes = {code: UnitIndex(code, unit.name) for code, unit in units.items()}
    frame = store.towns
    rows = zip(
        frame["unit_code"],
        frame["town"],
        frame["koaza"].fillna(""),
        frame["key"],
        frame["lat"],
        frame["lng"],
        frame["point_source"],
        strict=True,
    )
    for unit_code, name, koaza, _stored_key, lat, lng, source in rows:
        # The key is recomputed rather than read from the store so that a store imported by an
        # older town_key still matches what the geocoder folds today.
        key = town_key(str(name))
        index = indexes[str(unit_code)]
        town = Town(str(unit_code), str(name), str(koaza), float(lat), float(lng), str(source))
        if koaza:
            koaza_key = town_key(koaza)
            if name.startswith("（") or name.startswith("("):
                # 本庄市 （大字なし） 台町: the 小字 is the only name there is.
                index.plain.setdefault(koaza_key, town)
            else:
                index.koaza[(key, koaza_key)] = town
            continue
        index.plain[key] = town
        m = _CHOME_RE.match(name)
        if m:
            number = kanji_to_int(m.group(2))
            if number is not None:
                index.chome.setdefault(town_key(m.group(1)), {})[number] = town
                index.names.setdefault(town_key(m.group(1)), m.group(1))
                continue
        index.names.setdefault(key, str(name))
    for index in indexes.values():
        for key, town in index.plain.items():
            # 大字新堀 and 新堀町: a bare 新堀 dropped either 大字 or 町. 国済寺 and 国済寺町:
            # a bare 国済寺 is exactly the first one's name.
            if key + "町" in index.plain and town.town.startswith("大字"):
                index.machi_pairs.add(key)
        index.lengths = tuple(sorted({len(k) for k in (*index.plain, *index.chome)}, reverse=True))
        taken = set(index.plain) | set(index.chome)
        for key, town in index.plain.items():
            alias = key[:-1]
            if key.endswith("町") and len(alias) >= 2 and alias not in taken:
                index.alias_plain[alias] = town
        for key, numbers in index.chome.items():
            alias = key[:-1]
            if key.endswith("町") and len(alias) >= 2 and alias not in taken:
                index.alias_chome[alias] = numbers
        index.alias_lengths = tuple(
            sorted({len(k) for k in (*index.alias_plain, *index.alias_chome)}, reverse=True)
        )
    return indexes


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
    frame = store.japan_municipalities
    frame = frame[frame["pref"] != region.pref_name]
    if frame.empty:
        raise StoreError(
            "ストアに他の都道府県の市区町村名がありません。住所検索を始められません。"
            "`tsunagari-geo data import` で取り込み直してください "
            "(the store holds no municipality names of other prefectures, so the geocoder "
            "cannot tell 東京都中央区 from a ward here; re-run `tsunagari-geo data import` "
            "with a source whose towns/api/ja.json lists all Japan)",
            path=store.location,
        )
    return _japan_names(frame)


def _japan_names(frame: pd.DataFrame) -> tuple[dict[str, tuple[str, ...]], tuple[int, ...]]:
    found: dict[str, set[str]] = defaultdict(set)
    for pref, name in zip(frame["pref"], frame["name"], strict=True):
        found[fold(name)].add(pref)
        # 足柄上郡大井町 is also written 大井町; 横浜市中区 also 横浜市.
        m = re.match(r"^(.+?郡)(.+)$", name)
        if m:
            found[fold(m.group(2))].add(pref)
        m = re.match(r"^(.+?市)(.+区)$", name)
        if m:
            found[fold(m.group(1))].add(pref)
    other = {k: tuple(sorted(v)) for k, v in found.items()}
    return other, tuple(sorted({len(k) for k in other}, reverse=True))
