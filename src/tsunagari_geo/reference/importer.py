"""Import the public sources into the store, validated and atomically.

``import_reference(source, store, region=...)`` reads N03 boundaries, the town dictionary and
the census, checks them against the region's registry and hands the store backend (chosen from
the location, see :func:`tsunagari_geo.store.backend_for`) the units (72 in 埼玉県), the
municipalities (63), the towns (5,389), the sources read, the region itself and the other
prefectures' municipality names from ``ja.json``. Nothing reads the source folder after this:
the store holds everything the geocoder and the service need. The backend writes atomically,
so a failed import leaves the previous store as it was.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon

from tsunagari_geo import __version__
from tsunagari_geo.errors import SourceError, ValidationError
from tsunagari_geo.reference import attribution, sources
from tsunagari_geo.reference.locator import locator_for, unit_codes_at
from tsunagari_geo.region import Region, default_region
from tsunagari_geo.registry import Registry
from tsunagari_geo.settings import STORE_CRS
from tsunagari_geo.store import STORE_SCHEMA_VERSION, ReferenceData, backend_for
from tsunagari_geo.text import town_key

log = logging.getLogger(__name__)

__all__ = ["STORE_SCHEMA_VERSION", "ImportReport", "import_reference", "n03_edition"]


@dataclass
class ImportReport:
    """What an import did: counts, repairs and warnings a person may want to read."""

    store: Path | str
    units: int = 0
    municipalities: int = 0
    towns: int = 0
    japan_municipalities: int = 0
    #: towns of the other prefectures, from the national source (0 without one).
    japan_towns: int = 0
    japan_prefectures: int = 0
    area_km2: float = 0.0
    population: int = 0
    n03_edition: str = ""
    repaired_codes: list[str] = field(default_factory=list)
    dropped_unassigned: int = 0
    warnings: list[str] = field(default_factory=list)
    #: where the census came from: ``workbook`` (e-Stat 主な結果) or ``csv``.
    census_source: str = ""
    census_year: int = 0
    small_areas: int = 0
    small_area_population: int = 0
    #: small areas whose name and unit match a town of the dictionary (by key), and the others.
    small_areas_matched: int = 0
    small_areas_unmatched: int = 0
    #: per unit code: how many of its small areas have no town of the same name.
    small_areas_unmatched_by_unit: dict[str, int] = field(default_factory=dict)
    #: small areas whose representative point lies outside their own unit's polygon.
    small_areas_outside_unit: int = 0


def import_reference(
    source: Path, store: Path | str, *, region: Region | None = None, japan: Path | None = None
) -> ImportReport:
    """Validate the sources in ``source`` against ``region`` and write the store at ``store``.

    ``region`` defaults to :func:`tsunagari_geo.region.default_region`. ``japan``, a national
    source folder laid out as ``../shared/data/japan``, adds every other prefecture's towns
    (``japan_towns``) so the geocoder reads addresses anywhere in Japan to town level; the
    region's own towns always come from ``source``. Raises
    :class:`SourceError` or :class:`ValidationError` naming the file and value; the store on
    disk is untouched when anything fails.
    """
    region = region or default_region()
    registry = region.registry
    backend = backend_for(store)  # an unknown backend fails before any file is read
    if not source.is_dir():
        raise SourceError("source folder does not exist", path=source)
    report = ImportReport(store=store)

    boundary_path = sources.find_boundary_file(source, region)
    raw = sources.read_n03(boundary_path)
    units = _build_units(raw, boundary_path, region, report)
    if region.sources.census_workbook is not None:
        workbook = sources.read_census_workbook(source, region)
        units = _attach_workbook(units, workbook, region, report)
        census_path = workbook.path
    else:
        census, census_path = sources.read_census(source, region)
        units = _attach_population(units, census, census_path)
        report.census_source = "csv"
    municipalities = _dissolve_municipalities(units, region)
    index, index_path = sources.read_towns_index(source, region)
    towns_raw, town_files, listed = sources.read_towns(source, region, index)
    towns = _build_towns(towns_raw, listed, index_path, registry, units, report)
    small_areas = None
    extra_sources: list[tuple[str, Path]] = []
    if region.sources.small_areas is not None:
        raw_areas, small_path = sources.read_small_areas(source, region)
        small_areas = _build_small_areas(raw_areas, small_path, region, units, towns, report)
        extra_sources.append(("small_areas", small_path))
    other_names = sources.japan_municipalities(index, region)
    if other_names.empty:
        report.warnings.append(
            f"{index_path} lists no prefecture but {region.pref_name}: "
            "the geocoder refuses a store without the other prefectures' names"
        )

    japan_towns = None
    japan_files: list[Path] = []
    if japan is not None:
        if not japan.is_dir():
            raise SourceError("national source folder does not exist", path=japan)
        raw_japan, japan_files = sources.read_japan_towns(japan, region)
        japan_towns = _impute_japan_points(raw_japan, report)
        report.japan_towns = len(japan_towns)
        report.japan_prefectures = int(japan_towns["pref"].nunique())

    report.units = len(units)
    report.municipalities = len(municipalities)
    report.towns = len(towns)
    report.japan_municipalities = len(other_names)
    report.area_km2 = float(units["area_km2"].sum())
    report.population = int(units["pop_total"].sum())
    report.n03_edition = n03_edition(boundary_path.name)

    source_files = sources.record_sources(
        [("boundaries", boundary_path), ("census", census_path)]
        + [("towns", p) for p in town_files]
        + extra_sources
    )
    japan_records = sources.record_sources([("japan_towns", p) for p in japan_files])
    src_table = pd.DataFrame(
        {
            "role": [s.role for s in (*source_files, *japan_records)],
            "path": [str(s.path.relative_to(source)) for s in source_files]
            + [str(s.path.relative_to(japan)) for s in japan_records if japan],
            "sha256": [s.sha256 for s in (*source_files, *japan_records)],
            "size": [s.size for s in (*source_files, *japan_records)],
        }
    )
    data = ReferenceData(
        region=region,
        units=units,
        municipalities=municipalities,
        towns=towns,
        sources=src_table,
        japan_municipalities=other_names,
        metadata=_metadata(report, source, region, japan),
        japan_towns=japan_towns,
        small_areas=small_areas,
    )
    backend.write_reference(store, data)
    return report


def n03_edition(filename: str) -> str:
    """The N03 edition date from a file name (N03-22_220101, N03-20220101_11) as ISO date."""
    m = re.search(r"N03-(?:\d{2}_)?(\d{8}|\d{6})", filename)
    if not m:
        return "unknown"
    digits = m.group(1)
    if len(digits) == 6:
        digits = "20" + digits
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"


def _build_units(
    raw: gpd.GeoDataFrame, path: Path, region: Region, report: ImportReport
) -> gpd.GeoDataFrame:
    registry = region.registry
    epsg = raw.crs.to_epsg() if raw.crs is not None else None
    if epsg not in sources.ACCEPTED_CRS:
        raise ValidationError(
            "boundaries must be in geographic WGS 84, JGD2000 or JGD2011 (EPSG:4326, 4612 or 6668)",
            path=path,
            value=str(raw.crs) if raw.crs is not None else "no CRS",
        )
    raw = raw.to_crs(STORE_CRS)
    codes = raw["N03_007"].astype("string").str.strip()
    unassigned = codes.isna() | (codes == "")
    # 所属未定地 (land no municipality claims) has no code in N03; it belongs to no unit.
    report.dropped_unassigned = int(unassigned.sum())
    raw = raw.loc[~unassigned].copy()
    raw["code"] = codes[~unassigned].str.zfill(5)

    expected = {m.code for m in registry.units}
    found = set(raw["code"])
    if found != expected:
        missing = sorted(expected - found)
        extra = sorted(found - expected)
        raise ValidationError(
            f"boundary codes differ from the expected {len(expected)} units: "
            f"missing {missing or 'none'}, extra {extra or 'none'}",
            path=path,
            column="N03_007",
        )

    invalid = ~raw.geometry.is_valid
    if invalid.any():
        report.repaired_codes = sorted(set(raw.loc[invalid, "code"]))
        raw.loc[invalid, "geometry"] = shapely.make_valid(raw.loc[invalid, "geometry"].values)
        report.warnings.append(
            f"{path}: repaired invalid geometries with make_valid for codes "
            f"{', '.join(report.repaired_codes)}"
        )

    rows = []
    for code, group in raw.groupby("code", sort=True):
        muni = registry.by_code[str(code)]
        gun, n03_name = sources.n03_names(group.iloc[0])
        if n03_name and n03_name != muni.name:
            report.warnings.append(
                f"{path}: code {code} is named {n03_name!r} in N03 and {muni.name!r} in the "
                "registry; the registry name is used"
            )
        rows.append(
            {
                "code": muni.code,
                "lg_code": muni.lg_code,
                "name": muni.name,
                "gun": gun or muni.gun,
                "kind": muni.kind,
                "parent_code": muni.parent_code,
                "name_kana": muni.name_kana,
                "geometry": _as_multipolygon(shapely.union_all(group.geometry.values)),
            }
        )
    units = gpd.GeoDataFrame(rows, geometry="geometry", crs=STORE_CRS)
    return _add_area_and_point(units, region.metric_crs)


def _as_multipolygon(geom: shapely.Geometry) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    # make_valid can return a collection holding lines; keep the areas only.
    polys = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon)]
    for g in shapely.get_parts(geom):
        if isinstance(g, MultiPolygon):
            polys.extend(g.geoms)
    return MultiPolygon(polys)


def _add_area_and_point(frame: gpd.GeoDataFrame, metric_crs: str) -> gpd.GeoDataFrame:
    frame["area_km2"] = frame.geometry.to_crs(metric_crs).area / 1e6
    rep = frame.geometry.representative_point()
    frame["rep_lng"] = rep.x
    frame["rep_lat"] = rep.y
    return frame


def _attach_population(
    units: gpd.GeoDataFrame, census: pd.DataFrame, path: Path
) -> gpd.GeoDataFrame:
    per_unit = census[census["unit_type"] != "designated_city_total"]
    unit_codes = set(units["code"])
    stray = per_unit[~per_unit["muni_code"].isin(unit_codes)]
    if len(stray):
        i = int(stray.index[0])
        raise ValidationError(
            f"population rows match no unit: {sorted(stray['muni_code'])}",
            path=path,
            row=i + 2,
            column="muni_code",
            value=census.at[i, "muni_code"],
        )
    dupes = per_unit[per_unit["muni_code"].duplicated()]
    if len(dupes):
        i = int(dupes.index[0])
        raise ValidationError(
            "population given twice for a unit",
            path=path,
            row=i + 2,
            column="muni_code",
            value=census.at[i, "muni_code"],
        )
    without = sorted(unit_codes - set(per_unit["muni_code"]))
    if without:
        raise ValidationError(
            f"units have no population row: {without}", path=path, column="muni_code"
        )
    pop = per_unit.set_index("muni_code")[list(sources.POPULATION_COLUMNS)]
    return units.join(pop, on="code")


def _census_columns(units: pd.DataFrame) -> list[str]:
    """The census counts the units carry (CSV columns or the workbook's), in a stable order."""
    known = [*sources.POPULATION_COLUMNS, *sources.WORKBOOK_COLUMNS]
    return [c for c in dict.fromkeys(known) if c in units.columns]


def _attach_workbook(
    units: gpd.GeoDataFrame, workbook: sources.CensusWorkbook, region: Region, report: ImportReport
) -> gpd.GeoDataFrame:
    """Put the workbook's counts on the units, checked against the prefecture's own row.

    Every unit needs exactly one row; the units must sum to the prefecture row in every column
    and each designated city's wards to the city's row, else ValidationError naming the row.
    """
    path = workbook.path
    rows = workbook.units
    codes = set(units["code"])
    designated = set(region.designated_city_codes)
    per_unit = rows[~rows["muni_code"].isin(designated - codes)]
    stray = per_unit[~per_unit["muni_code"].isin(codes)]
    if len(stray):
        first = stray.iloc[0]
        raise ValidationError(
            f"census workbook rows match no unit: {sorted(stray['muni_code'])}",
            path=path, row=int(first["row"]), column="都道府県・市区町村名",
            value=f"{first['muni_code']}_{first['name']}",
        )  # fmt: skip
    without = sorted(codes - set(per_unit["muni_code"]))
    if without:
        raise ValidationError(
            f"units have no row in the census workbook: {without}",
            path=path, column="都道府県・市区町村名",
        )  # fmt: skip
    columns = list(sources.WORKBOOK_COLUMNS)
    for column in columns:
        total = int(per_unit[column].sum())
        expected = int(workbook.prefecture[column])
        if total != expected:
            raise ValidationError(
                f"the {len(per_unit)} units sum to {total:,} but the prefecture row says "
                f"{expected:,}",
                path=path, row=int(workbook.prefecture["row"]),
                column=f"{sources.WORKBOOK_COLUMNS[column][1]} ({column})", value=expected,
            )  # fmt: skip
    for city in designated:
        city_rows = rows[rows["muni_code"] == city]
        wards = per_unit[per_unit["muni_code"].isin([w.code for w in region.wards_of(city)])]
        if len(city_rows):
            for column in columns:
                if int(wards[column].sum()) != int(city_rows.iloc[0][column]):
                    raise ValidationError(
                        f"the wards of {city} do not sum to the city's row",
                        path=path, row=int(city_rows.iloc[0]["row"]), column=column,
                        value=int(city_rows.iloc[0][column]),
                    )  # fmt: skip
    report.census_source = "workbook"
    report.census_year = workbook.year
    counts = per_unit.set_index("muni_code")[columns]
    return units.join(counts, on="code")


def _build_small_areas(
    raw: pd.DataFrame,
    path: Path,
    region: Region,
    units: gpd.GeoDataFrame,
    towns: gpd.GeoDataFrame,
    report: ImportReport,
) -> gpd.GeoDataFrame:
    """Census small areas as points, checked against the units and matched to the towns.

    A small area belongs to the unit its KEY_CODE names (PREF + CITY); that code must be a unit
    of the registry and CITY_NAME that unit's name (else ValidationError naming the row). Areas
    whose representative point falls in another unit's polygon, and areas no town of the
    dictionary matches by unit and name key, are counted in the report, never dropped. The
    population per unit must equal the census per unit (a warning names the units otherwise).
    """
    from tsunagari_geo.reference.locator import locator_for, unit_codes_at

    registry = region.registry
    frame = raw.copy()
    known = {m.code: m for m in registry.units}
    stray = frame[~frame["city_code"].isin(known)]
    if len(stray):
        first = stray.iloc[0]
        raise ValidationError(
            f"{len(stray)} small areas name a unit the registry lacks",
            path=path, row=int(first["row"]), column="KEY_CODE", value=first["key_code"],
        )  # fmt: skip
    names = frame["city_code"].map(lambda c: {known[c].name, known[c].full_name})
    wrong = frame[[n not in ok for n, ok in zip(frame["city_name"], names, strict=True)]]
    if len(wrong):
        first = wrong.iloc[0]
        raise ValidationError(
            f"small area's CITY_NAME is not its unit's name ({known[first['city_code']].name})",
            path=path, row=int(first["row"]), column="CITY_NAME", value=first["city_name"],
        )  # fmt: skip
    frame["unit_code"] = frame["city_code"]
    frame["muni_code"] = frame["unit_code"].map(lambda c: known[c].muni_code)
    frame["key"] = frame["name"].map(lambda n: town_key(n) if n else "")
    town_keys = set(zip(towns["unit_code"], towns["key"], strict=True))
    matched = [
        bool(k) and (u, k) in town_keys
        for u, k in zip(frame["unit_code"], frame["key"], strict=True)
    ]
    frame["town_matched"] = matched
    located = unit_codes_at(locator_for(units), frame["lng"], frame["lat"])
    frame["point_unit_code"] = located
    populated = frame["population"] > 0
    outside = populated & (frame["point_unit_code"] != frame["unit_code"])
    report.small_areas = len(frame)
    report.small_area_population = int(frame["population"].sum())
    named = frame["name"] != ""
    report.small_areas_matched = int((frame["town_matched"] & named).sum())
    report.small_areas_unmatched = int((~frame["town_matched"] & named).sum())
    by_unit = frame[~frame["town_matched"] & named].groupby("unit_code").size()
    report.small_areas_unmatched_by_unit = {str(k): int(v) for k, v in by_unit.items()}
    report.small_areas_outside_unit = int(outside.sum())
    if report.small_areas_unmatched:
        worst = by_unit.sort_values(ascending=False).head(5)
        report.warnings.append(
            f"{path}: {report.small_areas_unmatched} of {int(named.sum())} named small areas "
            "match no town of the dictionary by name (most in "
            + ", ".join(f"{known[str(c)].name} {int(n)}" for c, n in worst.items())
            + ")"
        )
    if report.small_areas_outside_unit:
        report.warnings.append(
            f"{path}: {report.small_areas_outside_unit} populated small areas have their point "
            "in another unit's polygon; they keep the unit of their KEY_CODE"
        )
    per_unit = frame.groupby("unit_code")["population"].sum()
    census = units.set_index("code")["pop_total"]
    off = [c for c in census.index if int(per_unit.get(c, 0)) != int(census[c])]
    if off:
        report.warnings.append(
            f"{path}: small-area population differs from the census for units {off}"
        )
    kept = [
        *("key_code", "unit_code", "muni_code", "name", "key", "population", "households"),
        *("area_m2", "lat", "lng", "town_matched", "point_unit_code"),
    ]
    return gpd.GeoDataFrame(
        frame[kept], geometry=gpd.points_from_xy(frame["lng"], frame["lat"]), crs=STORE_CRS
    )


def _dissolve_municipalities(units: gpd.GeoDataFrame, region: Region) -> gpd.GeoDataFrame:
    registry = region.registry
    frame = units.copy()
    frame["muni_code"] = frame["parent_code"].where(frame["parent_code"] != "", frame["code"])
    counts = _census_columns(units)
    agg = {c: "sum" for c in counts}
    dissolved = frame.dissolve(by="muni_code", aggfunc=agg).reset_index()
    dissolved["geometry"] = [_as_multipolygon(g) for g in dissolved.geometry]
    out = []
    for _, row in dissolved.iterrows():
        muni = registry.by_code[row["muni_code"]]
        out.append(
            {
                "code": muni.code,
                "lg_code": muni.lg_code,
                "name": muni.name,
                "gun": muni.gun,
                "kind": "city" if region.is_designated_city(muni.code) else muni.kind,
                "designated_city": region.is_designated_city(muni.code),
                "name_kana": muni.name_kana,
                **{c: int(row[c]) for c in counts},
                "geometry": row.geometry,
            }
        )
    munis = gpd.GeoDataFrame(out, geometry="geometry", crs=STORE_CRS)
    return _add_area_and_point(munis, region.metric_crs).sort_values("code").reset_index(drop=True)


def _build_towns(
    towns: pd.DataFrame,
    listed: list[str],
    index_path: Path,
    registry: Registry,
    units: gpd.GeoDataFrame,
    report: ImportReport,
) -> gpd.GeoDataFrame:
    by_name = {m.full_name: m for m in registry.units}
    unknown = sorted(set(listed) - set(by_name))
    if unknown:
        raise ValidationError(
            f"towns name municipalities that are not in the boundaries: {unknown}",
            path=index_path,
            value=unknown[0],
        )
    codes = towns["municipality"].map(lambda n: by_name[n].code)
    towns = _impute_missing_points(towns.assign(unit_code=codes), units, report)
    frame = gpd.GeoDataFrame(
        {
            "unit_code": codes,
            "muni_code": codes.map(lambda c: registry.by_code[c].muni_code),
            "town": towns["town"],
            "koaza": towns["koaza"],
            "key": towns["town"].map(town_key),
            "lat": towns["lat"].astype(float),
            "lng": towns["lng"].astype(float),
            "point_source": towns["point_source"],
        },
        geometry=gpd.points_from_xy(towns["lng"], towns["lat"]),
        crs=STORE_CRS,
    )
    # The dictionary's point and the N03 polygon can disagree near borders; say how often
    # (with the one locator of the pipeline, so a border point counts as the join counts it).
    by_point = unit_codes_at(locator_for(units), frame["lng"], frame["lat"])
    off = int((by_point != frame["unit_code"].to_numpy(dtype=object)).sum())
    if off:
        report.warnings.append(
            f"{off} town points lie outside their own unit's polygon (dictionary point near a "
            "border); they keep the dictionary's unit"
        )
    return frame


_CHOME_RE = re.compile(r"[一二三四五六七八九十]+丁目$")


def _impute_missing_points(
    towns: pd.DataFrame, units: gpd.GeoDataFrame, report: ImportReport
) -> pd.DataFrame:
    """Give a point to towns the dictionary lists without one, and say where it came from.

    New 町丁目 (after land readjustment) often lack a point. ``point_source`` is ``dictionary``
    for real points, ``sibling_chome`` for the mean of the same town's other 丁目 that have one,
    and ``unit_point`` (the unit's representative point) when no sibling has a point.
    """
    towns = towns.copy()
    towns["lat"] = pd.to_numeric(towns["lat"], errors="coerce")
    towns["lng"] = pd.to_numeric(towns["lng"], errors="coerce")
    towns["point_source"] = "dictionary"
    missing = towns["lat"].isna() | towns["lng"].isna()
    if not missing.any():
        return towns
    base = towns["town"].str.replace(_CHOME_RE, "", regex=True)
    known = towns[~missing].assign(base=base[~missing])
    means = known.groupby(["unit_code", "base"])[["lat", "lng"]].mean()
    sibling_mean: dict[tuple[str, str], tuple[float, float]] = {
        (str(u), str(b)): (float(lat), float(lng))
        for (u, b), lat, lng in zip(means.index, means["lat"], means["lng"], strict=True)
    }
    unit_points = {
        str(c): (float(lat), float(lng))
        for c, lat, lng in zip(units["code"], units["rep_lat"], units["rep_lng"], strict=True)
    }
    for i in towns.index[missing]:
        key = (str(towns.at[i, "unit_code"]), str(base.at[i]))
        if key in sibling_mean:
            lat, lng = sibling_mean[key]
            towns.at[i, "point_source"] = "sibling_chome"
        else:
            lat, lng = unit_points[key[0]]
            towns.at[i, "point_source"] = "unit_point"
        towns.at[i, "lat"], towns.at[i, "lng"] = lat, lng
    counts = towns.loc[missing, "point_source"].value_counts().to_dict()
    report.warnings.append(
        f"{int(missing.sum())} towns have no point in the dictionary; imputed: {counts}"
    )
    return towns


def _impute_japan_points(towns: pd.DataFrame, report: ImportReport) -> pd.DataFrame:
    """A point for the other prefectures' towns listed without one, and where it came from.

    As for the region's towns (:func:`_impute_missing_points`): ``sibling_chome`` is the mean
    of the same town's other 丁目; without boundaries for other prefectures the fallback is
    ``municipality_mean``, the mean of the municipality's towns.
    """
    towns = towns.copy()
    towns["point_source"] = "dictionary"
    missing = towns["lat"].isna() | towns["lng"].isna()
    if not missing.any():
        return towns
    base = towns["town"].str.replace(_CHOME_RE, "", regex=True)
    known = towns[~missing].assign(base=base[~missing])
    keys = ["pref", "municipality"]
    by_base = _mean_points(known.groupby([*keys, "base"])[["lat", "lng"]].mean())
    by_muni = _mean_points(known.groupby(keys)[["lat", "lng"]].mean())
    for i in towns.index[missing]:
        muni = (str(towns.at[i, "pref"]), str(towns.at[i, "municipality"]))
        point = by_base.get((*muni, str(base.at[i])))
        source = "sibling_chome"
        if point is None:
            point, source = by_muni.get(muni), "municipality_mean"
        if point is None:
            continue  # a municipality without any point: the town stays without one
        towns.at[i, "lat"], towns.at[i, "lng"] = point
        towns.at[i, "point_source"] = source
    counts = towns.loc[missing, "point_source"].value_counts().to_dict()
    report.warnings.append(
        f"{int(missing.sum())} towns of other prefectures have no point in the dictionary; "
        f"imputed: {counts}"
    )
    return towns


def _mean_points(means: pd.DataFrame) -> dict[tuple[str, ...], tuple[float, float]]:
    return {
        tuple(str(k) for k in key): (float(lat), float(lng))
        for key, lat, lng in zip(means.index, means["lat"], means["lng"], strict=True)
    }


def _metadata(
    report: ImportReport, source: Path, region: Region, japan: Path | None = None
) -> dict[str, str]:
    return {
        "tsunagari_geo_version": __version__,
        "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source_dir": str(source.resolve()),
        "region_id": region.id,
        "pref_code": region.pref_code,
        "pref_name": region.pref_name,
        "n03_edition": report.n03_edition,
        "units": str(report.units),
        "municipalities": str(report.municipalities),
        "towns": str(report.towns),
        "japan_municipalities": str(report.japan_municipalities),
        "japan_towns": str(report.japan_towns),
        "japan_prefectures": str(report.japan_prefectures),
        "japan_dir": str(japan.resolve()) if japan is not None else "",
        "area_km2": f"{report.area_km2:.3f}",
        "population": str(report.population),
        "repaired_codes": ",".join(report.repaired_codes),
        "census_source": report.census_source,
        "census_year": str(report.census_year),
        "small_areas": str(report.small_areas),
        "small_areas_matched": str(report.small_areas_matched),
        "small_areas_unmatched": str(report.small_areas_unmatched),
        "small_areas_unmatched_by_unit": json.dumps(
            report.small_areas_unmatched_by_unit, ensure_ascii=False
        ),
        "small_areas_outside_unit": str(report.small_areas_outside_unit),
        "attribution": "\n".join(
            [
                *attribution.REFERENCE_ATTRIBUTION,
                *([attribution.SMALL_AREA_ATTRIBUTION] if report.small_areas else []),
            ]
        ),
    }
