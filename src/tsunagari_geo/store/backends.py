"""Which backend serves a location: a path is a GeoPackage; a URL names its backend.

``open_store("data/build/tsunagari.gpkg")`` opens the GeoPackage; ``postgresql://…`` is
reserved for the PostGIS backend, which is not built yet, and raises a StoreError saying so.
Adding a backend is one :class:`~tsunagari_geo.store.base.Store` subclass and one line in
:func:`backend_for`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from tsunagari_geo.errors import StoreError
from tsunagari_geo.store.base import LayerKind, LayerSet, PublishedSet, Store
from tsunagari_geo.store.geopackage import GeoPackageStore
from tsunagari_geo.store.manifest import Manifest

# A scheme of two letters or more (C:/ is a Windows drive); one slash, since a URL that went
# through pathlib.Path (settings read TSUNAGARI_STORE as a path) has lost the second.
_URL_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/+")
_POSTGIS_SCHEMES = frozenset({"postgresql", "postgres", "postgis"})


def backend_for(location: str | Path) -> type[Store]:
    """The Store class for ``location``; raises StoreError for a scheme no backend serves."""
    m = _URL_RE.match(str(location))
    if m is None:
        return GeoPackageStore
    scheme = m.group(1).lower()
    if scheme == "file":
        return GeoPackageStore
    shown = f"{scheme}://…"  # never echo credentials written in the URL
    if scheme in _POSTGIS_SCHEMES:
        raise StoreError(
            "PostGIS ストアはまだ実装されていません。GeoPackage のパスを指定してください "
            "(the PostGIS store backend is not built yet; give a GeoPackage path)",
            path=shown,
        )
    raise StoreError(
        f"ストアの種類 {scheme} には対応していません (no store backend for {scheme}://)",
        path=shown,
    )


def _local(location: str | Path) -> Any:
    m = _URL_RE.match(str(location))
    if m is not None and m.group(1).lower() == "file":
        return Path("/" + str(location)[m.end() :])
    return location


def open_store(location: str | Path) -> Store:
    """Open and check the store at ``location`` with the backend the location names.

    >>> store = open_store("data/build/tsunagari.gpkg")  # doctest: +SKIP
    >>> store.region.pref_name  # doctest: +SKIP
    '埼玉県'
    """
    return backend_for(location).open(_local(location))


def open_layers(location: str | Path, kind: LayerKind) -> LayerSet:
    """Open the published layer set of ``kind`` at ``location``."""
    return backend_for(location).open_layers(_local(location), kind)


def write_layers(
    location: str | Path,
    frames: Mapping[str, pd.DataFrame],
    *,
    kind: LayerKind,
    attribution: list[str],
    extra_meta: Mapping[str, str] | None = None,
) -> Any:
    """Write a published layer set at ``location``, atomically; returns ``location``."""
    return backend_for(location).write_layers(
        _local(location), frames, kind=kind, attribution=attribution, extra_meta=extra_meta
    )


def write_layer_set(
    public_location: str | Path,
    public_frames: Mapping[str, pd.DataFrame],
    planner_location: str | Path,
    planner_frames: Mapping[str, pd.DataFrame],
    *,
    attribution: list[str],
    public_meta: Mapping[str, str] | None = None,
) -> Manifest:
    """Write the public and planners' layers and their manifest as one set (all or none)."""
    return backend_for(public_location).write_layer_set(
        _local(public_location),
        public_frames,
        _local(planner_location),
        planner_frames,
        attribution=attribution,
        public_meta=public_meta,
    )


def open_layer_set(public_location: str | Path, planner_location: str | Path) -> PublishedSet:
    """Open the public and planners' layers, every byte checked against their manifest."""
    return backend_for(public_location).open_layer_set(
        _local(public_location), _local(planner_location)
    )
