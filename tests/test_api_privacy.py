"""Privacy through the service: no public endpoint carries a hidden or unpublished activity,
or any exact point that its row's location_privacy does not allow."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

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

from tsunagari_api.catalog import COLLECTIONS
from tsunagari_api.factory import create_app

PUBLIC = [spec.id for spec in COLLECTIONS if not spec.protected]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Iterator[TestClient]:
    built: Built = build_deployment(tmp_path_factory.mktemp("privacy"), store_path)
    with TestClient(create_app(built.settings)) as c:
        yield c


def _secret_texts() -> list[str]:
    texts = list(SECRET_MARKERS)
    for lon, lat in SECRET_POINTS.values():
        # The pair as GeoJSON writes it; single numbers can coincide with polygon vertices.
        texts.append(f"{round(lon, 6)},{round(lat, 6)}")
    return texts


def _all_public_bodies(client: TestClient) -> Iterator[tuple[str, str]]:
    for url in ("/", "/collections", "/healthz", "/api", "/collections/activities/calendar"):
        yield url, client.get(url).text
    for collection in PUBLIC:
        yield f"/collections/{collection}", client.get(f"/collections/{collection}").text
        url = f"/collections/{collection}/items?limit=1000"
        while url:
            response = client.get(url)
            yield url, response.text
            nxt = [link["href"] for link in response.json()["links"] if link["rel"] == "next"]
            url = nxt[0] if nxt else ""


def test_no_public_body_carries_a_private_marker_or_point(client: TestClient) -> None:
    secrets = _secret_texts()
    checked = 0
    for url, body in _all_public_bodies(client):
        for secret in secrets:
            assert secret not in body, f"{secret!r} leaked through {url}"
        checked += 1
    assert checked > len(PUBLIC)


@pytest.mark.parametrize("identifier", ["zz-hidden-1", "zz-unpub-1"])
def test_hidden_and_unpublished_rows_are_not_found(client: TestClient, identifier: str) -> None:
    response = client.get(f"/collections/activities/items/{identifier}")
    assert response.status_code == 404
    assert identifier in response.json()["detail"]  # echoes the request, reveals nothing


def test_filters_do_not_reveal_hidden_rows(client: TestClient) -> None:
    everything = client.get("/collections/activities/items", params={"limit": 10000}).json()
    ids = {f["id"] for f in everything["features"]}
    assert not ids & {"zz-hidden-1", "zz-unpub-1"}
    assert not ids & {public_id_of("zz-hidden-1"), public_id_of("zz-unpub-1")}
    near = client.get(
        "/collections/activities/items", params={"bbox": "139.45,35.91,139.46,35.92"}
    ).json()
    assert "zz-hidden-1" not in {f["id"] for f in near["features"]}


def test_town_row_is_public_only_at_its_town_point(client: TestClient) -> None:
    body = client.get(f"/collections/activities/items/{public_id_of('zz-town-1')}").json()
    assert body["geometry"]["coordinates"] == list(TOWN_POINT)
    assert body["properties"]["location_precision"] == "town"
    assert body["properties"]["address"] == "埼玉県さいたま市浦和区常盤六丁目"
    assert "4-4" not in str(body["properties"])


def test_municipality_row_has_no_town_in_its_address(client: TestClient) -> None:
    body = client.get(f"/collections/activities/items/{public_id_of('zz-muni-1')}").json()
    assert body["properties"]["location_precision"] == "municipality"
    assert body["properties"]["address"] == "埼玉県秩父市"


def test_the_collection_list_derives_nothing_from_planners_data(client: TestClient) -> None:
    """A token-only collection is listed, but its extent would reach hidden exact points and
    its filter values would name their places, so neither is shown."""
    listed = {c["id"]: c for c in client.get("/collections").json()["collections"]}
    protected = [spec.id for spec in COLLECTIONS if spec.protected]
    assert protected
    for collection in protected:
        info = listed[collection]
        assert info["requiresToken"] is True
        assert info.get("extent") is None
        assert not info.get("filters")
        assert info.get("numberOfFeatures") is None
