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
        where = location(path=self.path, row=self.row, column=self.column, value=self.value)
        return f"{self.message} ({where})" if where else self.message


def location(
    *,
    path: str | Path | None = None,
    row: int | None = None,
    column: str | None = None,
    value: object = None,
) -> str:
    """Where a problem is, as the secretariat reads it: 「ファイル a.csv、3 行目、列 '住所'」.

    The one wording of file, row, column and value for every error and every kept oddity of an
    input table (:class:`tsunagari_geo.tables.ReadIssue`); ``row`` is the spreadsheet's row.

    >>> location(path="a.csv", row=3, column="住所", value="x")
    "ファイル a.csv、3 行目、列 '住所'、値 'x'"
    """
    where = []
    if path is not None:
        where.append(f"ファイル {path}")
    if row is not None:
        where.append(f"{row} 行目")
    if column is not None:
        where.append(f"列 {column!r}")
    if value is not None:
        shown = repr(value)
        where.append(f"値 {shown[:200]}{'…' if len(shown) > 200 else ''}")
    return "、".join(where)


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
