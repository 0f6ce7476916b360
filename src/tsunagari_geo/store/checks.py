"""Checks every GeoPackage this package writes must pass before anyone reads from it.

The reference store and the published layer files are both GeoPackages with a ``metadata``
key/value table. :func:`inspect_geopackage` opens one read-only and raises
:class:`StoreError` naming the file when it is missing, not SQLite, corrupt, truncated or
lacking its metadata, so a service can refuse a broken file and keep serving the one it has.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tsunagari_geo.errors import StoreError

_SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class GeoPackageSummary:
    """What a checked GeoPackage holds: its metadata and the row count of every table."""

    meta: dict[str, str]
    counts: dict[str, int]


def inspect_geopackage(path: Path, *, what: str, missing_hint: str) -> GeoPackageSummary:
    """Open ``path`` read-only and check it; ``what`` names the file in messages.

    Raises StoreError when the file is missing (the message adds ``missing_hint``), has no
    SQLite header, fails SQLite's quick_check, is truncated, or has no ``metadata`` table.
    """
    if not path.exists():
        raise StoreError(f"{what}が見つかりません。{missing_hint}", path=path)
    try:
        with path.open("rb") as f:
            header = f.read(16)
    except OSError as exc:
        raise StoreError(f"{what}を読めません: {exc}", path=path) from exc
    if header != _SQLITE_HEADER:
        raise StoreError("GeoPackage ではありません (SQLite の見出しがない)", path=path)
    try:
        # immutable=1: no journal or lock files beside a file that may sit on read-only media.
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
            if integrity != "ok":
                raise StoreError(f"{what}が壊れています: {integrity}", path=path)
            tables = [r[0] for r in conn.execute("SELECT table_name FROM gpkg_contents")]
            if "metadata" not in tables:
                raise StoreError(f"{what}に metadata 表がありません", path=path)
            meta = dict(conn.execute("SELECT key, value FROM metadata").fetchall())
            counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{what}が読めないか途中で切れています: {exc}", path=path) from exc
    return GeoPackageSummary(meta=meta, counts=counts)
