"""Vector tiles: the PMTiles build, HTTP Range serving, single MVT tiles and TileJSON."""

from __future__ import annotations

import gzip
import math
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import pytest
from pmtiles.reader import Reader, all_tiles
from pmtiles.tile import Compression, TileType

from reference_helpers import region_b
from test_layers_fixtures import (
    SECRET_MARKERS,
    SECRET_POINTS,
    TOWN_POINT,
    Built,
    build_deployment,
    public_id_of,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tsunagari_api.factory import create_app
from tsunagari_geo.layers.tiles import ORIGIN, build_tiles
from tsunagari_geo.store import open_store, write_layers


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Built:
    built = build_deployment(tmp_path_factory.mktemp("tiles"), store_path)
    build_tiles(
        built.settings.layers,
        built.settings.tiles_dir,
        region=open_store(built.settings.store).region,
    )
    return built


@pytest.fixture(scope="module")
def client(built: Built) -> Iterator[TestClient]:
    with TestClient(create_app(built.settings)) as c:
        yield c


def ranged(client: TestClient, url: str) -> Callable[[int, int], bytes]:
    """A pmtiles byte source that reads the served archive only through Range requests."""

    def get_bytes(offset: int, length: int) -> bytes:
        last = offset + length - 1
        response = client.get(url, headers={"Range": f"bytes={offset}-{last}"})
        assert response.status_code == 206, response.text
        total = int(response.headers["content-range"].rsplit("/", 1)[1])
        assert response.headers["content-range"] == f"bytes {offset}-{min(last, total - 1)}/{total}"
        assert response.headers["accept-ranges"] == "bytes"
        return response.content

    return get_bytes


def _lonlat(z: int, x: int, y: int, px: float, py: float) -> tuple[float, float]:
    """Tile-local MVT coordinates (y up, extent 4096) → lon/lat."""
    size = 2 * ORIGIN / 2**z
    mx = -ORIGIN + x * size + px / 4096 * size
    my = ORIGIN - (y + 1) * size + py / 4096 * size
    lon = mx / ORIGIN * 180
    lat = math.degrees(2 * math.atan(math.exp(my / ORIGIN * math.pi)) - math.pi / 2)
    return lon, lat


def _decoded(
    client: TestClient, name: str
) -> Iterator[tuple[tuple[int, int, int], dict[str, Any]]]:
    for zxy, data in all_tiles(ranged(client, f"/tiles/{name}.pmtiles")):
        yield zxy, mapbox_vector_tile.decode(gzip.decompress(data))


def test_archives_are_written_with_zooms_5_to_14(built: Built) -> None:
    for name in ("activities", "municipalities"):
        path = built.settings.tiles_dir / f"{name}.pmtiles"
        with path.open("rb") as f:
            header = Reader(lambda o, n, f=f: (f.seek(o), f.read(n))[1]).header()
        assert header["tile_type"] == TileType.MVT
        assert header["tile_compression"] == Compression.GZIP
        assert (header["min_zoom"], header["max_zoom"]) == (5, 14)


def _archive(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    with path.open("rb") as f:
        reader = Reader(lambda o, n, f=f: (f.seek(o), f.read(n))[1])
        return reader.header(), reader.metadata()


def test_the_municipality_tileset_is_described_with_the_regions_count(built: Built) -> None:
    _, metadata = _archive(built.settings.tiles_dir / "municipalities.pmtiles")
    assert metadata["description"] == "市町村（63）と充足状況"


def test_tiles_of_another_region_take_its_titles_and_bounds(tmp_path: Path) -> None:
    region = region_b()
    empty = gpd.GeoDataFrame({"code": []}, geometry=gpd.GeoSeries([], crs=4326))
    layers = write_layers(
        tmp_path / "layers.gpkg",
        {"activities": empty, "municipalities": empty},
        kind="public",
        attribution=[],
    )
    written = build_tiles(layers, tmp_path / "tiles", region=region)
    header, metadata = _archive(written["municipalities"])
    assert metadata["description"] == "市町村（4）と充足状況"
    bounds = [header[k] / 1e7 for k in ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7")]
    assert bounds == pytest.approx(region.bounds, abs=1e-6)


def test_range_requests_decode_to_valid_mvt(client: TestClient) -> None:
    reader = Reader(ranged(client, "/tiles/municipalities.pmtiles"))
    header = reader.header()
    assert header["max_zoom"] == 14
    # The tile holding 川越市's representative point at zoom 10.
    lon, lat, z = 139.4856, 35.9251, 10
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    data = reader.get(z, x, y)
    assert data is not None
    tile = mapbox_vector_tile.decode(gzip.decompress(data))
    names = {f["properties"]["name"] for f in tile["municipalities"]["features"]}
    assert "川越市" in names


def test_full_get_has_accept_ranges_and_the_whole_file(client: TestClient, built: Built) -> None:
    response = client.get("/tiles/activities.pmtiles")
    assert response.status_code == 200
    assert response.headers["accept-ranges"] == "bytes"
    assert response.content == (built.settings.tiles_dir / "activities.pmtiles").read_bytes()


def test_suffix_range_returns_the_last_bytes(client: TestClient, built: Built) -> None:
    data = (built.settings.tiles_dir / "activities.pmtiles").read_bytes()
    response = client.get("/tiles/activities.pmtiles", headers={"Range": "bytes=-10"})
    assert response.status_code == 206
    assert response.content == data[-10:]
    assert (
        response.headers["content-range"] == f"bytes {len(data) - 10}-{len(data) - 1}/{len(data)}"
    )


def test_unsatisfiable_range_is_416(client: TestClient, built: Built) -> None:
    size = (built.settings.tiles_dir / "activities.pmtiles").stat().st_size
    response = client.get("/tiles/activities.pmtiles", headers={"Range": f"bytes={size}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"
    assert response.headers["content-type"] == "application/problem+json"


def test_mvt_endpoint_serves_a_tile_from_the_archive(client: TestClient) -> None:
    response = client.get("/tiles/municipalities/5/28/12.mvt", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    tile = mapbox_vector_tile.decode(response.content)  # httpx already undid the gzip
    assert len(tile["municipalities"]["features"]) > 10


def test_empty_tile_is_204(client: TestClient) -> None:
    assert client.get("/tiles/activities/5/0/0.mvt").status_code == 204


def test_tilejson_describes_the_tileset(client: TestClient) -> None:
    body = client.get("/tiles/activities.json").json()
    assert body["tilejson"] == "3.0.0"
    assert body["tiles"][0].endswith("/tiles/activities/{z}/{x}/{y}.mvt")
    assert (body["minzoom"], body["maxzoom"]) == (5, 14)
    assert body["vector_layers"][0]["id"] == "activities"
    assert "location_precision" in body["vector_layers"][0]["fields"]
    assert "国土数値情報" in body["attribution"]


@pytest.mark.parametrize(
    "path",
    [
        "/tiles/secrets.pmtiles",
        "/tiles/..%2F..%2Fetc%2Fpasswd.pmtiles",
        "/tiles/../data/build/planner.pmtiles",
        "/tiles/planner.json",
    ],
)
def test_only_the_fixed_tilesets_are_served(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_no_tile_holds_a_private_point_or_field(client: TestClient) -> None:
    seen_town_point = False
    for (z, x, y), tile in _decoded(client, "activities"):
        for feature in tile.get("activities", {}).get("features", []):
            text = " ".join(str(v) for v in feature["properties"].values())
            assert not any(marker in text for marker in SECRET_MARKERS)
            if z != 14:
                continue
            lon, lat = _lonlat(z, x, y, *feature["geometry"]["coordinates"])
            for secret_lon, secret_lat in SECRET_POINTS.values():
                metres = math.hypot(
                    (lon - secret_lon) * 111_000 * math.cos(math.radians(lat)),
                    (lat - secret_lat) * 111_000,
                )
                assert metres > 20, feature["properties"].get("id")
            if feature["properties"].get("id") == public_id_of("zz-town-1"):
                seen_town_point = True
                assert abs(lon - TOWN_POINT[0]) < 1e-4 and abs(lat - TOWN_POINT[1]) < 1e-4
    assert seen_town_point
