"""One base exception and one subclass per failure a caller can act on.

Every message names the file, and where there is one the row, column and value, so that the
secretariat can fix the input without reading a traceback.
"""

from __future__ import annotations

from pathlib import Path


class TsunagariError(Exception):
    """Base of every error this package raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.row = row
        self.column = column
        self.value = value
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.path is not None:
            where.append(f"file {self.path}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.value is not None:
            shown = repr(self.value)
            where.append(f"value {shown[:200]}{'…' if len(shown) > 200 else ''}")
        return f"{self.message} ({', '.join(where)})" if where else self.message


class SourceError(TsunagariError):
    """A source file is missing, unreadable or not what it should be."""


class ValidationError(TsunagariError):
    """Source data that reads but breaks an invariant (codes, CRS, population, towns)."""


class RegionError(TsunagariError):
    """A region folder (region.toml and its registry CSVs) is missing or inconsistent."""


class StoreError(TsunagariError):
    """The embedded GeoPackage is missing, truncated or from an incompatible import."""


class FetchError(TsunagariError):
    """Downloading the public sources failed (offline, HTTP error, checksum mismatch)."""


class InputError(TsunagariError):
    """A user's input table (CSV, XLSX, GeoJSON) cannot be read as asked."""
