"""Hostile requests against the real app: each gets a clear answer, never a 500 or a hang.

Path traversal in tile and asset names, impossible bboxes, huge or negative paging, SQL- and
template-injection strings in every query parameter of every operation (enumerated from the
OpenAPI document) and in every path parameter, unknown collections and features, oversized,
malformed or mistyped bodies, and a 100,000-character address. The answer is a 4xx
``application/problem+json`` naming the parameter, or a 200 that is a correct answer (a
free-text address that matches nothing); nothing is echoed unescaped into HTML.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from test_layers_fixtures import TOKEN, Built, build_deployment

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tsunagari_api.catalog import COLLECTIONS
from tsunagari_api.factory import create_app
from tsunagari_geo.layers.tiles import TileSpec, build_tiles
from tsunagari_geo.store import open_store

pytestmark = pytest.mark.timeout(120)

#: Injection strings sent in every parameter.
INJECTIONS = [
    "' OR 1=1--",
    "'; DROP TABLE activities;--",
    '" OR ""="',
    "{{7*7}}",
    "${7*7}",
    "#{7*7}",
    "<script>alert(1)</script>",
    "\x00",
    "\u202e11201",
    "../../etc/passwd",
]
PROTECTED = {s.id for s in COLLECTIONS if s.protected}
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Built:
    built = build_deployment(tmp_path_factory.mktemp("hostile"), store_path)
    region = open_store(built.settings.store).region
    build_tiles(built.settings.layers, built.settings.tiles_dir, region=region, spec=TileSpec(5, 9))
    return built


@pytest.fixture(scope="module")
def client(built: Built) -> Iterator[TestClient]:
    with TestClient(create_app(built.settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def openapi(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/api").json()
    return document


def _refused(response: Any, *statuses: int) -> dict[str, Any]:
    """The response is a problem document with one of ``statuses``; returns its body."""
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


def _no_html_echo(response: Any, payload: str) -> None:
    if "html" in response.headers.get("content-type", "") and "<" in payload:
        assert payload not in response.text


def _auth(path: str) -> dict[str, str]:
    protected = any(path.startswith(f"/collections/{c}/") for c in PROTECTED)
    return {"Authorization": f"Bearer {TOKEN}"} if protected else {}


def _valid_path(template: str, client: TestClient) -> str:
    """``template`` with valid path parameters (the first feature of the collection)."""
    if "{featureId}" in template:
        items = template.rsplit("/", 1)[0]
        first = client.get(items, params={"limit": 1}, headers=_auth(items)).json()["features"]
        return template.replace("{featureId}", quote(str(first[0]["id"]), safe=""))
    return (
        template.replace("{name}", "activities")
        .replace("{z}", "5")
        .replace("{x}", "28")
        .replace("{y}", "12")
    )


def _operations(openapi: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


# --- path traversal ------------------------------------------------------------------------


TRAVERSALS = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/pyproject.toml",
    "%2Fetc%2Fpasswd",
    "activities%00",
    "activities%00.pmtiles",
    "..%5c..%5cwindows%5cwin.ini",
    "....//....//etc/passwd",
]


@pytest.mark.parametrize("name", TRAVERSALS)
@pytest.mark.parametrize("form", ["/tiles/{}.pmtiles", "/tiles/{}.json", "/tiles/{}/5/28/12.mvt"])
def test_traversal_in_tile_names_is_not_found(client: TestClient, name: str, form: str) -> None:
    response = client.get(form.format(name))
    _refused(response, 404)
    assert "root:" not in response.text


@pytest.mark.parametrize("name", [*TRAVERSALS, "%00", "maps/%00x", "/etc/passwd"])
def test_traversal_in_asset_paths_is_not_found(client: TestClient, name: str) -> None:
    response = client.get(f"/assets/{name}")
    _refused(response, 404, 503)
    assert "root:" not in response.text and "[project]" not in response.text


@pytest.mark.parametrize(
    "z, x, y", [(-1, 0, 0), (31, 0, 0), (5, -1, 0), (5, "a", 0), (5, 0, "1e3")]
)
def test_impossible_tile_coordinates_are_not_found(
    client: TestClient, z: Any, x: Any, y: Any
) -> None:
    _refused(client.get(f"/tiles/activities/{z}/{x}/{y}.mvt"), 404)


def test_tile_coordinates_outside_the_zoom_are_empty(client: TestClient) -> None:
    response = client.get(f"/tiles/activities/5/{10**20}/0.mvt")
    assert response.status_code == 204 and response.content == b""


@pytest.mark.parametrize(
    "header", ["bytes=-0", "bytes=99999999999999999999-", "bytes=5-1", "bytes=700000000-"]
)
def test_unsatisfiable_ranges_are_416(client: TestClient, header: str) -> None:
    body = _refused(client.get("/tiles/activities.pmtiles", headers={"Range": header}), 416)
    assert "Range" in body["detail"]


@pytest.mark.parametrize(
    "header", ["bytes=abc", "items=0-1", "bytes=0-1,5-9", "bytes=" + "9" * 5000]
)
def test_unreadable_ranges_are_ignored_for_the_whole_file(client: TestClient, header: str) -> None:
    response = client.get("/tiles/activities.pmtiles", headers={"Range": header})
    assert response.status_code in (200, 416)
    if response.status_code == 200:
        assert response.content[:7] == b"PMTiles"


# --- bbox, limit, offset -------------------------------------------------------------------


@pytest.mark.parametrize(
    "bbox",
    [
        "NaN,NaN,NaN,NaN",
        "nan,35,140,36",
        "inf,35,140,36",
        "-inf,35,140,36",
        "139,35,1e309,36",
        "1e308,1e308,1e308,1e308",
        "-1e308,-1e308,1e308,1e308",
        "139,35,140",
        "139",
        "139,35,140,36,0",
        "139,35,0,140,36,0,1",
        "139,36,140,35",
        "a,b,c,d",
        "0x10,35,140,36",
        ",,,",
        "139;35;140;36",
        "1" * 300,
    ],
)
def test_impossible_bboxes_are_400(client: TestClient, bbox: str) -> None:
    body = _refused(client.get("/collections/activities/items", params={"bbox": bbox}), 400)
    assert body["parameter"] == "bbox"


def test_the_whole_world_is_a_valid_bbox(client: TestClient) -> None:
    response = client.get("/collections/activities/items", params={"bbox": "-180,-90,180,90"})
    assert response.status_code == 200
    assert response.json()["numberMatched"] > 0


@pytest.mark.parametrize(
    "name, value",
    [
        ("limit", "0"),
        ("limit", "-1"),
        ("limit", "10001"),
        ("limit", "9" * 40),
        ("limit", "1e3"),
        ("limit", "1.5"),
        ("limit", "ten"),
        ("offset", "-1"),
        ("offset", str(2**31)),
        ("offset", "9" * 40),
        ("offset", "0x10"),
    ],
)
def test_impossible_paging_is_400(client: TestClient, name: str, value: str) -> None:
    body = _refused(client.get("/collections/activities/items", params={name: value}), 400)
    assert body["parameter"] == name


def test_an_offset_past_the_end_is_an_empty_page(client: TestClient) -> None:
    body = client.get("/collections/activities/items", params={"offset": 2**31 - 1}).json()
    assert body["features"] == [] and body["numberReturned"] == 0
    assert "next" not in {link["rel"] for link in body["links"]}


# --- injection in every parameter ------------------------------------------------------------


def test_injection_in_every_query_parameter_is_refused_or_harmless(
    client: TestClient, openapi: dict[str, Any]
) -> None:
    checked = 0
    for method, template, operation in _operations(openapi):
        query = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        if method != "get" or not query:
            continue
        path = _valid_path(template, client)
        for parameter in query:
            name = parameter["name"]
            has_vocabulary = "enum" in json.dumps(parameter["schema"])
            for payload in INJECTIONS:
                response = client.get(path, params={name: payload}, headers=_auth(path))
                checked += 1
                _no_html_echo(response, payload)
                if name == "q":
                    # A free-text address: an honest "no match", as JSON, never an error.
                    assert response.status_code == 200, response.text
                    assert response.json()["level"] == 0
                    continue
                body = _refused(response, 400)
                assert body["parameter"] == name, (path, name, body)
                if has_vocabulary:
                    assert body["allowed"], (path, name)  # the 'unknown value' answer
    assert checked > 500


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_in_every_path_parameter_is_not_found(
    client: TestClient, openapi: dict[str, Any], payload: str
) -> None:
    encoded = quote(payload, safe="")
    for method, template, _operation in _operations(openapi):
        if method != "get" or "{" not in template:
            continue
        for placeholder in ("{featureId}", "{name}", "{z}", "{x}", "{y}"):
            if placeholder not in template:
                continue
            path = _valid_path(template.replace(placeholder, "\x01"), client)
            path = path.replace("\x01", encoded)
            _refused(client.get(path, headers=_auth(path)), 404)


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_against_the_pages_is_never_echoed_into_html(
    client: TestClient, payload: str
) -> None:
    for page in ("/map", "/dashboard"):
        response = client.get(f"{page}?{urlencode({'theme': payload, 'q': payload})}")
        assert response.status_code == 200
        _no_html_echo(response, payload)
    response = client.get(f"/dashboard/{quote(payload, safe='')}")
    _refused(response, 404)
    for level, fmt in ((payload, "csv"), ("municipalities", payload)):
        _refused(client.get(f"/dashboard/table/{quote(level, safe='')}.{quote(fmt, safe='')}"), 404)


@pytest.mark.parametrize(
    "collection", ["nope", "activities_x", "%2e%2e", "ACTIVITIES", "activities%00"]
)
def test_unknown_collections_are_404(client: TestClient, collection: str) -> None:
    _refused(client.get(f"/collections/{collection}"), 404)
    _refused(client.get(f"/collections/{collection}/items"), 404)


@pytest.mark.parametrize("feature", ["nope", "zz-hidden-1", "zz-unpub-1", "0", "-1", "x" * 2000])
def test_unknown_or_private_features_are_404(client: TestClient, feature: str) -> None:
    for spec in COLLECTIONS:
        path = f"/collections/{spec.id}/items/{feature}"
        if spec.protected and feature.startswith("zz-"):
            continue  # the planners' view rightly holds them
        _refused(client.get(path, headers=_auth(path)), 404)


# --- bodies ---------------------------------------------------------------------------------------


def test_an_oversized_body_is_413(client: TestClient, built: Built) -> None:
    body = b'{"addresses":["' + b"x" * built.settings.max_body_bytes + b'"]}'
    response = client.post("/geocode", content=body, headers={"Content-Type": "application/json"})
    assert "max_body" not in _refused(response, 413)["detail"]


def test_an_oversized_body_without_content_length_is_413(client: TestClient, built: Built) -> None:
    chunk = b"x" * 10_000

    def stream() -> Iterator[bytes]:
        for _ in range(built.settings.max_body_bytes // len(chunk) + 2):
            yield chunk

    response = client.post(
        "/geocode", content=stream(), headers={"Content-Type": "application/json"}
    )
    _refused(response, 413)


def test_more_than_the_batch_limit_is_400_naming_the_limit(client: TestClient) -> None:
    response = client.post("/geocode", json={"addresses": ["川越市"] * 1001})
    body = _refused(response, 400)
    assert body["parameter"] == "addresses" and "1000" in body["detail"]


def test_exactly_the_batch_limit_is_answered(client: TestClient) -> None:
    response = client.post("/geocode", json={"addresses": ["川越市"] * 1000})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1000


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"{", "application/json"),
        (b'{"addresses": ["a",]}', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"", "application/json"),
        (b"null", "application/json"),
        (b'["a"]', "application/json"),
        (b'{"addresses": "a"}', "application/json"),
        (b'{"addresses": [1, 2]}', "application/json"),
        (b'{"addresses": [null]}', "application/json"),
        (b'{"addresses": [["a"]]}', "application/json"),
        (b'{"addresses": ["' + b"a" * 501 + b'"]}', "application/json"),
        (b'{"addresses": ["a"]}', "text/plain"),
        (b'{"addresses": ["a"]}', "application/xml"),
        (b"addresses=a", "application/x-www-form-urlencoded"),
        (
            b"--x\r\nContent-Disposition: form-data; name=addresses\r\n\r\na\r\n--x--",
            "multipart/form-data; boundary=x",
        ),
        (b'{"addresses": ["a"]}', ""),
    ],
)
def test_malformed_or_mistyped_bodies_are_400(
    client: TestClient, body: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    _refused(client.post("/geocode", content=body, headers=headers), 400)


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_in_a_batch_address_is_just_unmatched(client: TestClient, payload: str) -> None:
    response = client.post("/geocode", json={"addresses": [payload, "川越市"]})
    assert response.status_code == 200
    first, second = response.json()["results"]
    assert first["input"] == payload and first["level"] == 0
    assert second["level"] >= 2


def _raw_get(app: Any, path: str, query: bytes) -> tuple[int, dict[str, str], bytes]:
    """One GET straight through ASGI: no client-side URL length limit in the way."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body


def test_a_100000_character_address_is_400(client: TestClient) -> None:
    query = urlencode({"q": "埼玉県川越市" + "あ" * 100_000}).encode()
    status, headers, body = _raw_get(client.app, "/geocode", query)
    assert status == 400 and headers["content-type"] == PROBLEM
    problem = json.loads(body)
    assert problem["parameter"] == "q" and "500" in problem["detail"]
    assert len(body) < 2_000  # the payload is not echoed back


def test_a_100000_character_address_in_a_batch_is_400(client: TestClient) -> None:
    response = client.post("/geocode", json={"addresses": ["あ" * 100_000]})
    body = _refused(response, 400, 413)
    assert len(response.content) < 2_000 and body["detail"]
