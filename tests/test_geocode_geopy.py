"""geopy and geopandas fit, and remote fallbacks against a local Nominatim-like server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import geopandas as gpd
import pandas as pd
import pytest
from geopy.extra.rate_limiter import RateLimiter
from geopy.location import Location

from tsunagari_geo.geocode import Geocoder
from tsunagari_geo.geocode.batch import geocode_table
from tsunagari_geo.geocode.geopy_adapter import GeocodeSettings, OfflineGeocoder, RemoteFallback
from tsunagari_geo.store import Store

#: What the fake server knows: query → (lat, lon). 東京駅 is outside Saitama on purpose.
KNOWN = {
    "埼玉県川越市存在しない町1": (35.91, 139.49),
    "埼玉県川越市東京駅前": (35.681236, 139.767125),
}


class _Nominatim(BaseHTTPRequestHandler):
    queries: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query).get("q", [""])[0]
        type(self).queries.append(query)
        found = KNOWN.get(query)
        body = (
            []
            if url.path != "/search" or found is None
            else [{"lat": str(found[0]), "lon": str(found[1]), "display_name": query}]
        )
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def nominatim() -> Iterator[tuple[str, list[str]]]:
    _Nominatim.queries = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Nominatim)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", _Nominatim.queries
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def offline(store: Store) -> Geocoder:
    return Geocoder.from_store(store)


def _fallback(domain: str, monkeypatch: pytest.MonkeyPatch) -> RemoteFallback:
    monkeypatch.setenv("TSUNAGARI_GEOCODE_FALLBACK", "nominatim")
    monkeypatch.setenv("TSUNAGARI_GEOCODE_NOMINATIM_DOMAIN", domain)
    monkeypatch.setenv("TSUNAGARI_GEOCODE_NOMINATIM_SCHEME", "http")
    monkeypatch.setenv("TSUNAGARI_GEOCODE_MIN_DELAY_SECONDS", "0")
    fallback = RemoteFallback.from_settings()
    assert fallback is not None
    return fallback


def test_location_raw_carries_every_field(offline: Geocoder) -> None:
    location = OfflineGeocoder(offline).geocode("さいたま市常盤6-4-4")
    assert isinstance(location, Location)
    assert location.raw == offline.geocode("さいたま市常盤6-4-4").to_dict()
    assert location.address == "埼玉県さいたま市浦和区常盤六丁目4-4"
    assert (location.latitude, location.longitude) == (location.raw["lat"], location.raw["lng"])


def test_location_address_keeps_the_koaza_read(offline: Geocoder) -> None:
    location = OfflineGeocoder(offline).geocode("熊谷市佐谷田字南砂原1234")
    assert isinstance(location, Location)
    assert location.address == "埼玉県熊谷市佐谷田南砂原1234"


def test_not_found_is_none_and_exactly_one_false_is_a_list(offline: Geocoder) -> None:
    provider = OfflineGeocoder(offline)
    assert provider.geocode("東京都千代田区丸の内1-1") is None
    assert provider.geocode("") is None
    many = provider.geocode("川越市元町1-3-1", exactly_one=False)
    assert isinstance(many, list) and many[0].raw["town"] == "元町一丁目"


def test_geopandas_geocode_accepts_the_provider(offline: Geocoder) -> None:
    addresses = pd.Series(["さいたま市常盤6-4-4", "東京都千代田区丸の内1-1", "川越市元町1-3-1"])
    frame = gpd.tools.geocode(addresses, provider=OfflineGeocoder(offline))
    assert frame.crs == "EPSG:4326"
    assert frame.geometry.iloc[1] is None or frame.geometry.iloc[1].is_empty
    expected = offline.geocode("川越市元町1-3-1")
    assert (frame.geometry.iloc[2].y, frame.geometry.iloc[2].x) == (expected.lat, expected.lng)
    assert frame["address"].iloc[0].startswith("埼玉県さいたま市浦和区常盤六丁目")


def test_rate_limiter_wraps_it(offline: Geocoder) -> None:
    limited = RateLimiter(OfflineGeocoder(offline).geocode, min_delay_seconds=0)
    assert limited("川越市元町1-3-1").raw["muni_code"] == "11201"


def test_fallbacks_are_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSUNAGARI_GEOCODE_FALLBACK", raising=False)
    assert GeocodeSettings().fallback == ""
    assert RemoteFallback.from_settings() is None


def test_fallback_only_for_rows_below_level_three_and_cached(
    offline: Geocoder, nominatim: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    domain, queries = nominatim
    fallback = _fallback(domain, monkeypatch)
    provider = OfflineGeocoder(offline, fallback=fallback)
    matched = provider.geocode("川越市元町1-3-1")
    assert matched is not None and "remote" not in matched.raw["reason"]
    assert queries == []
    partial = provider.geocode("川越市存在しない町1")
    assert partial is not None
    assert (partial.latitude, partial.longitude) == KNOWN["埼玉県川越市存在しない町1"]
    assert partial.raw["level"] == 2
    assert "remote_point:nominatim" in partial.raw["reason"]
    provider.geocode("川越市存在しない町1")
    assert queries == ["埼玉県川越市存在しない町1"]  # the second time came from the cache
    assert fallback.calls == 1


def test_fallback_point_outside_saitama_is_refused(
    offline: Geocoder, nominatim: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    domain, queries = nominatim
    provider = OfflineGeocoder(offline, fallback=_fallback(domain, monkeypatch))
    location = provider.geocode("川越市東京駅前")
    assert location is not None
    assert "remote" not in location.raw["reason"]
    assert location.raw["lat"] == offline.geocode("川越市").lat
    assert queries == ["埼玉県川越市東京駅前"]


def test_batch_job_uses_the_fallback(
    tmp_path: Path,
    store: Store,
    offline: Geocoder,
    nominatim: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    domain, queries = nominatim
    src = tmp_path / "in.csv"
    pd.DataFrame(
        {"住所": ["川越市存在しない町1", "川越市元町1-3-1", "東京都千代田区丸の内1-1"]}
    ).to_csv(src, index=False)
    geocode_table(
        src, tmp_path / "o.csv", geocoder=offline, store=store,
        fallback=_fallback(domain, monkeypatch),
    )  # fmt: skip
    out = pd.read_csv(tmp_path / "o.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert out["lat"].iloc[0] == "35.91"
    assert queries == ["埼玉県川越市存在しない町1"]
