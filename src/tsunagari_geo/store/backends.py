"""Which backend serves a location: a path is a GeoPackage; a URL names its backend.

``open_store("data/build/tsunagari.gpkg")`` opens the GeoPackage; ``postgresql://…`` (or
``postgres://``) the PostGIS database (:mod:`tsunagari_geo.store.postgis`), which also holds
the published layers unless they are given elsewhere (:func:`published_locations`).
Adding a backend is one :class:`~tsunagari_geo.store.base.Store` subclass and one line in
:func:`backend_for`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsunagari_geo.errors import StoreError
from tsunagari_geo.store.base import LayerKind, LayerSet, PublishedSet, Store
from tsunagari_geo.store.geopackage import GeoPackageStore
from tsunagari_geo.store.manifest import Manifest

if TYPE_CHECKING:
    import pandas as pd

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
        # Imported here: a GeoPackage-only run never loads the database driver.
        from tsunagari_geo.store.postgis import PostgisStore

        return PostgisStore
    raise StoreError(
        f"ストアの種類 {scheme} には対応していません (no store backend for {scheme}://)",
        path=shown,
    )


def is_database(location: str | Path | None) -> bool:
    """Whether ``location`` names a database (a URL whose backend is not a file)."""
    if location is None:
        return False
    m = _URL_RE.match(str(location))
    return m is not None and m.group(1).lower() in _POSTGIS_SCHEMES


def published_locations(
    store: str | Path, public: str | Path | None, planner: str | Path | None
) -> tuple[str | Path, str | Path]:
    """Where the published layers of ``store`` are: ``public``/``planner`` when given, else the
    database itself for a database store, else the default GeoPackage files.

    The one place that decides it, for ``build``, ``tiles build``, ``site build`` and the
    service: ``TSUNAGARI_STORE=postgresql://…`` alone puts everything in the database.
    """
    from tsunagari_geo.layers.paths import DEFAULT_LAYERS, DEFAULT_PLANNER_LAYERS

    if is_database(store):
        return (
            store if public is None or Path(public) == DEFAULT_LAYERS else public,
            store if planner is None or Path(planner) == DEFAULT_PLANNER_LAYERS else planner,
        )
    return (public or DEFAULT_LAYERS, planner or DEFAULT_PLANNER_LAYERS)


def has_layer_set(public_location: str | Path, planner_location: str | Path) -> bool:
    """Whether a layer set (or part of one) is at these locations; False: not built yet."""
    return backend_for(public_location).has_layer_set(
        _local(public_location), _local(planner_location)
    )


def watch_published(
    location: str | Path, *, interval: float, listen: bool = True
) -> Iterator[str] | None:
    """The versions of the layer set at ``location`` as they are published (see
    :meth:`Store.watch_published`), None when its backend has no such notice."""
    return backend_for(location).watch_published(_local(location), interval=interval, listen=listen)


def published_version(location: str | Path) -> str | None:
    """The version of the layer set published at ``location``, None when none is (see
    :meth:`Store.published_version`)."""
    return backend_for(location).published_version(_local(location))


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
