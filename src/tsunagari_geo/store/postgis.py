"""The PostGIS backend: reference data and published layers in PostgreSQL, for several servers.

``TSUNAGARI_STORE=postgresql://user@host:5432/db`` (or ``postgres://``) selects it. The schema
is created and changed only by the numbered migrations in ``store/migrations/`` (applied in
order under an advisory lock, recorded in ``schema_migrations``). Every import and every build
writes one new *set* (``tsunagari_sets``): its layers (``tsunagari_layers``: columns in order
with their types) and its rows (``tsunagari_features``: properties as JSONB, lists as JSON
arrays as in the GeoPackage, geometry in EPSG:4326 under a GiST index). Within one
transaction the writer checks the new set's content digest and row counts, moves the pointer
``tsunagari_current`` and sends ``NOTIFY tsunagari_published``; a killed writer leaves the
old set current, and readers see the old set or the new one, never half of one.

A layer set's check is the GeoPackage manifest's, on rows instead of bytes: each role's
digest is a SHA-256 over its metadata, columns and every row (properties and geometry), and
the set's version is derived from the digests as :func:`~tsunagari_geo.store.manifest.set_version`
derives it from file hashes. :meth:`PostgisStore.open_layer_set` recomputes the digests in the
database and refuses a set whose rows differ.

Servers answer bbox queries on the database (:class:`LayerTable`), and follow the current
set with :func:`watch_published` (LISTEN/NOTIFY, with a periodic check as fallback).
Passwords written in the URL are never shown in messages.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

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
from tsunagari_geo.store.manifest import (
    MANIFEST_SCHEMA_VERSION,
    Manifest,
    Member,
    build_time,
    set_version,
)

if TYPE_CHECKING:
    # Imported where frames are built: opening the store and reading its rows (the geocoder)
    # needs only psycopg.
    import geopandas as gpd
    import numpy as np
    import pandas as pd

logger = logging.getLogger("tsunagari_geo.store")

#: The channel a publication is announced on (payload: the new set's version).
CHANNEL = "tsunagari_published"
#: Sets of each kind kept besides the current one, so servers still on an older set can
#: finish their requests and a refused set leaves something to go back to.
KEPT_SETS = 3
#: Key of the advisory lock migrations and publications hold.
_LOCK_KEY = 0x7473756E  # "tsun"
_URL_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/+")
_PASSWORD_RE = re.compile(r"^(\w+://[^:/@]*):[^@]*@")
_REFERENCE = "reference"
#: A stored column kind (:func:`_kind_of`) as :meth:`Store.rows` gives it; lists and
#: datetimes are ``other`` (read with the layer, as :func:`_decode` converts them).
_ROW_KINDS: dict[str, ColumnKind] = {"str": "str", "int": "int", "float": "float", "bool": "bool"}


# --- locations and connections ------------------------------------------------------------------


def database_url(location: Any) -> str:
    """``location`` as a libpq URL (a URL that went through ``pathlib.Path`` lost a slash)."""
    text = str(location)
    m = _URL_RE.match(text)
    if m is None:
        raise StoreError("データベースの URL ではありません (not a database URL)", path=text)
    scheme = m.group(1).lower()
    scheme = "postgresql" if scheme in {"postgres", "postgis"} else scheme
    return f"{scheme}://{text[m.end() :]}"


def shown_url(location: Any) -> str:
    """The URL as messages may show it: any password replaced by ``***``."""
    try:
        url = database_url(location)
    except StoreError:
        return "…"
    return _PASSWORD_RE.sub(r"\1:***@", url)


_pools: dict[str, ConnectionPool] = {}
_pools_lock = threading.Lock()


def pool(location: Any) -> ConnectionPool:
    """The process's connection pool for the database at ``location`` (migrated on first use)."""
    url = database_url(location)
    with _pools_lock:
        found = _pools.get(url)
        if found is not None:
            return found
        try:
            # One direct connection first: a wrong host or user fails in seconds, not after
            # the pool's wait.
            psycopg.connect(url, connect_timeout=10).close()
            created = ConnectionPool(
                url, min_size=1, max_size=8, open=True, timeout=30, name="tsunagari"
            )
            created.wait(timeout=30)
        except Exception as exc:
            raise StoreError(
                f"データベースに接続できません (cannot connect): {_reason(exc)}",
                path=shown_url(location),
            ) from exc
        try:
            migrate(created)
        except Exception:
            created.close()
            raise
        _pools[url] = created
        return created


def close_pools() -> None:
    """Close every pool of this process (tests, and before a fork)."""
    with _pools_lock:
        for p in _pools.values():
            p.close()
        _pools.clear()


def _reason(exc: BaseException) -> str:
    # libpq messages name host and user, never the password; keep only the first line.
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# --- migrations -----------------------------------------------------------------------------


def migrations() -> list[tuple[int, str, str]]:
    """The packaged migrations as (number, name, SQL), in order."""
    found = []
    folder = resources.files("tsunagari_geo.store") / "migrations"
    for entry in folder.iterdir():
        m = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.sql", entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(db: ConnectionPool) -> list[str]:
    """Apply the migrations the database lacks, in order, each in its own transaction, under an
    advisory lock (several servers starting at once apply each migration once). Returns the
    names applied now."""
    applied_now: list[str] = []
    with db.connection() as conn:
        conn.autocommit = True
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            for number, name, sql in migrations():
                if number in done:
                    continue
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (number, name),
                    )
                applied_now.append(name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now


# --- frames ↔ rows --------------------------------------------------------------------------


def _kind_of(series: pd.Series) -> str:
    import numpy as np
    import pandas as pd

    if series.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
        return "list"
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "str"


def _cell(value: Any, kind: str) -> Any:
    """A cell as JSON: what the GeoPackage would store (lists of strings, NaN as null)."""
    import numpy as np
    import pandas as pd

    if kind == "list":
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return []
        return [str(v) for v in list(value)]
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    return str(value)


def _frame_rows(frame: pd.DataFrame) -> tuple[list[list[str]], bool, list[tuple[Any, ...]]]:
    """``frame``'s columns ([name, kind]), whether it has geometry, and its rows to COPY."""
    import geopandas as gpd
    import numpy as np
    import shapely

    has_geom = isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame
    out = frame
    if has_geom:
        if out.crs is not None and out.crs.to_epsg() != 4326:
            out = gpd.GeoDataFrame(out).to_crs(4326)
        geom_name = out.geometry.name
        columns = [c for c in out.columns if c != geom_name]
        geoms = np.asarray(out.geometry.values, dtype=object)
        present = ~shapely.is_missing(geoms)
        wkb = np.full(len(geoms), None, dtype=object)
        if present.any():
            wkb[present] = shapely.to_wkb(
                shapely.set_srid(geoms[present], 4326), hex=True, include_srid=True
            )
    else:
        columns = [c for c in out.columns if c != "geometry"]
        wkb = np.full(len(out), None, dtype=object)
    kinds = [[str(c), _kind_of(out[c])] for c in columns]
    rows = []
    records = out[columns].to_dict("records") if columns else [{} for _ in range(len(out))]
    for ord_, (record, geom) in enumerate(zip(records, wkb, strict=True)):
        props = {name: _cell(record[name], kind) for name, kind in kinds}
        rows.append((ord_, json.dumps(props, ensure_ascii=False, allow_nan=False), geom))
    return kinds, bool(has_geom), rows


def _decode(records: Sequence[Mapping[str, Any]], kinds: Sequence[Sequence[str]]) -> pd.DataFrame:
    """Rows' properties back into a frame, with the types a GeoPackage read gives them."""
    import numpy as np
    import pandas as pd

    data: dict[str, Any] = {}
    for name, kind in kinds:
        values = [r.get(name) for r in records]
        if kind == "list":
            data[name] = [list(v) if v is not None else [] for v in values]
        elif kind == "int":
            series = pd.Series(values, dtype=object)
            data[name] = (
                series.astype("int64") if series.notna().all() else series.astype("float64")
            )
        elif kind == "float":
            data[name] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        elif kind == "bool":
            series = pd.Series(values, dtype=object)
            data[name] = series.astype(bool) if series.notna().all() else series
        elif kind == "datetime":
            data[name] = pd.to_datetime(pd.Series(values, dtype=object))
        elif all(v is None for v in values):
            data[name] = pd.Series(values, dtype=object)  # pyogrio: an empty column is objects
        else:
            # pandas' string dtype, missing as NaN: what pyogrio reads a text column as.
            data[name] = pd.Series(values, dtype="str")
    return pd.DataFrame(data, index=pd.RangeIndex(len(records)))


@dataclass(frozen=True)
class _Layer:
    name: str
    columns: list[list[str]]
    geometry: bool
    rows: int


def _insert_set(
    conn: psycopg.Connection[Any],
    kind: str,
    roles: Mapping[str, Mapping[str, pd.DataFrame]],
    meta: Mapping[str, Mapping[str, str]],
) -> int:
    """Write a new set's layers and rows (not yet current); returns its id."""
    set_id = int(
        conn.execute(
            "INSERT INTO tsunagari_sets (kind, version, meta, manifest) "
            "VALUES (%s, '', %s, '{}') RETURNING id",
            (kind, Jsonb({r: dict(m) for r, m in meta.items()})),
        ).fetchone()[0]  # type: ignore[index]
    )
    for role, frames in roles.items():
        for position, (name, frame) in enumerate(frames.items()):
            kinds, has_geom, rows = _frame_rows(frame)
            conn.execute(
                "INSERT INTO tsunagari_layers (set_id, role, layer, position, columns, geometry,"
                " rows) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (set_id, role, name, position, Jsonb(kinds), has_geom, len(rows)),
            )
            with conn.cursor().copy(
                "COPY tsunagari_features (set_id, role, layer, ord, props, geom) FROM STDIN"
            ) as copy:
                for ord_, props, geom in rows:
                    copy.write_row((set_id, role, name, ord_, props, geom))
    return set_id


_DIGEST_SQL = """
SELECT encode(sha256(convert_to(coalesce(string_agg(
    f.layer || E'\\t' || f.ord || E'\\t' || f.props::text || E'\\t'
        || coalesce(encode(ST_AsEWKB(f.geom), 'hex'), ''),
    E'\\n' ORDER BY f.layer, f.ord), ''), 'UTF8')), 'hex')
FROM tsunagari_features f WHERE f.set_id = %s AND f.role = %s
"""


def _role_check(
    conn: psycopg.Connection[Any], set_id: int, role: str
) -> tuple[str, dict[str, int]]:
    """The content digest of a role of a set (metadata, columns, every row) and its row counts,
    computed from what the database holds now."""
    meta = conn.execute(
        "SELECT meta -> %s FROM tsunagari_sets WHERE id = %s", (role, set_id)
    ).fetchone()
    layers = conn.execute(
        "SELECT layer, columns, geometry, rows FROM tsunagari_layers "
        "WHERE set_id = %s AND role = %s ORDER BY position",
        (set_id, role),
    ).fetchall()
    counted = dict(
        conn.execute(
            "SELECT layer, count(*) FROM tsunagari_features WHERE set_id = %s AND role = %s "
            "GROUP BY layer",
            (set_id, role),
        ).fetchall()
    )
    rows_digest = conn.execute(_DIGEST_SQL, (set_id, role)).fetchone()[0]  # type: ignore[index]
    head = json.dumps(
        {
            "meta": meta[0] if meta else None,
            "layers": [
                [layer, columns, geometry, rows] for layer, columns, geometry, rows in layers
            ],
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    digest = hashlib.sha256(f"{head}\n{rows_digest}".encode()).hexdigest()
    return digest, {str(layer): int(counted.get(layer, 0)) for layer, *_ in layers}


def _publish(
    conn: psycopg.Connection[Any], kind: str, set_id: int, manifest: Mapping[str, Any], version: str
) -> None:
    """Make ``set_id`` current, drop sets older than the kept ones, announce it."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY + 1,))
    conn.execute(
        "UPDATE tsunagari_sets SET version = %s, manifest = %s WHERE id = %s",
        (version, Jsonb(dict(manifest)), set_id),
    )
    conn.execute(
        "INSERT INTO tsunagari_current (kind, set_id) VALUES (%s, %s) "
        "ON CONFLICT (kind) DO UPDATE SET set_id = excluded.set_id",
        (kind, set_id),
    )
    conn.execute(
        "DELETE FROM tsunagari_sets WHERE kind = %s AND id NOT IN "
        "(SELECT id FROM tsunagari_sets WHERE kind = %s ORDER BY id DESC LIMIT %s)",
        (kind, kind, KEPT_SETS + 1),
    )
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{kind} {version}"))


def _current(
    conn: psycopg.Connection[Any], kind: str
) -> tuple[int, str, dict[str, Any], Any] | None:
    row = conn.execute(
        "SELECT s.id, s.version, s.meta, s.manifest FROM tsunagari_current c "
        "JOIN tsunagari_sets s ON s.id = c.set_id WHERE c.kind = %s",
        (kind,),
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]), dict(row[2]), row[3])


def _layers(conn: psycopg.Connection[Any], set_id: int, role: str) -> dict[str, _Layer]:
    rows = conn.execute(
        "SELECT layer, columns, geometry, rows FROM tsunagari_layers "
        "WHERE set_id = %s AND role = %s ORDER BY position",
        (set_id, role),
    ).fetchall()
    return {str(r[0]): _Layer(str(r[0]), list(r[1]), bool(r[2]), int(r[3])) for r in rows}


def _read_frame(
    conn: psycopg.Connection[Any], set_id: int, role: str, layer: _Layer, *, geometry: bool = True
) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import numpy as np
    import shapely

    with_geom = geometry and layer.geometry
    rows = conn.execute(
        "SELECT props, "
        + ("ST_AsBinary(geom)" if with_geom else "NULL")
        + " FROM tsunagari_features WHERE set_id = %s AND role = %s AND layer = %s ORDER BY ord",
        (set_id, role, layer.name),
    ).fetchall()
    frame = _decode([r[0] for r in rows], layer.columns)
    if with_geom:
        geoms = shapely.from_wkb(np.array([r[1] for r in rows], dtype=object))
    else:
        geoms = np.full(len(rows), None, dtype=object)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)


# --- the store ------------------------------------------------------------------------------


class PostgisStore(Store):
    """A checked store in PostgreSQL/PostGIS: the current reference set, read on first use."""

    def __init__(self, url: str, set_id: int, meta: dict[str, str], layers: dict[str, _Layer]):
        self.url = url
        self.set_id = set_id
        self._meta = meta
        self._layers = layers

    def __repr__(self) -> str:
        return f"PostgisStore({shown_url(self.url)!r}, set {self.set_id})"

    # --- reference data -----------------------------------------------------------------------

    @classmethod
    def write_reference(cls, location: Any, data: ReferenceData) -> None:
        import pandas as pd

        region_files = data.region.files.as_dict()
        metadata = {"schema_version": STORE_SCHEMA_VERSION, **data.metadata}
        frames: dict[str, pd.DataFrame] = {
            "units": data.units,
            "municipalities": data.municipalities,
            "towns": data.towns,
            "sources": data.sources,
            "region": pd.DataFrame(
                {"file": list(region_files), "text": list(region_files.values())}
            ),
            "japan_municipalities": data.japan_municipalities[["pref", "name"]],
        }
        if data.japan_towns is not None:
            frames["japan_towns"] = pack_prefectures(data.japan_towns)
        if data.small_areas is not None:
            frames["small_areas"] = data.small_areas
            metadata["small_areas"] = str(len(data.small_areas))
        db = pool(location)
        try:
            with db.connection() as conn, conn.transaction():
                set_id = _insert_set(conn, _REFERENCE, {_REFERENCE: frames}, {_REFERENCE: metadata})
                digest, rows = _role_check(conn, set_id, _REFERENCE)
                manifest = {_REFERENCE: {"digest": digest, "rows": rows}}
                _publish(conn, _REFERENCE, set_id, manifest, set_version({_REFERENCE: digest}))
        except psycopg.Error as exc:
            raise StoreError(
                f"参照データを書き込めません (cannot write): {_reason(exc)}",
                path=shown_url(location),
            ) from exc

    @classmethod
    def open(cls, location: Any) -> PostgisStore:
        shown = shown_url(location)
        db = pool(location)
        with db.connection() as conn:
            current = _current(conn, _REFERENCE)
            if current is None:
                raise StoreError(f"参照データが見つかりません。{IMPORT_FIRST_HINT}", path=shown)
            set_id, _version, meta_all, _manifest = current
            layers = _layers(conn, set_id, _REFERENCE)
            counted: dict[str, int] = dict(
                conn.execute(
                    "SELECT layer, count(*) FROM tsunagari_features WHERE set_id = %s "
                    "AND role = %s GROUP BY layer",
                    (set_id, _REFERENCE),
                ).fetchall()
            )
        meta = {str(k): str(v) for k, v in dict(meta_all.get(_REFERENCE) or {}).items()}
        # The metadata is the set's own column here, not a layer of it.
        check_reference_set(meta, {*layers, "metadata"}, shown)
        checked = {layer: layer for layer in (*REFERENCE_LAYERS, "japan_municipalities")}
        checked |= {t: key for t, key in OPTIONAL_TABLES.items() if t in layers}
        checked |= {n: n for n in OPTIONAL_LAYERS if n in layers}
        for layer, key in checked.items():
            n = int(counted.get(layer, 0))
            if str(n) != meta.get(key) or n != layers[layer].rows:
                raise StoreError(
                    f"layer {layer} has {n} rows but the import wrote {meta.get(key)}", path=shown
                )
        return cls(database_url(location), set_id, meta, layers)

    @property
    def location(self) -> str:
        return shown_url(self.url)

    @property
    def meta(self) -> dict[str, str]:
        return self._meta

    def _layer(self, layer: str) -> _Layer:
        if layer not in self._layers:
            raise StoreError(f"cannot read layer {layer}: not in the store", path=self.location)
        return self._layers[layer]

    def _read_layer(self, layer: str) -> gpd.GeoDataFrame:
        stored = self._layer(layer)
        try:
            with pool(self.url).connection() as conn:
                return _read_frame(conn, self.set_id, _REFERENCE, stored)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot read layer {layer}: {_reason(exc)}", path=self.location
            ) from exc

    def _read_rows(
        self,
        layer: str,
        columns: Sequence[str] | None = None,
        *,
        where: tuple[str, str] | None = None,
    ) -> AttributeRows:
        """Read the rows' properties (JSONB) with psycopg: no geometry leaves the database."""
        stored = self._layer(layer)
        declared = {str(name): str(kind) for name, kind in stored.columns}
        names = chosen_columns(layer, list(declared), columns, path=self.location)
        sql = "SELECT props FROM tsunagari_features WHERE set_id = %s AND role = %s AND layer = %s"
        params: list[Any] = [self.set_id, _REFERENCE, layer]
        if where is not None:
            sql += " AND props ->> %s = %s"
            params += [
                chosen_columns(layer, list(declared), [where[0]], path=self.location)[0],
                where[1],
            ]
        try:
            with pool(self.url).connection() as conn:
                found = conn.execute(sql + " ORDER BY ord", params).fetchall()
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot read layer {layer}: {_reason(exc)}", path=self.location
            ) from exc
        kinds = tuple(_ROW_KINDS.get(declared[n], "other") for n in names)
        floats = [i for i, kind in enumerate(kinds) if kind == "float"]
        rows = []
        for (props,) in found:
            row = [props.get(n) for n in names]
            for i in floats:  # a whole number written by another client reads back as an int
                row[i] = None if row[i] is None else float(row[i])
            rows.append(tuple(row))
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
    ) -> Any:
        # One role alone: the other role of the current set is kept as it is.
        other: LayerKind = "planner" if kind == "public" else "public"
        try:
            kept: Mapping[str, pd.DataFrame] = cls.open_layers(location, other).frames
        except StoreError:
            kept = {}
        roles: dict[str, Mapping[str, pd.DataFrame]] = {kind: frames, other: kept}
        metas: dict[str, Mapping[str, str]] = {kind: extra_meta or {}, other: {}}
        cls._write_set(location, roles, metas, attribution)
        return location

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
        if database_url(public_location) != database_url(planner_location):
            raise StoreError(
                "公開用と計画担当者用のレイヤーは同じデータベースに書き込みます "
                "(public and planner layers go to one database)",
                path=shown_url(planner_location),
            )
        return cls._write_set(
            public_location,
            {"public": public_frames, "planner": planner_frames},
            {"public": public_meta or {}, "planner": {}},
            attribution,
        )

    @classmethod
    def _write_set(
        cls,
        location: Any,
        roles: Mapping[str, Mapping[str, pd.DataFrame]],
        extra: Mapping[str, Mapping[str, str]],
        attribution: list[str],
    ) -> Manifest:
        built_at = build_time()
        metas = {}
        for role, frames in roles.items():
            metas[role] = {
                "schema_version": LAYERS_SCHEMA_VERSION,
                "kind": role,
                "tsunagari_geo_version": __version__,
                "built_at": built_at,
                "layers": json.dumps(list(frames)),
                "counts": json.dumps({n: len(f) for n, f in frames.items()}),
                "list_columns": json.dumps(
                    {
                        n: [c for c in f.columns if c != "geometry" and _kind_of(f[c]) == "list"]
                        for n, f in frames.items()
                    }
                ),
                "attribution": "\n".join(attribution),
                **dict(extra.get(role) or {}),
            }
        try:
            with pool(location).connection() as conn, conn.transaction():
                set_id = _insert_set(conn, "layers", roles, metas)
                members = {}
                for role in roles:
                    digest, rows = _role_check(conn, set_id, role)
                    members[role] = {"digest": digest, "rows": rows}
                version = set_version({r: str(m["digest"]) for r, m in members.items()})
                _publish(conn, "layers", set_id, members, version)
        except psycopg.Error as exc:
            raise StoreError(
                f"レイヤーを書き込めません (cannot write layers): {_reason(exc)}",
                path=shown_url(location),
            ) from exc
        return _manifest(location, set_id, version, built_at, members)

    @classmethod
    def open_layers(cls, location: Any, kind: LayerKind) -> LayerSet:
        shown = shown_url(location)
        with pool(location).connection() as conn:
            current = _current(conn, "layers")
            if current is None:
                raise StoreError("layer set not found; run `tsunagari-geo build` first", path=shown)
            set_id, _version, metas, manifest = current
            layers = _layers(conn, set_id, kind)
        return _layer_set(location, set_id, kind, metas, layers, manifest)

    @classmethod
    def open_layer_set(cls, public_location: Any, planner_location: Any) -> PublishedSet:
        shown = shown_url(public_location)
        with pool(public_location).connection() as conn:
            current = _current(conn, "layers")
            if current is None:
                raise StoreError("layer set not found; run `tsunagari-geo build` first", path=shown)
            set_id, version, metas, written = current
            members = {}
            for role in ("public", "planner"):
                digest, rows = _role_check(conn, set_id, role)
                expected = dict(written or {}).get(role) or {}
                if rows != expected.get("rows"):
                    raise StoreError(
                        f"行数 {rows} がマニフェストの {expected.get('rows')} と違います",
                        path=f"{shown}#{role}@{version}",
                    )
                if digest != expected.get("digest"):
                    raise StoreError(
                        "内容の SHA-256 がマニフェストと違います（行が書き換えられたか壊れて"
                        "います）",
                        path=f"{shown}#{role}@{version}",
                        value=digest[:16],
                    )
                members[role] = {"digest": digest, "rows": rows}
            if set_version({r: str(m["digest"]) for r, m in members.items()}) != version:
                raise StoreError("版がマニフェストと違います", path=shown, value=version)
            public_layers = _layers(conn, set_id, "public")
            planner_layers = _layers(conn, set_id, "planner")
        built_at = str(dict(metas.get("public") or {}).get("built_at", ""))
        return PublishedSet(
            manifest=_manifest(public_location, set_id, version, built_at, members),
            public=_layer_set(public_location, set_id, "public", metas, public_layers, written),
            planner=_layer_set(planner_location, set_id, "planner", metas, planner_layers, written),
        )

    @classmethod
    def has_layer_set(cls, public_location: Any, planner_location: Any) -> bool:
        return current_version(public_location) is not None

    @classmethod
    def published_version(cls, location: Any) -> str | None:
        return current_version(location)

    @classmethod
    def watch_published(
        cls, location: Any, *, interval: float, listen: bool = True
    ) -> Iterator[str]:
        return watch_published(location, interval=interval, listen=listen)


def _manifest(
    location: Any, set_id: int, version: str, built_at: str, members: Mapping[str, Any]
) -> Manifest:
    return Manifest(
        path=Path(shown_url(location)),
        kind="layers",
        version=version,
        built_at=built_at,
        members={
            role: Member(name=role, sha256=str(m["digest"]), size=0, rows=dict(m["rows"]))
            for role, m in members.items()
        },
        meta={"set_id": str(set_id), "schema_version": MANIFEST_SCHEMA_VERSION},
    )


def _layer_set(
    location: Any,
    set_id: int,
    kind: LayerKind,
    metas: Mapping[str, Any],
    layers: Mapping[str, _Layer],
    manifest: Any,
) -> PostgisLayerSet:
    shown = shown_url(location)
    meta = {str(k): str(v) for k, v in dict(metas.get(kind) or {}).items()}
    if not layers and not meta:
        raise StoreError(f"layer set has no {kind} layers; run `tsunagari-geo build`", path=shown)
    if meta.get("schema_version") != LAYERS_SCHEMA_VERSION:
        raise StoreError(
            f"layer schema {meta.get('schema_version')!r} is not {LAYERS_SCHEMA_VERSION!r}; "
            "re-run `tsunagari-geo build`",
            path=shown,
        )
    url = database_url(location)
    tables = {name: LayerTable(url, set_id, kind, layer) for name, layer in layers.items()}
    return PostgisLayerSet(
        path=shown, kind=kind, meta=meta, frames=_LazyFrames(tables), tables=tables
    )


@dataclass(frozen=True)
class LayerTable:
    """One published layer in the database, queried where it lies (the service's seam).

    ``ords`` are row positions in the layer (0-based, the order it was written in), which is
    the order a frame read with :meth:`frame` has.
    """

    url: str
    set_id: int
    role: str
    layer: _Layer

    @property
    def rows(self) -> int:
        return self.layer.rows

    def frame(self, *, geometry: bool = True) -> gpd.GeoDataFrame:
        """The whole layer (``geometry=False``: attributes only, geometry column all None)."""
        with pool(self.url).connection() as conn:
            return _read_frame(conn, self.set_id, self.role, self.layer, geometry=geometry)

    def in_boxes(self, boxes: Sequence[tuple[float, float, float, float]]) -> np.ndarray:
        """Positions of the rows whose geometry intersects any of ``boxes`` (lon/lat), sorted;
        answered on the GiST index (``&&``), then exactly (``ST_Intersects``)."""
        import numpy as np

        parts = []
        params: list[Any] = [self.set_id, self.role, self.layer.name]
        for box in boxes:
            parts.append(
                "(geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) AND "
                "ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)))"
            )
            params.extend([*box, *box])
        sql = (
            "SELECT ord FROM tsunagari_features WHERE set_id = %s AND role = %s AND layer = %s"
            f" AND ({' OR '.join(parts)}) ORDER BY ord"
        )
        with pool(self.url).connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def geometries(self, ords: Sequence[int]) -> np.ndarray:
        """The geometries of rows ``ords`` (shapely, None where missing), in that order."""
        import numpy as np
        import shapely

        if len(ords) == 0:
            return np.array([], dtype=object)
        with pool(self.url).connection() as conn:
            rows = conn.execute(
                "SELECT ord, ST_AsBinary(geom) FROM tsunagari_features WHERE set_id = %s"
                " AND role = %s AND layer = %s AND ord = ANY(%s)",
                (self.set_id, self.role, self.layer.name, list(map(int, ords))),
            ).fetchall()
        found = {int(o): g for o, g in rows}
        return shapely.from_wkb(np.array([found.get(int(o)) for o in ords], dtype=object))

    def extent(self) -> tuple[float, float, float, float] | None:
        """Bounding box of the layer's geometries, None when it has none."""
        with pool(self.url).connection() as conn:
            row = conn.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                "ST_Extent(geom) AS e FROM tsunagari_features WHERE set_id = %s AND role = %s"
                " AND layer = %s) x",
                (self.set_id, self.role, self.layer.name),
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def has_polygons(self) -> bool:
        with pool(self.url).connection() as conn:
            row = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM tsunagari_features WHERE set_id = %s AND role = %s"
                " AND layer = %s AND GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON'))",
                (self.set_id, self.role, self.layer.name),
            ).fetchone()
        return bool(row and row[0])


class _LazyFrames(Mapping[str, "gpd.GeoDataFrame"]):
    """A layer set's frames, each read from the database when first asked for."""

    def __init__(self, tables: Mapping[str, LayerTable]) -> None:
        self._tables = tables
        self._frames: dict[str, gpd.GeoDataFrame] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> gpd.GeoDataFrame:
        with self._lock:
            if name not in self._frames:
                self._frames[name] = self._tables[name].frame()
            return self._frames[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)


@dataclass(frozen=True)
class PostgisLayerSet(LayerSet):
    """A layer set in PostGIS: ``frames`` are read on first use; ``tables`` query in place."""

    tables: Mapping[str, LayerTable] | None = None


# --- following publications -----------------------------------------------------------------


def current_version(location: Any) -> str | None:
    """The version of the current layer set, None when none was built."""
    with pool(location).connection() as conn:
        current = _current(conn, "layers")
    return None if current is None else current[1]


def watch_published(location: Any, *, interval: float = 5.0, listen: bool = True) -> Iterator[str]:
    """Yield the current layer set's version now and whenever it may have changed.

    Listens on ``tsunagari_published`` and also looks every ``interval`` seconds (a missed
    notification, a dropped connection), reconnecting after errors. ``listen=False`` only
    looks (where LISTEN cannot reach the server, e.g. a transaction-pooling proxy). Runs
    forever; meant for a daemon thread.
    """
    url = database_url(location)
    while True:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                if listen:
                    conn.execute(f"LISTEN {CHANNEL}")
                while True:
                    current = _current(conn, "layers")
                    if current is not None:
                        yield current[1]
                    for _ in conn.notifies(timeout=interval, stop_after=1):
                        pass
        except psycopg.Error as exc:
            logger.warning("watching %s: %s", shown_url(url), _reason(exc))
            time.sleep(interval)
