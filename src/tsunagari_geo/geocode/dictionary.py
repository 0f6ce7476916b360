"""The in-memory address dictionary the geocoder matches against, built from the reference store.

Everything is a plain ``dict`` keyed by folded text (:func:`tsunagari_geo.text.fold`), so one
address costs a handful of hash lookups: municipality names by prefix length, then per unit the
town keys by prefix length (longest first), with 丁目 towns also indexed by their base name and
chōme number so ``常盤6-4-4``, ``常盤6丁目`` and ``常盤六丁目`` all reach 常盤六丁目.

Other prefectures' municipality names (all Japan, from the Geolonia ``ja.json`` in the source
folder when it is there) are kept only to say ``outside_prefecture`` for an address written
without its prefecture; they never produce a match.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tsunagari_geo.reference.store import ReferenceStore
from tsunagari_geo.registry import SAITAMA_CITY_CODE, Registry, load_registry
from tsunagari_geo.settings import PREFECTURE_NAME
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
    """A unit (municipality, or ward of さいたま市) with its representative point."""

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
    #: a ward of さいたま市 written without the city (見沼区丸ヶ崎町): trusted only with a town.
    ward_alone: bool = False
    #: 三郷 for 三郷市, 鳩山 for 鳩山町: trusted only when a town of that unit follows.
    suffix_omitted: bool = False


@dataclass
class AddressDictionary:
    """All lookup structures, built once by :meth:`from_store`; ``load_seconds`` says how long."""

    units: dict[str, Unit]
    towns: dict[str, UnitIndex]
    #: folded written form → possible municipalities (one, except 府中市-like clashes of formers).
    names: dict[str, list[MuniName]]
    name_lengths: tuple[int, ...]
    #: folded 郡 names of Saitama (比企郡 …), consumed and checked when written.
    guns: dict[str, str]
    ward_codes: tuple[str, ...]
    #: folded municipality name outside Saitama → prefectures having it (for pref-less input).
    other_names: dict[str, tuple[str, ...]]
    other_lengths: tuple[int, ...]
    prefectures: dict[str, str]
    registry: Registry
    load_seconds: float = 0.0

    @classmethod
    def from_store(
        cls, store: ReferenceStore, *, japan_index: Path | None = None
    ) -> AddressDictionary:
        """Build the dictionary from the store's units and towns (and optionally ``ja.json``).

        ``japan_index`` is the Geolonia ``ja.json`` listing every municipality of Japan; when
        given (the default geocoder looks for it in the source folder) pref-less addresses in
        other prefectures are recognised as ``outside_prefecture`` instead of ``unmatched``.
        """
        started = time.perf_counter()
        registry = load_registry()
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
        names, guns = _build_names(registry, units)
        other, other_lengths = _load_japan(japan_index, names)
        ward_codes = tuple(m.code for m in registry.wards_of(SAITAMA_CITY_CODE))
        result = cls(
            units=units,
            towns=towns,
            names=names,
            name_lengths=tuple(sorted({len(k) for k in names}, reverse=True)),
            guns=guns,
            ward_codes=ward_codes,
            other_names=other,
            other_lengths=other_lengths,
            prefectures={fold(p): p for p in PREFECTURES},
            registry=registry,
        )
        result.load_seconds = time.perf_counter() - started
        return result


def _build_towns(store: ReferenceStore, units: dict[str, Unit]) -> dict[str, UnitIndex]:
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
    registry: Registry, units: dict[str, Unit]
) -> tuple[dict[str, list[MuniName]], dict[str, str]]:
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
    add("さいたま市", MuniName(SAITAMA_CITY_CODE))
    for ward in registry.wards_of(SAITAMA_CITY_CODE):
        add(ward.name.removeprefix("さいたま市"), MuniName(ward.code, ward_alone=True))
    for m in registry.units:
        if m.kind == "ward" or m.name.endswith("区"):
            continue
        stem = m.name[:-1]
        if len(stem) >= 2 and fold(stem) not in names:
            add(stem, MuniName(m.code, suffix_omitted=True))
            if m.gun:
                add(m.gun + stem, MuniName(m.code, suffix_omitted=True))
    current = {fold(m.name) for m in registry.units} | {fold("さいたま市")}
    for f in registry.former:
        if fold(f.former_name) in current:
            continue  # 秩父市 before and after its merger: the current name already covers it
        stem = _stem(f.former_name)
        entry = MuniName(f.successor_code, f.former_name, (fold(f.former_name), fold(stem)))
        add(f.former_name, entry)
        if f.former_gun:
            add(f.former_gun + f.former_name, entry)
            guns.setdefault(fold(f.former_gun), f.former_gun)
    for code in list(units):
        if code not in {m.code for m in registry.units} and code != SAITAMA_CITY_CODE:
            log.warning("unit %s in the store is not in the registry", code)
    return dict(names), guns


def _load_japan(
    path: Path | None, saitama: dict[str, list[MuniName]]
) -> tuple[dict[str, tuple[str, ...]], tuple[int, ...]]:
    if path is None or not path.is_file():
        return {}, ()
    data = json.loads(path.read_text(encoding="utf-8"))
    found: dict[str, set[str]] = defaultdict(set)
    for pref, names in data.items():
        if pref == PREFECTURE_NAME:
            continue
        for name in names:
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
