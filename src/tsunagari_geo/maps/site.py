"""The static site: the map and the dashboard with their data files, for any web server.

:func:`build_site` writes a folder the prefecture can copy to its own website: the same pages
as the service, with relative links to GeoJSON files instead of the API, the address search
index generated from the geocoder instead of ``/geocode`` (what ``/geocode`` answers for every
written form of the municipalities and towns, searched by ``assets/maps/search.js``: see
:mod:`tsunagari_geo.maps.search_index`), the tables as CSV and XLSX, the PMTiles
archives when they were built, and the vendored assets with their licences. Nothing in it
needs a server-side program, and no page loads anything from another origin (unless the base
map setting asks for 地理院タイル).

Layout::

    index.html  map.html  dashboard.html  dashboard/11201.html …
    assets/maps/*.js|css  assets/vendor/<package>/…  (with LICENSE files)
    data/activities.geojson  activities_calendar.json (open days, a year from the build day)
    data/consultations.geojson  good_practices.geojson
    data/municipalities.geojson  units.geojson  towns.json (search index)  table_<level>.csv|xlsx
    data/small_areas.geojson  (census small areas: what the dashboard's small-area map reads)
    tiles/*.pmtiles  (when built)

Example::

    >>> build_site(Path("site"), SiteData.open(layers, store), MapSettings(basemap="blank"))  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

from tsunagari_geo.activities.schedule import open_days, today
from tsunagari_geo.errors import InputError
from tsunagari_geo.layers.simplify import WEB_SIMPLIFY_DEGREES, simplify_coverage
from tsunagari_geo.maps.csp import origin_of, with_meta_policy
from tsunagari_geo.maps.data import SiteData
from tsunagari_geo.maps.pages import (
    SMALL_AREA_PROPERTIES,
    build_dashboard_page,
    build_map_page,
    build_municipality_page,
    static_links,
)
from tsunagari_geo.maps.settings import MapSettings
from tsunagari_geo.maps.vendor import STATIC_DIR, ensure_vendored
from tsunagari_geo.tables import atomic_path, write_table

LEVELS = ("municipalities", "units")
#: Days of open dates the static site carries from its build day (a server computes them
#: each day; a static file must last until the site is rebuilt).
SITE_CALENDAR_DAYS = 366


@dataclass
class SiteReport:
    """What :func:`build_site` wrote: every file, relative to the site's folder."""

    out: Path
    files: list[str] = field(default_factory=list)

    def bytes(self) -> int:
        return sum((self.out / f).stat().st_size for f in self.files)


def build_site(
    out: Path, data: SiteData, settings: MapSettings, tiles_dir: Path | None = None
) -> SiteReport:
    """Write the static site into ``out`` (created if missing; our files are overwritten).

    Raises InputError when ``out`` exists and is not a folder, FetchError when the vendored
    assets cannot be installed.
    """
    if out.exists() and not out.is_dir():
        raise InputError("出力先がフォルダではありません", path=out)
    out.mkdir(parents=True, exist_ok=True)
    report = SiteReport(out)

    def text(name: str, body: str) -> None:
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(body, encoding="utf-8")
        report.files.append(name)

    # Assets: our scripts and the vendored libraries with their licences.
    vendor = ensure_vendored()
    for source_root, prefix in ((STATIC_DIR / "maps", "assets/maps"), (vendor, "assets/vendor")):
        for source in sorted(p for p in source_root.rglob("*") if p.is_file()):
            name = f"{prefix}/{source.relative_to(source_root).as_posix()}"
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, out / name)
            report.files.append(name)

    # Data files.
    (out / "data").mkdir(exist_ok=True)
    for name in ("activities", "consultations", "good_practices"):
        frame = data.layers.get(name)
        if frame is None:
            frame = gpd.GeoDataFrame({"id": []}, geometry=gpd.GeoSeries([], crs=4326))
        write_table(frame, out / "data" / f"{name}.geojson", attribution=data.attribution)
        report.files.append(f"data/{name}.geojson")
    # The open days, computed now from each rrule for a year from the build day: the map
    # shows those from today on (rebuild the site within the year to keep them coming).
    activities = data.layers.get("activities")
    records = [] if activities is None else activities.to_dict("records")
    text(
        "data/activities_calendar.json",
        json.dumps(
            open_days(records, today(), SITE_CALENDAR_DAYS),
            ensure_ascii=False,
            separators=(",", ":"),
        ),
    )
    for level in LEVELS:
        write_table(
            _simplified(data.layer(level)),
            out / "data" / f"{level}.geojson",
            attribution=data.attribution,
        )
        report.files.append(f"data/{level}.geojson")
        for fmt in ("csv", "xlsx"):
            write_table(
                data.table(level),
                out / "data" / f"table_{level}.{fmt}",
                attribution=data.attribution,
            )
            report.files.append(f"data/table_{level}.{fmt}")
    small_areas = data.layers.get("small_areas")
    if small_areas is not None:
        keep = [c for c in SMALL_AREA_PROPERTIES.split(",") if c in small_areas.columns]
        write_table(
            small_areas[[*keep, "geometry"]],
            out / "data" / "small_areas.geojson",
            attribution=data.attribution,
        )
        report.files.append("data/small_areas.geojson")
    # The address search: what the server's geocoder answers, generated now (search.js).
    text(
        "data/towns.json", json.dumps(data.town_index(), ensure_ascii=False, separators=(",", ":"))
    )
    if tiles_dir is not None and tiles_dir.is_dir():
        for archive in sorted(tiles_dir.glob("*.pmtiles")):
            (out / "tiles").mkdir(exist_ok=True)
            shutil.copyfile(archive, out / "tiles" / archive.name)
            report.files.append(f"tiles/{archive.name}")

    # Pages, each with its Content-Security-Policy as a <meta> (no header can be set here).
    images = (origin_of(settings.gsi_tile_url),) if settings.basemap == "gsi" else ()

    def page(name: str, body: str) -> None:
        text(name, with_meta_policy(body, images))

    page(
        "map.html",
        build_map_page(
            static_links(0),
            settings,
            data.attribution,
            data.vocabulary,
            region=data.store.region,
        ),
    )
    page("dashboard.html", build_dashboard_page(static_links(0), settings, data))
    for code in data.layer("municipalities")["code"].astype(str):
        page(f"dashboard/{code}.html", build_municipality_page(static_links(1), data, code))
    page("index.html", _index(data))
    return report


def _simplified(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Boundaries simplified as one coverage, so neighbours keep a common border."""
    geoms = simplify_coverage(frame.geometry.to_numpy(), WEB_SIMPLIFY_DEGREES)
    return frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))


def _index(data: SiteData) -> str:
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in data.attribution)
    built = f"<p>集計日時: {html.escape(data.built_at)}</p>" if data.built_at else ""
    return (
        '<!DOCTYPE html>\n<html lang="ja">\n<head>\n<meta charset="utf-8" />\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1" />\n'
        '<link rel="icon" href="data:," />\n'
        f"<title>{html.escape(data.store.region.titles['platform'])}</title>\n"
        '<link rel="stylesheet" href="assets/maps/tsunagari.css" />\n</head>\n'
        '<body class="tg-muni-page">\n<header class="tg-header"><h1>つながりマップ</h1></header>\n'
        '<main class="tg-muni">\n<ul class="tg-list">\n'
        '<li><a href="map.html">地図: 活動・相談窓口・好事例をさがす</a></li>\n'
        '<li><a href="dashboard.html">カバレッジ・ダッシュボード（計画担当者向け）</a></li>\n'
        "</ul>\n"
        f'<footer class="tg-attribution"><h2>出典</h2><ul>{lines}</ul>{built}</footer>\n'
        "</main>\n</body>\n</html>\n"
    )
