"""The service through the real FastAPI app: OGC API – Features core, HTTP behaviour, errors."""

from __future__ import annotations

import gzip
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from test_layers_fixtures import TOKEN, Built, build_deployment

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tsunagari_api.factory import create_app
from tsunagari_api.settings import ApiSettings

SAITAMA_BOUNDS = (138.7, 35.7, 139.95, 36.3)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Built:
    return build_deployment(tmp_path_factory.mktemp("api"), store_path)


@pytest.fixture(scope="module")
def client(built: Built) -> Iterator[TestClient]:
    with TestClient(create_app(built.settings)) as c:
        yield c


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


def _walk(client: TestClient, url: str) -> list[dict[str, Any]]:
    """Every feature of an items URL, following `next` links."""
    features: list[dict[str, Any]] = []
    while url:
        body = client.get(url).json()
        features.extend(body["features"])
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0] if nxt else ""
    return features


# --- OGC API – Features core -------------------------------------------------------------


def test_landing_page_links_to_api_conformance_and_data(client: TestClient) -> None:
    body = client.get("/").json()
    rels = {link["rel"] for link in body["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    assert "国土数値情報" in body["attribution"]


def test_conformance_declares_core_geojson_and_oas30(client: TestClient) -> None:
    conforms = client.get("/conformance").json()["conformsTo"]
    assert any(c.endswith("/conf/core") for c in conforms)
    assert any(c.endswith("/conf/geojson") for c in conforms)
    assert any(c.endswith("/conf/oas30") for c in conforms)


def test_saitama_collections_keep_their_titles_and_descriptions(client: TestClient) -> None:
    found = {c["id"]: c for c in client.get("/collections").json()["collections"]}
    assert found["municipalities"]["title"] == "市町村（63）"
    assert found["municipalities"]["description"].startswith(
        "埼玉県の63市町村の区域、人口、活動の充足状況（カバレッジ）。"
    )
    assert found["units"]["title"] == "市区町村（72、さいたま市は区ごと）"
    assert found["units"]["description"].startswith(
        "さいたま市の10区を分けた72区域の区域、人口、活動の充足状況。"
    )
    notes = found["units"]["description"]
    assert "stage_working_age_per10k（現役世代）= 15～64歳人口" in notes
    assert "15～39歳の区分なし" in notes and "pop_reach_1km" in notes
    assert found["good_practices"]["description"].startswith("つながるSAITAMA大賞などの好事例。")
    landing = client.get("/").json()
    assert landing["description"].startswith("埼玉県 孤独・孤立対策官民連携プラットフォーム")


def test_saitama_api_document_says_its_city_code_matches_its_wards(client: TestClient) -> None:
    document = client.get("/api").json()
    parameters = document["paths"]["/collections/activities/items"]["get"]["parameters"]
    muni = next(p for p in parameters if p["name"] == "muni_code")
    assert "a designated city's code (11100) matches its wards" in muni["description"]
    assert "埼玉県" in document["info"]["description"]


def test_api_document_is_openapi_30(client: TestClient) -> None:
    document = client.get("/api").json()
    assert document["openapi"].startswith("3.0")
    assert "/collections/activities/items" in document["paths"]
    assert '"type": "null"' not in str(document).replace("'", '"')


def test_collections_list_every_built_collection(client: TestClient) -> None:
    ids = {c["id"] for c in client.get("/collections").json()["collections"]}
    assert ids == {
        "municipalities",
        "units",
        "towns",
        "activities",
        "activities_planner",
        "matching_suggestions",
        "consultations",
        "good_practices",
        "small_areas",
    }


def test_small_areas_are_a_collection_of_points_with_documented_fields(
    client: TestClient,
) -> None:
    from tsunagari_geo.analysis.people_reach import SMALL_AREA_FIELDS

    described = client.get("/collections/small_areas").json()
    assert described["title"] == "小地域の人口と住民到達率（国勢調査2020年）"
    for name in SMALL_AREA_FIELDS:
        assert name in described["description"]
    assert "2020年" in described["description"] and "0〜1" in described["description"]
    body = client.get("/collections/small_areas/items?muni_code=11100&limit=10000").json()
    features = body["features"]
    assert len(features) == sum(1 for f in features if f["geometry"]["type"] == "Point")
    assert {f["properties"]["unit_code"][:3] for f in features} == {"111"}
    assert len({f["properties"]["unit_code"] for f in features}) == 10  # さいたま市's wards
    one = client.get(f"/collections/small_areas/items/{features[0]['id']}").json()
    assert set(SMALL_AREA_FIELDS) - {"key_code"} <= set(one["properties"])
    assert one["properties"]["pop_reach_1km"] in (0.0, 1.0, None)


def test_collection_describes_extent_and_filters(client: TestClient) -> None:
    body = client.get("/collections/activities").json()
    assert body["itemType"] == "feature"
    min_lon, min_lat, max_lon, max_lat = body["extent"]["spatial"]["bbox"][0]
    assert SAITAMA_BOUNDS[0] <= min_lon < max_lon <= SAITAMA_BOUNDS[2]
    assert SAITAMA_BOUNDS[1] <= min_lat < max_lat <= SAITAMA_BOUNDS[3]
    assert "ibasho" in body["filters"]["theme"]


def test_items_are_rfc7946_geojson(client: TestClient) -> None:
    response = client.get("/collections/units/items", params={"limit": 72})
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert "crs" not in body
    assert body["numberMatched"] == body["numberReturned"] == 72
    for feature in body["features"]:
        geometry = shapely.geometry.shape(feature["geometry"])
        assert geometry.is_valid or geometry.buffer(0).is_valid
        min_lon, min_lat, max_lon, max_lat = geometry.bounds
        # lon/lat order: Saitama's longitudes are ~139, latitudes ~36.
        assert SAITAMA_BOUNDS[0] <= min_lon and max_lon <= SAITAMA_BOUNDS[2]
        assert SAITAMA_BOUNDS[1] <= min_lat and max_lat <= SAITAMA_BOUNDS[3]
        for polygon in getattr(geometry, "geoms", [geometry]):
            assert polygon.exterior.is_ccw
            assert all(not ring.is_ccw for ring in polygon.interiors)


def test_paging_walks_every_feature_exactly_once(client: TestClient) -> None:
    features = _walk(client, "/collections/towns/items?limit=700")
    ids = [f["id"] for f in features]
    assert len(ids) == 5389
    assert len(set(ids)) == 5389


def test_prev_link_goes_back_one_page(client: TestClient) -> None:
    body = client.get("/collections/towns/items", params={"limit": 10, "offset": 20}).json()
    prev = next(link["href"] for link in body["links"] if link["rel"] == "prev")
    assert "offset=10" in prev


def test_default_limit_is_100(client: TestClient) -> None:
    body = client.get("/collections/towns/items").json()
    assert body["numberReturned"] == 100
    assert body["numberMatched"] == 5389


def test_bbox_returns_exactly_the_features_inside(client: TestClient) -> None:
    bbox = (139.60, 35.85, 139.70, 35.92)
    body = client.get(
        "/collections/towns/items", params={"bbox": ",".join(map(str, bbox)), "limit": 10000}
    ).json()
    box = shapely.box(*bbox)
    inside = [shapely.geometry.shape(f["geometry"]) for f in body["features"]]
    assert body["numberMatched"] == len(inside) > 0
    assert all(box.intersects(p) for p in inside)
    everything = _walk(client, "/collections/towns/items?limit=10000")
    expected = sum(box.intersects(shapely.geometry.shape(f["geometry"])) for f in everything)
    assert expected == len(inside)


def test_filters_combine_with_or_within_and_across_parameters(client: TestClient) -> None:
    def count(params: dict[str, Any]) -> int:
        r = client.get("/collections/activities/items", params={**params, "limit": 1})
        return int(r.json()["numberMatched"])

    ibasho = count({"theme": "ibasho"})
    elderly = count({"theme": "elderly"})
    either = count({"theme": ["ibasho", "elderly"]})
    assert max(ibasho, elderly) <= either <= ibasho + elderly
    both = count({"theme": "ibasho", "format": "in_person"})
    assert both <= ibasho


def test_theme_filter_returns_only_matching_features(client: TestClient) -> None:
    features = _walk(client, "/collections/activities/items?theme=elderly&limit=1000")
    assert features
    assert all("elderly" in f["properties"]["themes"] for f in features)


def test_muni_code_of_saitama_city_finds_its_wards(client: TestClient) -> None:
    body = client.get("/collections/units/items", params={"muni_code": "11100"}).json()
    assert body["numberMatched"] == 10
    assert {f["id"] for f in body["features"]} == {f"111{i:02d}" for i in range(1, 11)}


def test_sortby_orders_descending(client: TestClient) -> None:
    body = client.get(
        "/collections/municipalities/items", params={"sortby": "-pop_total", "limit": 63}
    ).json()
    pops = [f["properties"]["pop_total"] for f in body["features"]]
    assert pops == sorted(pops, reverse=True)
    assert body["features"][0]["properties"]["name"] == "さいたま市"


def test_municipalities_carry_coverage_attributes(client: TestClient) -> None:
    body = client.get("/collections/municipalities/items", params={"limit": 63}).json()
    assert body["numberMatched"] == 63
    props = body["features"][0]["properties"]
    for key in ("gap_score", "gap_rank", "gap_class", "reach_1km", "inperson_per10k"):
        assert key in props


def test_single_feature_has_links(client: TestClient) -> None:
    body = client.get("/collections/municipalities/items/11201").json()
    assert body["type"] == "Feature"
    assert body["id"] == "11201"
    assert body["properties"]["name"] == "川越市"
    assert {link["rel"] for link in body["links"]} >= {"self", "collection"}


def test_consultations_filter_by_channel_and_circumstance(client: TestClient) -> None:
    body = client.get(
        "/collections/consultations/items", params={"channel": "phone", "limit": 100}
    ).json()
    assert body["numberMatched"] > 0
    assert all("phone" in f["properties"]["channels"] for f in body["features"])
    r = client.get("/collections/consultations/items", params={"circumstance": "loneliness"})
    assert r.status_code == 200


def test_good_practices_include_the_fy2024_grand_prize(client: TestClient) -> None:
    body = client.get("/collections/good_practices/items").json()
    titles = " ".join(f["properties"]["title"] for f in body["features"])
    assert "なかまほいく" in titles


# --- HTTP behaviour -----------------------------------------------------------------------


def test_etag_and_if_none_match_give_304(client: TestClient) -> None:
    first = client.get("/collections/municipalities/items?limit=5")
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public")
    again = client.get("/collections/municipalities/items?limit=5", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = client.get("/collections/municipalities/items?limit=6", headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_gzip_when_the_client_accepts_it(client: TestClient) -> None:
    response = client.get(
        "/collections/municipalities/items?limit=63", headers={"Accept-Encoding": "gzip"}
    )
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["numberReturned"] == 63
    plain = client.get(
        "/collections/municipalities/items?limit=63", headers={"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    assert plain.content == response.content
    assert len(gzip.compress(plain.content)) < len(plain.content)


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        ("gzip", True),
        ("br, gzip;q=0.5", True),
        ("*", True),
        ("deflate, *;q=0.1", True),
        ("gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("*;q=0", False),
        ("deflate, br", False),
        ("identity", False),
    ],
)
@pytest.mark.parametrize("url", ["/collections/municipalities/items?limit=63", "/api"])
def test_accept_encoding_is_read_with_its_weights(
    client: TestClient, url: str, accept: str, gzipped: bool
) -> None:
    response = client.get(url, headers={"Accept-Encoding": accept})
    assert response.status_code == 200
    assert (response.headers.get("content-encoding") == "gzip") is gzipped, accept
    assert response.json()


def test_cors_allows_the_configured_origin_only(client: TestClient) -> None:
    allowed = "https://example.pref.saitama.lg.jp"
    ok = client.get("/collections", headers={"Origin": allowed})
    assert ok.headers["access-control-allow-origin"] == allowed
    other = client.get("/collections", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    preflight = client.options(
        "/geocode",
        headers={"Origin": allowed, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200


def test_healthz_reports_the_loaded_data(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["collections"]["municipalities"] == 63
    assert "activities_planner" not in body["collections"]


# --- errors (RFC 7807) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bbox", "word"),
    [
        ("1,2,3", "4つの数"),
        ("a,b,c,d", "数だけ"),
        ("139.6,35.9,139.7,35.8", "最小緯度"),
        ("139.6,95,139.7,96", "緯度"),
    ],
)
def test_bad_bbox_is_a_400_naming_the_problem(client: TestClient, bbox: str, word: str) -> None:
    body = _problem(client.get("/collections/towns/items", params={"bbox": bbox}), 400)
    assert body["parameter"] == "bbox"
    assert word in body["detail"]


def test_a_bbox_crossing_the_antimeridian_is_read_as_two_boxes(client: TestClient) -> None:
    def matched(bbox: str) -> int:
        url = f"/collections/towns/items?limit=1&bbox={bbox}"
        return int(client.get(url).json()["numberMatched"])

    # From 139.6° E eastwards across 180° to 170° W: the towns east of 139.6° E.
    east = matched("139.6,35.7,180,36.3")
    assert 0 < east < matched("138.7,35.7,180,36.3")
    assert matched("139.6,35.7,-170,36.3") == east
    # From 170° E across 180° to 139.6° E, i.e. everything west of 139.6° E and nothing else.
    assert matched("170,35.7,139.6,36.3") == matched("-180,35.7,139.6,36.3") > 0


@pytest.mark.parametrize("limit", ["0", "10001", "ten"])
def test_limit_out_of_range_is_a_400(client: TestClient, limit: str) -> None:
    body = _problem(client.get("/collections/towns/items", params={"limit": limit}), 400)
    assert body["parameter"] == "limit"


def test_unknown_collection_is_a_404(client: TestClient) -> None:
    _problem(client.get("/collections/nothing/items"), 404)


def test_unknown_feature_is_a_404(client: TestClient) -> None:
    body = _problem(client.get("/collections/units/items/99999"), 404)
    assert "99999" in body["detail"]


def test_unknown_filter_value_lists_the_allowed_ones(client: TestClient) -> None:
    body = _problem(client.get("/collections/activities/items", params={"theme": "nope"}), 400)
    assert body["parameter"] == "theme"
    assert "ibasho" in body["allowed"]


def test_unknown_sort_property_is_a_400(client: TestClient) -> None:
    body = _problem(client.get("/collections/units/items", params={"sortby": "colour"}), 400)
    assert body["parameter"] == "sortby"


def test_wrong_method_is_a_405_problem(client: TestClient) -> None:
    _problem(client.delete("/collections"), 405)


def test_oversized_body_is_a_413(client: TestClient) -> None:
    addresses = ["埼玉県さいたま市浦和区常盤六丁目4-4" * 10] * 1000
    _problem(client.post("/geocode", json={"addresses": addresses}), 413)


# --- planners' view -----------------------------------------------------------------------


def test_planner_view_without_token_is_401(client: TestClient) -> None:
    response = client.get("/collections/activities_planner/items")
    _problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_planner_view_with_wrong_token_is_401(client: TestClient) -> None:
    response = client.get(
        "/collections/activities_planner/items", headers={"Authorization": "Bearer wrong"}
    )
    _problem(response, 401)


def test_planner_view_with_token_has_exact_points_and_hidden_rows(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    response = client.get("/collections/activities_planner/items/zz-hidden-1", headers=auth)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    body = response.json()
    assert body["geometry"]["coordinates"] == [139.456789, 35.912345]
    assert body["properties"]["location_privacy"] == "hidden"


def test_matching_suggestions_need_the_token_and_filter_by_municipality(
    client: TestClient,
) -> None:
    _problem(client.get("/collections/matching_suggestions/items"), 401)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = client.get(
        "/collections/matching_suggestions/items",
        params={"level": "municipality", "group": "company", "limit": 1000},
        headers=auth,
    ).json()
    assert body["numberMatched"] > 0
    for feature in body["features"]:
        assert feature["geometry"] is None
        assert feature["properties"]["group"] == "company"
        assert feature["properties"]["level"] == "municipality"


def test_without_a_configured_token_the_planner_view_stays_closed(
    built: Built,
) -> None:
    settings = built.settings.model_copy(update={"token": None})
    with TestClient(create_app(settings)) as c:
        response = c.get(
            "/collections/activities_planner/items", headers={"Authorization": "Bearer "}
        )
        body = _problem(response, 401)
        assert "TSUNAGARI_TOKEN" in body["detail"]
        _problem(c.post("/admin/reload", headers={"Authorization": "Bearer x"}), 401)


# --- geocoding ----------------------------------------------------------------------------


def test_geocode_one_address(client: TestClient) -> None:
    body = client.get("/geocode", params={"q": "さいたま市浦和区常盤6-4-4"}).json()
    assert (body["unit_code"], body["muni_code"]) == ("11107", "11100")
    assert body["town"] == "常盤六丁目"
    assert body["level"] == 3
    assert set(body) >= {"input", "normalized", "pref", "city", "rest", "status", "reason"}


def test_geocode_says_status_level_and_reasons_in_japanese_beside_the_codes(
    client: TestClient,
) -> None:
    body = client.get("/geocode", params={"q": "さいたま市浦和区常磐6-4-4"}).json()
    assert (body["status"], body["reason"]) == ("partial", "town_not_found")
    assert body["status_label"] == "市区町村まで (町名が見つからない)"
    assert body["level_label"] == "市区町村まで"
    assert body["reason_labels"] == ["町名・大字が辞書にありません"]
    many = client.post("/geocode", json={"addresses": ["東京都千代田区千代田1-1"]}).json()
    assert many["results"][0]["status_label"] == "埼玉県外の住所"


def test_geocode_batch_keeps_order_and_counts_statuses(client: TestClient) -> None:
    addresses = ["川越市大字上寺山12", "東京都千代田区千代田1-1", ""]
    body = client.post("/geocode", json={"addresses": addresses}).json()
    assert [r["input"] for r in body["results"]] == addresses
    assert body["results"][1]["status"] == "outside_prefecture"
    assert sum(body["summary"].values()) == 3


def test_geocode_batch_over_the_limit_is_a_400(built: Built) -> None:
    settings = built.settings.model_copy(update={"geocode_batch_max": 3})
    with TestClient(create_app(settings)) as c:
        body = _problem(c.post("/geocode", json={"addresses": ["a"] * 4}), 400)
        assert "3 件まで" in body["detail"]


def test_geocode_batch_refuses_an_overlong_address_naming_it(client: TestClient) -> None:
    body = _problem(client.post("/geocode", json={"addresses": ["川越市", "x" * 501]}), 400)
    assert body["parameter"] == "addresses.1"


def test_geocode_without_q_is_a_400(client: TestClient) -> None:
    body = _problem(client.get("/geocode"), 400)
    assert body["parameter"] == "q"


def test_malformed_json_body_is_a_400(client: TestClient) -> None:
    response = client.post(
        "/geocode", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    _problem(response, 400)


def test_before_any_build_the_reference_collections_are_served(
    store_path: Path, tmp_path: Path
) -> None:
    settings = ApiSettings(
        store=store_path,
        layers=tmp_path / "absent.gpkg",
        planner_layers=tmp_path / "absent-planner.gpkg",
        tiles_dir=tmp_path / "tiles",
    )
    with TestClient(create_app(settings)) as c:
        assert c.get("/collections/municipalities/items", params={"limit": 1}).status_code == 200
        body = _problem(c.get("/collections/activities/items"), 503)
        assert "tsunagari-geo build" in body["detail"]
        _problem(c.get("/tiles/activities.json"), 503)
        ids = {col["id"] for col in c.get("/collections").json()["collections"]}
        assert ids == {"municipalities", "units", "towns"}


def test_an_unknown_query_parameter_is_a_400_not_every_feature(client: TestClient) -> None:
    """OGC API Features /req/core/query-param-unknown: a misspelt filter must not quietly
    return the whole collection."""
    response = client.get("/collections/activities/items?theem=ibasho")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "theem" in response.json()["detail"]
    assert client.get("/collections/activities/items?f=json&limit=1").status_code == 200
    assert client.get("/collections/activities/items?f=html").status_code == 400


def test_head_answers_like_get_without_a_body(client: TestClient) -> None:
    for path in ("/collections/activities/items?limit=1", "/collections", "/conformance"):
        get = client.get(path)
        head = client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
        assert head.headers.get("etag") == get.headers.get("etag")


def test_identical_data_gets_the_same_etag_in_every_worker(built: Built) -> None:
    """Two app instances (as two uvicorn workers) loaded at different moments agree."""
    import time

    with TestClient(create_app(built.settings)) as first:
        a = first.get("/collections/activities/items?limit=5")
    time.sleep(1.1)  # loaded_at has one-second resolution
    with TestClient(create_app(built.settings)) as second:
        b = second.get("/collections/activities/items?limit=5")
    assert a.headers["etag"] == b.headers["etag"]


# --- Lighter responses: properties and simplify -------------------------------------------


def test_properties_returns_only_the_named_ones_and_the_id(client: TestClient) -> None:
    body = client.get("/collections/municipalities/items?limit=100&properties=name").json()
    assert len(body["features"]) == 63
    assert all(set(f["properties"]) == {"code", "name"} for f in body["features"])
    bare = client.get("/collections/activities/items?limit=5&properties=").json()
    assert all(set(f["properties"]) == {"id"} for f in bare["features"])


def test_an_unknown_property_is_a_400_listing_the_served_ones(client: TestClient) -> None:
    body = _problem(client.get("/collections/municipalities/items?properties=name,nope"), 400)
    assert body["parameter"] == "properties" and body["value"] == "nope"
    assert "gap_score" in body["allowed"]


def test_simplify_keeps_every_municipality_and_their_shared_borders(client: TestClient) -> None:
    full = client.get("/collections/municipalities/items?limit=100").json()["features"]
    light = client.get("/collections/municipalities/items?limit=100&simplify=0.0002").json()[
        "features"
    ]
    assert [f["id"] for f in light] == [f["id"] for f in full]
    assert [f["properties"] for f in light] == [f["properties"] for f in full]
    before = [shapely.geometry.shape(f["geometry"]) for f in full]
    after = [shapely.geometry.shape(f["geometry"]) for f in light]
    # Several times fewer vertices, every polygon still valid and still CCW (RFC 7946).
    assert sum(shapely.get_num_coordinates(after)) * 3 < sum(shapely.get_num_coordinates(before))
    assert all(g.is_valid for g in after)
    for geometry in after:
        for polygon in getattr(geometry, "geoms", [geometry]):
            assert polygon.exterior.is_ccw
    # Simplified as one coverage: neighbours neither overlap nor open gaps between them.
    overlap = sum(g.area for g in after) - shapely.union_all(after).area
    assert abs(overlap) < 1e-9

    def holes(geometry: Any) -> int:
        return sum(len(p.interiors) for p in getattr(geometry, "geoms", [geometry]))

    assert holes(shapely.union_all(after)) == holes(shapely.union_all(before))
    for b, a in zip(before, after, strict=True):
        assert abs(a.area - b.area) / b.area < 0.01


def test_near_simplify_values_share_one_computation(client: TestClient) -> None:
    url = "/collections/units/items?limit=100&simplify="
    assert (
        client.get(url + "0.00020001").json()["features"]
        == (client.get(url + "0.0002").json()["features"])
    )
    assert (
        client.get(url + "0.000001").json()["features"]
        == (client.get("/collections/units/items?limit=100").json()["features"])
    )


def test_simplify_leaves_points_as_they_are(client: TestClient) -> None:
    url = "/collections/activities/items?limit=200"
    plain = client.get(url).json()["features"]
    light = client.get(url + "&simplify=0.01").json()["features"]
    assert [f["geometry"] for f in light] == [f["geometry"] for f in plain]


@pytest.mark.parametrize("value", ["-0.001", "0.5", "nan", "inf", "abc"])
def test_simplify_out_of_range_is_a_400(client: TestClient, value: str) -> None:
    body = _problem(client.get(f"/collections/units/items?simplify={value}"), 400)
    assert "simplify" in body["detail"] or body.get("parameter") == "simplify", body


def test_properties_and_simplify_are_documented(client: TestClient) -> None:
    document = client.get("/api").json()
    operation = document["paths"]["/collections/municipalities/items"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"properties", "simplify"} <= names


# --- datetime (OGC /req/core/fc-time-definition) ------------------------------------------


def _verified(client: TestClient) -> list[str]:
    features = client.get("/collections/activities/items?limit=10000").json()["features"]
    return [f["properties"]["last_verified"] for f in features]


@pytest.mark.parametrize(
    ("value", "keep"),
    [
        ("2025-04-01/..", lambda d: d >= "2025-04-01"),
        ("../2024-12-31", lambda d: d <= "2024-12-31"),
        ("2024-06-01/2024-06-30", lambda d: "2024-06-01" <= d <= "2024-06-30"),
        # An instant on 1 June JST (31 May 16:00 UTC) falls on the day 2024-06-01.
        ("2024-05-31T16:00:00Z", lambda d: d == "2024-06-01"),
    ],
)
def test_datetime_keeps_activities_verified_in_the_interval(
    client: TestClient, value: str, keep: Any
) -> None:
    expected = sorted(d for d in _verified(client) if d and keep(d))
    body = client.get("/collections/activities/items", params={"limit": 10000, "datetime": value})
    got = sorted(f["properties"]["last_verified"] for f in body.json()["features"])
    assert got == expected
    assert body.json()["numberMatched"] == len(expected)


def test_datetime_on_a_collection_without_time_keeps_every_feature(client: TestClient) -> None:
    body = client.get("/collections/units/items?limit=100&datetime=2025-04-01").json()
    assert body["numberMatched"] == 72


def test_activities_declare_their_temporal_extent(client: TestClient) -> None:
    days = sorted(d for d in _verified(client) if d)
    extent = client.get("/collections/activities").json()["extent"]
    first, last = extent["temporal"]["interval"][0]
    assert first.startswith(str(np.datetime64(days[0]) - np.timedelta64(1, "D")))  # JST midnight
    assert last.startswith(days[-1])
    assert "temporal" not in client.get("/collections/units").json()["extent"]


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2025-13-01",
        "2025-05-01/2025-04-01",
        "a/b/c",
        "..",
        "",
        "../..",
        "/",
        "20250401",
        "2025-W14-2",
        "2025-04-01T09",
    ],
)
def test_a_malformed_datetime_is_a_400(client: TestClient, value: str) -> None:
    body = _problem(client.get("/collections/activities/items", params={"datetime": value}), 400)
    assert body["parameter"] == "datetime"
