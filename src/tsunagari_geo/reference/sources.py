"""Readers for the public source files, laid out as ``../shared/data/saitama``.

Where each file sits in the source folder is region data (``[sources]`` in region.toml, see
:class:`tsunagari_geo.region.RegionSources`). Each reader returns a plain (Geo)DataFrame and
raises :class:`SourceError` naming the file when the file is missing or unreadable.
Invariants across files are checked in :mod:`.importer`.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from tsunagari_geo.errors import SourceError, ValidationError
from tsunagari_geo.region import Region
from tsunagari_geo.store import JAPAN_TOWN_COLUMNS

#: CRSs the N03 data is published in: WGS 84 (as re-published), JGD2000 and JGD2011 geographic.
ACCEPTED_CRS = {4326: "WGS 84", 4612: "JGD2000", 6668: "JGD2011"}

CENSUS_COLUMNS = (
    "muni_code",
    "muni_name",
    "unit_type",
    "pop_total",
    "households_total",
    "pop_0_14",
    "pop_65plus",
    "pop_30_44",
    "foreign_pop",
)
POPULATION_COLUMNS = CENSUS_COLUMNS[3:]


@dataclass(frozen=True)
class SourceFile:
    """A file read during an import, kept with its checksum for provenance."""

    role: str
    path: Path
    sha256: str
    size: int


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _record(role: str, path: Path) -> SourceFile:
    return SourceFile(role=role, path=path, sha256=sha256_of(path), size=path.stat().st_size)


# --- N03 boundaries -------------------------------------------------------------------------


def find_boundary_file(source: Path, region: Region) -> Path:
    """The N03 file in the region's boundary folder: GeoJSON, a Ministry zip, or a Shapefile."""
    folder = source / region.sources.boundaries
    if not folder.is_dir():
        raise SourceError("boundary folder is missing", path=folder)
    found = sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in {".geojson", ".json", ".zip", ".shp", ".gpkg"}
    )
    if not found:
        raise SourceError(
            "no N03 boundary file (.geojson, .zip, .shp or .gpkg) in the boundary folder",
            path=folder,
        )
    # Prefer an already unpacked GeoJSON, then a zip as the Ministry distributes it.
    order = {".geojson": 0, ".json": 1, ".gpkg": 2, ".zip": 3, ".shp": 4}
    return min(found, key=lambda p: (order[p.suffix.lower()], p.name))


def _zip_member(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile as exc:
        raise SourceError("not a readable zip file", path=path) from exc
    for suffix in (".geojson", ".shp"):
        members = [n for n in names if n.lower().endswith(suffix)]
        if members:
            return sorted(members)[0]
    raise SourceError("the zip holds neither a GeoJSON nor a Shapefile", path=path, value=names)


def read_n03(path: Path) -> gpd.GeoDataFrame:
    """Read N03 administrative boundaries as published: GeoJSON, Shapefile or the Ministry zip.

    Shapefiles from the Ministry carry Shift_JIS attributes; the ``.cpg`` file is honoured when
    present, otherwise CP932 is assumed. Returns the raw polygons with the N03 columns.
    """
    if not path.exists():
        raise SourceError("boundary file is missing", path=path)
    target = str(path)
    is_shape = path.suffix.lower() == ".shp"
    if path.suffix.lower() == ".zip":
        member = _zip_member(path)
        target = f"/vsizip/{path}/{member}"
        is_shape = member.lower().endswith(".shp")
    kwargs: dict[str, str] = {}
    if is_shape and not _has_cpg(path, target):
        kwargs["encoding"] = "cp932"
    try:
        gdf = pyogrio.read_dataframe(target, **kwargs)
    except Exception as exc:  # pyogrio raises several DataSourceError kinds
        raise SourceError(f"cannot read boundaries: {exc}", path=path) from exc
    if "N03_007" not in gdf.columns:
        raise ValidationError(
            "boundary file has no N03_007 (municipality code) column",
            path=path,
            column="N03_007",
            value=list(gdf.columns),
        )
    return gdf


def _has_cpg(path: Path, target: str) -> bool:
    if path.suffix.lower() == ".shp":
        return path.with_suffix(".cpg").exists()
    with zipfile.ZipFile(path) as zf:
        stem = target.rsplit("/", 1)[-1][:-4]
        return any(n.endswith(f"{stem}.cpg") for n in zf.namelist())


def n03_names(row: pd.Series) -> tuple[str, str]:
    """(郡, municipality name) from whichever N03 name fields an edition has.

    Editions differ: N03_003 holds the 郡 or the designated city, N03_004 the municipality or
    the ward, and newer editions put the ward in N03_005. Parts ending in 郡 are the 郡; the
    others are joined without repeating a part (さいたま市 + 西区 → さいたま市西区).
    """
    gun = ""
    parts: list[str] = []
    for col in ("N03_003", "N03_004", "N03_005"):
        value = row.get(col)
        if not isinstance(value, str) or not value.strip():
            continue
        value = value.strip()
        if value.endswith("郡"):
            gun = value
        elif value not in parts:
            parts.append(value)
    return gun, "".join(parts)


# --- Geolonia town dictionary ---------------------------------------------------------------


def read_towns_index(source: Path, region: Region) -> tuple[dict[str, list[str]], Path]:
    """The Geolonia ``ja.json``: prefecture → its municipalities as written (比企郡滑川町).

    It lists all Japan; the region's own prefecture must be in it.
    """
    index = source / region.sources.towns_index
    if not index.exists():
        raise SourceError("town dictionary index ja.json is missing", path=index)
    try:
        prefs = json.loads(index.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"town dictionary index is not valid JSON: {exc}", path=index) from exc
    if not isinstance(prefs, dict) or not all(
        isinstance(v, list) and all(isinstance(n, str) for n in v) for v in prefs.values()
    ):
        raise SourceError(
            "town dictionary index is not an object of prefecture → list of names", path=index
        )
    if not prefs.get(region.pref_name):
        raise SourceError(
            f"town dictionary index lists no {region.pref_name}", path=index, value=sorted(prefs)
        )
    return prefs, index


def japan_municipalities(index: dict[str, list[str]], region: Region) -> pd.DataFrame:
    """Every other prefecture's municipality names from ``ja.json`` (columns pref, name)."""
    rows = [
        (pref, name) for pref, names in index.items() if pref != region.pref_name for name in names
    ]
    return pd.DataFrame(rows, columns=["pref", "name"], dtype="object")


def read_towns(
    source: Path, region: Region, index: dict[str, list[str]] | None = None
) -> tuple[pd.DataFrame, list[Path], list[str]]:
    """Every 大字・町丁目 of the region's prefecture from the Geolonia v1 layout.

    ``index`` is ``ja.json`` as :func:`read_towns_index` returns it (read here when not given).
    Returns a frame with ``municipality`` (as listed in ``ja.json``, e.g. 比企郡滑川町), ``town``,
    ``koaza``, ``lat``, ``lng`` (NaN where the dictionary has no point), the files read and the
    municipality names ``ja.json`` lists.
    """
    prefs = index if index is not None else read_towns_index(source, region)[0]
    munis = prefs[region.pref_name]
    index_path = source / region.sources.towns_index
    frames = []
    files = [index_path]
    for muni in munis:
        path = source / region.sources.towns_dir / f"{muni}.json"
        rows = _town_file(path, muni)
        frame = pd.DataFrame(rows, columns=["town", "koaza", "lat", "lng"])
        frame.insert(0, "municipality", muni)
        # A town without a point is kept (new 町丁目 lack one); the importer imputes it.
        bad = frame[frame["town"].isna() | (frame["town"].astype(str).str.strip() == "")]
        if len(bad):
            first = bad.index[0]
            raise ValidationError(
                "town without a name", path=path, row=int(first) + 1, value=rows[first]
            )
        frames.append(frame)
        files.append(path)
    towns = pd.concat(frames, ignore_index=True)
    towns["koaza"] = towns["koaza"].fillna("")
    return towns, files, list(munis)


def _town_file(path: Path, muni: str) -> list[dict[str, object]]:
    """The rows of one Geolonia town file that ``ja.json`` lists for ``muni``; SourceError
    naming the file when it is missing or not JSON."""
    if not path.exists():
        raise SourceError("town file listed in ja.json is missing", path=path, value=muni)
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"town file is not valid JSON: {exc}", path=path) from exc
    if not isinstance(rows, list):
        raise SourceError("town file is not a list of towns", path=path, value=type(rows).__name__)
    return rows


# --- Census population ------------------------------------------------------------------------


def read_census(source: Path, region: Region) -> tuple[pd.DataFrame, Path]:
    """2020 census population per unit, with ``muni_code`` as a 5-character string."""
    assert region.sources.census is not None
    path = source / region.sources.census
    if not path.exists():
        raise SourceError(
            "census population file is missing (e-Stat needs an application id to download; "
            "put the CSV there by hand, see `tsunagari-geo data fetch --help`)",
            path=path,
        )
    frame = pd.read_csv(path, dtype={"muni_code": str}, encoding="utf-8-sig")
    missing = [c for c in CENSUS_COLUMNS if c not in frame.columns]
    if missing:
        raise ValidationError(
            "census file lacks columns",
            path=path,
            column=", ".join(missing),
            value=list(frame.columns),
        )
    for col in POPULATION_COLUMNS:
        numbers = pd.to_numeric(frame[col], errors="coerce")
        bad = frame[numbers.isna()]
        if len(bad):
            i = int(bad.index[0])
            raise ValidationError(
                "population is not a number",
                path=path,
                row=i + 2,
                column=col,
                value=frame.at[i, col],
            )
        frame[col] = numbers.astype("int64")
    frame["muni_code"] = frame["muni_code"].str.strip().str.zfill(5)
    return frame, path


def record_sources(pairs: list[tuple[str, Path]]) -> list[SourceFile]:
    """Checksums of every file read, for the metadata table."""
    return [_record(role, path) for role, path in pairs]


# --- Geolonia town dictionary, all Japan ------------------------------------------------------

#: Where the national dictionary's index sits in a national source folder (``../shared/data/japan``).
JAPAN_TOWNS_INDEX = Path("towns/api/ja.json")
JAPAN_TOWNS_DIR = Path("towns/api/ja")


def read_japan_towns(japan: Path, region: Region) -> tuple[pd.DataFrame, list[Path]]:
    """Every 大字・町丁目 of every prefecture but the region's, from a national source folder.

    ``japan`` is laid out as ``../shared/data/japan`` (``towns/api/ja.json`` and
    ``towns/api/ja/<都道府県>/<市区町村>.json``, the Geolonia v1 layout). The region's own
    prefecture is skipped: its towns come from the region's source and stay as they are.
    Returns a frame with :data:`JAPAN_TOWN_COLUMNS` but ``point_source`` (lat/lng NaN where the dictionary has no
    point) and the files read. Raises SourceError or ValidationError naming the file.
    """
    index_path = japan / JAPAN_TOWNS_INDEX
    if not index_path.exists():
        raise SourceError("national town dictionary index ja.json is missing", path=index_path)
    try:
        prefs = json.loads(index_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(
            f"town dictionary index is not valid JSON: {exc}", path=index_path
        ) from exc
    if not isinstance(prefs, dict):
        raise SourceError("town dictionary index is not an object", path=index_path)
    columns: dict[str, list[object]] = {c: [] for c in JAPAN_TOWN_COLUMNS[:-1]}
    files = [index_path]
    for pref, munis in prefs.items():
        if pref == region.pref_name:
            continue
        for muni in munis:
            path = japan / JAPAN_TOWNS_DIR / pref / f"{muni}.json"
            rows = _town_file(path, muni)
            for n, row in enumerate(rows, start=1):
                town = row.get("town") if isinstance(row, dict) else None
                if not isinstance(town, str) or not town.strip():
                    raise ValidationError("town without a name", path=path, row=n, value=row)
                columns["pref"].append(pref)
                columns["municipality"].append(muni)
                columns["town"].append(town)
                columns["koaza"].append(row.get("koaza") or "")
                columns["lat"].append(row.get("lat"))
                columns["lng"].append(row.get("lng"))
            files.append(path)
    frame = pd.DataFrame(columns)
    frame["lat"] = pd.to_numeric(frame["lat"], errors="coerce")
    frame["lng"] = pd.to_numeric(frame["lng"], errors="coerce")
    return frame, files


# --- Census workbook (e-Stat 「都道府県・市区町村別の主な結果」) ---------------------------------

#: Census columns the workbook gives per unit, and what each is called in the store. Age bands
#: and nationality are the workbook's 不詳補完 values (※), so the three bands sum to the total.
WORKBOOK_COLUMNS: dict[str, tuple[str, str]] = {
    # store column: (group heading in row 5, heading in row 7)
    "pop_total": ("総人口（男女別）", "総数"),
    "pop_0_14": ("年齢別人口（男女「総数」）", "15歳未満"),
    "pop_15_64": ("年齢別人口（男女「総数」）", "15～64歳"),
    "pop_65plus": ("年齢別人口（男女「総数」）", "65歳以上"),
    "foreign_pop": ("国籍", "外国人"),
    "households_total": ("世帯", "総世帯"),
    "general_households": ("世帯", "一般世帯"),
    "single_households": ("世帯", "うち単独世帯"),
    "single_65plus_households": ("世帯", "うち65歳以上の単独世帯"),
}
#: The workbook's sheet with the columns above.
WORKBOOK_SHEET = "第１面事項_2020年"
#: Rows (1-based) of the workbook's headings and of its first area.
_GROUP_ROW, _LABEL_ROW, _FIRST_DATA_ROW = 5, 7, 10


@dataclass(frozen=True)
class CensusWorkbook:
    """The region's rows of the census workbook.

    ``units`` has one row per area code of the region (``muni_code``, ``name``, ``kind`` as the
    workbook's 市などの別: ``a`` prefecture, ``1`` designated city, ``0`` ward, else others, the
    ``row`` it came from, and every column of :data:`WORKBOOK_COLUMNS`); ``prefecture`` is the
    prefecture's own row (its code is ``<pref_code>000``). ``year`` is the census year.
    """

    path: Path
    units: pd.DataFrame
    prefecture: pd.Series
    year: int


def read_census_workbook(source: Path, region: Region) -> CensusWorkbook:
    """The region's areas from the e-Stat census workbook (all Japan, as published).

    Columns are found by their headings, not their position, so a re-published workbook with
    columns added still reads. Raises :class:`SourceError` when the file is missing or is not
    a workbook, :class:`ValidationError` naming the row and column of a heading not found or a
    cell that is not a count.
    """
    import openpyxl  # only imports read workbooks

    assert region.sources.census_workbook is not None
    path = source / region.sources.census_workbook
    if not path.exists():
        raise SourceError("census workbook is missing", path=path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException …
        raise SourceError(f"census workbook is not a readable .xlsx: {exc}", path=path) from exc
    try:
        if WORKBOOK_SHEET not in book.sheetnames:
            raise ValidationError(
                f"census workbook lacks the sheet {WORKBOOK_SHEET}",
                path=path,
                value=book.sheetnames,
            )
        rows = list(book[WORKBOOK_SHEET].iter_rows(values_only=True))
    finally:
        book.close()
    found_year = re.search(r"(\d{4})年", WORKBOOK_SHEET)
    year = int(found_year.group(1)) if found_year else 0
    columns = _workbook_columns(rows, path)
    prefix = f"{region.pref_code}"
    out = []
    prefecture: dict[str, object] | None = None
    for number, row in enumerate(rows[_FIRST_DATA_ROW - 1 :], start=_FIRST_DATA_ROW):
        area = row[1] if len(row) > 1 else None
        if not isinstance(area, str) or "_" not in area:
            continue
        code, name = area.split("_", 1)
        if len(code) != 5 or not code.startswith(prefix):
            continue
        record: dict[str, object] = {
            "muni_code": code,
            "name": name.strip(),
            "kind": str(row[3]).strip() if row[3] is not None else "",
            "row": number,
        }
        for column, index in columns.items():
            value = row[index]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValidationError(
                    "census count is not a non-negative number",
                    path=path,
                    row=number,
                    column=f"{WORKBOOK_COLUMNS[column][1]} ({column})",
                    value=value,
                )
            record[column] = int(value)
        if code == f"{prefix}000":
            prefecture = record
        else:
            out.append(record)
    if prefecture is None:
        raise ValidationError(
            f"census workbook has no row for the prefecture ({prefix}000_{region.pref_name})",
            path=path,
            column="都道府県・市区町村名",
        )
    return CensusWorkbook(
        path=path, units=pd.DataFrame(out), prefecture=pd.Series(prefecture), year=year
    )


def _workbook_columns(rows: list[tuple[object, ...]], path: Path) -> dict[str, int]:
    if len(rows) < _FIRST_DATA_ROW:
        raise ValidationError("census workbook has no heading rows", path=path)
    groups: list[str] = []
    current = ""
    for cell in rows[_GROUP_ROW - 1]:
        if isinstance(cell, str) and cell.strip():
            current = cell.strip()
        groups.append(current)
    labels = ["".join(str(c or "").split()) for c in rows[_LABEL_ROW - 1]]
    found: dict[str, int] = {}
    for column, (group, label) in WORKBOOK_COLUMNS.items():
        hits = [
            i
            for i, text in enumerate(labels)
            if text == label and i < len(groups) and groups[i] == group
        ]
        if not hits:
            raise ValidationError(
                "census workbook lacks a column",
                path=path,
                row=_LABEL_ROW,
                column=f"{group} / {label}",
            )
        found[column] = hits[0]  # 一般世帯 appears twice; the first is the count
    return found


# --- Census small areas (小地域, 町丁・字等) ------------------------------------------------------

SMALL_AREA_FIELDS = ("KEY_CODE", "PREF", "CITY", "CITY_NAME", "S_NAME", "JINKO", "SETAI")


def read_small_areas(source: Path, region: Region) -> tuple[pd.DataFrame, Path]:
    """The census small areas of the region, one row per ``KEY_CODE``.

    The e-Stat table has one record per polygon part; population and households sit on one
    part, the representative point is taken from the largest part (``AREA_MAX_F`` = M, else
    the largest ``AREA``). Returns ``key_code``, ``city_code`` (the 5-digit unit code from
    ``PREF`` + ``CITY``), ``city_name``, ``name`` (S_NAME; empty for a unit's unpopulated
    remainder), ``population``, ``households``, ``area_m2``, ``lng``, ``lat`` and ``row`` (the
    first record's 1-based number). CP932 unless a ``.cpg`` says otherwise.
    """
    assert region.sources.small_areas is not None
    path = source / region.sources.small_areas
    if not path.exists():
        raise SourceError("census small-area table is missing", path=path)
    kwargs = {} if path.with_suffix(".cpg").exists() else {"encoding": "cp932"}
    try:
        raw = pyogrio.read_dataframe(path, read_geometry=False, **kwargs)
    except Exception as exc:
        raise SourceError(f"cannot read the small-area table: {exc}", path=path) from exc
    needed = (*SMALL_AREA_FIELDS, "X_CODE", "Y_CODE", "AREA")
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise ValidationError(
            "small-area table lacks fields", path=path, column=", ".join(missing),
            value=list(raw.columns),
        )  # fmt: skip
    raw = pd.DataFrame(raw).reset_index(drop=True)
    raw["row"] = raw.index + 1
    for column in ("JINKO", "SETAI", "X_CODE", "Y_CODE", "AREA"):
        numbers = pd.to_numeric(raw[column], errors="coerce")
        bad = raw[numbers.isna() | (numbers < 0 if column in ("JINKO", "SETAI") else False)]
        if len(bad):
            i = int(bad.index[0])
            raise ValidationError(
                "small-area value is not a number", path=path, row=i + 1, column=column,
                value=raw.at[i, column],
            )  # fmt: skip
        raw[column] = numbers
    raw["main"] = raw.get("AREA_MAX_F", pd.Series("", index=raw.index)).fillna("") == "M"
    raw = raw.sort_values(["KEY_CODE", "main", "AREA"], ascending=[True, False, False])
    first = raw.groupby("KEY_CODE", sort=True)
    head = first.first()
    frame = pd.DataFrame(
        {
            "key_code": head.index.astype(str),
            "city_code": (
                head["PREF"].astype(str).str.zfill(2) + head["CITY"].astype(str).str.zfill(3)
            ).to_numpy(),
            "city_name": head["CITY_NAME"].fillna("").astype(str).str.strip().to_numpy(),
            "name": head["S_NAME"].fillna("").astype(str).str.strip().to_numpy(),
            "population": first["JINKO"].sum().astype("int64").to_numpy(),
            "households": first["SETAI"].sum().astype("int64").to_numpy(),
            "area_m2": first["AREA"].sum().to_numpy(dtype=float),
            "lng": head["X_CODE"].to_numpy(dtype=float),
            "lat": head["Y_CODE"].to_numpy(dtype=float),
            "row": first["row"].min().to_numpy(dtype="int64"),
        }
    )
    return frame, path
