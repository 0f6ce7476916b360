"""Privacy audit: nothing public carries what a hidden, unpublished or reduced row withholds.

The demo is built as a deployment would be: the pipeline on the shipped samples (plus the four
crafted rows of ``test_layers_fixtures``, whose exact points are certainly distinctive) into a
temporary folder, then the tiles (zooms 5–14) and the static site. The secrets are read from
the input table and from the planners' layer file (where each row's exact point is):

* every hidden and unpublished row: its id and each text field (name, description, schedule,
  target, fee, url, address, …) that no published row shares;
* every row whose member did not set ``contact_public`` to yes: its phone (as written and as
  dialled), e-mail and LINE link;
* every hidden, unpublished and reduced-privacy (town or municipality) row: its full address
  and the town + 番地 part of it, and its exact point, unless that point is public anyway (a
  town's dictionary point, a municipality's representative point, or the point of an
  exact, published row).

Then every public response of the real app (landing page to the last page of items, every
single feature, TileJSON, every .mvt tile, the .pmtiles archives decoded tile by tile, the map,
the dashboard and its 63 municipality pages, the CSV and XLSX downloads) and every file of the
static site (PMTiles decoded, XLSX unzipped) is scanned. A point is found as text, as a
longitude and latitude at 5+ decimals within a few characters of each other in either order,
and in decoded tiles as a vertex within a tile pixel. One finding fails the audit, with where.
"""

from __future__ import annotations

import gzip
import io
import math
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pandas as pd
import pytest
from pmtiles.reader import MemorySource, all_tiles

from test_layers_fixtures import (
    PUBLIC_PHONE,
    SECRET_CONTACT,
    SECRET_PHONE,
    Built,
    build_deployment,
    public_id_of,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tsunagari_api.catalog import COLLECTIONS
from tsunagari_api.factory import create_app
from tsunagari_geo.cells import parse_yes_no
from tsunagari_geo.layers.published import LayerSet
from tsunagari_geo.layers.tiles import build_tiles
from tsunagari_geo.maps.data import SiteData
from tsunagari_geo.maps.settings import MapSettings
from tsunagari_geo.maps.site import build_site
from tsunagari_geo.store import Store, open_store

pytestmark = pytest.mark.timeout(600)

PUBLIC = [s.id for s in COLLECTIONS if not s.protected]
#: Text fields whose distinctive values must not leak (besides the id).
TEXT_FIELDS = (
    "name",
    "description",
    "schedule_text",
    "rrule",
    "fee",
    "target_text",
    "url",
    "address",
    "source",
)
#: How to reach a member: secret wherever the member did not set contact_public to yes.
CONTACT_FIELDS = ("phone", "email", "line_url")
ORIGIN = 20037508.342789244
#: Two numbers this close (characters) count as one written point.
PAIR_WINDOW = 40


@dataclass(frozen=True)
class SecretPoint:
    """An exact point that must not be published, with the row it belongs to."""

    row: str
    lon: float
    lat: float

    def patterns(self) -> list[re.Pattern[str]]:
        """Longitude and latitude at 5 decimals (rounded or truncated), either order, close."""
        lons = _prefixes(self.lon)
        lats = _prefixes(self.lat)
        out = []
        for lon in lons:
            for lat in lats:
                gap = f"[^0-9][^\\n]{{0,{PAIR_WINDOW}}}?"
                out.append(re.compile(f"{re.escape(lon)}\\d*{gap}{re.escape(lat)}"))
                out.append(re.compile(f"{re.escape(lat)}\\d*{gap}{re.escape(lon)}"))
        return out


def _prefixes(value: float) -> set[str]:
    """The number's text at 5 decimals, rounded and truncated (a writer may do either)."""
    truncated = math.floor(abs(value) * 1e5) / 1e5 * (1 if value >= 0 else -1)
    return {f"{value:.5f}", f"{truncated:.5f}"}


@dataclass
class Audit:
    """The secrets, and every finding of them in what was scanned."""

    texts: dict[str, str]  # secret text → which row and field
    points: list[SecretPoint]
    public_points: list[tuple[float, float]]
    findings: list[str] = field(default_factory=list)
    scanned: dict[str, int] = field(default_factory=dict)

    def _count(self, kind: str) -> None:
        self.scanned[kind] = self.scanned.get(kind, 0) + 1

    def text(self, where: str, body: str, kind: str = "text") -> None:
        """Scan a text body for every secret text and every secret point written out."""
        self._count(kind)
        for secret, owner in self.texts.items():
            if secret in body:
                at = body.index(secret)
                self.findings.append(
                    f"{where}: {owner} {secret!r} near {body[max(0, at - 40) : at + 60]!r}"
                )
        for point in self.points:
            for pattern in point.patterns():
                match = pattern.search(body)
                if match:
                    self.findings.append(f"{where}: exact point of {point.row}: {match.group(0)!r}")
                    break

    def mvt(self, where: str, z: int, x: int, y: int, data: bytes) -> None:
        """Scan one Mapbox Vector Tile: its property values as text, its vertices as points."""
        self._count("mvt tile")
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        tile = mapbox_vector_tile.decode(data)
        values: list[str] = []
        pixel = 360 / 2**z / 4096  # degrees of longitude per tile pixel
        for layer in tile.values():
            for feature in layer.get("features", []):
                values += [str(v) for v in feature.get("properties", {}).values()]
                values.append(str(feature.get("id", "")))
                for px, py in _vertices(feature["geometry"]["coordinates"]):
                    lon, lat = _lonlat(z, x, y, px, py)
                    self._vertex(f"{where} z{z}/{x}/{y}", lon, lat, 2 * pixel)
        self.text(f"{where} z{z}/{x}/{y} properties", "\n".join(values), kind="mvt properties")

    def _vertex(self, where: str, lon: float, lat: float, tolerance: float) -> None:
        if tolerance > 5e-5:  # coarser than ~5 m: a tile vertex cannot pin a point down
            return
        for point in self.points:
            near = max(abs(lon - point.lon), abs(lat - point.lat))
            if near > tolerance:
                continue
            # A public point just as close explains the vertex (two venues side by side).
            if any(max(abs(lon - p[0]), abs(lat - p[1])) <= near for p in self.public_points):
                continue
            self.findings.append(f"{where}: vertex {lon:.6f},{lat:.6f} at {point.row}'s point")

    def pmtiles(self, where: str, archive: bytes) -> None:
        """Decode every tile of a PMTiles archive and scan it."""
        self._count("pmtiles archive")
        self.text(f"{where} (metadata)", archive[:16384].decode("latin-1"), kind="pmtiles header")
        for (z, x, y), data in all_tiles(MemorySource(archive)):
            self.mvt(where, z, x, y, data)

    def xlsx(self, where: str, book: bytes) -> None:
        """Scan every part of an XLSX file (shared strings, sheets) as text."""
        self._count("xlsx")
        with zipfile.ZipFile(io.BytesIO(book)) as z:
            for name in z.namelist():
                self.text(f"{where}!{name}", z.read(name).decode("utf-8", "replace"), "xlsx part")

    def file(self, where: str, path: Path) -> None:
        """Scan one file of the static site by its kind."""
        self._count("site file")
        data = path.read_bytes()
        if path.suffix == ".pmtiles":
            self.pmtiles(where, data)
        elif path.suffix == ".xlsx":
            self.xlsx(where, data)
        else:
            self.text(where, data.decode("utf-8", "replace"), kind="site text")


def _vertices(coordinates: Any) -> Iterator[tuple[float, float]]:
    if (
        isinstance(coordinates, (list, tuple))
        and coordinates
        and isinstance(coordinates[0], (int, float))
    ):
        yield float(coordinates[0]), float(coordinates[1])
        return
    for part in coordinates:
        yield from _vertices(part)


def _lonlat(z: int, x: int, y: int, px: float, py: float) -> tuple[float, float]:
    """Tile-local MVT coordinates (y up, extent 4096) → lon/lat."""
    size = 2 * ORIGIN / 2**z
    mx = -ORIGIN + x * size + px / 4096 * size
    my = ORIGIN - (y + 1) * size + py / 4096 * size
    lon = mx / ORIGIN * 180
    lat = math.degrees(2 * math.atan(math.exp(my / ORIGIN * math.pi)) - math.pi / 2)
    return lon, lat


# --- the demo and its secrets --------------------------------------------------------------------


@dataclass(frozen=True)
class Demo:
    built: Built
    site: Path
    inputs: pd.DataFrame


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Demo:
    folder = tmp_path_factory.mktemp("audit")
    built = build_deployment(folder, store_path)
    build_tiles(
        built.settings.layers,
        built.settings.tiles_dir,
        region=open_store(built.settings.store).region,
    )
    data = SiteData.open(built.settings.layers, store_path)
    build_site(folder / "site", data, MapSettings(basemap="blank"), built.settings.tiles_dir)
    inputs = pd.read_csv(folder / "inputs" / "activities.csv", dtype=str, encoding="utf-8-sig")
    return Demo(built=built, site=folder / "site", inputs=inputs.fillna(""))


def _flag(value: str) -> bool:
    return value.strip().lower() not in ("false", "0", "no", "")


def secrets_of(demo: Demo, store: Store) -> Audit:
    """The audit's secrets, from the input table and the planners' exact points."""
    rows = demo.inputs
    published = rows["published"].map(lambda v: _flag(v) if v else True)
    privacy = rows["location_privacy"].replace("", "exact")
    withheld = rows[~published | (privacy == "hidden")]
    reduced = rows[published & privacy.isin(["town", "municipality"])]
    shown = rows[published & (privacy != "hidden")]
    # Values some published row shows are not secrets of another row (a shared fee, say).
    shown_values = {str(v) for f in TEXT_FIELDS if f in shown for v in shown[f]}

    texts: dict[str, str] = {}
    for record in withheld.to_dict("records"):
        texts[str(record["id"])] = f"{record['id']} id"
        for name in TEXT_FIELDS:
            value = str(record.get(name, "")).strip()
            if len(value) >= 4 and value not in shown_values:
                texts[value] = f"{record['id']} {name}"
    planner = LayerSet.open(demo.built.settings.planner_layers, "planner").frames["activities"]
    planner = planner.set_index(planner["id"].astype(str))
    for record in pd.concat([withheld, reduced]).to_dict("records"):
        address = str(record.get("address", "")).strip()
        if not address:
            continue
        texts[address] = f"{record['id']} full address"
        city = str(planner.loc[record["id"], "geo_city"]) if record["id"] in planner.index else ""
        rest = address.removeprefix("埼玉県")
        rest = rest.split(city, 1)[1] if city and city in rest else rest
        if re.search(r"\d", rest) and len(rest) >= 4:
            texts.setdefault(rest, f"{record['id']} town + 番地")

    public_points = [(float(p.x), float(p.y)) for p in store.towns.geometry]
    for frame in (store.units, store.municipalities):
        public_points += list(
            zip(frame["rep_lng"].astype(float), frame["rep_lat"].astype(float), strict=True)
        )
    exact_ids = set(rows.loc[published & (privacy == "exact"), "id"])
    for ident, geom in zip(planner.index, planner.geometry, strict=True):
        if ident in exact_ids and geom is not None and not geom.is_empty:
            public_points.append((geom.x, geom.y))

    def is_public(lon: float, lat: float) -> bool:
        return any(abs(lon - a) < 1e-6 and abs(lat - b) < 1e-6 for a, b in public_points)

    points = []
    for ident in list(withheld["id"]) + list(reduced["id"]):
        geom = planner.geometry.get(ident)
        if geom is None or geom.is_empty or is_public(geom.x, geom.y):
            continue
        points.append(SecretPoint(str(ident), float(geom.x), float(geom.y)))
    # A contact its member did not make public (contact_public not yes): the phone as written
    # and as dialled, the e-mail, the LINE link, unless a row that made it public shows it.
    public_contact = rows["contact_public"].map(lambda v: parse_yes_no(v) is True)
    shown_contacts = {
        str(v).strip()
        for f in CONTACT_FIELDS
        for v in rows.loc[published & (privacy != "hidden") & public_contact, f]
    }
    for record in rows[~public_contact].to_dict("records"):
        for name in CONTACT_FIELDS:
            value = str(record.get(name, "")).strip()
            if value and value not in shown_contacts:
                texts[value] = f"{record['id']} {name} (contact not public)"
                if name == "phone":
                    texts[value.replace("-", "")] = f"{record['id']} phone as dialled"
    return Audit(texts=texts, points=points, public_points=public_points)


# --- what the public can reach ---------------------------------------------------------------------


def scan_service(audit: Audit, client: TestClient, collect: Callable[[str, Any], None]) -> None:
    """Every public response of the app, into ``audit`` (``collect`` sees each one too)."""

    def get(url: str, **kwargs: Any) -> Any:
        response = client.get(url, **kwargs)
        assert response.status_code in (200, 204, 206), (url, response.status_code)
        collect(url, response)
        return response

    for url in ("/", "/conformance", "/collections", "/healthz", "/api"):
        audit.text(url, get(url).text, "api response")
    for collection in PUBLIC:
        audit.text(
            f"/collections/{collection}", get(f"/collections/{collection}").text, "api response"
        )
        url = f"/collections/{collection}/items?limit=1000"
        ids: list[str] = []
        while url:
            response = get(url)
            audit.text(url, response.text, "api response")
            body = response.json()
            ids += [str(f["id"]) for f in body["features"]]
            url = next((link["href"] for link in body["links"] if link["rel"] == "next"), "")
        for ident in ids:
            item = f"/collections/{collection}/items/{ident}"
            audit.text(item, get(item).text, "single feature")
    for name in ("activities", "municipalities"):
        audit.text(f"/tiles/{name}.json", get(f"/tiles/{name}.json").text, "tilejson")
        archive = get(f"/tiles/{name}.pmtiles").content
        audit.pmtiles(f"/tiles/{name}.pmtiles", archive)
        for (z, x, y), _data in all_tiles(MemorySource(archive)):
            url = f"/tiles/{name}/{z}/{x}/{y}.mvt"
            audit.mvt(url, z, x, y, get(url).content)
    for page in ("/map", "/dashboard"):
        audit.text(page, get(page).text, "page")
    for code in client.app.state.holder.current.public.frames["municipalities"]["code"]:
        url = f"/dashboard/{code}"
        audit.text(url, get(url).text, "municipality page")
    for level in ("municipalities", "units"):
        audit.text(
            f"/dashboard/table/{level}.csv", get(f"/dashboard/table/{level}.csv").text, "csv"
        )
        audit.xlsx(f"/dashboard/table/{level}.xlsx", get(f"/dashboard/table/{level}.xlsx").content)


def scan_site(audit: Audit, site: Path) -> int:
    """Every file of the static site, into ``audit``; returns how many."""
    files = sorted(p for p in site.rglob("*") if p.is_file())
    for path in files:
        audit.file(str(path.relative_to(site)), path)
    return len(files)


def _report(audit: Audit) -> str:
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(audit.scanned.items()))
    return (
        f"{len(audit.texts)} secret texts, {len(audit.points)} secret points; scanned {counts}; "
        f"{len(audit.findings)} leaks"
    )


# --- tests -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def audit(demo: Demo, store: Store) -> Audit:
    return secrets_of(demo, store)


def test_the_audit_knows_the_secrets_it_looks_for(audit: Audit, demo: Demo) -> None:
    rows = demo.inputs
    hidden = set(rows.loc[rows["location_privacy"] == "hidden", "id"])
    unpublished = set(rows.loc[rows["published"].str.lower() == "false", "id"])
    assert len(hidden) >= 7 and len(unpublished) >= 4  # the samples' and the crafted rows
    assert hidden | unpublished <= set(audit.texts)
    assert {"HIDDEN-7f3a の説明", "埼玉県川越市大字上寺山12-34", "大字上寺山12-34"} <= set(
        audit.texts
    )
    rows_with_points = {p.row for p in audit.points}
    assert {"zz-hidden-1", "zz-unpub-1", "zz-town-1", "zz-muni-1"} <= rows_with_points
    # Contacts kept from the public: the crafted row's and dozens of the samples'.
    assert {SECRET_PHONE, SECRET_PHONE.replace("-", ""), f"{SECRET_CONTACT}@example.jp"} <= set(
        audit.texts
    )
    assert sum("contact not public" in owner for owner in audit.texts.values()) > 30
    assert PUBLIC_PHONE not in audit.texts


def test_nothing_public_leaks_a_withheld_field_address_or_point(
    audit: Audit, demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(create_app(demo.built.settings)) as client:
        scan_service(audit, client, lambda url, response: None)
    files = scan_site(audit, demo.site)
    with capsys.disabled():
        print(f"\nprivacy audit: {_report(audit)}; {files} site files")
    assert audit.scanned["single feature"] > 400
    assert audit.scanned["mvt tile"] > 1000
    assert audit.scanned["municipality page"] == 63
    assert audit.scanned["xlsx"] == 4
    assert not audit.findings, "\n".join(audit.findings[:50])


def test_reduced_rows_are_public_only_at_a_town_or_municipality_point(
    audit: Audit, demo: Demo, store: Store
) -> None:
    towns = {(round(p.x, 6), round(p.y, 6)) for p in store.towns.geometry}
    municipal = {
        (round(lon, 6), round(lat, 6))
        for frame in (store.units, store.municipalities)
        for lon, lat in zip(frame["rep_lng"], frame["rep_lat"], strict=True)
    }
    # The public view calls each row by its opaque id.
    rows = demo.inputs.assign(id=demo.inputs["id"].map(public_id_of)).set_index("id")
    with TestClient(create_app(demo.built.settings)) as client:
        features = client.get("/collections/activities/items?limit=10000").json()["features"]
    checked = 0
    for feature in features:
        wanted = rows.loc[feature["id"], "location_privacy"] if feature["id"] in rows.index else ""
        if wanted not in ("town", "municipality") or feature["geometry"] is None:
            continue
        point = tuple(round(c, 6) for c in feature["geometry"]["coordinates"])
        allowed = (
            municipal if feature["properties"]["location_precision"] == "municipality" else towns
        )
        assert point in allowed, (feature["id"], point)
        if wanted == "municipality":
            assert point in municipal, feature["id"]  # never finer than the row allows
        checked += 1
    # 22 reduced rows, less the 5 whose text names the place they withhold (not published).
    assert checked >= 17


def test_the_audit_finds_a_planted_leak_of_each_kind(
    audit: Audit, demo: Demo, tmp_path: Path
) -> None:
    """The detector itself: leaks planted in a copy of a site file are all reported."""
    hidden = next(p for p in audit.points if p.row == "zz-hidden-1")
    town = next(p for p in audit.points if p.row == "zz-town-1")
    original = (demo.site / "data" / "activities.geojson").read_text(encoding="utf-8")
    planted = original.replace(
        '"features":[',
        '"features":[{"type":"Feature","properties":{"note":"秘匿テスト HIDDEN-7f3a 活動",'
        '"where":"大字上寺山12-34"},"geometry":{"type":"Point","coordinates":'
        f"[{hidden.lon:.7f},{hidden.lat:.7f}]}}}},",
        1,
    )
    assert planted != original
    copy = tmp_path / "activities.geojson"
    copy.write_text(
        planted + f'\n{{"lat": {town.lat:.6f}, "lng": {town.lon:.6f}}}', encoding="utf-8"
    )
    probe = Audit(texts=audit.texts, points=audit.points, public_points=audit.public_points)
    probe.file("planted/activities.geojson", copy)
    found = "\n".join(probe.findings)
    assert "zz-hidden-1 name" in found
    assert "zz-hidden-1 town + 番地" in found
    assert "exact point of zz-hidden-1" in found
    assert "exact point of zz-town-1" in found  # latitude first, as a JSON object

    z = 16
    n = 2**z
    x = int((hidden.lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(hidden.lat))) / math.pi) / 2 * n)
    px = ((hidden.lon + 180) / 360 * n - x) * 4096
    py = (1 - (((1 - math.asinh(math.tan(math.radians(hidden.lat))) / math.pi) / 2 * n) - y)) * 4096
    tile = mapbox_vector_tile.encode(
        [
            {
                "name": "activities",
                "features": [{"geometry": f"POINT ({px:.3f} {py:.3f})", "properties": {"id": "x"}}],
            }
        ]
    )
    probe.findings.clear()
    probe.mvt("planted tile", z, x, y, tile)
    assert any("zz-hidden-1's point" in f for f in probe.findings), probe.findings
