"""The static site in headless Chromium, served by ``python -m http.server`` with no API.

Nothing but the site's folder is served: the address search must use the index generated from
the geocoder (``search.js`` over ``data/towns.json``) and every data file must come from the
folder, from the same origin.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_browser_fixtures import (
    DESKTOP,
    PHONE,
    assert_visible_beside_the_panel,
    axe_violations,
    chromium,
    free_port,
    open_checked_page,
    open_page,
    page_width,
    running,
    screenshot,
)
from test_layers_fixtures import PUBLIC_PHONE, TOWN_POINT, Built, build_deployment, public_id_of
from tsunagari_geo.maps.data import SiteData
from tsunagari_geo.maps.pages import build_map_page, static_links
from tsunagari_geo.maps.settings import MapSettings
from tsunagari_geo.maps.site import build_site
from tsunagari_geo.region import load_region

SAITAMA = load_region("saitama")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> tuple[Path, SiteData]:
    folder = tmp_path_factory.mktemp("site")
    built: Built = build_deployment(folder / "build", store_path)
    data = SiteData.open(built.settings.layers, store_path)
    build_site(folder / "site", data, MapSettings(basemap="blank"))
    return folder / "site", data


@pytest.fixture(scope="module")
def static_server(site: tuple[Path, SiteData]) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(site[0]),
    ]
    with running(command, f"http://127.0.0.1:{port}/index.html") as url:
        yield url.removesuffix("/index.html")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_static_map_draws_every_published_point_from_the_folder(
    browser: Any, static_server: str, site: tuple[Path, SiteData]
) -> None:
    activities = site[1].layers["activities"]
    page, log = open_page(browser, DESKTOP)
    page.goto(f"{static_server}/map.html")
    page.wait_for_function("() => document.body.dataset.ready", timeout=30_000)
    page.wait_for_function("() => Tsunagari.ready.then(() => true)")
    assert page.evaluate("Tsunagari.visibleCount()") == int(activities.geometry.notna().sum())
    screenshot(page, "site_map_desktop")
    assert log.errors == [] and log.failures == []
    assert log.csp == []
    assert page.locator('meta[http-equiv="Content-Security-Policy"]').count() == 1
    assert log.origins() == {static_server}


def test_static_map_shows_the_next_dates_and_the_tel_link_from_its_own_files(
    browser: Any, static_server: str
) -> None:
    page, log = open_page(browser, PHONE)
    page.goto(f"{static_server}/map.html")
    page.wait_for_function("() => Tsunagari.ready.then(() => true)")
    assert page.evaluate("() => Tsunagari.calendar.days") == 366
    page.evaluate("() => Tsunagari.showActivity('" + public_id_of("zz-muni-1") + "')")
    call = page.wait_for_selector(".leaflet-popup-content a[href^='tel:']")
    assert call.get_attribute("href") == "tel:" + PUBLIC_PHONE.replace("-", "")
    dates = page.locator(".leaflet-popup-content .tg-dates li").all_inner_texts()
    assert len(dates) == 3 and all("(土) 10:00–12:00" in d for d in dates)
    assert log.errors == [] and log.failures == []


def test_static_address_search_uses_the_town_index(browser: Any, static_server: str) -> None:
    page, log = open_page(browser, PHONE)
    page.goto(f"{static_server}/map.html")
    page.wait_for_function("() => document.body.dataset.ready", timeout=30_000)
    page.click("#tg-panel-toggle")
    page.fill("#tg-address", "さいたま市浦和区常盤6丁目")
    page.click("#tg-search button[type=submit]")
    page.wait_for_function("() => !document.getElementById('tg-nearby-section').hidden")
    point = page.evaluate("Tsunagari.searchPoint")
    assert (point["lng"], point["lat"]) == pytest.approx(TOWN_POINT, abs=0.002)
    assert_visible_beside_the_panel(page, point)
    assert any(u.endswith("/data/towns.json") for u in log.requests)
    assert any("/assets/maps/search.js" in u for u in log.requests)
    assert "さいたま市浦和区常盤六丁目" in page.inner_text("#tg-search-status")
    screenshot(page, "site_map_phone_search")
    # Another prefecture is not a place in Saitama (the old page showed 宮代町字東).
    page.fill("#tg-address", "東京都新宿区西新宿2-8-1")
    page.click("#tg-search button[type=submit]")
    page.wait_for_function(
        "() => document.getElementById('tg-search-status').textContent.includes('見つかりません')"
    )
    assert log.errors == [] and log.failures == []
    assert log.origins() == {static_server}


def test_a_failing_base_map_leaves_the_map_working(
    browser: Any, static_server: str, site: tuple[Path, SiteData]
) -> None:
    folder, data = site
    html = build_map_page(
        static_links(0), MapSettings(basemap="gsi"), data.attribution, region=SAITAMA
    )
    (folder / "map_gsi.html").write_text(html, encoding="utf-8")
    page, log = open_page(browser, DESKTOP)
    # Offline (or behind a firewall): every tile request fails.
    page.route("https://cyberjapandata.gsi.go.jp/**", lambda route: route.abort())
    page.goto(f"{static_server}/map_gsi.html")
    page.wait_for_function("() => document.body.dataset.ready", timeout=30_000)
    page.wait_for_function("() => Tsunagari.ready.then(() => true)")
    assert page.evaluate("Tsunagari.visibleCount()") == int(
        data.layers["activities"].geometry.notna().sum()
    )
    assert "地理院タイル" in page.inner_text(".leaflet-control-attribution")
    page.wait_for_function(
        "() => document.querySelector('.leaflet-control-attribution').textContent"
        ".includes('背景地図を読み込めませんでした')"
    )
    assert not [e for e in log.errors if e.startswith("uncaught")]
    assert log.origins() - {static_server} == {"https://cyberjapandata.gsi.go.jp"}


def test_static_dashboard_draws_63_polygons_and_links_the_downloads(
    browser: Any, static_server: str
) -> None:
    page, log = open_page(browser, DESKTOP)
    page.goto(f"{static_server}/dashboard.html")
    page.wait_for_function("() => document.body.dataset.ready", timeout=30_000)
    assert page.locator("path.tg-area").count() == 63
    href = page.get_attribute("#tg-xlsx", "href")
    assert href == "data/table_municipalities.xlsx"
    page.click("#tg-table tbody tr:first-child th a")
    page.wait_for_selector("#tg-matrix")
    screenshot(page, "site_municipality")
    assert log.errors == [] and log.failures == []
    assert log.csp == []
    assert log.origins() == {static_server}


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize(
    "path", ["/index.html", "/map.html", "/dashboard.html", "/dashboard/11201.html"]
)
def test_static_pages_have_no_aa_violations_and_fit_a_360px_phone(
    browser: Any, static_server: str, path: str, size: str
) -> None:
    page, log = open_checked_page(browser, PHONE if size == "phone" else DESKTOP)
    page.goto(f"{static_server}{path}")
    if path != "/index.html":
        page.wait_for_function("() => document.body.dataset.ready", timeout=30_000)
    if path == "/map.html":
        page.wait_for_function("() => Tsunagari.ready.then(() => true)")
        if page.is_hidden("#tg-panel"):
            page.click("#tg-panel-toggle")
        page.evaluate(
            "() => document.querySelectorAll('.tg-section > details').forEach(d => { d.open = true; })"
        )
    assert axe_violations(page) == []
    assert log.errors == []
    page.set_viewport_size({"width": 360, "height": 740})
    page.wait_for_timeout(200)
    assert page_width(page) <= 360
