"""Readers for the public source files, laid out as ``../shared/data/saitama``.

Where each file sits in the source folder is region data (``[sources]`` in region.toml, see
:class:`tsunagari_geo.region.RegionSources`). Each reader returns a plain (Geo)DataFrame and
raises :class:`SourceError` naming the file when the file is missing or unreadable.
Invariants across files are checked in :mod:`.importer`.
"""

from __future__ import annotations

import hashlib
import json
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
        if not path.exists():
            raise SourceError("town file listed in ja.json is missing", path=path, value=muni)
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SourceError(f"town file is not valid JSON: {exc}", path=path) from exc
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


# --- Census population ------------------------------------------------------------------------


def read_census(source: Path, region: Region) -> tuple[pd.DataFrame, Path]:
    """2020 census population per unit, with ``muni_code`` as a 5-character string."""
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
            if not path.exists():
                raise SourceError("town file listed in ja.json is missing", path=path, value=muni)
            try:
                rows = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise SourceError(f"town file is not valid JSON: {exc}", path=path) from exc
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
