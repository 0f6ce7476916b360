"""The service follows the region of the store it serves: a second region's app names that
region's prefecture, counts and designated cities, and nothing of 埼玉県."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from reference_helpers import make_region_b_source, region_b

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tsunagari_api.factory import create_app
from tsunagari_api.settings import ApiSettings
from tsunagari_geo.reference.importer import import_reference
from tsunagari_geo.settings import get_settings

#: Words and numbers that belong to 埼玉県 (its names, its designated city, its 63 and 72);
#: a number inside another (a coordinate's decimals, a longer code) is not one of them.
SAITAMA = re.compile(r"埼玉|さいたま|サイタマ|(?i:saitama)|(?<![0-9.])(63|72|11100)(?![0-9])")


@pytest.fixture(scope="module")
def client_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("api_region_b")
    store = folder / "store.gpkg"
    import_reference(make_region_b_source(folder / "source"), store, region=region_b())
    # No layers built: the area collections come from the store, as before a first build.
    settings = ApiSettings(
        store=store,
        layers=folder / "build" / "layers.gpkg",
        planner_layers=folder / "build" / "planner.gpkg",
        tiles_dir=folder / "tiles",
    )
    with TestClient(create_app(settings)) as c:
        yield c


def _collections(client: TestClient) -> dict[str, dict[str, Any]]:
    response = client.get("/collections")
    assert response.status_code == 200, response.text
    return {c["id"]: c for c in response.json()["collections"]}


def _saitama_words(document: Any) -> list[str]:
    text = json.dumps(document, ensure_ascii=False)
    return sorted({m.group(0) for m in SAITAMA.finditer(text)})


def test_area_collections_are_titled_with_the_regions_counts(client_b: TestClient) -> None:
    found = _collections(client_b)
    assert found["municipalities"]["title"] == "市町村（4）"
    assert found["municipalities"]["description"].startswith("静岡県の4市町村の区域")
    assert found["units"]["title"] == "市区町村（7、静岡市・浜松市は区ごと）"
    assert found["units"]["description"].startswith("静岡市の3区・浜松市の2区を分けた7区域")
    assert found["units"]["numberOfFeatures"] == 7
    assert found["municipalities"]["numberOfFeatures"] == 4


def test_collections_and_landing_page_name_nothing_of_saitama(client_b: TestClient) -> None:
    assert _saitama_words(client_b.get("/collections").json()) == []
    landing = client_b.get("/").json()
    assert landing["description"].startswith("静岡県 孤独・孤立対策")
    assert _saitama_words(landing) == []


def test_the_api_document_names_the_region_of_its_store(client_b: TestClient) -> None:
    document = client_b.get("/api").json()
    assert "静岡県" in document["info"]["description"]
    assert _saitama_words(document) == []
    parameters = document["paths"]["/collections/units/items"]["get"]["parameters"]
    muni = next(p for p in parameters if p["name"] == "muni_code")
    assert "22100, 22130" in muni["description"]
    assert set(muni["schema"]["items"]["enum"]) >= {"22100", "22101", "22130", "22461"}


def test_a_designated_city_code_finds_its_wards(client_b: TestClient) -> None:
    body = client_b.get("/collections/units/items", params={"muni_code": "22100"}).json()
    assert sorted(f["properties"]["code"] for f in body["features"]) == [
        "22101", "22102", "22103",
    ]  # fmt: skip


def test_a_saitama_code_is_not_a_code_of_this_region(client_b: TestClient) -> None:
    response = client_b.get("/collections/units/items", params={"muni_code": "11100"})
    assert response.status_code == 400
    assert "22100" in response.json().get("allowed", [])


def test_an_unknown_municipality_page_shows_a_code_of_this_region(client_b: TestClient) -> None:
    response = client_b.get("/dashboard/99999")
    assert response.status_code == 404, response.text
    assert "4市町村の5桁コード、例: 22341" in response.json()["detail"]


def test_the_app_follows_its_store_not_the_region_setting(client_b: TestClient) -> None:
    assert get_settings().region == "saitama"  # what TSUNAGARI_REGION says in the tests
    dataset = client_b.app.state.holder.current  # type: ignore[attr-defined]
    assert dataset.region.id == "shizuoka-mini"
