"""One seam for every data source: ``query(offset, limit, bbox, properties, sortby)`` and ``get``.

The API layer only talks to :class:`Provider`. :class:`FrameProvider` serves an in-memory
GeoDataFrame: at construction it orients polygons counter-clockwise (RFC 7946), rounds
coordinates to 6 decimals (about 10 cm), serialises every feature to one GeoJSON fragment,
builds a shapely STRtree for ``bbox`` and one boolean mask per filter value. A query is then
numpy on masks plus joining precomputed bytes, so a page of 500 features costs microseconds.
:class:`PostgisProvider` serves a published layer in PostGIS through the same code: the
attributes in memory, ``bbox`` answered on the database's GiST index and each page's
geometries read from the database, rendered exactly as :class:`FrameProvider` renders them.

Example::

    provider = FrameProvider(store.units, id_column="code", filters={"kind": "kind"})
    page = provider.query(offset=0, limit=10, bbox=(139.5, 35.8, 139.7, 36.0))
    page.number_matched, len(page.features)
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tsunagari_api.errors import FeatureNotFound, InvalidParameter
from tsunagari_api.temporal import Interval, day_ranges, iso
from tsunagari_geo.layers.simplify import simplify_coverage

BBox = tuple[float, float, float, float]
#: A rule over the rows (``open_on``, ``age``): the frame and the parsed value → which rows match.
Condition = Callable[[pd.DataFrame, Any], np.ndarray]
#: Masks of a condition kept per value (a day, an age): clients ask for a handful at a time.
CONDITION_MASKS_KEPT = 64

#: Digits kept after the decimal point: RFC 7946 §11.2 recommends 6 (about 10 cm).
COORDINATE_DIGITS = 6
#: Simplified versions of a layer kept in memory, one per ``simplify`` tolerance.
SIMPLIFIED_KEPT = 4
#: ``simplify`` tolerances are rounded to this many degrees (about 1 m).
SIMPLIFY_STEP = 0.00001


@dataclass(frozen=True)
class SortKey:
    """One ``sortby`` term: a property name, ascending unless ``descending``."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class Page:
    """One page of a query: how many features matched in total, and this page's fragments."""

    number_matched: int
    features: list[bytes]


@dataclass(frozen=True)
class Field:
    """A property a provider serves, with its JSON type (``string``, ``integer``, ``number``,
    ``boolean`` or ``array`` of strings)."""

    name: str
    json_type: str


class Provider(ABC):
    """What the API needs from a data source. Adding a store is adding one subclass."""

    #: Properties served, in order.
    fields: tuple[Field, ...]
    #: Filter parameter → allowed values (empty set: any value).
    filters: Mapping[str, frozenset[str]]
    #: Properties ``sortby`` accepts.
    sortables: tuple[str, ...]

    @abstractmethod
    def query(
        self,
        *,
        offset: int,
        limit: int,
        bbox: BBox | None = None,
        properties: Mapping[str, Sequence[str]] | None = None,
        sortby: Sequence[SortKey] = (),
        select: Sequence[str] | None = None,
        simplify: float | None = None,
        datetime: Interval | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> Page:
        """Features matching every filter (values of one filter are OR-ed) inside ``bbox``
        and, when the provider has a temporal property, inside ``datetime``; ``where`` gives
        the provider's conditions their values (``{"open_on": date, "age": 15}``).

        ``select`` keeps only those properties (the id is always kept); ``simplify`` is a
        tolerance in degrees for polygon geometries (shared borders stay shared).
        Raises InvalidParameter for an unknown filter, filter value or property.
        """

    @abstractmethod
    def get(self, identifier: str) -> bytes:
        """One feature's GeoJSON; raises FeatureNotFound when no feature has that id."""

    def rows(self, columns: Sequence[str]) -> list[dict[str, Any]]:
        """Every feature's id (under ``"id"``) and these properties (absent ones as None), for
        computations over the whole collection such as the calendar of open days."""
        raise NotImplementedError

    @property
    def temporal_extent(self) -> tuple[str, str] | None:
        """First and last instant of the temporal property (RFC 3339), None without one."""
        return None

    @property
    @abstractmethod
    def extent(self) -> BBox | None:
        """Bounding box of all geometries (lon/lat), or None when there are none."""

    @property
    @abstractmethod
    def count(self) -> int:
        """Number of features."""

    @property
    @abstractmethod
    def first_id(self) -> str | None:
        """Some existing feature id (an example for the OpenAPI document), None when empty."""


def _json_value(value: Any) -> Any:
    """A cell as plain JSON: NaN/NaT/None → null, numpy scalars → Python, dates → ISO 8601."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return None if pd.isna(value) else value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _json_type(series: pd.Series, is_list: bool) -> str:
    if is_list:
        return "array"
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "number"
    return "string"


def _rank(values: list[Any]) -> np.ndarray:
    """Dense ranks for sorting; missing values rank after every present one."""
    present = sorted({v for v in values if v is not None}, key=lambda v: (str(type(v)), v))
    order = {v: i for i, v in enumerate(present)}
    missing = len(present)
    return np.array([order[v] if v is not None else missing for v in values], dtype=np.int64)


def _bbox_boxes(bbox: BBox) -> np.ndarray:
    """The query boxes of ``bbox``: two when it crosses the antimeridian (min lon > max lon)."""
    min_lon, min_lat, max_lon, max_lat = bbox
    if min_lon <= max_lon:
        return shapely.box([min_lon], [min_lat], [max_lon], [max_lat])
    return shapely.box([min_lon, -180.0], [min_lat] * 2, [180.0, max_lon], [max_lat] * 2)


def _feature(identifier: str, geometry: str, props: Mapping[str, Any]) -> bytes:
    body = json.dumps(props, ensure_ascii=False, separators=(",", ":"))
    return (
        f'{{"type":"Feature","id":{json.dumps(identifier, ensure_ascii=False)},'
        f'"geometry":{geometry},"properties":{body}}}'.encode()
    )


def geojson_geometries(geoms: np.ndarray) -> list[str]:
    """GeoJSON geometry texts per RFC 7946: rounded, exterior rings CCW, ``null`` for none."""
    rounded = shapely.transform(geoms, lambda c: np.round(c, COORDINATE_DIGITS))
    oriented = shapely.orient_polygons(rounded, exterior_cw=False)
    texts = shapely.to_geojson(oriented)
    return [t if t is not None else "null" for t in texts]


@dataclass
class FrameProvider(Provider):
    """A provider over a GeoDataFrame in EPSG:4326.

    ``id_column`` holds unique identifiers (served as strings). ``filters`` maps a query
    parameter to the column it filters; a column of lists matches when any element does.
    ``vocabularies`` gives each filter's allowed values (default: the values present).
    ``hidden`` columns can be filtered on but are not served. ``temporal_column`` is the
    property ``datetime`` filters on (dates are whole JST days; see :mod:`.temporal`).
    """

    frame: gpd.GeoDataFrame
    id_column: str
    filter_columns: Mapping[str, str] = field(default_factory=dict)
    vocabularies: Mapping[str, frozenset[str]] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()
    temporal_column: str | None = None
    #: Parameter → the rule giving the rows that match a value (see :data:`Condition`).
    conditions: Mapping[str, Condition] = field(default_factory=dict)

    def __post_init__(self) -> None:
        frame = self.frame
        if frame.crs is not None and frame.crs.to_epsg() != 4326:
            frame = frame.to_crs(4326)
        ids = frame[self.id_column].astype(str).tolist()
        if len(set(ids)) != len(ids):
            dup = pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]
            raise ValueError(f"duplicate id {dup!r} in column {self.id_column!r}")
        self._ids = ids
        self._index = {identifier: i for i, identifier in enumerate(ids)}
        columns = [
            c
            for c in frame.columns
            if c != frame.geometry.name and c not in self.hidden and c != self.id_column
        ]
        records = frame[[*columns]].to_dict("records") if columns else [{} for _ in ids]
        list_columns = {
            c
            for c in frame.columns
            if c != frame.geometry.name
            and frame[c].map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any()
        }
        self.fields = (
            Field(self.id_column, "string"),
            *(Field(c, _json_type(frame[c], c in list_columns)) for c in columns),
        )
        self._props: list[dict[str, Any]] = []
        for identifier, record in zip(ids, records, strict=True):
            props = {self.id_column: identifier}
            props.update({k: _json_value(v) for k, v in record.items()})
            self._props.append(props)
        self._simplified: dict[float, list[str]] = {}
        self._simplified_lock = threading.Lock()
        self._times: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if self.temporal_column is not None and self.temporal_column in frame.columns:
            self._times = day_ranges(frame[self.temporal_column])
        self._index_geometries(frame)
        self._masks: dict[str, dict[str, np.ndarray]] = {}
        vocab: dict[str, frozenset[str]] = {}
        for param, column in self.filter_columns.items():
            masks: dict[str, np.ndarray] = {}
            for i, cell in enumerate(frame[column].tolist()):
                values = cell if isinstance(cell, (list, tuple, np.ndarray)) else [cell]
                for value in values:
                    if value is None or (isinstance(value, float) and math.isnan(value)):
                        continue
                    key = str(value)
                    if key not in masks:
                        masks[key] = np.zeros(len(ids), dtype=bool)
                    masks[key][i] = True
            self._masks[param] = masks
            vocab[param] = self.vocabularies.get(param) or frozenset(masks)
        self.filters = vocab
        self.sortables = tuple(f.name for f in self.fields if f.json_type != "array")
        self._ranks: dict[str, np.ndarray] = {}
        self._frame_columns = {f.name: f for f in self.fields}
        self._sort_source = frame
        self._condition_masks: dict[tuple[str, Any], np.ndarray] = {}
        self._condition_lock = threading.Lock()

    def _condition_mask(self, param: str, value: Any) -> np.ndarray:
        """The rows matching condition ``param`` at ``value``, computed once per value."""
        rule = self.conditions.get(param)
        if rule is None:
            raise InvalidParameter(
                f"この項目では {param!r} で絞り込めません",
                parameter=param,
                allowed=sorted(self.conditions),
            )
        key = (param, value)
        with self._condition_lock:
            mask = self._condition_masks.get(key)
        if mask is None:
            mask = np.asarray(rule(self._sort_source, value), dtype=bool)
            with self._condition_lock:
                if len(self._condition_masks) >= CONDITION_MASKS_KEPT:
                    self._condition_masks.pop(next(iter(self._condition_masks)))
                self._condition_masks[key] = mask
        return mask

    def _index_geometries(self, frame: gpd.GeoDataFrame) -> None:
        """Geometry texts, finished features, the STRtree for ``bbox`` and the extent."""
        geoms = np.asarray(frame.geometry.values, dtype=object)
        texts = geojson_geometries(geoms)
        self._geoms = geoms
        self._texts = texts
        self._polygons = bool(np.isin(shapely.get_type_id(geoms), (3, 6)).any())
        self._fragments = [
            _feature(identifier, geometry, props)
            for identifier, geometry, props in zip(self._ids, texts, self._props, strict=True)
        ]
        self._tree = shapely.STRtree(geoms)
        has_geom = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
        if has_geom.any():
            bounds = shapely.total_bounds(geoms[has_geom])
            self._extent: BBox | None = tuple(float(b) for b in bounds)  # type: ignore[assignment]
        else:
            self._extent = None

    def _in_bbox(self, bbox: BBox) -> np.ndarray:
        """A mask of the features whose geometry intersects ``bbox``."""
        inside = np.zeros(len(self._ids), dtype=bool)
        hits = self._tree.query(_bbox_boxes(bbox), predicate="intersects")
        inside[hits[1]] = True
        return inside

    def _geometry_texts(self, selected: np.ndarray) -> list[str]:
        """The GeoJSON geometry texts of the features at positions ``selected``."""
        return [self._texts[i] for i in selected]

    def _all_geometries(self) -> np.ndarray:
        """Every feature's geometry (for simplification as one coverage)."""
        return self._geoms

    def _render(
        self, selected: np.ndarray, select: Sequence[str] | None, simplify: float | None
    ) -> list[bytes]:
        """The features at positions ``selected`` with only ``select``'s properties (all when
        None) and geometries simplified by ``simplify`` (none when None)."""
        simplified = self._simplified_texts(simplify) if simplify else None
        if select is None and simplified is None and hasattr(self, "_fragments"):
            return [self._fragments[i] for i in selected]
        if simplified is not None:
            texts = [simplified[i] for i in selected]
        else:
            texts = self._geometry_texts(selected)
        keep = None if select is None else {self.id_column, *select}
        features = []
        for i, text in zip(selected, texts, strict=True):
            props = self._props[i]
            if keep is not None:
                props = {k: v for k, v in props.items() if k in keep}
            features.append(_feature(self._ids[i], text, props))
        return features

    @property
    def extent(self) -> BBox | None:
        return self._extent

    @property
    def count(self) -> int:
        return len(self._ids)

    @property
    def temporal_extent(self) -> tuple[str, str] | None:
        if self._times is None or not self._times[2].any():
            return None
        first, last, valid = self._times
        return (iso(int(first[valid].min())), iso(int(last[valid].max())))

    @property
    def first_id(self) -> str | None:
        """An id that exists (documented as the example of ``featureId``)."""
        return self._ids[0] if self._ids else None

    def _rank_of(self, name: str) -> np.ndarray:
        # Ranks are computed on first use only: most properties are never sorted on.
        if name not in self._ranks:
            column = self.id_column if name == self.id_column else name
            values = [_json_value(v) for v in self._sort_source[column].tolist()]
            if name == self.id_column:
                values = [str(v) for v in values]
            self._ranks[name] = _rank(values)
        return self._ranks[name]

    def query(
        self,
        *,
        offset: int,
        limit: int,
        bbox: BBox | None = None,
        properties: Mapping[str, Sequence[str]] | None = None,
        sortby: Sequence[SortKey] = (),
        select: Sequence[str] | None = None,
        simplify: float | None = None,
        datetime: Interval | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> Page:
        if select is not None:
            unknown_fields = [name for name in select if name not in self._frame_columns]
            if unknown_fields:
                raise InvalidParameter(
                    f"properties の {unknown_fields[0]!r} はこのコレクションにありません",
                    parameter="properties",
                    value=unknown_fields[0],
                    allowed=list(self._frame_columns),
                )
        mask: np.ndarray | None = None
        for param, wanted in (properties or {}).items():
            if not wanted:
                continue
            if param not in self._masks:
                raise InvalidParameter(
                    f"この項目では {param!r} で絞り込めません",
                    parameter=param,
                    allowed=sorted(self._masks),
                )
            allowed = self.filters[param]
            unknown = [v for v in wanted if v not in allowed]
            if unknown:
                raise InvalidParameter(
                    f"{param} の値 {unknown[0]!r} は使えません",
                    parameter=param,
                    value=unknown[0],
                    allowed=sorted(allowed),
                )
            hit = np.zeros(len(self._ids), dtype=bool)
            for value in wanted:
                found = self._masks[param].get(value)
                if found is not None:
                    hit |= found
            mask = hit if mask is None else mask & hit
        if datetime is not None and self._times is not None:
            first, last, valid = self._times
            start, end = datetime
            during = valid.copy()
            if end is not None:
                during &= first <= end
            if start is not None:
                during &= last >= start
            mask = during if mask is None else mask & during
        for param, value in (where or {}).items():
            hit = self._condition_mask(param, value)
            mask = hit if mask is None else mask & hit
        if bbox is not None:
            inside = self._in_bbox(bbox)
            mask = inside if mask is None else mask & inside
        indices = np.arange(len(self._ids)) if mask is None else np.flatnonzero(mask)
        if sortby:
            for key in sortby:
                if key.field not in self.sortables:
                    raise InvalidParameter(
                        f"{key.field!r} では並べ替えできません",
                        parameter="sortby",
                        value=key.field,
                        allowed=list(self.sortables),
                    )
            # np.lexsort sorts by the last key first; ranks make descending a negation.
            keys = [
                -self._rank_of(k.field)[indices]
                if k.descending
                else self._rank_of(k.field)[indices]
                for k in reversed(sortby)
            ]
            indices = indices[np.lexsort([indices, *keys])] if keys else indices
        selected = indices[offset : offset + limit]
        return Page(len(indices), self._render(selected, select, simplify))

    def _simplified_texts(self, tolerance: float) -> list[str] | None:
        """Geometry texts of the whole layer simplified as one coverage.

        Tolerances are rounded to SIMPLIFY_STEP (about 1 m), so near values share one
        computation; a few are kept (clients use one or two), the oldest dropped first. The
        computation runs outside the lock, so one new tolerance never holds up the others.
        A layer without polygons has nothing to simplify (None: the geometries as they are).
        """
        if not self._polygons:
            return None
        key = round(round(tolerance / SIMPLIFY_STEP) * SIMPLIFY_STEP, 9)
        if key <= 0:
            return None
        with self._simplified_lock:
            texts = self._simplified.get(key)
        if texts is None:
            texts = geojson_geometries(simplify_coverage(self._all_geometries(), key))
            with self._simplified_lock:
                if key not in self._simplified and len(self._simplified) >= SIMPLIFIED_KEPT:
                    self._simplified.pop(next(iter(self._simplified)))
                self._simplified[key] = texts
        return texts

    def rows(self, columns: Sequence[str]) -> list[dict[str, Any]]:
        frame = self._sort_source
        present = [c for c in columns if c in frame.columns]
        values = frame[present].to_dict("records") if present else [{} for _ in self._ids]
        return [
            {"id": identifier, **{c: record.get(c) for c in columns}}
            for identifier, record in zip(self._ids, values, strict=True)
        ]

    def get(self, identifier: str) -> bytes:
        i = self._index.get(identifier)
        if i is None:
            raise FeatureNotFound(f"ID {identifier!r} の地物はありません", value=identifier)
        return self._render(np.array([i]), None, None)[0]


@dataclass
class PostgisProvider(FrameProvider):
    """A provider over a published layer in PostGIS: the database answers ``bbox`` and holds
    the geometries.

    ``frame`` holds the layer's attributes only (read once per loaded dataset, for filters,
    sorting and ``datetime`` exactly as :class:`FrameProvider` does them); ``table``
    (a :class:`tsunagari_geo.store.postgis.LayerTable`) is the layer in the database. A
    ``bbox`` is one query on the GiST index (``&&`` then ``ST_Intersects``), and a page reads
    only its own rows' geometries by position; features are rendered by the same code as
    :class:`FrameProvider`'s, so both give the same bytes for the same data. ``simplify``
    reads the layer's geometries once (the coverage is simplified as a whole).
    """

    table: Any = None

    def _index_geometries(self, frame: gpd.GeoDataFrame) -> None:
        if self.table is None or self.table.rows != len(self._ids):
            raise ValueError("PostgisProvider needs the layer's table, with as many rows")
        self._geoms_loaded: np.ndarray | None = None
        self._geoms_lock = threading.Lock()
        self._polygons = self.table.has_polygons()
        self._extent = self.table.extent()

    def _in_bbox(self, bbox: BBox) -> np.ndarray:
        min_lon, min_lat, max_lon, max_lat = bbox
        boxes = (
            [bbox]
            if min_lon <= max_lon
            else [(min_lon, min_lat, 180.0, max_lat), (-180.0, min_lat, max_lon, max_lat)]
        )
        inside = np.zeros(len(self._ids), dtype=bool)
        inside[self.table.in_boxes(boxes)] = True
        return inside

    def _geometry_texts(self, selected: np.ndarray) -> list[str]:
        return geojson_geometries(self.table.geometries([int(i) for i in selected]))

    def _all_geometries(self) -> np.ndarray:
        with self._geoms_lock:
            if self._geoms_loaded is None:
                frame = self.table.frame()
                self._geoms_loaded = np.asarray(frame.geometry.values, dtype=object)
            return self._geoms_loaded
