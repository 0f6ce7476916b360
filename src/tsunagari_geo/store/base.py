"""The one interface every reader and writer of reference data and published layers goes through.

A backend is one subclass of :class:`Store`. It answers four things: write the reference data
an import produced (atomically: readers see the old store or the new one, never half), open
it with checks, write a set of published layers, and open one. The rest of the package takes a
``Store`` and never learns where the rows live; :func:`tsunagari_geo.store.open_store` picks the
backend from the location.

The region the store was imported with is part of the store (``store.region``), so a service
needs nothing but its store.
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from tsunagari_geo.errors import RegionError, StoreError
from tsunagari_geo.region import PREFECTURES, Region, RegionFiles
from tsunagari_geo.store.manifest import Manifest

if TYPE_CHECKING:
    # Only for annotations: reading the store for the geocoder imports neither (a batch job's
    # start-up), and the frames are built where they are asked for.
    import geopandas as gpd
    import pandas as pd

#: Bumped when the layout of the reference data or the town key changes; readers refuse others.
#: 2: the region and the other prefectures' municipality names are in the store.
STORE_SCHEMA_VERSION = "2"
#: Bumped when the layout of a published layer set changes.
LAYERS_SCHEMA_VERSION = "1"
#: What to tell a person whose store is from another schema or lacks what a reader needs.
REIMPORT_HINT = "`tsunagari-geo data import` をもう一度実行してください"
#: What to tell a person who has no store yet.
IMPORT_FIRST_HINT = "先に `tsunagari-geo data import` を実行してください"

LayerKind = Literal["public", "planner"]


#: The reference layers and tables every store holds, in the order they are written.
REFERENCE_LAYERS = ("units", "municipalities", "towns")
REFERENCE_TABLES = ("metadata", "sources", "region", "japan_municipalities")
#: Tables a store holds only when their source was imported (``data import --japan``), each with
#: the metadata key that says how many rows it has.
OPTIONAL_TABLES = {"japan_towns": "japan_prefectures"}
#: The columns of a prefecture's towns (:meth:`Store.japan_towns`): one row per 大字・町丁目.
JAPAN_TOWN_COLUMNS = ("pref", "municipality", "town", "koaza", "lat", "lng", "point_source")
#: Layers a store holds when the region's sources have them (census small areas, 小地域).
OPTIONAL_LAYERS = ("small_areas",)


def check_reference_set(meta: Mapping[str, str], present: Collection[str], path: object) -> None:
    """Refuse a reference set of another schema, or one lacking a layer or table every store
    holds (``present``: the names it has); both backends' ``open`` ask the same."""
    if meta.get("schema_version") != STORE_SCHEMA_VERSION:
        raise StoreError(
            f"参照データの版 {meta.get('schema_version')!r} が "
            f"{STORE_SCHEMA_VERSION!r} ではありません。{REIMPORT_HINT}",
            path=str(path),
        )
    missing = [n for n in (*REFERENCE_LAYERS, *REFERENCE_TABLES) if n not in present]
    if missing:
        raise StoreError(
            f"参照データにレイヤー {missing} がありません。{REIMPORT_HINT}", path=str(path)
        )


#: What a column holds, as :meth:`Store.rows` gives it: ``str``, ``int``, ``float`` and ``bool``
#: cells are those Python types (or None); ``other`` (a date, a list) is the backend's raw value.
ColumnKind = Literal["str", "int", "float", "bool", "other"]


@dataclass(frozen=True)
class AttributeRows:
    """The attribute columns of one reference layer or table as plain Python, in stored order.

    What a backend's :meth:`Store._read_rows` answers: the column names, the kind of each
    (:data:`ColumnKind`) and one tuple per row, missing cells as None. No geometry, and no
    pandas: the geocoder's dictionary is built from these.
    """

    layer: str
    columns: tuple[str, ...]
    kinds: tuple[ColumnKind, ...]
    rows: list[tuple[Any, ...]]

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame with the dtypes the layer has when read by OGR: text as
        strings, integers as int64 (float64 with a missing cell), reals as float64, booleans as
        bool when none is missing."""
        import pandas as pd

        frame = pd.DataFrame.from_records(self.rows, columns=list(self.columns))
        for name, kind in zip(self.columns, self.kinds, strict=True):
            if kind == "float":
                frame[name] = frame[name].astype("float64")
            elif kind == "bool" and frame[name].notna().all():
                frame[name] = frame[name].astype(bool)
        return frame


def chosen_columns(
    layer: str, stored: Sequence[str], columns: Sequence[str] | None, *, path: Any
) -> list[str]:
    """The columns a reader reads: ``columns`` (all ``stored`` ones when None), in that order.

    Raises StoreError naming the store (``path``), the layer and the first asked-for column
    it lacks.
    """
    if columns is None:
        return list(stored)
    missing = [c for c in columns if c not in stored]
    if missing:
        raise StoreError(
            f"layer {layer} has no column {missing[0]!r}; {REIMPORT_HINT}",
            path=path,
            column=missing[0],
        )
    return list(columns)


@dataclass(frozen=True)
class ReferenceData:
    """Everything an import writes: what :meth:`Store.write_reference` receives.

    ``units``, ``municipalities`` and ``towns`` are GeoDataFrames in EPSG:4326; ``sources``
    lists every file read (role, path, sha256, size); ``japan_municipalities`` the names of
    the municipalities of every other prefecture (pref, name), for the geocoder;
    ``small_areas`` the census small areas (小地域) as points with ``population`` and
    ``households``, or None when the region's sources have none.
    """

    region: Region
    units: gpd.GeoDataFrame
    municipalities: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    sources: pd.DataFrame
    japan_municipalities: pd.DataFrame
    metadata: dict[str, str] = field(default_factory=dict)
    #: every other prefecture's towns (columns pref, municipality, town, koaza, lat, lng,
    #: point_source) when a national source was imported; None when not.
    japan_towns: pd.DataFrame | None = None
    small_areas: gpd.GeoDataFrame | None = None


@dataclass(frozen=True)
class LayerSet:
    """A checked set of published layers, every layer read into memory (EPSG:4326).

    ``kind`` is ``public`` (may be shown to anyone) or ``planner`` (exact points, behind the
    token); the two are never mixed in one set.
    """

    path: Any
    kind: LayerKind
    meta: dict[str, str] = field(repr=False)
    frames: Mapping[str, gpd.GeoDataFrame] = field(repr=False)

    @classmethod
    def open(cls, location: Any, kind: LayerKind) -> LayerSet:
        """Open the layer set at ``location`` through the backend its location names."""
        from tsunagari_geo.store.backends import open_layers

        return open_layers(location, kind)

    @property
    def attribution(self) -> list[str]:
        return self.meta.get("attribution", "").splitlines()


@dataclass(frozen=True)
class PublishedSet:
    """The public and planners' layer sets a build wrote together, checked against its manifest.

    ``manifest.version`` names the set: the same in every worker, different for any other
    build or any changed byte.
    """

    manifest: Manifest
    public: LayerSet
    planner: LayerSet

    @property
    def version(self) -> str:
        return self.manifest.version


class Store(ABC):
    """Reference data (units, municipalities, towns, sources, metadata) and its region.

    Frames are EPSG:4326. A store object is read-only; writing is a class method that
    replaces the whole store at a location at once.
    """

    # --- reference data: write ----------------------------------------------------------------

    @classmethod
    @abstractmethod
    def write_reference(cls, location: Any, data: ReferenceData) -> None:
        """Replace the reference data at ``location`` with ``data``, atomically."""

    # --- reference data: read -----------------------------------------------------------------
    #
    # A backend implements two readers, :meth:`_read_layer` (a layer with its geometry) and
    # :meth:`_read_rows` (the attribute columns of a layer or table as plain Python); every
    # reference property below is built from them once and kept, so the backends agree on
    # what a store holds by construction.

    @classmethod
    @abstractmethod
    def open(cls, location: Any) -> Store:
        """Open and check the store; raises StoreError naming it and the problem."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the store is, as a person would write it (a path or a URL)."""

    @property
    @abstractmethod
    def meta(self) -> dict[str, str]:
        """The import's metadata (schema version, counts, edition, attribution, …)."""

    @abstractmethod
    def _read_layer(self, layer: str) -> gpd.GeoDataFrame:
        """Read ``layer`` with its geometry (EPSG:4326); StoreError naming it when unreadable."""

    @abstractmethod
    def _read_rows(
        self,
        layer: str,
        columns: Sequence[str] | None = None,
        *,
        where: tuple[str, str] | None = None,
    ) -> AttributeRows:
        """Read ``columns`` (None: every attribute column, in stored order) of ``layer`` (a
        layer or a plain table) without building any geometry, rows in stored order;
        ``where`` = (column, text) keeps only the rows with that text in that column.
        StoreError naming the layer when unreadable, and (:func:`chosen_columns`) a column
        it lacks."""

    def rows(self, layer: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
        """The ``columns`` of a reference layer or table as plain tuples, one per row in stored
        order, missing cells as None: what the geocoder's dictionary reads (no pandas, no
        geometry). Raises StoreError naming a column the layer lacks.

        >>> store.rows("units", ("code", "name"))[0]  # doctest: +SKIP
        ('11101', 'さいたま市西区')
        """
        return self._read_rows(layer, columns).rows

    def attributes(self, layer: str) -> pd.DataFrame:
        """The columns of a reference layer (``units``, ``municipalities``, ``towns``, …) or
        table without geometry, as a frame with the dtypes of :meth:`_read_layer`'s. Built from
        the plain rows (no geometry built, geopandas not imported), or from the layer when it
        was already read with its geometry or has a column the plain reader does not convert."""
        # A layer property already read (cached_property keeps it in __dict__) is not re-read.
        frame = self.__dict__.get(layer) if layer in (*REFERENCE_LAYERS, *OPTIONAL_LAYERS) else None
        if frame is None:
            table = self._read_rows(layer)
            if "other" not in table.kinds:
                return table.frame()
            frame = self._read_layer(layer)  # a date column: as OGR reads it
        import pandas as pd

        geometry = getattr(frame, "_geometry_column_name", None)
        return pd.DataFrame(frame.drop(columns=[geometry] if geometry in frame else []))

    @cached_property
    def region(self) -> Region:
        """The region the store was imported with."""
        files = {str(f): str(t) for f, t in self.rows("region", ("file", "text"))}
        origin = f"{self.location}#region"
        try:
            return Region.from_files(RegionFiles.from_dict(files, origin=origin), origin=origin)
        except RegionError as exc:
            raise StoreError(
                f"the store's region is unreadable: {exc}", path=self.location
            ) from exc

    @cached_property
    def units(self) -> gpd.GeoDataFrame:
        """The units (72 in 埼玉県), one MultiPolygon per code, with population and area."""
        return self._read_layer("units")

    @cached_property
    def municipalities(self) -> gpd.GeoDataFrame:
        """The municipalities (63 in 埼玉県), designated cities as one, population summed."""
        return self._read_layer("municipalities")

    @cached_property
    def towns(self) -> gpd.GeoDataFrame:
        """Every 大字・町丁目 representative point with its unit and matching key."""
        return self._read_layer("towns")

    @cached_property
    def small_areas(self) -> gpd.GeoDataFrame | None:
        """Census small areas (小地域): one point per KEY_CODE with population and households,
        their ``unit_code``/``muni_code`` and whether a town matched; None if not imported."""
        if not int(self.meta.get("small_areas") or 0):
            return None
        return self._read_layer("small_areas")

    @cached_property
    def sources(self) -> pd.DataFrame:
        """Every source file the import read: role, path, sha256, size."""
        return self._read_rows("sources").frame()

    @cached_property
    def japan_municipalities(self) -> pd.DataFrame:
        """Municipality names of every other prefecture (columns pref, name)."""
        import pandas as pd

        rows = self.japan_municipality_names()
        return pd.DataFrame({"pref": [p for p, _ in rows], "name": [n for _, n in rows]})

    def japan_municipality_names(self) -> list[tuple[str, str]]:
        """(pref, name) of every other prefecture's municipality, as plain text."""
        return [(str(p), str(n)) for p, n in self.rows("japan_municipalities", ("pref", "name"))]

    def japan_town_rows(self, pref: str) -> list[tuple[Any, ...]]:
        """The towns of one other prefecture as plain tuples in :data:`JAPAN_TOWN_COLUMNS`
        order (municipality as ``ja.json`` lists it, lat/lng float or None); empty when the
        store was imported without a national source (``data import --japan``) or ``pref``
        is the region's own. One indexed read of one packed row."""
        if not self.has_japan_towns or pref not in PREFECTURES:
            return []
        found = self._read_rows("japan_towns", ("data",), where=("pref", pref)).rows
        return _unpack_prefecture(pref, str(found[0][0])) if found else []

    def japan_towns(self, pref: str) -> pd.DataFrame:
        """:meth:`japan_town_rows` as a frame (columns :data:`JAPAN_TOWN_COLUMNS`)."""
        import pandas as pd

        frame = pd.DataFrame(self.japan_town_rows(pref), columns=list(JAPAN_TOWN_COLUMNS))
        frame["lat"] = pd.to_numeric(frame["lat"], errors="coerce")
        frame["lng"] = pd.to_numeric(frame["lng"], errors="coerce")
        return frame

    @property
    def has_japan_towns(self) -> bool:
        """Whether the store holds the towns of all Japan."""
        return int(self.meta.get("japan_towns", "0") or 0) > 0

    @property
    def attribution(self) -> list[str]:
        return self.meta.get("attribution", "").splitlines()

    def info(self) -> dict[str, Any]:
        """Counts and provenance, as `tsunagari-geo data info --json` prints them."""
        meta = self.meta
        return {
            "store": self.location,
            "schema_version": meta["schema_version"],
            "imported_at": meta["imported_at"],
            "region": self.region.id,
            "prefecture": self.region.pref_name,
            "n03_edition": meta["n03_edition"],
            "units": int(meta["units"]),
            "municipalities": int(meta["municipalities"]),
            "towns": int(meta["towns"]),
            "japan_municipalities": int(meta["japan_municipalities"]),
            "japan_towns": int(meta.get("japan_towns", "0") or 0),
            "area_km2": round(float(meta["area_km2"]), 3),
            "population": int(meta["population"]),
            "repaired_codes": [c for c in meta.get("repaired_codes", "").split(",") if c],
            "census_source": meta.get("census_source", ""),
            "census_year": int(meta.get("census_year") or 0),
            "small_areas": int(meta.get("small_areas") or 0),
            "small_areas_matched": int(meta.get("small_areas_matched") or 0),
            "small_areas_unmatched": int(meta.get("small_areas_unmatched") or 0),
            "small_areas_unmatched_by_unit": json.loads(
                meta.get("small_areas_unmatched_by_unit") or "{}"
            ),
            "small_areas_outside_unit": int(meta.get("small_areas_outside_unit") or 0),
            "source_dir": meta["source_dir"],
            "sources": [
                {
                    "role": r["role"],
                    "path": r["path"],
                    "sha256": r["sha256"],
                    "size": int(r["size"]),
                }
                for r in self.sources.to_dict("records")
            ],
            "attribution": self.attribution,
        }

    # --- published layers ---------------------------------------------------------------------

    @classmethod
    @abstractmethod
    def write_layers(
        cls,
        location: Any,
        frames: Mapping[str, pd.DataFrame],
        *,
        kind: LayerKind,
        attribution: list[str],
        extra_meta: Mapping[str, str] | None = None,
    ) -> Any:
        """Write ``frames`` (name → GeoDataFrame, or DataFrame for a table) as one layer set.

        List columns (themes, life stages, …) come back as lists from :meth:`open_layers`.
        Atomic like :meth:`write_reference`. Returns ``location``.
        """

    @classmethod
    @abstractmethod
    def open_layers(cls, location: Any, kind: LayerKind) -> LayerSet:
        """Open, check and read the layer set of ``kind`` at ``location``.

        Raises StoreError naming it when it is missing, of another kind or schema, or when a
        layer's row count differs from what the build wrote.
        """

    @classmethod
    @abstractmethod
    def write_layer_set(
        cls,
        public_location: Any,
        public_frames: Mapping[str, pd.DataFrame],
        planner_location: Any,
        planner_frames: Mapping[str, pd.DataFrame],
        *,
        attribution: list[str],
        public_meta: Mapping[str, str] | None = None,
    ) -> Manifest:
        """Write the public and planners' layer sets and their manifest as one set.

        Readers see the old set or the new one: anything in between does not match the
        manifest and is refused by :meth:`open_layer_set`. Leftovers of a killed earlier
        write are removed first. Returns the manifest written.
        """

    @classmethod
    @abstractmethod
    def open_layer_set(cls, public_location: Any, planner_location: Any) -> PublishedSet:
        """Open both layer sets after checking every byte against the set's manifest.

        Raises StoreError naming the file when the manifest or a member is missing, differs
        from the manifest (one changed byte is enough), or was replaced while being read.
        """

    @classmethod
    @abstractmethod
    def has_layer_set(cls, public_location: Any, planner_location: Any) -> bool:
        """Whether anything of a layer set is at these locations (a build ran, or was killed
        midway): False means "not built yet", which a service may report instead of failing."""

    @classmethod
    @abstractmethod
    def published_version(cls, location: Any) -> str | None:
        """The version of the layer set published at ``location`` (its manifest's, the one a
        server serving it reports), None when none is: what ``tiles build`` records."""

    @classmethod
    def watch_published(
        cls, location: Any, *, interval: float, listen: bool = True
    ) -> Iterator[str] | None:
        """The current layer set's version now and whenever a build may have published one,
        for a server that shares the store with others (a look every ``interval`` seconds, and
        the backend's notices unless ``listen`` is false); None when the backend has no such
        notice (a GeoPackage: a reload is asked for with ``POST /admin/reload``)."""
        return None


# --- the other prefectures' towns, one packed row per prefecture ------------------------------


def pack_prefectures(towns: pd.DataFrame) -> pd.DataFrame:
    """One row per prefecture: its towns as compressed columns (pref, towns, data).

    272,000 towns as plain rows made the file six times larger and every start-up slower (the
    integrity check reads the whole file); packed, a prefecture is one row read when the
    geocoder first meets an address there (:meth:`Store.japan_town_rows`).
    """
    import pandas as pd

    rows = []
    for pref, group in towns.groupby("pref", sort=False):
        columns = {
            c: [None if isinstance(v, float) and math.isnan(v) else v for v in group[c].tolist()]
            for c in JAPAN_TOWN_COLUMNS
            if c != "pref"
        }
        packed = zlib.compress(json.dumps(columns, ensure_ascii=False).encode("utf-8"), 6)
        rows.append((str(pref), len(group), base64.b64encode(packed).decode("ascii")))
    return pd.DataFrame(rows, columns=["pref", "towns", "data"])


def _unpack_prefecture(pref: str, data: str) -> list[tuple[Any, ...]]:
    """The rows :func:`pack_prefectures` packed for ``pref``, in :data:`JAPAN_TOWN_COLUMNS`
    order, with lat/lng as floats (None where missing or not a number)."""
    columns = json.loads(zlib.decompress(base64.b64decode(data)).decode("utf-8"))
    values = [
        [_number(v) for v in columns[c]] if c in ("lat", "lng") else columns[c]
        for c in JAPAN_TOWN_COLUMNS
        if c != "pref"
    ]
    return [(pref, *row) for row in zip(*values, strict=True)]  # pref is the first column


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number
