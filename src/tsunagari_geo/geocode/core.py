"""The offline geocoder: one free-text Japanese address in, one :class:`GeocodeResult` out.

Matching runs on folded text (:func:`tsunagari_geo.text.fold`: NFKC, one spelling per kanji and
ヶ/の variant) so 丸が崎 meets 丸ヶ崎, and what comes out is always the dictionary's spelling.
Steps (each one method of :class:`Geocoder`, called in turn by ``_parse``): the prefecture
(the region's, another one, or none), the municipality by longest prefix (with or without 郡,
current or former name), one municipality when several share the written name, the ward of a
designated city written without it, then the town (大字・町丁目) by longest prefix inside that
unit, 丁目 read from 六丁目, 6丁目 or the first number of 6-4-4. What follows is ``rest``
(番地・号, building, room) with 番地/番/号/の written as dashes.

Levels: 0 nothing, 1 prefecture, 2 municipality, 3 town. Statuses: ``matched`` (level 3),
``partial`` (level 2, town not found), ``ambiguous`` (the text does not decide: a designated
city's town in several wards, 大字X versus X町, a pref-less name used in several prefectures),
``outside_prefecture``, ``empty`` and ``unmatched``. ``reason`` is a comma-separated list of short
codes (see :data:`REASONS`; :func:`reason_text` says each for a region).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tsunagari_geo.geocode.dictionary import (
    AddressDictionary,
    MuniName,
    PrefectureIndex,
    Town,
    TownGroup,
    UnitIndex,
)
from tsunagari_geo.geocode.suggest import suggest_municipalities, suggest_towns
from tsunagari_geo.region import Region
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import Store, open_store
from tsunagari_geo.text import fold_compact, kanji_to_int, normalize_address

#: Every reason code and what a person can do about it; {pref} is the region's prefecture,
#: {city} its designated cities (see :func:`reason_text`).
REASONS: dict[str, str] = {
    "empty": "住所が空です",
    "outside_prefecture": "{pref}外の住所です",
    "municipality_not_found": "市区町村が読み取れません",
    "town_not_found": "町名・大字が辞書にありません",
    "chome_not_found": "その丁目は辞書にありません (町だけが辞書にあるときは町の代表点)",
    "area_name_omitted": "町名の前の地区名が抜けた旧い書き方と読みました (三栄町 → 四谷三栄町)",
    "variant_kanji": "「舟」を「船」と読み替えた町名です",
    "ward_inferred": "{city}の区を町名から推定しました",
    "ward_ambiguous": "同じ町名が複数の区にあります。区を書いてください",
    "oaza_machi_pair": "大字Xと X町 の両方があり、書き方から決まりません",
    "chome_or_banchi": "大字Xと X○丁目 の両方があり、数字が丁目か番地か決まりません",
    "oaza_same_name": "同名の大字もありますが、数字の並びから丁目と読みました",
    "former_municipality": "旧市町村名から現在の市町村に読み替えました",
    "name_in_other_prefectures": "県名がなく、同名の市町村が他県にもあります",
    "gun_mismatch": "郡名が市町村と一致しません",
    "chome_from_number": "丁目を番地の最初の数字から読みました",
    "point_imputed": "町の代表点が辞書になく推定した点です",
    "municipality_from_context": "市区町村を別の列から補いました",
    "koaza": "小字の代表点を使いました",
    "ward_without_city": "区名だけで{city}の区と読みました",
    "municipality_ambiguous": "同じ名前の市区町村が複数あり、町名からも決まりません",
    "municipality_suffix_omitted": "市・町・村の字が抜けた市町村名と読みました",
    "machi_omitted": "町名の「町」が抜けていると読みました",
    "name_outside_prefecture": "県名がなく、市区町村名が{pref}外のものです",
    "remote_point": "オンラインの補助ジオコーダの点です (精度は不明)",
    "override_town": "上書きファイルの町名を使いました",
    "override_point": "上書きファイルの緯度経度を使いました",
    "chome_not_given": "丁目が書かれていないため、町全体の中心を位置にしました (丁目は候補欄)",
    "aza_not_given": "字が書かれていないため、大字全体の中心を位置にしました (字は候補欄)",
    "street_directions": "町名の前の通り名と上ル・下ル・西入・東入を読み飛ばしました",
}

Status = str


def reason_text(code: str, region: Region) -> str:
    """What a reason code (``former_municipality:大宮市`` too) means, in the region's words.

    >>> reason_text("outside_prefecture", load_region("saitama"))  # doctest: +SKIP
    '埼玉県外の住所です'
    """
    template = REASONS[code.split(":", 1)[0]]
    cities = "・".join(region.registry.by_code[c].name for c in region.designated_city_codes)
    return template.format(pref=region.pref_name, city=cities or "政令指定都市")


_OAZA_PREFIXES = ("大字", "字")
# At most 9 digits: a longer run is no 丁目, and int() refuses runs over 4,300 digits.
# 丁 alone is how 堺市 writes its 丁目 (北花田町2丁4-1); 丁 before a digit or dash only, so a
# name continuing after 丁 (八丁堀) is not read as a 丁目.
_CHOME_EXPLICIT_RE = re.compile(r"([0-9]{1,9}|[一二三四五六七八九十]+)(?:丁目|丁(?=[0-9-]|$))")
_CHOME_LEADING_RE = re.compile(r"([0-9]{1,9})(?:-(?=[0-9])|(?![0-9番号の]))")
_MORE_NUMBERS_RE = re.compile(r"[0-9]+-[0-9]+")
_GUN_RE = re.compile(r"[^市区町村郡]{1,5}郡")
#: What may follow a town group's name (東越谷): the end, a block number, a 丁目 that is not in
#: the dictionary, 番地/号, a bracket; anything else means the name goes on.
_GROUP_END_RE = re.compile(r"$|[0-9\-一二三四五六七八九十丁番号の(（]")
#: Reasons after which spelling suggestions are looked for.
_SUGGEST_FOR = frozenset({"municipality_not_found", "town_not_found"})
# Kanji numerals count as a block number only before 番/号/の/-: 千代田 and 一番館 are names.
_NUM = r"(?:[0-9]+|[〇一二三四五六七八九十百千]+(?=番|号|の|-|$))"
_BLOCK_RE = re.compile(f"^{_NUM}(?:(?:番地の|番地|番|の|-){_NUM})*(?:番地|番|号)?")
_BLOCK_PART_RE = re.compile(r"[0-9]+|[〇一二三四五六七八九十百千]+")
#: Street names with a direction (…通二条下ル, 北小路通上る, 堀川西入) before any number.
_STREET_DIRECTIONS_RE = re.compile(r"[^0-9]*?(?:[上下](?:ル|る)|[東西]入(?:ル|る)?)(?![0-9])")


@dataclass(slots=True)
class GeocodeResult:
    """What the geocoder found for one address (see the module docstring for the fields)."""

    input: str
    normalized: str = ""
    pref: str = ""
    city: str = ""
    #: the 72-unit code (for さいたま市 its ward); empty when the text names only the city or
    #: a town in several of its wards: the ward is then not known, and none is invented.
    unit_code: str = ""
    #: the 63-municipality code (a ward's city, else the unit itself).
    muni_code: str = ""
    town: str = ""
    #: the 小字 (koaza, 字) the text goes on with after ``town``, as the dictionary writes it
    #: (木津池田 → 木津 and 池田); the point is then the 小字's. ``town`` stays the 大字, which is
    #: what town-level privacy shows; ``town`` + ``koaza`` is the full 町字. Empty when no
    #: 小字 of the dictionary was read (an unknown one stays in ``rest``).
    koaza: str = ""
    rest: str = ""
    level: int = 0
    lat: float | None = None
    lng: float | None = None
    status: Status = "unmatched"
    reason: str = ""
    candidates: tuple[str, ...] = field(default_factory=tuple)
    #: the address with a municipality or town name that was not found replaced by one a
    #: character away (伊那町小室1-2 → 北足立郡伊奈町小室1-2); a hint for a person, never
    #: applied (see .suggest).
    suggestions: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready values (candidates and suggestions as lists), with
        ``unit_code`` (72 units) and ``muni_code`` (63 municipalities) both present."""
        out = asdict(self)
        out["candidates"] = list(self.candidates)
        out["suggestions"] = list(self.suggestions)
        return out


@dataclass(slots=True)
class _TownHit:
    #: None when the text stops undecided (大字X / X町 pair) or at an unknown 丁目.
    town: Town | None
    end: int
    reasons: list[str]
    #: the towns the text could mean when it does not decide.
    candidates: tuple[Town, ...] = ()


@dataclass(slots=True)
class _Reading:
    """One address being read: its folded key, where the reading stands, what it found so far.

    ``key`` is the folded address without spaces; ``positions`` maps an index of ``key`` back
    to ``normalized`` so ``rest`` keeps the address's own spelling and spaces.
    """

    result: GeocodeResult
    key: str
    positions: Sequence[int]
    #: the prefecture (ours) was written: pref-less readings elsewhere in Japan are off.
    pref_written: bool = False
    #: where the municipality starts and ends in ``key``.
    start: int = 0
    end: int = 0
    reasons: list[str] = field(default_factory=list)
    #: other prefectures having the municipality name as written (美里町: 宮城県, 熊本県).
    elsewhere: tuple[str, ...] = ()

    @classmethod
    def of(cls, text: str) -> _Reading:
        normalized = normalize_address(text)
        positions: Sequence[int]
        if " " in normalized:
            compact = normalized.replace(" ", "")
            positions = [i for i, c in enumerate(normalized) if c != " "]
        else:
            compact, positions = normalized, range(len(normalized))
        result = GeocodeResult(input=text, normalized=normalized)
        return cls(result=result, key=fold_compact(compact), positions=positions)

    def rest_from(self, i: int) -> str:
        """What follows ``key[i:]`` in the address, 番地・号 written as dashes."""
        normalized = self.result.normalized
        return _clean_rest(normalized[self.positions[i] :]) if i < len(self.positions) else ""

    def fresh(self, level: int = 0) -> GeocodeResult:
        """A new result for the same text, for a reading that throws away what it found."""
        return GeocodeResult(
            input=self.result.input, normalized=self.result.normalized, level=level
        )

    def outside(self, prefs: tuple[str, ...], end: int, *, by_name: bool = True) -> GeocodeResult:
        """The address is in another prefecture (one of ``prefs``, when the text says no more)."""
        result = self.fresh(level=1)
        result.status = "outside_prefecture"
        result.reason = (
            "outside_prefecture,name_outside_prefecture" if by_name else "outside_prefecture"
        )
        result.pref = prefs[0] if len(prefs) == 1 else ""
        result.candidates = prefs if len(prefs) > 1 else ()
        result.rest = self.rest_from(end)
        return result


class Geocoder:
    """Geocode addresses of the store's region against an :class:`AddressDictionary`.

    Pure and deterministic; everything it knows comes from the store.

    >>> geocoder = Geocoder.from_store(open_store("data/build/tsunagari.gpkg"))  # doctest: +SKIP
    >>> geocoder.geocode("さいたま市浦和区常盤6-4-4").town  # doctest: +SKIP
    '常盤六丁目'
    """

    def __init__(self, dictionary: AddressDictionary) -> None:
        self.dictionary = dictionary
        self._registry = dictionary.registry
        self._region = dictionary.region
        self._pref_prefixes = dictionary.pref_prefixes

    @classmethod
    def from_store(cls, store: Store | None = None) -> Geocoder:
        """Build from a store (default: the configured one); nothing else is read.

        Raises StoreError when the store is missing, from an older import, or lacks the other
        prefectures' municipality names (re-run ``tsunagari-geo data import``).
        """
        if store is None:
            store = open_store(get_settings().store)
        return cls(AddressDictionary.from_store(store))

    @property
    def region(self) -> Region:
        """The region this geocoder reads addresses of."""
        return self._region

    @property
    def load_seconds(self) -> float:
        """Seconds spent building the dictionary."""
        return self.dictionary.load_seconds

    def reason_text(self, code: str) -> str:
        """What a reason code means, for this region (``outside_prefecture`` → 埼玉県外の住所です)."""
        return reason_text(code, self._region)

    # --- public ------------------------------------------------------------------------------

    def geocode(
        self, address: str | None, context: str | None = None, *, suggest: bool = True
    ) -> GeocodeResult:
        """Geocode one address; ``context`` (e.g. a separate 市区町村 column) fills a gap.

        The address is read on its own first; only when it names no municipality (and is not
        outside the prefecture) is ``context + address`` read instead, marked
        ``municipality_from_context``. ``suggest=False`` skips the spelling suggestions (the
        slow part of a miss) when only the answer is wanted. Never raises on any string.
        """
        result = self._read(address, context)
        codes = set(result.reason.split(","))
        if suggest and result.status in ("partial", "unmatched") and codes & _SUGGEST_FOR:
            result.suggestions = self._suggest(result, codes)
        return result

    def _suggest(self, result: GeocodeResult, codes: set[str]) -> tuple[str, ...]:
        def level_of(address: str) -> int:
            return self._parse(address).level

        if "municipality_not_found" in codes:
            compact = result.normalized.replace(" ", "")
            return suggest_municipalities(self.dictionary, compact, level_of, above=result.level)
        rest = result.rest.replace(" ", "")
        towns = suggest_towns(
            self.dictionary,
            result.unit_code or result.muni_code,
            rest,
            level_of,
            above=result.level,
        )
        if towns:
            return towns
        if "municipality_from_context" in codes:
            # The municipality came from another column because the address's own was
            # misspelt (伊那町寿 beside 伊奈町): suggest its spelling.
            return suggest_municipalities(self.dictionary, rest, level_of, above=result.level)
        if not result.unit_code and result.muni_code in self.dictionary.wards_by_city:
            # A designated city and then no town: the ward may be the misspelt part (浦話区).
            city = self._registry.by_code[result.muni_code].name
            return suggest_municipalities(
                self.dictionary, city + rest, level_of, above=result.level
            )
        return ()

    def _read(self, address: str | None, context: str | None) -> GeocodeResult:
        text = "" if address is None else str(address)
        result = self._parse(text)
        if not context or result.status == "empty":
            return result
        codes = set(result.reason.split(","))
        retry = (
            (result.level < 2 and result.status != "outside_prefecture")
            # 栄町704 with 市区町村 = 白岡市: 栄町 is a municipality only elsewhere in Japan.
            or "name_outside_prefecture" in codes
            # 三郷鷹野 or 北区宮原町 read without the city: believe the context if it differs.
            or bool(codes & {"municipality_suffix_omitted", "ward_without_city"})
        )
        if not retry:
            return result
        body = result.normalized
        for pref in self._region.pref_prefixes:
            if body.startswith(pref):
                body = body[len(pref) :]
                break
        prefix = normalize_address(str(context))
        joined = self._parse(prefix + body)
        better = joined.level > result.level or (
            joined.level == result.level == 3 and joined.unit_code != result.unit_code
        )
        if (
            "name_outside_prefecture" in codes
            and joined.level < 3
            and not self._context_overrules_name(prefix, result.normalized)
        ):
            # 千代田区丸の内 beside 市区町村 = 川口市: only a real town here overrules the name.
            better = False
        # 1-1 beside 東京都 / 千代田区 / 丸の内 (split columns): outside, not unmatched.
        outside = joined.status == "outside_prefecture" and result.level == 0
        if (joined.level >= 2 or outside) and better:
            joined.input = text
            joined.normalized = result.normalized
            joined.reason = _join(joined.reason, "municipality_from_context")
            return joined
        return result

    def _context_overrules_name(self, context: str, address: str) -> bool:
        """Whether a context here beats a name the address shares with another prefecture.

        栄町704 beside 埼玉県 / 白岡市: 栄町 is a municipality only elsewhere, but also a common
        town name; the context names the prefecture or one of its municipalities, so the row
        means here. A city or ward name (千代田区丸の内 beside 川口市) stays outside unless the
        prefecture is written.
        """
        key = fold_compact(context.replace(" ", ""))
        if key.startswith(self._pref_prefixes[-1]):
            return True
        d = self.dictionary
        if _longest(d.names, d.name_lengths, key, 0) is None:
            return False
        address_key = fold_compact(address.replace(" ", ""))
        other = _longest(d.other_names, d.other_lengths, address_key, 0)
        return other is not None and address_key[: other[1]].endswith(("町", "村"))

    # --- steps -------------------------------------------------------------------------------

    def _parse(self, text: str) -> GeocodeResult:
        """Read one address: prefecture, then municipality, then town; each step may finish."""
        r = _Reading.of(text)
        if not r.result.normalized:
            r.result.status = r.result.reason = "empty"
            return r.result
        outside = self._read_prefecture(r)
        if outside is not None:
            return outside
        names = self._read_municipality(r)
        if isinstance(names, GeocodeResult):
            return names
        name = self._choose_name(r, names)
        if isinstance(name, GeocodeResult):
            return name
        if name.former:
            r.reasons.append(f"former_municipality:{name.former}")
        if name.code in self.dictionary.wards_by_city:
            return self._designated_city(r, name)
        return self._read_town(r, name)

    def _read_prefecture(self, r: _Reading) -> GeocodeResult | None:
        """Consume our prefecture if written; another prefecture written first ends the reading.

        The short form (埼玉 for 埼玉県) counts only when a municipality follows (埼玉狭山市…).
        """
        d = self.dictionary
        full, *short = self._pref_prefixes
        if r.key.startswith(full):
            r.start, r.pref_written = len(full), True
            return None
        for stem in short:
            if r.key.startswith(stem) and _longest(d.names, d.name_lengths, r.key, len(stem)):
                r.start, r.pref_written = len(stem), True
                return None
        for n in (3, 4):
            pref = d.prefectures.get(r.key[:n])
            if pref is not None:
                return self._outside(r, (pref,), n, n, by_name=False)
        for n in (2, 3):
            # 岩手花巻市, 福島石川郡石川町, 千葉市川市: another prefecture without 県, taken only
            # when one of its municipalities follows (千葉市中央区 stays the city 千葉市).
            pref = d.prefecture_stems.get(r.key[:n])
            if pref is None:
                continue
            other = _longest(d.other_names, d.other_lengths, r.key, n)
            if other is not None and pref in other[0]:
                return self._outside(r, (pref,), n, n, by_name=False)
        return None

    def _read_municipality(self, r: _Reading) -> list[MuniName] | GeocodeResult:
        """The municipality names the text starts with, or the result when there is none here.

        Without the prefecture written, a name longer elsewhere in Japan (中央区銀座 read as
        東京都) wins, and a name used elsewhere too is remembered in ``r.elsewhere``.
        """
        d = self.dictionary
        names, r.end = self._match_municipality(r.key, r.start, r.reasons)
        result = r.result
        if names is None:
            if not r.pref_written:
                other = _longest(d.other_names, d.other_lengths, r.key, r.start)
                if other is not None:
                    return self._outside(r, other[0], r.start, other[1])
                result.reason = "municipality_not_found"
                return result
            result.pref, result.level = self._region.pref_name, 1
            result.reason = "municipality_not_found"
            result.rest = r.rest_from(r.start)
            return result
        result.pref, result.level = self._region.pref_name, 1
        if not r.pref_written:
            other = _longest(d.other_names, d.other_lengths, r.key, r.start)
            if other is not None and other[1] > r.end:
                return self._outside(r, other[0], r.start, other[1])
            written = _GUN_RE.sub("", r.key[r.start : r.end], count=1)
            r.elsewhere = d.other_names.get(written, ())
        return names

    def _outside(
        self, r: _Reading, prefs: tuple[str, ...], start: int, end: int, *, by_name: bool = True
    ) -> GeocodeResult:
        """An address in another prefecture (one of ``prefs``), read on to its town when the
        store holds all Japan; the municipality starts at ``key[start:]``.

        The status stays ``outside_prefecture`` whatever is found, so analysis of the region
        can leave such rows out (or take them in) on purpose. A municipality name several of
        ``prefs`` share (府中市: 東京都, 広島県) is decided by the town that follows; when the
        town does not decide either, the candidates are listed and no point is given.
        """
        result = r.outside(prefs, end, by_name=by_name)
        d = self.dictionary
        if not d.has_japan:
            return result
        places: list[_Place] = []
        for pref in prefs:
            index = d.prefecture(pref)
            if index is not None:
                places.extend(_places_in(index, r.key, start))
        if places:
            _read_outside(r, result, places)
        return result

    def _choose_name(self, r: _Reading, names: list[MuniName]) -> MuniName | GeocodeResult:
        """One municipality when several share the written name (西区 of two designated cities).

        The one whose towns match what follows wins; if none or several do, the text does not
        decide and the result is ``ambiguous`` at the prefecture level, never a guess.
        """
        if len(names) == 1:
            return names[0]
        hits = [
            (name, hit)
            for name in names
            if (hit := self._town_of(name, r.key, r.end)) is not None and hit.town is not None
        ]
        if hits:
            best = max(h.end for _, h in hits)
            hits = [(n, h) for n, h in hits if h.end == best]
        if len(hits) == 1:
            return hits[0][0]
        result = r.result
        result.status = "ambiguous"
        result.reason = _join(*r.reasons, "municipality_ambiguous")
        if hits:
            result.candidates = tuple(
                f"{self._full_name(n.code)}{h.town.town if h.town else ''}" for n, h in hits
            )
        else:
            result.candidates = tuple(self._full_name(n.code) for n in names)
        result.rest = r.rest_from(r.end)
        return result

    def _town_of(self, name: MuniName, key: str, i: int) -> _TownHit | None:
        """The town at ``key[i:]`` in ``name``'s unit, or in one ward of a designated city."""
        wards = self.dictionary.wards_by_city.get(name.code)
        if wards is None:
            return self._match_town_with_stems(self.dictionary.towns[name.code], key, i, name)
        hits = [self._match_town_with_stems(self.dictionary.towns[w], key, i, name) for w in wards]
        found = [h for h in hits if h is not None and h.town is not None]
        return found[0] if len(found) == 1 else None

    def _read_town(self, r: _Reading, name: MuniName) -> GeocodeResult:
        """The town inside one unit; a name that is only trusted with a town is checked here."""
        hit = self._match_town_with_stems(self.dictionary.towns[name.code], r.key, r.end, name)
        self._set_unit(r.result, name.code)
        found = hit is not None and hit.town is not None
        if name.ward_alone:
            r.reasons.append("ward_without_city")
            if not found and not r.pref_written and r.elsewhere:
                # 中央区銀座: a ward name alone, no town of ours behind it, and the name is used
                # elsewhere (東京都中央区): not ours.
                return self._outside(r, r.elsewhere, r.start, r.start)
        if name.suffix_omitted:
            if not found:
                # 三郷 alone proves nothing; only 三郷 + a town of 三郷市 reads as 三郷市.
                unknown = r.fresh()
                unknown.reason = "municipality_not_found"
                if r.pref_written:
                    unknown.pref, unknown.level = self._region.pref_name, 1
                unknown.rest = r.rest_from(r.start)
                return unknown
            r.reasons.append("municipality_suffix_omitted")
        if hit is None or hit.town is None:
            return self._town_missing(r, name, hit)
        return self._finish(r, hit.town, hit)

    def _match_municipality(
        self, key: str, i: int, reasons: list[str]
    ) -> tuple[list[MuniName] | None, int]:
        d = self.dictionary
        found = _longest(d.names, d.name_lengths, key, i)
        if found is not None and not found[0][0].suffix_omitted:
            return found
        # A wrong or unknown 郡 (入間郡滑川町, where 入間 alone would read as 入間市): skip it,
        # read on, and say so.
        m = _GUN_RE.match(key, i)
        if m is not None:
            after_gun = _longest(d.names, d.name_lengths, key, m.end())
            if after_gun is not None:
                guns = {fold_compact(self._gun_of(e.code)) for e in after_gun[0]}
                if m.group(0) not in guns:
                    reasons.append("gun_mismatch")
                return after_gun
        return found if found is not None else (None, i)

    def _gun_of(self, code: str) -> str:
        muni = self._registry.by_code.get(code)
        return muni.gun if muni is not None else ""

    def _full_name(self, code: str) -> str:
        muni = self._registry.by_code.get(code)
        return muni.full_name if muni is not None else self.dictionary.units[code].name

    def _set_unit(self, result: GeocodeResult, code: str) -> None:
        unit = self.dictionary.units[code]
        muni = self._registry.by_code.get(code)
        result.city = self._full_name(code)
        # A designated city without its ward is a municipality, not a unit.
        city_only = muni is not None and muni.kind == "designated_city"
        result.unit_code = "" if city_only else code
        result.muni_code = muni.muni_code if muni is not None else code
        result.level = 2
        result.lat, result.lng = unit.lat, unit.lng

    def _match_town_with_stems(
        self, index: UnitIndex, key: str, i: int, name: MuniName
    ) -> _TownHit | None:
        # A former municipality's towns often kept its name: 鳩ヶ谷市本町 → 鳩ヶ谷本町,
        # 菖蒲町菖蒲 → 菖蒲町菖蒲. Try those spellings before the plain one.
        for stem in name.stems:
            hit = _match_town(index, stem + key[i:], 0)
            if hit is not None and hit.end > len(stem):
                hit.end = hit.end - len(stem) + i
                return hit
        return _match_town(index, key, i)

    def _designated_city(self, r: _Reading, name: MuniName) -> GeocodeResult:
        """A designated city without its ward: the ward is the one whose towns match, if only
        one does; otherwise the result stays at the city (municipality level)."""
        d = self.dictionary
        result = r.result
        hits: list[tuple[str, _TownHit]] = []
        for code in d.wards_by_city[name.code]:
            hit = self._match_town_with_stems(d.towns[code], r.key, r.end, name)
            if hit is not None:
                hits.append((code, hit))
        if hits:
            best = max(h.end for _, h in hits)
            hits = [(c, h) for c, h in hits if h.end == best]
        if len(hits) == 1:
            # One ward has the town (丸ヶ崎 only in 見沼区): that ward, read as if written.
            code, hit = hits[0]
            self._set_unit(result, code)
            r.reasons.append("ward_inferred")
            if hit.town is None:
                return self._town_missing(r, name, hit)
            return self._finish(r, hit.town, hit)
        self._set_unit(result, name.code)
        if len(hits) > 1:
            result.status = "ambiguous"
            r.reasons.append("ward_ambiguous")
            result.candidates = tuple(
                f"{d.units[c].name}{h.town.town if h.town else ''}" for c, h in hits
            )
            result.rest = r.rest_from(best)
        else:
            result.status = "partial"
            r.reasons.append("town_not_found")
            result.rest = r.rest_from(r.end)
        result.reason = _join(*r.reasons)
        return result

    def _town_missing(self, r: _Reading, name: MuniName, hit: _TownHit | None) -> GeocodeResult:
        result = r.result
        if hit is not None:  # the text stopped at a pair or an unknown 丁目
            r.reasons.extend(hit.reasons)
            result.rest = r.rest_from(hit.end)
            result.status = "ambiguous" if hit.candidates else "partial"
            result.candidates = tuple(f"{result.city}{t.town}" for t in hit.candidates)
        else:
            if r.elsewhere:
                # 美里町 is in 埼玉県, 宮城県 and 熊本県: without the prefecture and without a
                # town of ours behind it, the name alone proves nothing.
                result.status = "ambiguous"
                r.reasons.append("name_in_other_prefectures")
                result.candidates = (
                    f"{self._region.pref_name}{result.city}",
                    *(f"{p}" for p in r.elsewhere),
                )
                result.pref, result.city = "", ""
                result.unit_code, result.muni_code = "", ""
                result.level, result.lat, result.lng = 0, None, None
            else:
                result.status = "partial"
                r.reasons.append("town_not_found")
            result.rest = r.rest_from(r.end)
        result.reason = _join(*r.reasons)
        return result

    def _finish(self, r: _Reading, town: Town, hit: _TownHit) -> GeocodeResult:
        result = r.result
        result.town, result.koaza = _names_of(town)
        result.level = 3
        result.lat, result.lng = town.lat, town.lng
        result.status = "matched"
        r.reasons.extend(hit.reasons)
        if isinstance(town, TownGroup):
            city = result.city
            result.candidates = tuple(f"{city}{t.town}{t.koaza}" for t in town.parts)
        elif town.point_source != "dictionary":
            r.reasons.append(f"point_imputed:{town.point_source}")
        result.rest = r.rest_from(hit.end)
        result.reason = _join(*r.reasons)
        return result


@dataclass(slots=True)
class _Place:
    """One reading of an address in another prefecture: a municipality (or one ward of it)."""

    index: PrefectureIndex
    #: the municipality as the text names it (札幌市) and the unit read (札幌市中央区).
    muni: str
    unit: str
    end: int
    hit: _TownHit | None
    #: a 郡 was written that is not this municipality's (多野郡下仁田町).
    gun_mismatch: bool = False

    @property
    def found(self) -> bool:
        return self.hit is not None and self.hit.town is not None

    def name(self) -> str:
        town = self.hit.town if self.hit is not None and self.hit.town is not None else None
        label = "" if town is None else town.town + town.koaza
        return f"{self.index.pref}{self.unit}{label}"


def _places_in(index: PrefectureIndex, key: str, i: int) -> list[_Place]:
    """Every municipality (every ward of a designated city) of ``index`` the text at ``key[i:]``
    can name, each with the town read inside it; 郡 may be written or not, or wrongly."""
    found = _longest(index.names, index.name_lengths, key, i)
    gun = ""
    if found is None:
        m = _GUN_RE.match(key, i)
        if m is not None:
            gun = m.group(0)
            found = _longest(index.names, index.name_lengths, key, m.end())
    if found is None:
        return []
    munis, end = found
    return [
        _Place(
            index,
            muni,
            unit,
            end,
            _match_town(index.towns[unit], key, end),
            gun_mismatch=bool(gun) and fold_compact(index.units[muni].gun) != gun,
        )
        for muni in munis
        for unit in index.wards_by_city.get(muni, (muni,))
    ]


def _read_outside(r: _Reading, result: GeocodeResult, places: list[_Place]) -> None:
    """Fill ``result`` (status ``outside_prefecture``) from the readings in ``places``: the one
    town they agree on, else the one municipality, else the candidates."""
    reasons = [result.reason]
    with_town = [p for p in places if p.found]
    if with_town:
        best = max(p.hit.end for p in with_town if p.hit is not None)
        places = [p for p in with_town if p.hit is not None and p.hit.end == best]
    else:
        # No town: one entry per municipality named (a designated city once, not per ward).
        places = list({(p.index.pref, p.muni): p for p in places}.values())
    prefs = {p.index.pref for p in places}
    if len(prefs) == 1:
        result.pref, result.candidates = places[0].index.pref, ()
    if len(places) > 1:
        codes = "ward_ambiguous" if len(prefs) == 1 and with_town else "municipality_ambiguous"
        result.reason = _join(*reasons, codes)
        result.candidates = tuple(p.name() for p in places)
        if len(prefs) == 1 and len({p.muni for p in places}) == 1:
            _place_unit(result, places[0].index, places[0].muni)
        result.rest = r.rest_from(places[0].end)
        return
    place = places[0]
    hit = place.hit
    if place.gun_mismatch:
        reasons.append("gun_mismatch")
    ward_inferred = place.unit != place.muni
    _place_unit(result, place.index, place.unit if place.found else place.muni)
    if ward_inferred and place.found:
        reasons.append("ward_inferred")
    if hit is None or hit.town is None:
        if hit is not None:
            reasons.extend(hit.reasons)
            result.candidates = tuple(f"{result.pref}{result.city}{t.town}" for t in hit.candidates)
        else:
            reasons.append("town_not_found")
        result.rest = r.rest_from(hit.end if hit is not None else place.end)
        result.reason = _join(*reasons)
        return
    town = hit.town
    result.town, result.koaza = _names_of(town)
    result.level, result.lat, result.lng = 3, town.lat, town.lng
    reasons.extend(hit.reasons)
    if isinstance(town, TownGroup):
        where = f"{result.pref}{result.city}"
        result.candidates = tuple(f"{where}{t.town}{t.koaza}" for t in town.parts)
    elif town.point_source != "dictionary":
        reasons.append(f"point_imputed:{town.point_source}")
    result.rest = r.rest_from(hit.end)
    result.reason = _join(*reasons)


def _place_unit(result: GeocodeResult, index: PrefectureIndex, unit: str) -> None:
    """A municipality of another prefecture: its name and point, no code (not a unit here)."""
    point = index.units[unit]
    result.pref, result.city, result.level = index.pref, unit, 2
    result.lat, result.lng = point.lat, point.lng


def _longest(
    table: dict[str, Any], lengths: tuple[int, ...], key: str, i: int
) -> tuple[Any, int] | None:
    remaining = len(key) - i
    for n in lengths:
        if n <= remaining:
            value = table.get(key[i : i + n])
            if value is not None:
                return value, i + n
    return None


def _match_town(index: UnitIndex, key: str, i: int) -> _TownHit | None:
    """Longest town at ``key[i:]``; a hit with ``town=None`` when the text stops undecided.

    The dictionary's own keys come first; only when none matches is 町 taken as dropped
    (月吉19-19 → 月吉町), reported as ``machi_omitted``.
    """
    oaza = ""
    for prefix in _OAZA_PREFIXES:
        if key.startswith(prefix, i):
            oaza, i = prefix, i + len(prefix)
            break
    hit = _scan(index, index.plain, index.chome, index.lengths, key, i, oaza, exact=True)
    if hit is None and oaza:
        # 八潮市 has a 大字 called 二丁目 (大字二丁目): the 大字 is part of what to match.
        hit = _scan(
            index, index.plain, index.chome, index.lengths, key, i - len(oaza), "", exact=True
        )
    if hit is None and index.alias_lengths:
        hit = _scan(
            index, index.alias_plain, index.alias_chome, index.alias_lengths, key, i, oaza,
            exact=False,
        )  # fmt: skip
        if hit is not None and hit.town is not None:
            hit.reasons.insert(0, "machi_omitted")
    if hit is None and index.area_lengths:
        hit = _scan(index, index.area_dropped, {}, index.area_lengths, key, i, oaza, exact=False)
        if hit is not None and hit.town is not None:
            hit.reasons.insert(0, "area_name_omitted")
    if hit is None and "舟" in key[i:]:
        # 一之舟入町 for 一之船入町: 舟 and 船 are written for each other in place names, but
        # not folded, because 中京区 has both 舟屋町 and 船屋町. Only when no town is
        # written with 舟 here is 船 tried (same length, so every index holds).
        hit = _match_town(index, key[:i] + key[i:].replace("舟", "船"), i - len(oaza))
        if hit is not None and hit.town is not None:
            hit.reasons.insert(0, "variant_kanji")
    if hit is None:
        # 河原町二条下ル一之船入町: the streets and the way to turn come before the town
        # (京都市); the town is what follows the last 上ル/下ル/西入/東入.
        street = _STREET_DIRECTIONS_RE.match(key, i)
        if street is not None:
            hit = _match_town(index, key, street.end())
            if hit is not None and hit.town is not None:
                hit.reasons.insert(0, "street_directions")
    return hit


def _scan(
    index: UnitIndex,
    plain: dict[str, Town],
    chome_index: dict[str, dict[int, Town]],
    lengths: tuple[int, ...],
    key: str,
    i: int,
    oaza: str,
    *,
    exact: bool,
) -> _TownHit | None:
    remaining = len(key) - i
    for n in lengths:
        if n > remaining:
            continue
        s = key[i : i + n]
        after = i + n
        reasons: list[str] = []
        chome = chome_index.get(s)
        if chome is not None:
            m = _CHOME_EXPLICIT_RE.match(key, after)
            number: int | None = None
            if m is not None:
                number = int(m.group(1)) if m.group(1).isdigit() else kanji_to_int(m.group(1))
            else:
                m = _CHOME_LEADING_RE.match(key, after)
                if m is not None:
                    number = int(m.group(1))
                    reasons.append("chome_from_number")
            if m is not None and number is not None:
                town = chome.get(number)
                same_name = plain.get(s)
                if town is not None and reasons and same_name is not None:
                    # 入間市 has 大字高倉 and 高倉三丁目: in 高倉3-5 the 3 may be a 丁目 or a
                    # 番地. Written 大字 decides. A small first number followed by more
                    # (3-5, 3-5-7) reads as a 丁目: on the real care-facility sample every such
                    # address lay nearer the 丁目 than the 大字. A lone number stays undecided.
                    if oaza:
                        return _TownHit(same_name, after, [])
                    if not _MORE_NUMBERS_RE.match(key, after):
                        return _TownHit(None, after, ["chome_or_banchi"], (same_name, town))
                    reasons.append("oaza_same_name")
                if town is not None:
                    return _TownHit(town, m.end(), reasons)
                if s not in plain and exact:
                    return _TownHit(None, after, ["chome_not_found"])
                reasons = []
        town = plain.get(s)
        if town is None:
            group = index.groups.get(s if exact else s + "町")
            if group is None:
                continue
            koaza_hit = _koaza_at(index, s, key, after) if exact else None
            if koaza_hit is not None:
                return koaza_hit
            if not _GROUP_END_RE.match(key, after):
                # Only a name that ends here is the group: 本町 in 本町田 is another name.
                continue
            # 東越谷 for 東越谷一丁目…十丁目: the group, its parts as candidates.
            return _TownHit(group, after, [_group_reason(group)], group.parts)
        if exact and s in index.machi_pairs and not oaza:
            return _TownHit(None, after, ["oaza_machi_pair"], (town, plain[s + "町"]))
        if _CHOME_EXPLICIT_RE.match(key, after):
            # 悲田院町1丁目 where the dictionary only has 悲田院町: the 丁目 is newer than the
            # dictionary (the town was divided into 丁目 after it was compiled). The town is
            # what was written, only its 丁目 is unknown: the town at its point, as for a town
            # written without its 丁目 (chome_not_given), the reason saying so and the 丁目
            # left in rest, never a silent one.
            return _TownHit(town, after, ["chome_not_found"])
        if exact and index.koaza:
            koaza_hit = _koaza_at(index, s, key, after)
            if koaza_hit is not None:
                return koaza_hit
        return _TownHit(town, after, reasons)
    return None


def _koaza_at(index: UnitIndex, town: str, key: str, i: int) -> _TownHit | None:
    """The 小字 of ``town`` written at ``key[i:]`` (with or without 字), if any."""
    j = i + 1 if key.startswith("字", i) else i
    for koaza_key, koaza_town in index.koaza_by_town.get(town, ()):
        if key.startswith(koaza_key, j):
            return _TownHit(koaza_town, j + len(koaza_key), ["koaza"])
    return None


def _names_of(town: Town) -> tuple[str, str]:
    """A matched town as a result says it: (``town``, ``koaza``).

    A 小字 of a 大字 is both names (木津, 池田); where the dictionary has no 大字 there
    (本庄市 （大字なし） 台町) the 小字 is the town's only name, so it is ``town``.
    """
    if town.town.startswith(("（", "(")):
        return town.koaza, ""
    return town.town, town.koaza


def _group_reason(group: TownGroup) -> str:
    return "aza_not_given" if group.parts and group.parts[0].koaza else "chome_not_given"


def _join(*codes: str) -> str:
    return ",".join(c for c in codes if c)


def _block_number(match: re.Match[str]) -> str:
    parts = []
    for m in _BLOCK_PART_RE.finditer(match.group(0)):
        p = m.group(0)
        parts.append(p if p.isdigit() else str(kanji_to_int(p)))
    return "-".join(parts)


_PLAIN_BLOCK_RE = re.compile(r"[0-9]+(?:-[0-9]+)*")
_PLAIN_BLOCK_HEAD_RE = re.compile(r"[0-9]+(?:-[0-9]+)*(?![0-9番号の\-])")
_KOAZA_LEAD_RE = re.compile(r"^字[^0-9\s]+?(?=[0-9])")


def _clean_rest(rest: str) -> str:
    """番地・号 written as dashes with Arabic digits: 四番地の四 → 4-4, 4番4号 → 4-4.

    A leading 小字 stays in front: 字原516番地1 → 字原516-1.
    """
    rest = rest.lstrip("-").lstrip()
    if _PLAIN_BLOCK_RE.fullmatch(rest):
        return rest  # already 12-3-4: the common case, kept cheap
    plain = _PLAIN_BLOCK_HEAD_RE.match(rest)
    if plain is not None:
        # 12-3 then a building, with nothing :data:`_BLOCK_RE` would read on: the next common
        # case, the same answer without converting each number.
        return plain.group(0) + _spaced_tail(rest[plain.end() :])
    koaza = _KOAZA_LEAD_RE.match(rest)
    if koaza is not None:
        return koaza.group(0) + _clean_rest(rest[koaza.end() :])
    m = _BLOCK_RE.match(rest)
    if m is None or not m.group(0):
        return rest
    return _block_number(m) + _spaced_tail(rest[m.end() :])


def _spaced_tail(tail: str) -> str:
    # 15番1号一番館 → "15-1 一番館", not "15-1一番館"
    if tail and not tail[0].isspace() and tail[0] not in "(-" and not tail.startswith("丁目"):
        return " " + tail
    return tail
