"""Security basics of the service: tokens, security headers, the pages' CSP, and CORS.

The admin and planners' endpoints refuse (401 problem+json) when the server has no token,
and compare a given token in constant time. Every response carries the security headers;
the pages carry a Content-Security-Policy listing the hashes of exactly their own inline
scripts (no 'unsafe-inline' for scripts). CORS answers only the configured origins and never
allows credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from test_layers_fixtures import TOKEN, Built, build_deployment

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tsunagari_api.catalog import COLLECTIONS, Dataset
from tsunagari_api.factory import create_app
from tsunagari_api.security import NON_PAGE_POLICY, SECURITY_HEADERS
from tsunagari_api.settings import ApiSettings
from tsunagari_geo.maps.csp import inline_hashes, with_meta_policy
from tsunagari_geo.maps.pages import build_map_page, static_links
from tsunagari_geo.maps.settings import MapSettings
from tsunagari_geo.maps.vendor import ensure_vendored
from tsunagari_geo.region import load_region

ALLOWED = "https://example.pref.saitama.lg.jp"
PROTECTED = [f"/collections/{s.id}/items" for s in COLLECTIONS if s.protected]
GSI_ORIGIN = "https://cyberjapandata.gsi.go.jp"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Built:
    ensure_vendored()
    return build_deployment(tmp_path_factory.mktemp("security"), store_path)


@pytest.fixture(scope="module")
def dataset(built: Built) -> Dataset:
    return Dataset.load(built.settings)


def _client(settings: ApiSettings, dataset: Dataset) -> TestClient:
    return TestClient(create_app(settings, dataset))


@pytest.fixture(scope="module")
def client(built: Built, dataset: Dataset) -> Iterator[TestClient]:
    with _client(built.settings, dataset) as c:
        yield c


@pytest.fixture(scope="module")
def tokenless(built: Built, dataset: Dataset) -> Iterator[TestClient]:
    with _client(built.settings.model_copy(update={"token": None}), dataset) as c:
        yield c


def _problem_401(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in response.text


# --- tokens ------------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, f"Bearer {TOKEN}", "Bearer ", "Bearer x"])
def test_without_a_configured_token_admin_and_planner_endpoints_refuse(
    tokenless: TestClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    _problem_401(tokenless.post("/admin/reload", headers=headers))
    for url in PROTECTED:
        _problem_401(tokenless.get(url, headers=headers))
    assert "TSUNAGARI_TOKEN" in tokenless.post("/admin/reload", headers=headers).json()["detail"]


def test_an_empty_configured_token_counts_as_none(built: Built, dataset: Dataset) -> None:
    with _client(built.settings.model_copy(update={"token": SecretStr("")}), dataset) as c:
        _problem_401(c.get(PROTECTED[0], headers={"Authorization": "Bearer "}))


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN],
)
def test_a_wrong_or_malformed_token_is_refused(
    client: TestClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    _problem_401(client.post("/admin/reload", headers=headers))
    for url in PROTECTED:
        _problem_401(client.get(url, headers=headers))


def test_the_right_token_opens_the_planners_view(client: TestClient) -> None:
    response = client.get(PROTECTED[0], headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"


def test_tokens_are_compared_in_constant_time(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every token check goes through hmac.compare_digest (never ``==``), on digests."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    client.post("/admin/reload", headers={"Authorization": "Bearer wrong"})
    for url in PROTECTED:
        client.get(url, headers={"Authorization": "Bearer wrong"})
    assert len(calls) == 1 + len(PROTECTED)
    # Digests of equal length on both sides: not even the token's length shows.
    expected = hashlib.sha256(TOKEN.encode()).digest()
    assert all(b == expected and len(a) == len(b) for a, b in calls)


# --- security headers and CSP -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/collections/activities/items?limit=2",
        "/api",
        "/healthz",
        "/nothing/here",
        "/collections/activities/items?bbox=nonsense",
        "/assets/maps/common.js",
    ],
)
def test_every_response_carries_the_security_headers(client: TestClient, url: str) -> None:
    response = client.get(url)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, (url, name)
    assert response.headers["content-security-policy"] == NON_PAGE_POLICY


def test_a_refused_oversized_body_carries_the_security_headers(
    client: TestClient, built: Built
) -> None:
    body = b"x" * (built.settings.max_body_bytes + 1)
    response = client.post("/geocode", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_an_unexpected_error_is_a_500_problem_with_every_header(
    built: Built, dataset: Dataset
) -> None:
    app = create_app(built.settings, dataset)

    def boom() -> None:
        raise RuntimeError("secret detail that must stay in the log")

    app.add_api_route("/boom", boom)
    with TestClient(app) as client:
        response = client.get("/boom", headers={"Origin": ALLOWED})
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 500
        assert "secret detail" not in response.text
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, name
        assert response.headers["access-control-allow-origin"] == ALLOWED
        assert client.get("/healthz").status_code == 200  # the service keeps serving


def test_a_refused_oversized_body_carries_cors_headers(client: TestClient, built: Built) -> None:
    body = b"x" * (built.settings.max_body_bytes + 1)
    response = client.post(
        "/geocode", content=body, headers={"Content-Type": "application/json", "Origin": ALLOWED}
    )
    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == ALLOWED


def _csp(response: Any) -> dict[str, list[str]]:
    policy = response.headers["content-security-policy"]
    directives = [d.split() for d in policy.split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


def _script_hashes(html: str) -> set[str]:
    bodies = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    return {
        "'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'"
        for b in bodies
    }


@pytest.mark.parametrize("url", ["/map", "/dashboard", "/dashboard/11201"])
def test_pages_allow_only_their_own_inline_scripts(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    csp = _csp(response)
    assert csp["default-src"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert set(csp["script-src"]) == {"'self'", *_script_hashes(response.text)}
    assert csp["connect-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "onclick=" not in response.text


def test_the_gsi_basemap_is_the_only_other_origin_allowed(
    built: Built, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TSUNAGARI_BASEMAP", "gsi")
    with _client(built.settings, dataset) as c:
        gsi = _csp(c.get("/map"))
    monkeypatch.setenv("TSUNAGARI_BASEMAP", "blank")
    with _client(built.settings, dataset) as c:
        blank = _csp(c.get("/map"))
    assert GSI_ORIGIN in gsi["img-src"]
    assert GSI_ORIGIN not in blank["img-src"]
    for csp in (gsi, blank):
        sources = [s for d in csp.values() for s in d]
        others = {s for s in sources if "://" in s} - {GSI_ORIGIN}
        assert not others, others


def test_a_static_page_carries_its_policy_in_a_meta_element() -> None:
    html = build_map_page(
        static_links(0), MapSettings(basemap="blank"), ["出典"], region=load_region("saitama")
    )
    page = with_meta_policy(html)
    scripts, _styles = inline_hashes(html)
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert meta is not None
    assert page.index("<meta charset") < meta.start() < page.index("<script")
    policy = meta.group(1)
    assert "frame-ancestors" not in policy  # ignored (and warned about) in a meta element
    assert all(h in policy for h in scripts) and scripts


def test_an_injected_inline_script_is_not_in_the_policy() -> None:
    html = build_map_page(
        static_links(0), MapSettings(basemap="blank"), ["出典"], region=load_region("saitama")
    )
    scripts, _ = inline_hashes(html)
    tampered = html.replace("</body>", "<script>alert(1)</script></body>")
    assert len(inline_hashes(tampered)[0]) == len(scripts) + 1
    policy = with_meta_policy(html)
    (injected,) = set(inline_hashes(tampered)[0]) - set(scripts)
    assert injected not in policy


# --- CORS --------------------------------------------------------------------------------------


def test_cors_answers_the_configured_origin_without_credentials(client: TestClient) -> None:
    response = client.get("/collections", headers={"Origin": ALLOWED, "Cookie": "a=b"})
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in response.headers
    preflight = client.options(
        "/collections/activities/items",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in preflight.headers


def test_cors_ignores_other_origins(client: TestClient) -> None:
    response = client.get("/collections", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        "/collections",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.headers["content-type"] == "application/problem+json"
    problem = preflight.json()
    assert problem["status"] == 400 and "origin" in problem["detail"]
    assert problem["value"] == "https://evil.example"
    assert preflight.headers["x-content-type-options"] == "nosniff"


def test_a_wildcard_origin_never_comes_with_credentials(built: Built, dataset: Dataset) -> None:
    settings = built.settings.model_copy(update={"cors_origins": ["*"]})
    with _client(settings, dataset) as c:
        response = c.get("/collections", headers={"Origin": "https://any.example", "Cookie": "a"})
        preflight = c.options(
            PROTECTED[0],
            headers={
                "Origin": "https://any.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Authorization",
            },
        )
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    assert "access-control-allow-credentials" not in preflight.headers


def test_without_configured_origins_there_is_no_cors(built: Built, dataset: Dataset) -> None:
    settings = built.settings.model_copy(update={"cors_origins": []})
    with _client(settings, dataset) as c:
        response = c.get("/collections", headers={"Origin": ALLOWED})
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    "origins", [["https://ok.example/path"], ["ok.example"], ["https://a.example, https://b"]]
)
def test_malformed_cors_origins_are_refused_at_start(origins: list[str]) -> None:
    with pytest.raises(ValueError, match="cors_origins"):
        ApiSettings(cors_origins=origins)
