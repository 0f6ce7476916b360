"""The embedded reference store: a GeoPackage any GIS can open, read by every later layer.

``ReferenceStore.open(path)`` checks the file before anyone reads from it: it must exist, be a
GeoPackage written by this package's importer (same schema version), and hold as many rows per
layer as its metadata says. A truncated or foreign file raises :class:`StoreError` with the
reason, so a service can refuse it and keep the store it has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from tsunagari_geo.errors import StoreError
from tsunagari_geo.gpkg import inspect_geopackage
from tsunagari_geo.reference.importer import STORE_SCHEMA_VERSION

LAYERS = ("units", "municipalities", "towns")
TABLES = ("metadata", "sources")


@dataclass(frozen=True)
class ReferenceStore:
    """A validated, read-only view of the GeoPackage. Frames are read once and cached."""

    path: Path
    meta: dict[str, str] = field(repr=False)

    @classmethod
    def open(cls, path: Path | str) -> ReferenceStore:
        """Open and check the store; raises StoreError naming the file and the problem."""
        path = Path(path)
        summary = inspect_geopackage(
            path, what="reference store", missing_hint="run `tsunagari-geo data import` first"
        )
        meta = summary.meta
        missing = [n for n in (*LAYERS, *TABLES) if n not in summary.counts]
        if missing:
            raise StoreError(f"store lacks layers {missing}", path=path)
        if meta.get("schema_version") != STORE_SCHEMA_VERSION:
            raise StoreError(
                f"store schema {meta.get('schema_version')!r} is not "
                f"{STORE_SCHEMA_VERSION!r}; re-run `tsunagari-geo data import`",
                path=path,
            )
        for layer in LAYERS:
            if str(summary.counts[layer]) != meta.get(layer):
                raise StoreError(
                    f"layer {layer} has {summary.counts[layer]} rows but the import wrote "
                    f"{meta.get(layer)}",
                    path=path,
                )
        return cls(path=path, meta=meta)

    def _read(self, layer: str) -> Any:
        try:
            return pyogrio.read_dataframe(self.path, layer=layer)
        except Exception as exc:
            raise StoreError(f"cannot read layer {layer}: {exc}", path=self.path) from exc

    @cached_property
    def units(self) -> gpd.GeoDataFrame:
        """The 72 units (EPSG:4326), one MultiPolygon per code, with population and area."""
        return self._read("units")

    @cached_property
    def municipalities(self) -> gpd.GeoDataFrame:
        """The 63 municipalities (さいたま市 as one), with population summed."""
        return self._read("municipalities")

    @cached_property
    def towns(self) -> gpd.GeoDataFrame:
        """5,389 大字・町丁目 representative points with their unit and matching key."""
        return self._read("towns")

    @cached_property
    def sources(self) -> pd.DataFrame:
        return self._read("sources")

    @property
    def attribution(self) -> list[str]:
        return self.meta.get("attribution", "").splitlines()

    def info(self) -> dict[str, Any]:
        """Counts and provenance, as `tsunagari-geo data info --json` prints them."""
        src = self.sources.to_dict("records")
        return {
            "store": str(self.path),
            "schema_version": self.meta["schema_version"],
            "imported_at": self.meta["imported_at"],
            "n03_edition": self.meta["n03_edition"],
            "units": int(self.meta["units"]),
            "municipalities": int(self.meta["municipalities"]),
            "towns": int(self.meta["towns"]),
            "area_km2": round(float(self.meta["area_km2"]), 3),
            "population": int(self.meta["population"]),
            "repaired_codes": [c for c in self.meta.get("repaired_codes", "").split(",") if c],
            "source_dir": self.meta["source_dir"],
            "sources": [
                {
                    "role": r["role"],
                    "path": r["path"],
                    "sha256": r["sha256"],
                    "size": int(r["size"]),
                }
                for r in src
            ],
            "attribution": self.attribution,
        }
