"""The store: one interface for reference data and published layers, one class per backend.

* :mod:`.base`: the :class:`Store` interface, :class:`ReferenceData` (what an import writes)
  and :class:`LayerSet` (a published layer set read back). The reference properties are the
  base's, read through two readers each backend implements: a layer with its geometry, and
  the plain rows of a layer or table (:meth:`Store.rows`, what the geocoder reads).
* :mod:`.geopackage`: :class:`GeoPackageStore`, the first backend (one file any GIS opens).
* :mod:`.backends`: :func:`open_store`, :func:`open_layers`, :func:`write_layers`, which pick
  the backend from the location (a path → GeoPackage; ``postgresql://`` → PostGIS).
* :mod:`.postgis`: :class:`PostgisStore`, reference data and versioned layer sets in
  PostgreSQL/PostGIS (migrations in ``migrations/``), for several servers on one database.
* :mod:`.checks`: the file checks every GeoPackage passes before anyone reads it.
* :mod:`.manifest`: the manifest of a published set (SHA-256, size and rows of every file,
  the set's version) that the service checks before it serves a byte.
"""

from tsunagari_geo.store.backends import (
    backend_for,
    has_layer_set,
    is_database,
    open_layer_set,
    open_layers,
    open_store,
    published_locations,
    published_version,
    watch_published,
    write_layer_set,
    write_layers,
)
from tsunagari_geo.store.base import (
    JAPAN_TOWN_COLUMNS,
    LAYERS_SCHEMA_VERSION,
    STORE_SCHEMA_VERSION,
    AttributeRows,
    LayerKind,
    LayerSet,
    PublishedSet,
    ReferenceData,
    Store,
)
from tsunagari_geo.store.geopackage import GeoPackageStore

__all__ = [
    "JAPAN_TOWN_COLUMNS",
    "LAYERS_SCHEMA_VERSION",
    "STORE_SCHEMA_VERSION",
    "AttributeRows",
    "GeoPackageStore",
    "LayerKind",
    "LayerSet",
    "PublishedSet",
    "ReferenceData",
    "Store",
    "backend_for",
    "has_layer_set",
    "is_database",
    "open_layer_set",
    "open_layers",
    "open_store",
    "published_locations",
    "published_version",
    "watch_published",
    "write_layer_set",
    "write_layers",
]
