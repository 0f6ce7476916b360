"""The PMTiles archives the service serves, by a fixed set of names (no paths from clients).

An archive is opened once and kept while its file is unchanged (same inode, size and
mtime); ``tsunagari-geo tiles build`` replaces files atomically, so the next request sees
the new archive and requests in flight keep reading the old mapping.
"""

from __future__ import annotations

import gzip
import mmap
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pmtiles.reader import Reader
from pmtiles.tile import Compression, zxy_to_tileid

from tsunagari_api.settings import ApiSettings


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


_open: dict[str, tuple[tuple[int, int, int], TileSet]] = {}
_lock = threading.Lock()


def tileset_path(settings: ApiSettings, name: TileName | str) -> Path:
    return settings.tiles_dir / f"{TileName(name).value}.pmtiles"


def available_tilesets(settings: ApiSettings) -> list[str]:
    """Names of the tilesets whose archive exists."""
    return [n.value for n in TileName if tileset_path(settings, n).is_file()]


def open_tileset(settings: ApiSettings, name: TileName) -> TileSet | None:
    """The opened archive for ``name``, or None when it has not been built."""
    path = tileset_path(settings, name)
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    identity = (st.st_ino, st.st_size, st.st_mtime_ns)
    key = str(path.resolve())
    with _lock:
        cached = _open.get(key)
        if cached is not None and cached[0] == identity:
            return cached[1]
        with path.open("rb") as f:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        reader = Reader(lambda offset, length: data[offset : offset + length])
        header: dict[str, Any] = dict(reader.header())
        metadata = reader.metadata()
        tileset = TileSet(
            name=name.value,
            path=path,
            data=data,
            size=st.st_size,
            etag=f'"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}"',
            header=header,
            metadata=metadata,
        )
        _open[key] = (identity, tileset)
        return tileset


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
