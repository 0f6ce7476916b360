"""The layer files the pipeline writes and the service and tiles read: one GeoPackage each.

Two kinds of file, never mixed:

* ``public`` (``data/build/layers.gpkg``): the published view of activities, consultation
  windows (相談窓口), good practices (好事例) and the municipality/unit coverage layers.
  Everything in it may be shown to anyone: hidden and unpublished activities are not in it,
  and no point in it is more precise than its row's ``location_precision``.
* ``planner`` (``data/build/planner.gpkg``): every activity with its exact point, for the
  planners' view behind the bearer token.

GeoPackage has no list type, so list columns (themes, life stages, …) are stored as JSON
arrays and named in the ``metadata`` table; :meth:`LayerSet.open` turns them back into lists.
Files are written atomically (temporary file in the same folder, fsync, rename), so a reader
never sees half a file, and opened with checks so a truncated or foreign file raises
:class:`StoreError` instead of serving partial data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from tsunagari_geo import __version__
from tsunagari_geo.errors import StoreError
from tsunagari_geo.gpkg import inspect_geopackage
from tsunagari_geo.tables import atomic_path

LAYERS_SCHEMA_VERSION = "1"
Kind = Literal["public", "planner"]


@dataclass(frozen=True)
class LayerSet:
    """A validated layer file with every layer read into memory (EPSG:4326)."""

    path: Path
    kind: Kind
    meta: dict[str, str] = field(repr=False)
    frames: dict[str, gpd.GeoDataFrame] = field(repr=False)

    @classmethod
    def open(cls, path: Path | str, kind: Kind) -> LayerSet:
        """Open, check and read a layer file of the given kind.

        Raises StoreError naming the file when it is missing, not a GeoPackage, of another
        kind or schema, or when a layer's row count differs from what the build wrote.
        """
        path = Path(path)
        summary = inspect_geopackage(
            path, what="layer file", missing_hint="run `tsunagari-geo build` first"
        )
        meta = summary.meta
        try:
            layers = json.loads(meta.get("layers", "[]"))
        except json.JSONDecodeError as exc:
            raise StoreError(f"layer file metadata is not valid: {exc}", path=path) from exc
        missing = [n for n in layers if n not in summary.counts]
        if missing:
            raise StoreError(f"layer file lacks layers {missing}", path=path)
        counts = {n: summary.counts[n] for n in layers}
        if meta.get("schema_version") != LAYERS_SCHEMA_VERSION:
            raise StoreError(
                f"layer schema {meta.get('schema_version')!r} is not "
                f"{LAYERS_SCHEMA_VERSION!r}; re-run `tsunagari-geo build`",
                path=path,
            )
        if meta.get("kind") != kind:
            raise StoreError(f"expected a {kind} layer file, found {meta.get('kind')!r}", path=path)
        expected = json.loads(meta.get("counts", "{}"))
        for name, n in counts.items():
            if expected.get(name) != n:
                raise StoreError(
                    f"layer {name} has {n} rows but the build wrote {expected.get(name)}",
                    path=path,
                )
        list_columns: dict[str, list[str]] = json.loads(meta.get("list_columns", "{}"))
        frames = {}
        for name in layers:
            try:
                frame = pyogrio.read_dataframe(path, layer=name)
            except Exception as exc:
                raise StoreError(f"cannot read layer {name}: {exc}", path=path) from exc
            for column in list_columns.get(name, []):
                frame[column] = [_decode_list(v) for v in frame[column]]
            if not isinstance(frame, gpd.GeoDataFrame):
                frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame)))
                frame = frame.set_crs(4326)
            frames[name] = frame
        return cls(path=path, kind=kind, meta=meta, frames=frames)

    @property
    def attribution(self) -> list[str]:
        return self.meta.get("attribution", "").splitlines()


def _decode_list(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    decoded = json.loads(str(value))
    return [str(v) for v in decoded] if isinstance(decoded, list) else [str(decoded)]


def _is_list_column(series: pd.Series) -> bool:
    return bool(series.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any())


def write_layers(
    path: Path,
    frames: Mapping[str, pd.DataFrame],
    *,
    kind: Kind,
    attribution: list[str],
    extra_meta: Mapping[str, str] | None = None,
) -> Path:
    """Write ``frames`` (name → GeoDataFrame, or DataFrame for a table) as one GeoPackage.

    List columns are encoded as JSON arrays and recorded in the metadata. Frames without
    geometry are written as attribute tables. Returns ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    list_columns: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    with atomic_path(path) as tmp:
        for name, frame in frames.items():
            out = frame.copy()
            lists = [c for c in out.columns if c != "geometry" and _is_list_column(out[c])]
            for column in lists:
                out[column] = [
                    json.dumps(list(v) if v is not None else [], ensure_ascii=False)
                    for v in out[column]
                ]
            list_columns[name] = lists
            counts[name] = len(out)
            if isinstance(out, gpd.GeoDataFrame) and out._geometry_column_name in out:
                if out.crs is not None:
                    out = out.to_crs(4326)
            else:
                out = pd.DataFrame(out)  # an attribute table (suggestions, spread)
            pyogrio.write_dataframe(out, tmp, layer=name, driver="GPKG")
        items = {
            "schema_version": LAYERS_SCHEMA_VERSION,
            "kind": kind,
            "tsunagari_geo_version": __version__,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "layers": json.dumps(list(frames)),
            "counts": json.dumps(counts),
            "list_columns": json.dumps(list_columns),
            "attribution": "\n".join(attribution),
            **(extra_meta or {}),
        }
        meta = pd.DataFrame({"key": list(items), "value": list(items.values())})
        pyogrio.write_dataframe(meta, tmp, layer="metadata", driver="GPKG")
    return path
