"""Public and planners' views of activities: where each one may be shown, and how precisely.

``location_privacy`` (場所の公開範囲) decides what the public sees:

========== =================================================================================
exact      the activity's own point and full address
town       the dictionary point of its 大字・町丁目 (町字), address cut after the town (no 番地)
municipality the representative point of its municipality (for さいたま市, of its ward, or of the
           city when the ward is not known), address cut after the municipality (no town)
hidden     nothing: the row is absent from the public view
========== =================================================================================

Unpublished rows (``published`` false) are absent as well. Every public row carries
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

from tsunagari_geo.analysis.placement import LOCATING, placed_point
from tsunagari_geo.cells import yes_no_column
from tsunagari_geo.reference.locator import store_locator, unit_codes_at
from tsunagari_geo.reference.store import ReferenceStore

PRECISIONS = ("exact", "town", "municipality", "none")

#: Columns of the model that may never reach the public view.
PRIVATE_COLUMNS = ("lat", "lng", "location_privacy", "published")

#: Columns added by :func:`locate_activities` (prefix ``geo_``: the geocoder's reading).
LOCATE_COLUMNS = (
    "geo_status",
    "geo_level",
    "geo_city",
    "geo_town",
    "geo_unit_code",
    "geo_lat",
    "geo_lng",
    "unit_code",
    "muni_code",
    "point_source",
    "point_precision",
)


class _Geocoder(Protocol):
    def geocode(self, address: str | None, context: str | None = None) -> Any: ...


@dataclass(frozen=True)
class PrivacyReport:
    """What the public view left out, left unmapped or placed coarser (ids only)."""

    dropped_unpublished: list[str]
    dropped_hidden: list[str]
    unlocated: list[str]
    coarsened: dict[str, str]
    #: Reduced-privacy rows whose own published text names the place the point withholds
    #: (a municipality-level row called 「八幡木二丁目子ども食堂」). The text is the member's;
    #: the secretariat is told, since only a person can reword it.
    text_names_place: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "unpublished": len(self.dropped_unpublished),
            "hidden": len(self.dropped_hidden),
            "unlocated": len(self.unlocated),
            "coarsened": len(self.coarsened),
            "text_names_place": len(self.text_names_place),
        }


#: Public text columns a member writes freely; they may name the place a row withholds.
_FREE_TEXT = ("name", "description", "schedule_text", "target_text", "fee")


def _text_names_place(record: dict[str, Any], wanted: str, town: str) -> bool:
    """True when a town- or municipality-level row's free text names what its point hides."""
    text = " ".join("" if _is_blank(record.get(c)) else str(record.get(c)) for c in _FREE_TEXT)
    if wanted == "municipality" and town:
        name = town.removeprefix("大字")
        return len(name) >= 2 and name in text
    if wanted == "town":
        address = "" if _is_blank(record.get("address")) else str(record["address"])
        return bool(address) and address in text
    return False


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value) == ""


def locate_activities(
    activities: pd.DataFrame, store: ReferenceStore, geocoder: _Geocoder
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


def _town_points(store: ReferenceStore) -> Mapping[tuple[str, str], shapely.Point]:
    """(unit code, town) → the town's dictionary point (the row without 小字 first)."""
    towns = store.towns.sort_values(["unit_code", "town", "koaza"], kind="stable")
    points: dict[tuple[str, str], shapely.Point] = {}
    for unit, town, geom in zip(towns["unit_code"], towns["town"], towns.geometry, strict=True):
        points.setdefault((unit, town), geom)
    return points


def _unit_points(store: ReferenceStore) -> Mapping[str, shapely.Point]:
    """Unit (and municipality, for さいたま市 as a whole) code → representative point."""
    points: dict[str, shapely.Point] = {}
    for frame in (store.municipalities, store.units):
        for code, lng, lat in zip(frame["code"], frame["rep_lng"], frame["rep_lat"], strict=True):
            points[code] = shapely.Point(lng, lat)
    return points


def public_activities(
    located: gpd.GeoDataFrame, store: ReferenceStore
) -> tuple[gpd.GeoDataFrame, PrivacyReport]:
    """The public view of activities from :func:`locate_activities`' output.

    Returns the public GeoDataFrame (EPSG:4326) and a report of what was dropped or
    placed less precisely than allowed. Rows are dropped when unpublished or hidden; rows
    with no place at all are kept without geometry (``location_precision`` none).
    """
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

    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    unlocated: list[str] = []
    coarsened: dict[str, str] = {}
    text_names_place: list[str] = []
    for record, geom in zip(keep.to_dict("records"), keep.geometry, strict=True):
        wanted = str(record.get("location_privacy") or "exact")
        unit = str(record.get("unit_code") or "")
        town = str(record.get("geo_town") or "")
        # The geocoder's town is only trusted inside the unit the row belongs to.
        town_ok = bool(town) and record.get("geo_unit_code") == unit
        if _text_names_place(record, wanted, town):
            text_names_place.append(str(record["id"]))
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
        text_names_place=text_names_place,
    )
    return public, report


def planner_activities(located: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The planners' view: every row, its best point, privacy and publication state kept."""
    planner = located.copy()
    planner = planner.drop(columns=[c for c in ("geo_lat", "geo_lng") if c in planner.columns])
    return planner
