"""The reference store, as every later layer opens it.

``ReferenceStore`` is the GeoPackage backend of the store interface
(:class:`tsunagari_geo.store.GeoPackageStore`) under the name existing callers use:
``ReferenceStore.open(path)`` checks and opens the file exactly as
:func:`tsunagari_geo.store.open_store` does for a path. New code takes a
:class:`tsunagari_geo.store.Store` and opens it with ``open_store``.
"""

from __future__ import annotations

from tsunagari_geo.store.base import REFERENCE_LAYERS as LAYERS
from tsunagari_geo.store.base import REFERENCE_TABLES as TABLES
from tsunagari_geo.store.geopackage import GeoPackageStore as ReferenceStore

__all__ = ["LAYERS", "TABLES", "ReferenceStore"]
