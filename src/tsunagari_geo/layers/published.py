"""The layer files the pipeline writes and the service and tiles read: one GeoPackage each.

Two kinds of file, never mixed:

* ``public`` (``data/build/layers.gpkg``): the published view of activities, consultation
  windows (相談窓口), good practices (好事例) and the municipality/unit coverage layers.
  Everything in it may be shown to anyone: hidden and unpublished activities are not in it,
  and no point in it is more precise than its row's ``location_precision``.
* ``planner`` (``data/build/planner.gpkg``): every activity with its exact point, for the
  planners' view behind the bearer token.

The pipeline writes both, with ``layers.manifest.json`` (the SHA-256 and row counts of each),
as one set through :func:`write_layer_set`; the service opens them only when every byte matches
the manifest. Both are written and read through the store interface (:mod:`tsunagari_geo.store`), which
picks the backend from the location: lists come back as lists, writes are atomic, and a
truncated or foreign file raises :class:`StoreError` instead of serving partial data.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from tsunagari_geo.store import LAYERS_SCHEMA_VERSION, LayerSet, write_layer_set
from tsunagari_geo.store import LayerKind as Kind
from tsunagari_geo.store import write_layers as _write_layers

__all__ = ["LAYERS_SCHEMA_VERSION", "Kind", "LayerSet", "write_layer_set", "write_layers"]


def write_layers(
    path: Path,
    frames: Mapping[str, pd.DataFrame],
    *,
    kind: Kind,
    attribution: list[str],
    extra_meta: Mapping[str, str] | None = None,
) -> Path:
    """Write ``frames`` (name → GeoDataFrame, or DataFrame for a table) as one layer set.

    List columns are kept as lists; frames without geometry are attribute tables. Returns
    ``path``.
    """
    _write_layers(path, frames, kind=kind, attribution=attribution, extra_meta=extra_meta)
    return path
