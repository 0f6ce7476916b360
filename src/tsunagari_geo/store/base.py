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

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from tsunagari_geo.region import Region
from tsunagari_geo.store.manifest import Manifest

if TYPE_CHECKING:
    import geopandas as gpd

#: Bumped when the layout of the reference data or the town key changes; readers refuse others.
#: 2: the region and the other prefectures' municipality names are in the store.
STORE_SCHEMA_VERSION = "2"
#: Bumped when the layout of a published layer set changes.
LAYERS_SCHEMA_VERSION = "1"
#: What to tell a person whose store is from another schema or lacks what a reader needs.
REIMPORT_HINT = "re-run `tsunagari-geo data import`"

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

    @property
    @abstractmethod
    def region(self) -> Region:
        """The region the store was imported with."""

    @property
    @abstractmethod
    def units(self) -> gpd.GeoDataFrame:
        """The units (72 in 埼玉県), one MultiPolygon per code, with population and area."""

    @property
    @abstractmethod
    def municipalities(self) -> gpd.GeoDataFrame:
        """The municipalities (63 in 埼玉県), designated cities as one, population summed."""

    @property
    @abstractmethod
    def towns(self) -> gpd.GeoDataFrame:
        """Every 大字・町丁目 representative point with its unit and matching key."""

    @property
    @abstractmethod
    def sources(self) -> pd.DataFrame:
        """Every source file the import read: role, path, sha256, size."""

    @property
    @abstractmethod
    def japan_municipalities(self) -> pd.DataFrame:
        """Municipality names of every other prefecture (columns pref, name)."""

    @abstractmethod
    def japan_towns(self, pref: str) -> pd.DataFrame:
        """The towns of one other prefecture (columns pref, municipality as ``ja.json`` lists
        it, town, koaza, lat, lng, point_source); empty when the store was imported without a
        national source (``data import --japan``) or ``pref`` is the region's own."""

    def attributes(self, layer: str) -> pd.DataFrame:
        """The columns of a reference layer (``units``, ``municipalities``, ``towns``) without
        its geometry: what the geocoder's dictionary reads. A backend may read them without
        building geometries (the GeoPackage does, so a batch job never imports geopandas)."""
        frame = getattr(self, layer)
        geometry = getattr(frame, "_geometry_column_name", None)
        return pd.DataFrame(frame.drop(columns=[geometry] if geometry in frame else []))

    @property
    def has_japan_towns(self) -> bool:
        """Whether the store holds the towns of all Japan."""
        return int(self.meta.get("japan_towns", "0") or 0) > 0

    @property
    @abstractmethod
    def small_areas(self) -> gpd.GeoDataFrame | None:
        """Census small areas (小地域): one point per KEY_CODE with population and households,
        their ``unit_code``/``muni_code`` and whether a town matched; None if not imported."""

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
