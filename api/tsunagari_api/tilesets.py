"""The PMTiles archives the service serves, by a fixed set of names (no paths from clients).

An archive is served only when the bytes mapped into memory match the tiles folder's
``manifest.json`` (SHA-256 and size, written by ``tsunagari-geo tiles build``): a missing
manifest, a truncated, flipped or foreign archive raises :class:`TilesetRefused` and is never
served. An archive is opened once and kept while it and the manifest are unchanged (same
inode, size and mtime, also for a refusal, so a broken file is not hashed per request);
``tsunagari-geo tiles build`` replaces the set atomically, so the next request sees the new
archive and requests in flight keep reading the old mapping.
"""

from __future__ import annotations

import gzip
import mmap
import os
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pmtiles.reader import Reader
from pmtiles.tile import Compression, zxy_to_tileid

from tsunagari_api.settings import ApiSettings
from tsunagari_geo.errors import StoreError
from tsunagari_geo.store.manifest import read_manifest, tiles_manifest_path, verify_bytes


class TilesetRefused(Exception):
    """The archive does not match its manifest (or has none): it is not served."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")


class TileName(StrEnum):
    """The tilesets there are. A name outside this set is a 404, never a file lookup."""

    activities = "activities"
    municipalities = "municipalities"


@dataclass(frozen=True)
class TileSet:
    """An opened archive: its bytes (memory-mapped), header, metadata and identity."""

    name: str
    path: Path
    data: mmap.mmap
    size: int
    etag: str
    header: dict[str, Any]
    metadata: dict[str, Any]

    def read(self, offset: int, length: int) -> bytes:
        return self.data[offset : offset + length]

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The stored (possibly gzip-compressed) tile, or None when the archive has none."""
        if not (self.header["min_zoom"] <= z <= self.header["max_zoom"]):
            return None
        if not (0 <= x < 2**z and 0 <= y < 2**z):
            return None
        zxy_to_tileid(z, x, y)  # raises on nonsense before touching the directory
        found = Reader(self.read).get(z, x, y)
        return bytes(found) if found else None

    @property
    def gzipped(self) -> bool:
        return bool(self.header["tile_compression"] == Compression.GZIP)

    def decompress(self, tile: bytes) -> bytes:
        return gzip.decompress(tile) if self.gzipped else tile


_Identity = tuple[tuple[int, int, int], tuple[int, int, int] | None]
_open: dict[str, tuple[_Identity, TileSet | TilesetRefused]] = {}
_lock = threading.Lock()


def tileset_path(settings: ApiSettings, name: TileName | str) -> Path:
    return settings.tiles_dir / f"{TileName(name).value}.pmtiles"


def available_tilesets(settings: ApiSettings) -> list[str]:
    """Names of the tilesets whose archive exists and matches the manifest."""
    names = []
    for n in TileName:
        try:
            if open_tileset(settings, n) is not None:
                names.append(n.value)
        except TilesetRefused:
            continue
    return names


def tiles_layers_version(settings: ApiSettings) -> str | None:
    """The version of the layer set the tiles were built from (their manifest's
    ``layers_version``), None when no tiles manifest is there or it cannot be read."""
    try:
        manifest = read_manifest(tiles_manifest_path(settings.tiles_dir), kind="tiles")
    except StoreError:
        return None
    return manifest.meta.get("layers_version", "")


def tiles_mismatch(tiles_from: str | None, layers_version: str) -> list[str]:
    """A warning (Japanese, for the operator) when the tiles were built from another layer set
    than the one served: the map would show other activities than the list and the API."""
    if tiles_from is None or not layers_version or tiles_from == layers_version:
        return []
    built_from = tiles_from or "不明"
    return [
        f"タイルは別の版のレイヤー（{built_from}）から作られています。配信中のレイヤーは"
        f"版 {layers_version} です。このサーバーで `tsunagari-geo tiles build` を"
        "やり直してください"
    ]


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def open_tileset(settings: ApiSettings, name: TileName) -> TileSet | None:
    """The opened, verified archive for ``name``, or None when it has not been built.

    Raises TilesetRefused when the archive does not match the tiles manifest or cannot be
    read as PMTiles.
    """
    path = tileset_path(settings, name)
    archive = _identity(path)
    if archive is None:
        return None
    manifest_path = tiles_manifest_path(settings.tiles_dir)
    identity: _Identity = (archive, _identity(manifest_path))
    key = str(path.resolve())
    with _lock:
        cached = _open.get(key)
        if cached is not None and cached[0] == identity:
            found = cached[1]
        else:
            found = _verified(name, path, manifest_path)
            _open[key] = (identity, found)
    if isinstance(found, TilesetRefused):
        raise found
    return found


def _verified(name: TileName, path: Path, manifest_path: Path) -> TileSet | TilesetRefused:
    try:
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            if st.st_size == 0:
                return TilesetRefused(name.value, "the archive is empty")
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        # The bytes hashed are the bytes served: the mapping, not the path, is checked.
        verify_bytes(read_manifest(manifest_path, kind="tiles"), name.value, path, data)
        reader = Reader(lambda offset, length: data[offset : offset + length])
        header: dict[str, Any] = dict(reader.header())
        metadata = reader.metadata()
    except StoreError as exc:
        return TilesetRefused(name.value, exc.describe())
    except Exception as exc:  # a matching archive the pmtiles reader cannot read
        return TilesetRefused(name.value, f"unreadable archive: {type(exc).__name__}")
    return TileSet(
        name=name.value,
        path=path,
        data=data,
        size=st.st_size,
        etag=f'"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}"',
        header=header,
        metadata=metadata,
    )


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) byte positions of a single ``bytes=`` range, inclusive.

    Returns None when the header asks for several ranges or is not a bytes range (the whole
    file is then sent with 200, as RFC 9110 allows). Raises ValueError when the range
    cannot be satisfied (starts past the end, or is empty).
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    digits = (first_text + last_text).isdigit() or (first_text.isdigit() and not last_text)
    if not dash or not digits:
        return None
    if first_text == "":
        suffix = int(last_text)
        if suffix <= 0:
            raise ValueError("empty suffix range")
        return (max(0, size - suffix), size - 1)
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if first >= size or last < first:
        raise ValueError("range not satisfiable")
    return (first, min(last, size - 1))


def clear_cache() -> None:
    """Forget opened archives (tests that rebuild tiles in place)."""
    with _lock:
        _open.clear()
