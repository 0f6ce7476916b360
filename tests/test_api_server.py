"""The service as deployed: `tsunagari-geo serve` (uvicorn) on a free port, and store swaps."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server_helpers import free_port, running, serve_command, serve_env
from test_layers_fixtures import TOKEN, Built, build_deployment
from tsunagari_api.catalog import DataHolder, Dataset
from tsunagari_geo.layers.tiles import TileSpec, build_tiles
from tsunagari_geo.store import open_store
from tsunagari_geo.store.manifest import tiles_manifest_path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Built:
    folder = tmp_path_factory.mktemp("server")
    # The server gets its own copy of the store, which the tests break and repair.
    own_store = folder / "tsunagari.gpkg"
    shutil.copy(store_path, own_store)
    return build_deployment(folder, own_store)


@pytest.fixture(scope="module")
def server(built: Built) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(serve_command(port), f"{base}/healthz", serve_env(built.settings)):
        yield base


def test_real_server_serves_geojson_with_gzip_and_etag(server: str) -> None:
    response = httpx.get(f"{server}/collections/municipalities/items", params={"limit": 63})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["numberReturned"] == 63
    again = httpx.get(
        f"{server}/collections/municipalities/items",
        params={"limit": 63},
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304


def test_real_server_answers_unknown_paths_with_problem_json(server: str) -> None:
    response = httpx.get(f"{server}/nothing/here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_reload_needs_the_token(server: str) -> None:
    response = httpx.post(f"{server}/admin/reload", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_reload_swaps_while_requests_keep_succeeding(server: str) -> None:
    health = httpx.get(f"{server}/healthz").json()
    before = health["dataset_version"]
    statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client() as c:
            while not stop.is_set():
                r = c.get(f"{server}/collections/activities/items", params={"limit": 500})
                statuses.append(r.status_code)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        response = httpx.post(
            f"{server}/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        )
    finally:
        time.sleep(0.2)
        stop.set()
        thread.join()
    assert response.status_code == 200, response.text
    assert response.json()["previous_version"] == before
    after = httpx.get(f"{server}/healthz").json()
    # The same files again: the same data version; only this server's count moves.
    assert after["dataset_version"] == before
    assert after["reload_count"] == health["reload_count"] + 1 == response.json()["reload_count"]
    assert statuses and set(statuses) == {200}


def test_broken_store_is_refused_and_the_old_data_kept(server: str, built: Built) -> None:
    store = built.settings.store
    good = store.read_bytes()
    before = httpx.get(f"{server}/healthz").json()["dataset_version"]
    try:
        store.write_bytes(good[: len(good) // 3])  # a truncated copy, as a failed upload leaves
        response = httpx.post(
            f"{server}/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        )
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert str(store.name) in response.json()["detail"]
        assert httpx.get(f"{server}/healthz").json()["dataset_version"] == before
        items = httpx.get(f"{server}/collections/units/items", params={"limit": 72})
        assert items.json()["numberReturned"] == 72
    finally:
        store.write_bytes(good)


def test_requests_in_flight_keep_the_dataset_they_started_with(built: Built) -> None:
    holder = DataHolder(Dataset.load(built.settings))
    in_flight = holder.current
    holder.reload(built.settings)
    assert holder.current is not in_flight
    page = in_flight.collections["units"].provider.query(offset=0, limit=5)
    assert page.number_matched == 72


def test_a_reload_in_one_worker_is_followed_by_the_others(built: Built) -> None:
    stamp = built.settings.stamp_path()
    first = DataHolder(Dataset.load(built.settings), stamp=stamp)
    second = DataHolder(Dataset.load(built.settings), stamp=stamp)
    before = second.current
    first.reload(built.settings)
    second._next_look = 0.0  # the next request looks at the stamp
    assert second.dataset(built.settings) is before  # still served while the new one loads
    deadline = time.monotonic() + 60
    while second.current is before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert second.current is not before
    assert second.current.collections["units"].provider.count == 72


def test_healthz_warns_in_japanese_when_the_tiles_are_of_another_layer_set(
    server: str, built: Built
) -> None:
    region = open_store(built.settings.store).region
    tiles_dir = built.settings.tiles_dir
    build_tiles(built.settings.layers, tiles_dir, region=region, spec=TileSpec(5, 8))
    health = httpx.get(f"{server}/healthz").json()
    assert health["layers_version"] == built.report.version
    assert health["tiles_layers_version"] == built.report.version
    assert health["warnings"] == []

    # The tiles of an older build left beside a newer layer set.
    manifest = tiles_manifest_path(tiles_dir)
    document = json.loads(manifest.read_text(encoding="utf-8"))
    document["meta"]["layers_version"] = "0123456789abcdef"
    manifest.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    (warning,) = httpx.get(f"{server}/healthz").json()["warnings"]
    assert "別の版のレイヤー（0123456789abcdef）" in warning
    assert built.report.version in warning and "tiles build" in warning
    shutil.rmtree(tiles_dir)
