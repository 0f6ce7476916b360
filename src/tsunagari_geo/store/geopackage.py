"""The GeoPackage backend: the store as one file any GIS can open, layer sets as one file each.

Reference data is one GeoPackage with the layers ``units``, ``municipalities``, ``towns`` and
the tables ``metadata`` (key/value), ``sources``, ``region`` (region.toml and the registry CSVs
as imported), ``japan_municipalities`` (pref, name) and, when a national source was
imported, ``japan_towns`` (every other prefecture's towns, one compressed row per
prefecture). A published layer set is another
GeoPackage with a ``metadata`` table naming its kind, layers, row counts and list columns
(GeoPackage has no list type, so lists are stored as JSON arrays).

Every file is written to a temporary file beside the target and renamed over it (see
:func:`tsunagari_geo.tables.atomic_path`), and checked when opened
(:func:`tsunagari_geo.store.checks.inspect_geopackage`), so a truncated or foreign file raises
:class:`StoreError` and a service keeps the file it has.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsunagari_geo import __version__
from tsunagari_geo.errors import StoreError
from tsunagari_geo.store.base import (
    IMPORT_FIRST_HINT,
    LAYERS_SCHEMA_VERSION,
    OPTIONAL_LAYERS,
    OPTIONAL_TABLES,
    REFERENCE_LAYERS,
    STORE_SCHEMA_VERSION,
    AttributeRows,
    ColumnKind,
    LayerKind,
    LayerSet,
    PublishedSet,
    ReferenceData,
    Store,
    check_reference_set,
    chosen_columns,
    pack_prefectures,
)
from tsunagari_geo.store.checks import inspect_geopackage
from tsunagari_geo.store.manifest import (
    Manifest,
    build_time,
    check_unchanged,
    layers_manifest_path,
    manifest_text,
    read_manifest,
    verify_file,
)

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd


#: GeoPackage column types (before any ``(size)``) that sqlite3 gives back as OGR reads them,
#: BOOLEAN (stored 0/1) converted to bool; any other type (a DATE, a BLOB) is ``other``.
_COLUMN_KINDS: dict[str, ColumnKind] = {
    "TEXT": "str",
    "REAL": "float",
    "FLOAT": "float",
    "DOUBLE": "float",
    "INTEGER": "int",
    "MEDIUMINT": "int",
    "SMALLINT": "int",
    "TINYINT": "int",
    "BOOLEAN": "bool",
}


class GeoPackageStore(Store):
    """A checked, read-only GeoPackage store. Frames are read once, on first use, and kept."""

    def __init__(self, path: Path, meta: dict[str, str]) -> None:
        self.path = path
        self._meta = meta

    def __repr__(self) -> str:
        return f"GeoPackageStore({str(self.path)!r})"

    # --- reference data: write ----------------------------------------------------------------

    @classmethod
    def write_reference(cls, location: Any, data: ReferenceData) -> None:
        import pandas as pd
        import pyogrio

        from tsunagari_geo.tables import atomic_path

        path = Path(location)
        path.parent.mkdir(parents=True, exist_ok=True)
        region_files = data.region.files.as_dict()
        tables: dict[str, pd.DataFrame] = {
            "units": data.units,
            "municipalities": data.municipalities,
            "towns": data.towns,
            "metadata": _key_values(
                {"schema_version": STORE_SCHEMA_VERSION, **data.metadata}, "key"
            ),
            "sources": data.sources,
            "region": pd.DataFrame(
                {"file": list(region_files), "text": list(region_files.values())}
            ),
            "japan_municipalities": data.japan_municipalities[["pref", "name"]],
        }
        if data.japan_towns is not None:
            tables["japan_towns"] = pack_prefectures(data.japan_towns)
        if data.small_areas is not None:
            tables["small_areas"] = data.small_areas
            tables["metadata"] = _key_values(
                {
                    "schema_version": STORE_SCHEMA_VERSION,
                    **data.metadata,
                    "small_areas": str(len(data.small_areas)),
                },
                "key",
            )
        with atomic_path(path) as tmp:
            for name, frame in tables.items():
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG")

    # --- reference data: read -----------------------------------------------------------------

    @classmethod
    def open(cls, location: Any) -> GeoPackageStore:
        """Open and check the store; raises StoreError naming the file and the problem.

        The file must exist, be a GeoPackage written by this package's importer with the same
        schema version, and hold as many rows per layer as its metadata says.
        """
        path = Path(location)
        summary = inspect_geopackage(
            path,
            what="参照データ",
            missing_hint=IMPORT_FIRST_HINT,
        )
        meta = summary.meta
        check_reference_set(meta, summary.counts, path)
        counted = {layer: layer for layer in (*REFERENCE_LAYERS, "japan_municipalities")}
        counted |= {t: key for t, key in OPTIONAL_TABLES.items() if t in summary.counts}
        counted |= {n: n for n in OPTIONAL_LAYERS if n in summary.counts}
        for layer, key in counted.items():
            if str(summary.counts[layer]) != meta.get(key):
                raise StoreError(
                    f"layer {layer} has {summary.counts[layer]} rows but the import wrote "
                    f"{meta.get(key)}",
                    path=path,
                )
        return cls(path=path, meta=meta)

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def meta(self) -> dict[str, str]:
        return self._meta

    def _read_layer(self, layer: str) -> gpd.GeoDataFrame:
        import pyogrio

        try:
            return pyogrio.read_dataframe(self.path, layer=layer)
        except Exception as exc:
            raise StoreError(f"cannot read layer {layer}: {exc}", path=self.path) from exc

    def _read_rows(
        self,
        layer: str,
        columns: Sequence[str] | None = None,
        *,
        where: tuple[str, str] | None = None,
    ) -> AttributeRows:
        """Read with sqlite3: no geometry is built and neither geopandas nor pandas is imported
        (their import is most of a small batch job's start-up)."""
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True)
            try:
                geometry = {
                    str(r[0])
                    for r in conn.execute(
                        "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                        (layer,),
                    )
                }
                declared = {
                    str(r[1]): str(r[2]).upper().split("(")[0]
                    for r in conn.execute(f'PRAGMA table_info("{layer}")')
                    if str(r[1]) not in geometry and str(r[1]) != "fid"
                }
                if not declared:
                    raise sqlite3.OperationalError(f"no such table: {layer}")
                names = chosen_columns(layer, list(declared), columns, path=self.path)
                quoted = ", ".join(f'"{n}"' for n in names)
                sql = f'SELECT {quoted} FROM "{layer}"'
                params: tuple[str, ...] = ()
                if where is not None:
                    column = chosen_columns(layer, list(declared), [where[0]], path=self.path)[0]
                    sql += f' WHERE "{column}" = ?'
                    params = (where[1],)
                rows = conn.execute(sql + " ORDER BY fid", params).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read layer {layer}: {exc}", path=self.path) from exc
        kinds = tuple(_COLUMN_KINDS.get(declared[n], "other") for n in names)
        booleans = [i for i, kind in enumerate(kinds) if kind == "bool"]
        if booleans and rows:
            rows = [
                tuple(bool(v) if i in booleans and v is not None else v for i, v in enumerate(r))
                for r in rows
            ]
        return AttributeRows(layer=layer, columns=tuple(names), kinds=kinds, rows=rows)

    # --- published layers ---------------------------------------------------------------------

    @classmethod
    def write_layers(
        cls,
        location: Any,
        frames: Mapping[str, pd.DataFrame],
        *,
        kind: LayerKind,
        attribution: list[str],
        extra_meta: Mapping[str, str] | None = None,
    ) -> Path:
        from tsunagari_geo.tables import atomic_path

        path = Path(location)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            _write_layer_file(
                tmp, frames, kind=kind, attribution=attribution, extra_meta=extra_meta
            )
        return path

    @classmethod
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
        from tsunagari_geo.tables import atomic_paths, remove_stale_temporaries

        public, planner = Path(public_location), Path(planner_location)
        manifest_path = layers_manifest_path(public)
        targets = (public, planner, manifest_path)
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(target)
        # Both files and the manifest of their hashes are complete before the first rename;
        # the manifest goes last, so a reader between two renames sees a mismatch and keeps
        # the set it has (see tsunagari_geo.store.manifest).
        with atomic_paths(targets) as (public_tmp, planner_tmp, manifest_tmp):
            public_rows = _write_layer_file(
                public_tmp,
                public_frames,
                kind="public",
                attribution=attribution,
                extra_meta=public_meta,
            )
            planner_rows = _write_layer_file(
                planner_tmp, planner_frames, kind="planner", attribution=attribution
            )
            text = manifest_text(
                manifest_path,
                "layers",
                {
                    "public": (public, public_tmp, public_rows),
                    "planner": (planner, planner_tmp, planner_rows),
                },
            )
            manifest_tmp.write_text(text, encoding="utf-8")
        return read_manifest(manifest_path, kind="layers")

    @classmethod
    def open_layer_set(cls, public_location: Any, planner_location: Any) -> PublishedSet:
        public, planner = Path(public_location), Path(planner_location)
        manifest = read_manifest(layers_manifest_path(public), kind="layers")
        seen = {
            "public": verify_file(manifest, "public", public),
            "planner": verify_file(manifest, "planner", planner),
        }
        public_set = cls.open_layers(public, "public")
        planner_set = cls.open_layers(planner, "planner")
        # Hashed, then read: a build renaming a new file in between would mix two sets.
        check_unchanged(public, seen["public"])
        check_unchanged(planner, seen["planner"])
        for role, layer_set in (("public", public_set), ("planner", planner_set)):
            rows = {n: len(f) for n, f in layer_set.frames.items()}
            if rows != manifest.members[role].rows:
                raise StoreError(
                    f"行数 {rows} がマニフェストの {manifest.members[role].rows} と違います",
                    path=layer_set.path,
                )
        return PublishedSet(manifest=manifest, public=public_set, planner=planner_set)

    @classmethod
    def has_layer_set(cls, public_location: Any, planner_location: Any) -> bool:
        public = Path(public_location)
        members = (public, Path(planner_location), layers_manifest_path(public))
        return any(p.exists() for p in members)

    @classmethod
    def published_version(cls, location: Any) -> str | None:
        try:
            return read_manifest(layers_manifest_path(Path(location)), kind="layers").version
        except StoreError:
            return None

    @classmethod
    def open_layers(cls, location: Any, kind: LayerKind) -> LayerSet:
        import geopandas as gpd
        import pyogrio

        path = Path(location)
        summary = inspect_geopackage(
            path,
            what="レイヤーのファイル",
            missing_hint="先に `tsunagari-geo build` を実行してください",
        )
        meta = summary.meta
        try:
            layers = json.loads(meta.get("layers", "[]"))
            expected = json.loads(meta.get("counts", "{}"))
            list_columns: dict[str, list[str]] = json.loads(meta.get("list_columns", "{}"))
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
        for name, n in counts.items():
            if expected.get(name) != n:
                raise StoreError(
                    f"layer {name} has {n} rows but the build wrote {expected.get(name)}",
                    path=path,
                )
        frames = {}
        for name in layers:
            try:
                frame = pyogrio.read_dataframe(path, layer=name)
            except Exception as exc:
                raise StoreError(f"cannot read layer {name}: {exc}", path=path) from exc
            for column in list_columns.get(name, []):
                frame[column] = _decode_list_column(frame[column], path=path, layer=name)
            if not isinstance(frame, gpd.GeoDataFrame):
                frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame)))
                frame = frame.set_crs(4326)
            frames[name] = frame
        return LayerSet(path=path, kind=kind, meta=meta, frames=frames)


def _write_layer_file(
    path: Path,
    frames: Mapping[str, pd.DataFrame],
    *,
    kind: LayerKind,
    attribution: list[str],
    extra_meta: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Write ``frames`` and their metadata table into a new GeoPackage; return row counts."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    list_columns: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
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
        pyogrio.write_dataframe(out, path, layer=name, driver="GPKG")
    meta = {
        "schema_version": LAYERS_SCHEMA_VERSION,
        "kind": kind,
        "tsunagari_geo_version": __version__,
        "built_at": build_time(),
        "layers": json.dumps(list(frames)),
        "counts": json.dumps(counts),
        "list_columns": json.dumps(list_columns),
        "attribution": "\n".join(attribution),
        **(extra_meta or {}),
    }
    pyogrio.write_dataframe(_key_values(meta, "key"), path, layer="metadata", driver="GPKG")
    return counts


def _key_values(items: Mapping[str, str], key: str) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({key: list(items), "value": [str(v) for v in items.values()]})


def _decode_list_column(series: pd.Series, *, path: Path, layer: str) -> list[list[str]]:
    # A cell that is not JSON is a broken file: say where, instead of a traceback at start-up.
    decoded = []
    for row, value in enumerate(series, start=1):
        try:
            decoded.append(_decode_list(value))
        except json.JSONDecodeError as exc:
            raise StoreError(
                f"layer {layer}: a list cell is not valid JSON ({exc.msg})",
                path=path,
                row=row,
                column=str(series.name),
                value=str(value)[:80],
            ) from exc
    return decoded


def _decode_list(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    decoded = json.loads(str(value))
    return [str(v) for v in decoded] if isinstance(decoded, list) else [str(decoded)]


def _is_list_column(series: pd.Series) -> bool:
    import numpy as np

    return bool(series.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any())
