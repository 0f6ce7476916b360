"""Public and planners' views of activities: where each one may be shown, and how precisely.

``location_privacy`` (場所の公開範囲) decides what the public sees:

========== =================================================================================
exact      the activity's own point and full address
town       the dictionary point of its 大字・町丁目 (町字), address cut after the town (no 番地)
municipality the representative point of its municipality (for さいたま市, of its ward, or of the
           city when the ward is not known), address cut after the municipality (no town)
hidden     nothing: the row is absent from the public view
========== =================================================================================

A row's ``phone``, ``email`` and ``line_url`` are public only where the member set
``contact_public`` to yes; elsewhere they are empty in the public view (the planners' view
keeps them), and ``phone_uri`` is the ``tel:`` link of a public number.

Unpublished rows (``published`` false) are absent as well, and so is a town- or
municipality-level row whose own public text names what its point withholds (its 町丁目 for
a municipality-level row, its 番地 or building for both), until the text is changed or the
secretariat marks it reviewed (``place_text_reviewed``): see :func:`withheld_place_words`. Every public row carries
``location_precision`` (exact | town | municipality | none) saying how precise its point is
(``none``: no place at all, e.g. a prefecture-wide phone line, kept with a null geometry); a row is
never shown more precisely than its privacy allows, and when the town cannot be determined a
town-level row falls back to its municipality (coarser, never finer). The public frame keeps
no ``lat``/``lng``, no ``location_privacy`` and no ``published`` columns: the geometry is the
only location it holds.

:func:`locate_activities` runs first: it geocodes each address (to know its town, 町字, even
when the row has coordinates) and joins each point to its unit. Both views read its columns.

Example::

    >>> located = locate_activities(activities, store, geocoder)
    >>> public = public_activities(located, store)
    >>> planner = planner_activities(located)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tsunagari_geo.activities.contact import tel_uri
from tsunagari_geo.analysis.placement import LOCATING, placed_point
from tsunagari_geo.cells import yes_no_column
from tsunagari_geo.reference.locator import store_locator, unit_codes_at
from tsunagari_geo.store import Store
from tsunagari_geo.text import KANJI_NUMERAL_CHARS, fold, town_key

PRECISIONS = ("exact", "town", "municipality", "none")

#: Columns of the model that may never reach the public view.
PRIVATE_COLUMNS = (
    "lat",
    "lng",
    "location_privacy",
    "published",
    "place_text_reviewed",
    "contact_public",
)
#: How to reach the member: public only where the member set ``contact_public`` to yes
#: (empty is no); elsewhere the public row keeps the columns, empty.
CONTACT_COLUMNS = ("phone", "email", "line_url")

#: Columns added by :func:`locate_activities` (prefix ``geo_``: the geocoder's reading).
LOCATE_COLUMNS = (
    "geo_status",
    "geo_level",
    "geo_city",
    "geo_town",
    "geo_rest",
    "geo_unit_code",
    "geo_lat",
    "geo_lng",
    "unit_code",
    "muni_code",
    "point_source",
    "point_precision",
)


class _Geocoder(Protocol):
    def geocode(
        self, address: str | None, context: str | None = None, *, suggest: bool = True
    ) -> Any: ...


@dataclass(frozen=True)
class PrivacyReport:
    """What the public view left out, left unmapped or placed coarser (ids only)."""

    dropped_unpublished: list[str]
    dropped_hidden: list[str]
    unlocated: list[str]
    coarsened: dict[str, str]
    #: Reduced-privacy rows left out because their own public text names the place their
    #: point withholds (a municipality-level row called 「八幡木二丁目子ども食堂」): id → the
    #: words found. Only a person can reword the text or mark it reviewed.
    withheld_for_text: dict[str, list[str]] = field(default_factory=dict)
    #: Rows whose text names the place but which the secretariat marked reviewed (published).
    reviewed_text: dict[str, list[str]] = field(default_factory=dict)

    @property
    def text_names_place(self) -> list[str]:
        """Ids of the rows left out for their text (see :attr:`withheld_for_text`)."""
        return list(self.withheld_for_text)

    def summary(self) -> dict[str, int]:
        return {
            "unpublished": len(self.dropped_unpublished),
            "hidden": len(self.dropped_hidden),
            "unlocated": len(self.unlocated),
            "coarsened": len(self.coarsened),
            "text_names_place": len(self.withheld_for_text),
            "text_reviewed": len(self.reviewed_text),
        }

    def text_lines(self) -> list[str]:
        """One Japanese line per row left out for its text: its id and the words found."""
        return [
            f"{identifier}: 「{'」「'.join(words)}」"
            for identifier, words in self.withheld_for_text.items()
        ]


#: Public text columns a member writes freely; they may name the place a row withholds.
_FREE_TEXT = (
    "name",
    "description",
    "name_en",
    "description_en",
    "name_easy",
    "description_easy",
    "schedule_text",
    "target_text",
    "fee",
    "url",
    "email",
    "line_url",
    "organization_name",
)
#: A lone number this short is in every schedule and fee (毎月1回, 13時); as a 番地 it counts
#: only right after the town's name.
_SHORT_BLOCK = 3
_NUMERALS = frozenset("0123456789" + KANJI_NUMERAL_CHARS)


def _town_base(geocoder: Any, unit: str, town: str) -> str:
    """The folded name a town is written from: 八幡木 for 八幡木二丁目, 中新田 for 大字中新田."""
    index = getattr(getattr(geocoder, "dictionary", None), "towns", {}).get(unit)
    if index is not None:
        for base, by_number in index.chome.items():
            if any(t.town == town for t in by_number.values()):
                return str(base)
    return town_key(town)


def _block_of(rest: str) -> str:
    """The 番地・号 a geocoder's ``rest`` starts with (``20-6`` of ``20-6 ○○ビル``)."""
    end = 0
    while end < len(rest) and (rest[end].isdigit() or rest[end] == "-"):
        end += 1
    return rest[:end].strip("-")


def withheld_place_words(
    text: str,
    *,
    wanted: str,
    city: str,
    unit: str,
    town: str,
    rest: str,
    geocoder: Any,
) -> list[str]:
    """The words of ``text`` naming what a reduced-privacy row's point withholds.

    ``wanted`` is the row's ``location_privacy``; ``city``, ``unit``, ``town`` and ``rest``
    are the geocoder's reading of its address (``rest``: 番地・号 and building, as the
    geocoder writes them). A municipality-level row withholds its 町丁目, 番地 and building,
    a town-level row its 番地 and building. The text is folded as the geocoder folds
    addresses (:func:`tsunagari_geo.text.fold`) and read by the geocoder itself, so every form
    it accepts is found: 八幡木二丁目, 八幡木2丁目, 八幡木２丁目, 中新田2127番地, 二千百二十七番地.
    Returns the words as folded, in the order found (empty: the text names nothing withheld).

    >>> withheld_place_words("八幡木2丁目子ども食堂", wanted="municipality", city="川口市",
    ...     unit="11203", town="八幡木二丁目", rest="20-6", geocoder=geocoder)  # doctest: +SKIP
    ['八幡木2丁目']
    """
    if wanted not in ("town", "municipality") or not text or not city:
        return []
    folded = fold(text)
    words: list[str] = []
    town_ends: set[int] = set()
    if town:
        base = _town_base(geocoder, unit, town)
        start = folded.find(base) if len(base) >= 2 else -1
        while start >= 0:
            # The longest stretch from here that the geocoder still reads as this very town.
            end = start + len(base)
            for stop in range(end + 1, min(len(folded), end + 6) + 1):
                reading = geocoder.geocode(city + folded[start:stop], suggest=False)
                if reading.town == town and not reading.rest:
                    end = stop
            town_ends.add(end)
            if wanted == "municipality":
                words.append(folded[start:end].rstrip("-"))
            start = folded.find(base, end)
    block = _block_of(rest)
    if block and town:
        for i, char in enumerate(folded):
            if char not in _NUMERALS or (i and folded[i - 1] in _NUMERALS):
                continue
            # Read as the 番地 of this town, the way the geocoder reads an address.
            found = _block_of(geocoder.geocode(city + town + folded[i:], suggest=False).rest)
            after_town = i in town_ends
            same = found == block or (
                after_town and bool(found) and found.split("-")[0] == block.split("-")[0]
            )
            if same and (len(found) >= _SHORT_BLOCK or after_town):
                words.append(folded[i : i + _written_length(folded, i)].rstrip("-の"))
    building = rest[len(block) :] if block else rest
    for part in building.split():
        # A building's name without its floor or room (つるがしまビル of つるがしまビル3階).
        key = fold(part)
        cut = next((j for j, c in enumerate(key) if c in _NUMERALS), len(key))
        key = key[:cut]
        if len(key) >= 2 and key in folded:
            words.append(key)
    return list(dict.fromkeys(words))


def _written_length(folded: str, i: int) -> int:
    """How far a 番地 written from ``folded[i]`` runs (numerals, 番地・番・号・の・-)."""
    end = i
    while end < len(folded) and (folded[end] in _NUMERALS or folded[end] in "番地号の-"):
        end += 1
    return end - i


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value) == ""


def locate_activities(
    activities: pd.DataFrame, store: Store, geocoder: _Geocoder
) -> gpd.GeoDataFrame:
    """Every activity with its best point and the place it belongs to (EPSG:4326).

    Input: the activity records (``address``, optional ``lat``/``lng``). Output: the same rows
    in the same order, plus :data:`LOCATE_COLUMNS`: the geocoder's reading of the address
    (``geo_*``), the unit (``unit_code``, 72 level; empty when only さいたま市 is known) and
    municipality (``muni_code``, 63 level) the row belongs to, ``point_source`` (given |
    geocoded | none) and ``point_precision`` (exact | town | municipality | none). The geometry
    is the given point, or else the geocoded one (:func:`placed_point`), or else empty.

    The unit is the one holding the point only when the point locates the row (given
    coordinates or a town's point); a municipality-level point keeps the geocoder's codes, so
    no ward is invented for an address naming only さいたま市.
    """
    frame = pd.DataFrame(activities).copy()
    if "geometry" in frame.columns:
        frame = frame.drop(columns="geometry")
    for column in ("lat", "lng"):
        if column not in frame.columns:
            frame[column] = np.nan
    results = [
        geocoder.geocode(None if _is_blank(a) else str(a))
        for a in frame.get("address", pd.Series([None] * len(frame))).tolist()
    ]
    places = [placed_point(r) for r in results]
    frame["geo_status"] = [r.status for r in results]
    frame["geo_level"] = [int(r.level) for r in results]
    frame["geo_city"] = [r.city for r in results]
    frame["geo_town"] = [r.town if r.level >= 3 else "" for r in results]
    frame["geo_rest"] = [r.rest if r.level >= 3 else "" for r in results]
    frame["geo_unit_code"] = [p.unit_code for p in places]
    frame["geo_lat"] = [np.nan if p.lat is None else p.lat for p in places]
    frame["geo_lng"] = [np.nan if p.lng is None else p.lng for p in places]
    lat = pd.to_numeric(frame["lat"], errors="coerce")
    lng = pd.to_numeric(frame["lng"], errors="coerce")
    given = lat.notna() & lng.notna()
    use_lat = lat.where(given, frame["geo_lat"])
    use_lng = lng.where(given, frame["geo_lng"])
    frame["point_source"] = np.where(given, "given", np.where(use_lat.notna(), "geocoded", "none"))
    precision = np.array([p.precision for p in places], dtype=object)
    frame["point_precision"] = np.where(given, "exact", precision)
    locating = frame["point_precision"].isin(LOCATING).to_numpy()
    by_point = unit_codes_at(
        store_locator(store),
        use_lng.where(locating, np.nan).to_numpy(dtype=float),
        use_lat.where(locating, np.nan).to_numpy(dtype=float),
    )
    # The unit holding a locating point wins; else the geocoder's codes (no ward invented).
    registry = store.region.registry
    to_muni = {m.code: m.code for m in registry.municipalities_63}
    to_muni.update({u.code: u.muni_code for u in registry.units})
    geo_muni = [p.muni_code for p in places]
    frame["unit_code"] = np.where(by_point != "", by_point, frame["geo_unit_code"]).astype(str)
    frame["muni_code"] = [
        to_muni.get(u, "") if u else to_muni.get(m, "")
        for u, m in zip(frame["unit_code"], geo_muni, strict=True)
    ]
    geometry = shapely.points(use_lng.to_numpy(float), use_lat.to_numpy(float))
    geometry = np.where(use_lat.notna() & use_lng.notna(), geometry, None)
    return gpd.GeoDataFrame(frame, geometry=list(geometry), crs="EPSG:4326")


def _town_points(store: Store) -> Mapping[tuple[str, str], shapely.Point]:
    """(unit code, town) → the town's dictionary point (the row without 小字 first)."""
    towns = store.towns.sort_values(["unit_code", "town", "koaza"], kind="stable")
    points: dict[tuple[str, str], shapely.Point] = {}
    for unit, town, geom in zip(towns["unit_code"], towns["town"], towns.geometry, strict=True):
        points.setdefault((unit, town), geom)
    return points


def _unit_points(store: Store) -> Mapping[str, shapely.Point]:
    """Unit (and municipality, for さいたま市 as a whole) code → representative point."""
    points: dict[str, shapely.Point] = {}
    for frame in (store.municipalities, store.units):
        for code, lng, lat in zip(frame["code"], frame["rep_lng"], frame["rep_lat"], strict=True):
            points[code] = shapely.Point(lng, lat)
    return points


def public_activities(
    located: gpd.GeoDataFrame, store: Store, geocoder: _Geocoder | None = None
) -> tuple[gpd.GeoDataFrame, PrivacyReport]:
    """The public view of activities from :func:`locate_activities`' output.

    Returns the public GeoDataFrame (EPSG:4326) and a report of what was dropped or
    placed less precisely than allowed. Rows are dropped when unpublished or hidden, or when
    reduced-privacy text names the withheld place (:func:`withheld_place_words`, read with
    ``geocoder``, by default the store's) and ``place_text_reviewed`` is not yes; rows with
    no place at all are kept without geometry (``location_precision`` none).
    """
    if geocoder is None:
        from tsunagari_geo.geocode import Geocoder

        geocoder = Geocoder.from_store(store)
    registry = store.region.registry
    pref_name = store.region.pref_name
    names = {m.code: m.full_name for m in registry.municipalities_63}
    names.update({u.code: u.full_name for u in registry.units})
    town_points = _town_points(store)
    unit_points = _unit_points(store)
    published = pd.Series(
        yes_no_column(located, "published", default=True), index=located.index, dtype=bool
    )
    privacy = located["location_privacy"].fillna("exact").astype(str)

    dropped_unpublished = located.loc[~published, "id"].astype(str).tolist()
    dropped_hidden = located.loc[published & (privacy == "hidden"), "id"].astype(str).tolist()
    keep = located.loc[published & (privacy != "hidden")]
    reviewed = pd.Series(
        yes_no_column(located, "place_text_reviewed", default=False),
        index=located.index,
        dtype=bool,
    )
    contact_public = pd.Series(
        yes_no_column(located, "contact_public", default=False), index=located.index, dtype=bool
    )

    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    unlocated: list[str] = []
    coarsened: dict[str, str] = {}
    withheld_for_text: dict[str, list[str]] = {}
    reviewed_text: dict[str, list[str]] = {}
    for record, geom, checked, reachable in zip(
        keep.to_dict("records"),
        keep.geometry,
        reviewed[keep.index],
        contact_public[keep.index],
        strict=True,
    ):
        wanted = str(record.get("location_privacy") or "exact")
        unit = str(record.get("unit_code") or "")
        town = str(record.get("geo_town") or "")
        # The geocoder's town is only trusted inside the unit the row belongs to.
        town_ok = bool(town) and record.get("geo_unit_code") == unit
        words = withheld_place_words(
            " ".join("" if _is_blank(record.get(c)) else str(record[c]) for c in _FREE_TEXT),
            wanted=wanted,
            city=str(record.get("geo_city") or ""),
            unit=str(record.get("geo_unit_code") or ""),
            town=town,
            rest=str(record.get("geo_rest") or ""),
            geocoder=geocoder,
        )
        if words:
            (reviewed_text if checked else withheld_for_text)[str(record["id"])] = words
            if not checked:
                continue
        point: Any = None
        precision = wanted
        if wanted == "exact" and geom is not None and not shapely.is_empty(geom):
            point = geom
            # A point that only came from the geocoder is as precise as the geocoder placed it.
            if record.get("point_source") == "geocoded":
                precision = str(record.get("point_precision") or "municipality")
        elif wanted == "exact":
            precision = "town"
        if point is None and precision == "town":
            if town_ok and (unit, town) in town_points:
                point = town_points[(unit, town)]
            else:
                precision = "municipality"
        # Without its ward, a row in さいたま市 stands at the city's point (never a ward's).
        area = unit or str(record.get("muni_code") or "")
        if point is None and area in unit_points:
            point = unit_points[area]
            precision = "municipality"
        if point is None:
            # Online, phone and prefecture-wide services often have no place: listed, unmapped.
            unlocated.append(str(record["id"]))
            precision = "none"
        elif precision != wanted and wanted != "exact":
            # Only a privacy the row asked for counts here: an exact row that merely lacks
            # coordinates is shown as precisely as its address allows.
            coarsened[str(record["id"])] = f"{wanted}→{precision}"
        city = names.get(area, str(record.get("geo_city") or ""))
        if wanted == "exact":
            # The member allowed the full address even where only a coarser point is known.
            address = "" if _is_blank(record.get("address")) else str(record["address"])
        elif precision == "town":
            address = f"{pref_name}{city}{town}"
        elif precision == "municipality":
            address = f"{pref_name}{city}"
        else:
            address = ""
        out = {
            k: v
            for k, v in record.items()
            if k not in PRIVATE_COLUMNS and k not in LOCATE_COLUMNS and k != "geometry"
        }
        for column in CONTACT_COLUMNS:
            if column in out and not reachable:
                out[column] = None
        if "phone" in out:
            out["phone_uri"] = tel_uri(None if _is_blank(out["phone"]) else str(out["phone"]))
        out.update(
            address=address,
            location_precision=precision,
            unit_code=unit,
            muni_code=str(record.get("muni_code") or ""),
            municipality=city,
        )
        rows.append(out)
        geoms.append(point)
    public = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs="EPSG:4326")
    report = PrivacyReport(
        dropped_unpublished=dropped_unpublished,
        dropped_hidden=dropped_hidden,
        unlocated=unlocated,
        coarsened=coarsened,
        withheld_for_text=withheld_for_text,
        reviewed_text=reviewed_text,
    )
    return public, report


def planner_activities(located: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The planners' view: every row, its best point, privacy and publication state kept."""
    planner = located.copy()
    planner = planner.drop(columns=[c for c in ("geo_lat", "geo_lng") if c in planner.columns])
    return planner
