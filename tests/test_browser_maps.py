"""The map and the dashboard in headless Chromium, served by the real app under uvicorn.

The deployment is the real pipeline on the sample data plus the crafted privacy rows of
``test_layers_fixtures`` (a hidden, an unpublished, a town-level and a municipality-level
activity). The base map is ``blank``, so any request to another origin is a bug.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from dateutil.rrule import MONTHLY, SA, rrule

from server_helpers import serve_command, serve_env
from test_browser_fixtures import (
    ARTIFACTS,
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
    small_targets,
)
from test_layers_fixtures import (
    PUBLIC_PHONE,
    SECRET_CONTACT,
    SECRET_PHONE,
    TOWN_POINT,
    Built,
    build_deployment,
    public_id_of,
)
from tsunagari_geo.layers.published import LayerSet
from tsunagari_geo.maps.vendor import ensure_vendored

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Built:
    return build_deployment(tmp_path_factory.mktemp("browser"), store_path)


@pytest.fixture(scope="module")
def layers(built: Built) -> LayerSet:
    return LayerSet.open(built.settings.layers, "public")


@pytest.fixture(scope="module")
def server(built: Built) -> Iterator[str]:
    ensure_vendored()  # `make venv` does it; a bare pytest run must not serve pages without Leaflet
    port = free_port()
    env = serve_env(built.settings, BASEMAP="blank")
    with running(serve_command(port), f"http://127.0.0.1:{port}/healthz", env) as url:
        yield url.removesuffix("/healthz")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _open(browser: Any, url: str, viewport: dict[str, int] = DESKTOP) -> tuple[Any, Any]:
    page, log = open_page(browser, viewport)
    page.goto(url)
    # Predicates are functions, not expressions: Playwright evaluates an expression on every
    # poll with eval(), which the pages' CSP (no 'unsafe-eval') rightly refuses.
    page.wait_for_function("() => document.body.dataset.ready", timeout=30_000)
    return page, log


def _mapped(layers: LayerSet) -> Any:
    activities = layers.frames["activities"]
    return activities[activities.geometry.notna()]


def test_map_loads_without_errors_and_only_from_its_origin(browser: Any, server: str) -> None:
    page, log = _open(browser, f"{server}/map")
    page.wait_for_function("() => Tsunagari.ready.then(() => true)")
    screenshot(page, "map_desktop")
    assert log.errors == []
    assert log.csp == []
    assert log.failures == []
    assert log.origins() == {server}


@pytest.mark.parametrize("path", ["/map", "/dashboard", "/dashboard/11201"])
def test_pages_run_under_their_csp_without_violations(browser: Any, server: str, path: str) -> None:
    page, log = open_page(browser, DESKTOP)
    response = page.goto(f"{server}{path}")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_function("() => document.body.dataset.ready", timeout=30_000)
    if path == "/map":
        page.wait_for_function("() => Tsunagari.ready.then(() => true)")
    assert log.csp == [] and log.errors == []


def test_the_csp_blocks_an_injected_inline_script(browser: Any, server: str) -> None:
    page, log = _open(browser, f"{server}/map")
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.__injected = true';
                   document.body.appendChild(s); }"""
    )
    assert page.evaluate("window.__injected === undefined")
    for _ in range(50):  # the violation event is dispatched asynchronously
        if log.csp:
            break
        page.wait_for_timeout(100)
    assert any("script-src" in v for v in log.csp), log.csp


def test_map_on_a_phone_shows_the_map_first_and_the_panel_on_demand(
    browser: Any, server: str
) -> None:
    page, log = _open(browser, f"{server}/map", PHONE)
    assert page.is_hidden("#tg-panel")
    screenshot(page, "map_phone")
    page.click("#tg-panel-toggle")
    assert page.is_visible("#tg-theme")
    screenshot(page, "map_phone_panel")
    assert log.errors == []


def test_map_on_a_phone_fetches_light_outlines_and_draws_all_63(browser: Any, server: str) -> None:
    page, log = _open(browser, f"{server}/map", PHONE)
    page.wait_for_function("() => Tsunagari.ready.then(() => true)")
    boundary = [u for u in log.requests if "/collections/municipalities/items" in u]
    assert len(boundary) == 1, log.requests
    assert "simplify=" in boundary[0] and "properties=code,name" in boundary[0]
    body = page.request.get(boundary[0]).json()
    assert body["numberReturned"] == 63
    assert all(set(f["properties"]) == {"code", "name"} for f in body["features"])
    assert page.eval_on_selector_all("path.tg-outline", "els => els.length") >= 63
    assert log.errors == []


def test_all_published_points_are_drawn_and_hidden_ones_are_absent(
    browser: Any, server: str, layers: LayerSet
) -> None:
    page, _ = _open(browser, f"{server}/map")
    ids = page.evaluate("Tsunagari.cluster.getLayers().map(m => m.feature.properties.id)")
    assert sorted(ids) == sorted(_mapped(layers)["id"].astype(str))
    assert "zz-hidden-1" not in ids and "zz-unpub-1" not in ids
    assert page.inner_text("#tg-count") == str(len(ids))


def test_theme_filter_shows_exactly_the_activities_of_that_theme(
    browser: Any, server: str, layers: LayerSet
) -> None:
    mapped = _mapped(layers)
    expected = int(mapped["themes"].map(lambda t: "hikikomori" in t).sum())
    assert 0 < expected < len(mapped)
    page, _ = _open(browser, f"{server}/map")
    page.select_option("#tg-theme", "hikikomori")
    assert page.inner_text("#tg-count") == str(expected)
    assert page.evaluate("Tsunagari.visibleCount()") == expected
    page.select_option("#tg-theme", "")
    assert page.evaluate("Tsunagari.visibleCount()") == len(mapped)


def test_popup_of_a_town_level_activity_shows_its_text_and_the_privacy_note(
    browser: Any, server: str, layers: LayerSet
) -> None:
    town_id = public_id_of("zz-town-1")
    row = layers.frames["activities"].set_index("id").loc[town_id]
    page, _ = _open(browser, f"{server}/map")
    page.wait_for_function("() => Tsunagari.ready.then(() => true)")
    position = page.evaluate(f"() => Tsunagari.showActivity('{town_id}')")
    popup = page.wait_for_selector(".leaflet-popup-content")
    text = popup.inner_text()
    assert "町字テスト活動" in text
    assert str(row["organization_name"]) in text
    assert "町字（大字・町丁目）の代表点" in text
    assert (position["lng"], position["lat"]) == pytest.approx(TOWN_POINT, abs=1e-6)
    screenshot(page, "map_popup")


def _next_second_saturdays(n: int) -> list[str]:
    """The next ``n`` 第2土曜 from today in Japan, as the popup writes them."""
    from tsunagari_geo.text import JST

    today = datetime.now(JST).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    days = rrule(MONTHLY, byweekday=SA(2), dtstart=today, count=n)
    return [f"{d.month}月{d.day}日({'月火水木金土日'[d.weekday()]}) 10:00–12:00" for d in days]


def test_a_popup_on_a_phone_has_tap_to_call_and_the_next_dates(browser: Any, server: str) -> None:
    page, log = _open(browser, f"{server}/map", PHONE)
    page.wait_for_function("() => Tsunagari.ready.then(() => true)")
    page.evaluate("() => Tsunagari.showActivity('" + public_id_of("zz-muni-1") + "')")
    call = page.wait_for_selector(".leaflet-popup-content a[href^='tel:']")
    assert call.get_attribute("href") == "tel:" + PUBLIC_PHONE.replace("-", "")
    box = call.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44, box
    text = page.inner_text(".leaflet-popup-content")
    assert PUBLIC_PHONE in text
    dates = page.locator(".leaflet-popup-content .tg-dates li").all_inner_texts()
    assert dates == _next_second_saturdays(3)
    assert "13〜18歳" in text and "ネパール語" in text
    screenshot(page, "map_popup_contact_phone")
    assert log.errors == []


def test_a_contact_its_member_did_not_make_public_is_not_on_the_map(
    browser: Any, server: str
) -> None:
    page, _ = _open(browser, f"{server}/map")
    page.wait_for_function("() => Tsunagari.ready.then(() => true)")
    page.evaluate("() => Tsunagari.showActivity('" + public_id_of("zz-town-1") + "')")
    popup = page.wait_for_selector(".leaflet-popup-content")
    assert popup.query_selector("a[href^='tel:'], a[href^='mailto:']") is None
    html = page.content()
    assert SECRET_PHONE not in html and SECRET_CONTACT not in html


def _mapped_ids(server: str, **params: Any) -> set[str]:
    body = httpx.get(
        f"{server}/collections/activities/items", params={"limit": 10000, **params}
    ).json()
    return {f["id"] for f in body["features"] if f["geometry"]}


def test_the_day_age_and_language_filters_show_what_the_api_answers(
    browser: Any, server: str
) -> None:
    page, log = _open(browser, f"{server}/map")
    page.wait_for_function("() => Tsunagari.ready.then(() => true)")

    def shown() -> set[str]:
        return set(
            page.evaluate("() => Tsunagari.cluster.getLayers().map(m => m.feature.properties.id)")
        )

    # A Saturday a week or two ahead: weekly and monthly rules both meet on some of them.
    first = date.fromisoformat(page.evaluate("() => Tsunagari.calendar.start"))
    ahead = (first + timedelta(days=k) for k in range(7, 14))
    day = next(d for d in ahead if d.weekday() == 5).isoformat()
    page.fill("#tg-open-on", day)
    page.dispatch_event("#tg-open-on", "change")
    expected = _mapped_ids(server, open_on=day)
    assert expected and shown() == expected
    page.fill("#tg-age", "15")
    assert shown() == expected & _mapped_ids(server, age=15)
    page.fill("#tg-open-on", "")
    page.dispatch_event("#tg-open-on", "change")
    page.select_option("#tg-language", "en")
    assert shown() == _mapped_ids(server, age=15, language="en")
    assert page.inner_text("#tg-count") == str(len(shown()))
    assert log.errors == []


def test_address_search_moves_the_map_and_lists_nearby_activities(
    browser: Any, server: str
) -> None:
    page, log = _open(browser, f"{server}/map")
    page.fill("#tg-address", "さいたま市浦和区常盤六丁目")
    page.click("#tg-search button[type=submit]")
    page.wait_for_function("() => !document.getElementById('tg-nearby-section').hidden")
    point = page.evaluate("Tsunagari.searchPoint")
    assert (point["lng"], point["lat"]) == pytest.approx(TOWN_POINT, abs=0.002)
    assert_visible_beside_the_panel(page, point)
    assert page.evaluate("Tsunagari.map.getZoom()") >= 14
    assert "町字テスト活動" in page.inner_text("#tg-nearby")
    screenshot(page, "map_search")
    page.get_by_role("button", name="町字テスト活動").first.click()
    popup = page.wait_for_selector(".leaflet-popup-content", timeout=15_000)
    assert "町字テスト活動" in popup.inner_text()
    assert log.errors == []


def test_a_misspelt_address_offers_the_corrected_one_which_searches_again(
    browser: Any, server: str
) -> None:
    page, log = _open(browser, f"{server}/map", PHONE)
    page.click("#tg-panel-toggle")
    page.fill("#tg-address", "さいたま市浦和区常磐6丁目")  # 磐 for 盤: one IME slip
    page.click("#tg-search button[type=submit]")
    suggestion = page.wait_for_selector(".tg-suggestion", timeout=15_000)
    assert suggestion.inner_text() == "さいたま市浦和区常盤6丁目"
    assert "もしかして" in page.inner_text("#tg-search-suggestions")
    # How far the address was read, in words: the /geocode status_label, never its code.
    status = page.inner_text("#tg-search-status")
    assert "市区町村まで" in status and "partial" not in status
    assert suggestion.is_visible()
    box = suggestion.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    screenshot(page, "map_search_suggestion_offered")
    suggestion.click()
    page.wait_for_function(
        "() => document.getElementById('tg-search-status').textContent.includes('常盤六丁目')"
    )
    point = page.evaluate("Tsunagari.searchPoint")
    assert (point["lng"], point["lat"]) == pytest.approx(TOWN_POINT, abs=0.002)
    assert page.query_selector(".tg-suggestion") is None  # the hint goes once it is used
    screenshot(page, "map_search_suggestion")
    assert log.errors == []


def test_consultation_windows_filter_by_circumstance_with_tap_to_call(
    browser: Any, server: str, layers: LayerSet
) -> None:
    consultations = layers.frames["consultations"]
    expected = int(consultations["circumstances"].map(lambda c: "loneliness" in c).sum())
    page, _ = _open(browser, f"{server}/map")
    page.click("#tg-consultations-box summary")
    page.select_option("#tg-c-circumstance", "loneliness")
    assert page.inner_text("#tg-c-count") == str(expected)
    phones = consultations["phone"].dropna().astype(str)
    if expected and len(phones):
        assert page.locator("#tg-consultations a[href^='tel:']").count() > 0


def test_good_practices_are_listed_and_can_be_shown_on_the_map(
    browser: Any, server: str, layers: LayerSet
) -> None:
    practices = layers.frames["good_practices"]
    page, log = _open(browser, f"{server}/map")
    page.wait_for_function("() => Tsunagari.ready.then(() => true)")
    listed = page.text_content("#tg-practices") or ""
    assert all(str(title) in listed for title in practices["title"])
    page.check("#tg-layer-practices")
    assert page.locator(".tg-practice").count() == int(practices.geometry.notna().sum())
    assert log.errors == []


def test_dashboard_switches_to_town_reach_with_its_own_legend(browser: Any, server: str) -> None:
    page, _ = _open(browser, f"{server}/dashboard")
    before = page.eval_on_selector_all("path.tg-area", "ps => ps.map(p => p.getAttribute('fill'))")
    page.select_option("#tg-metric", "reach_1km")
    assert "町字到達率（1km以内・全体）" in page.inner_text("#tg-map-legend")
    after = page.eval_on_selector_all("path.tg-area", "ps => ps.map(p => p.getAttribute('fill'))")
    assert len(after) == 63 and after != before


def test_dashboard_draws_63_municipalities_and_72_units(browser: Any, server: str) -> None:
    page, log = _open(browser, f"{server}/dashboard")
    assert page.locator("path.tg-area").count() == 63
    assert page.inner_text("#tg-rows") == "63"
    screenshot(page, "dashboard_desktop")
    page.check("input[name='tg-level'][value='units']")
    page.wait_for_function("() => document.body.dataset.areas === '72'")
    assert page.locator("path.tg-area").count() == 72
    assert log.errors == []
    assert log.origins() == {server}


def test_dashboard_table_sorts_by_gap_score(browser: Any, server: str, layers: LayerSet) -> None:
    municipalities = layers.frames["municipalities"]
    page, _ = _open(browser, f"{server}/dashboard")
    header = page.locator("#tg-table thead button", has_text="ギャップスコア")
    header.click()
    header.click()
    assert (
        page.get_attribute("#tg-table thead th:has(button:text('ギャップスコア'))", "aria-sort")
        == "descending"
    )
    column = [b.inner_text() for b in page.locator("#tg-table thead th").all()].index(
        "ギャップスコア"
    )
    cells = page.locator(f"#tg-table tbody tr td:nth-child({column + 1})").all_inner_texts()
    scores = [float(c) for c in cells]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(municipalities["gap_score"].max(), abs=0.01)


def test_dashboard_table_filters_by_name_and_by_gap(
    browser: Any, server: str, layers: LayerSet
) -> None:
    municipalities = layers.frames["municipalities"]
    page, _ = _open(browser, f"{server}/dashboard")
    page.fill("#tg-filter", "秩父")
    expected = int(municipalities["name"].str.contains("秩父").sum())
    assert page.inner_text("#tg-rows") == str(expected)
    page.fill("#tg-filter", "")
    page.check("#tg-flagged")
    flags = [c for c in municipalities.columns if c.startswith("flag_") and c != "flag_count"]
    flagged = int(municipalities[flags].astype(bool).any(axis=1).sum())
    assert page.inner_text("#tg-rows") == str(flagged)


def test_the_english_dashboard_names_and_filters_areas_in_english(
    browser: Any, server: str
) -> None:
    page, log = _open(browser, f"{server}/dashboard?lang=en")
    names = page.locator("#tg-table tbody th[scope=row]").all_inner_texts()
    assert "Kawagoe" in names and "Higashichichibu" in names
    # Typed in any case, matched against the English names (秩父市 and 東秩父村).
    page.fill("#tg-filter", "chichibu")
    assert page.inner_text("#tg-rows") == "2"
    assert log.errors == []


def test_dashboard_on_a_phone_and_the_municipality_page(browser: Any, server: str) -> None:
    page, log = _open(browser, f"{server}/dashboard", PHONE)
    screenshot(page, "dashboard_phone")
    page.goto(f"{server}/dashboard/11207")
    assert page.locator("#tg-matrix tbody tr").count() == 13
    screenshot(page, "municipality_desktop")
    assert log.errors == []
    assert log.csp == []


# --- accessibility (JIS X 8341-3:2016 AA = WCAG 2.x AA) and phones --------------------------

PHONE_360 = {"width": 360, "height": 740}


def _open_checked(browser: Any, url: str, viewport: dict[str, int]) -> Any:
    page, log = open_checked_page(browser, viewport)
    page.goto(url)
    page.wait_for_function("() => document.body.dataset.ready", timeout=30_000)
    if "/map" in url:
        page.wait_for_function("() => Tsunagari.ready.then(() => true)")
    return page, log


def _open_every_panel(page: Any) -> None:
    """The map's panel, its folded sections and the list view open, as a resident would."""
    if page.is_hidden("#tg-panel"):
        page.click("#tg-panel-toggle")
    page.evaluate(
        """() => {
            document.querySelectorAll('.tg-section > details').forEach(d => { d.open = true; });
            const first = document.querySelector('#tg-list details');
            if (first) first.open = true;
        }"""
    )


def _record(name: str, result: dict[str, Any]) -> None:
    """Keep a measurement of an accessibility check beside the screenshots (CI artifacts)."""
    folder = ARTIFACTS / "a11y"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


#: Every page in Japanese, the public map in all three languages and the planners' pages in
#: English (their やさしい日本語 is the Japanese text).
A11Y_PAGES = [
    "/map",
    "/map?lang=en",
    "/map?lang=easy",
    "/dashboard",
    "/dashboard?lang=en",
    "/dashboard/11201",
    "/dashboard/11201?lang=en",
]


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("path", A11Y_PAGES)
def test_pages_have_no_aa_violations_with_panels_open(
    browser: Any, server: str, path: str, size: str
) -> None:
    page, log = _open_checked(browser, f"{server}{path}", PHONE if size == "phone" else DESKTOP)
    if path.startswith("/map"):
        _open_every_panel(page)
        # The popup with the most in it: tap to call, 次の開催日, ages, languages, a note.
        page.evaluate("() => Tsunagari.showActivity('" + public_id_of("zz-muni-1") + "')")
        page.wait_for_selector(".leaflet-popup-content a[href^='tel:']")
    violations = axe_violations(page)
    _record(f"axe-{_slug(path)}-{size}", {"page": path, "size": size, "violations": violations})
    assert violations == []
    assert log.errors == []


@pytest.mark.parametrize("lang", ["ja", "en", "easy"])
@pytest.mark.parametrize("path", ["/map", "/dashboard", "/dashboard/11201"])
def test_no_page_is_wider_than_a_360px_phone(
    browser: Any, server: str, path: str, lang: str
) -> None:
    page, _ = _open_checked(browser, f"{server}{path}?lang={lang}", PHONE_360)
    if path == "/map":
        _open_every_panel(page)
    width = page_width(page)
    _record(f"width-{_slug(path)}-{lang}", {"page": path, "lang": lang, "width_px": width})
    assert width <= PHONE_360["width"]
    if path == "/dashboard":  # the table scrolls inside its own box, which a keyboard can reach
        box = page.locator(".tg-table-scroll")
        assert box.evaluate("b => b.scrollWidth > b.clientWidth")
        assert box.get_attribute("tabindex") == "0"
        assert page.locator("#tg-metric").bounding_box()["x"] + 10 < PHONE_360["width"]


def test_touch_targets_on_a_phone_are_at_least_44px(browser: Any, server: str) -> None:
    page, _ = _open_checked(browser, f"{server}/map", PHONE)
    assert small_targets(page, ".tg-header a, .tg-header button, .leaflet-control-zoom a") == []
    assert small_targets(page, ".leaflet-marker-icon") == []
    _open_every_panel(page)
    controls = (
        "#tg-panel button, #tg-panel select, #tg-panel input[type=search], "
        "#tg-panel input[type=date], #tg-panel input[type=number], #tg-panel summary, .tg-check"
    )
    assert small_targets(page, controls) == []
    page.goto(f"{server}/dashboard")
    page.wait_for_function("() => document.body.dataset.ready", timeout=30_000)
    assert (
        small_targets(page, ".tg-header a, .tg-controls select, .tg-levels label, .tg-downloads a")
        == []
    )


def test_the_legend_names_one_letter_per_theme_and_a_filter_shows_its_own(
    browser: Any, server: str
) -> None:
    page, _ = _open_checked(browser, f"{server}/map", DESKTOP)
    legend = page.locator("#tg-marker-legend li").all_inner_texts()
    letters = [item.split(" ")[0] for item in legend]
    assert len(legend) == 13 and len(set(letters)) == 13
    assert any(item.endswith("育 子育て") for item in legend)
    page.select_option("#tg-theme", "childcare")
    shown = page.evaluate(
        "() => Tsunagari.cluster.getLayers().map(m => m.options.icon.options.html)"
    )
    assert shown and all(">育<" in html for html in shown)


def test_markers_and_clusters_work_from_the_keyboard(browser: Any, server: str) -> None:
    page, _ = _open_checked(browser, f"{server}/map", DESKTOP)
    cluster = page.locator(".marker-cluster").first
    assert cluster.get_attribute("tabindex") == "0"
    before = page.evaluate("Tsunagari.map.getZoom()")
    cluster.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => Tsunagari.map.getZoom() > {before}")
    page.evaluate("() => Tsunagari.showActivity('" + public_id_of("zz-town-1") + "')")
    page.keyboard.press("Escape")
    marker = page.locator(".tg-marker[tabindex='0']").first
    marker.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".leaflet-popup-content")


def test_the_list_view_is_the_map_in_text_in_the_order_of_nearby(browser: Any, server: str) -> None:
    page, log = _open_checked(browser, f"{server}/map", DESKTOP)
    page.click("#tg-list-box summary")
    assert page.locator("#tg-list > li").count() == int(page.inner_text("#tg-count"))
    page.select_option("#tg-theme", "hikikomori")
    assert page.locator("#tg-list > li").count() == int(page.inner_text("#tg-count"))
    page.fill("#tg-address", "さいたま市浦和区常盤六丁目")
    page.click("#tg-search button[type=submit]")
    page.wait_for_function("() => !document.getElementById('tg-nearby-section').hidden")
    nearby = page.locator("#tg-nearby > li > button").all_inner_texts()
    listed = page.locator("#tg-list > li > button").all_inner_texts()
    assert nearby and listed[: len(nearby)] == nearby
    assert "から近い順" in page.inner_text("#tg-list-order")
    page.locator("#tg-list > li details summary").first.click()
    entry = page.wait_for_selector("#tg-list > li details .tg-popup")  # filled when opened
    assert "団体" in entry.inner_text()
    assert log.errors == []


def test_a_failed_search_leaves_no_earlier_point_or_list(browser: Any, server: str) -> None:
    page, _ = _open_checked(browser, f"{server}/map", DESKTOP)
    page.fill("#tg-address", "さいたま市浦和区常盤六丁目")
    page.click("#tg-search button[type=submit]")
    page.wait_for_function("() => !document.getElementById('tg-nearby-section').hidden")
    page.fill("#tg-address", "ぜんぜんない場所ですよ")
    page.click("#tg-search button[type=submit]")
    page.wait_for_function(
        "() => document.getElementById('tg-search-status').textContent.includes('見つかりません')"
    )
    assert page.is_hidden("#tg-nearby-section")
    assert page.locator("#tg-nearby > li").count() == 0
    assert page.evaluate("Tsunagari.searchPoint") is None
    assert page.locator("path.leaflet-interactive[stroke='#d00']").count() == 0


def test_nearby_says_when_a_municipality_filter_limits_it(browser: Any, server: str) -> None:
    page, _ = _open_checked(browser, f"{server}/map", DESKTOP)
    page.select_option("#tg-muni", "11201")
    page.fill("#tg-address", "さいたま市浦和区常盤六丁目")
    page.click("#tg-search button[type=submit]")
    page.wait_for_function("() => !document.getElementById('tg-nearby-section').hidden")
    assert "絞り込み中の川越市の活動だけ" in page.inner_text("#tg-nearby-origin")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_popups_scale_bar_and_legend_stay_clear_of_the_controls(
    browser: Any, server: str, size: str
) -> None:
    viewport = PHONE if size == "phone" else DESKTOP
    page, _ = _open_checked(browser, f"{server}/map", viewport)
    page.evaluate("() => Tsunagari.showActivity('" + public_id_of("zz-town-1") + "')")
    page.wait_for_selector(".leaflet-popup-content")
    page.wait_for_timeout(300)
    screenshot(page, f"map_popup_{size}")
    boxes = page.evaluate(
        """() => {
            const r = s => [...document.querySelectorAll(s)].filter(e => e.getClientRects().length)
                .map(e => { const b = e.getBoundingClientRect();
                            return {s, l: b.left, t: b.top, r: b.right, b: b.bottom}; });
            return {popup: r('.leaflet-popup-content-wrapper'),
                    others: [...r('#tg-panel:not(.tg-collapsed)'), ...r('.leaflet-control-zoom'),
                             ...r('.leaflet-control-scale'), ...r('.leaflet-control-attribution'),
                             ...r('#tg-marker-legend')]};
        }"""
    )

    def overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
        return a["l"] < b["r"] and b["l"] < a["r"] and a["t"] < b["b"] and b["t"] < a["b"]

    assert page.is_visible("#tg-marker-legend summary")
    popup = boxes["popup"][0]
    assert [o for o in boxes["others"] if overlap(popup, o)] == [], popup
    others = boxes["others"]
    clashes = [
        (a["s"], b["s"]) for i, a in enumerate(others) for b in others[i + 1 :] if overlap(a, b)
    ]
    assert clashes == []


def test_the_dashboard_says_when_a_rank_is_shared(
    browser: Any, server: str, layers: LayerSet
) -> None:
    ranks = layers.frames["municipalities"]["gap_rank"].dropna().astype(int)
    shared = ranks.value_counts()
    shared = shared[shared > 1]
    page, _ = _open_checked(browser, f"{server}/dashboard", DESKTOP)
    column = [b.inner_text() for b in page.locator("#tg-table thead th").all()].index("順位")
    cells = page.locator(f"#tg-table tbody tr td:nth-child({column + 1})").all_inner_texts()
    assert len(shared) > 0
    rank, count = int(shared.index[0]), int(shared.iloc[0])
    assert f"{rank}位（同順位 {count}）" in cells


# --- small areas and the plan on the dashboard -------------------------------------------------


@pytest.fixture(scope="module")
def planner_server(built: Built) -> Iterator[str]:
    """The service of a deployment whose dashboard is not public: planners' tables on."""
    ensure_vendored()
    port = free_port()
    env = serve_env(built.settings, BASEMAP="blank", DASHBOARD_SUGGESTIONS="true")
    with running(serve_command(port), f"http://127.0.0.1:{port}/healthz", env) as url:
        yield url.removesuffix("/healthz")


def _show_small_areas(page: Any) -> None:
    page.check("#tg-small-area-toggle")
    page.wait_for_function("() => document.body.dataset.smallAreas === 'shown'", timeout=30_000)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_dashboard_small_area_map_draws_every_populated_small_area_accessibly(
    browser: Any, server: str, layers: LayerSet, size: str
) -> None:
    page, log = _open_checked(browser, f"{server}/dashboard", PHONE if size == "phone" else DESKTOP)
    _show_small_areas(page)
    populated = int((layers.frames["small_areas"]["population"] > 0).sum())
    assert page.evaluate("() => document.body.dataset.smallAreaPoints") == str(populated)
    assert page.is_visible("#tg-small-area-legend")
    screenshot(page, f"dashboard_small_areas_{size}")
    assert "国勢調査2020年 小地域人口" in page.inner_text(".tg-small-areas")
    assert axe_violations(page) == []
    assert log.errors == [] and log.csp == []
    assert page.evaluate("() => document.body.dataset.planPoints") == "0"  # public dashboard


def test_dashboard_shows_the_plan_where_planners_tables_are_on(
    browser: Any, planner_server: str, built: Built
) -> None:
    plan = LayerSet.open(built.settings.planner_layers, "planner").frames["plan"]
    page, log = _open_checked(browser, f"{planner_server}/dashboard", DESKTOP)
    assert page.locator(".tg-plan-marker").count() == len(plan) == 5
    first = plan.sort_values("order").iloc[0]
    title = page.locator(".tg-plan-marker").first.get_attribute("title")
    assert f"新たに {int(first['newly_reached']):,}人" in title
    assert page.locator("#tg-plan-table tbody tr").count() == 5
    _show_small_areas(page)
    screenshot(page, "dashboard_plan")
    assert axe_violations(page) == []
    assert log.errors == []
    phone, _ = _open_checked(browser, f"{planner_server}/dashboard", PHONE_360)
    assert page_width(phone) <= PHONE_360["width"]
    assert axe_violations(phone) == []


# --- languages ------------------------------------------------------------------------------


def test_the_language_switch_reloads_in_english_and_the_cookie_keeps_it(
    browser: Any, server: str
) -> None:
    page, log = _open(browser, f"{server}/map")  # a Japanese browser (Accept-Language: ja-JP)
    assert page.get_attribute("html", "lang") == "ja"
    with page.expect_navigation():
        page.click(".tg-languages a[data-lang=en]")
    page.wait_for_function("() => document.body.dataset.ready", timeout=30_000)
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text(".tg-header h1") == "Tsunagari Map"
    assert page.get_attribute(".tg-languages a[aria-current]", "data-lang") == "en"
    assert page.inner_text("#tg-panel-toggle") in ("Search", "Show map")
    # The next page, opened without ?lang=, keeps English through the switch's cookie.
    page.click(".tg-header nav a")  # ダッシュボード / Dashboard
    page.wait_for_function("() => document.body.dataset.ready", timeout=30_000)
    assert page.url.endswith("/dashboard")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text(".tg-header h1") == "Coverage dashboard"
    assert page.locator("#tg-table thead button").first.inner_text() == "Name"
    assert log.errors == []


#: What the popup of the municipality-level test activity (a public phone, a 第2土曜 rule,
#: ages 13–18) says in each language.
POPUP_WORDS = {
    "ja": ("団体", "次の開催日", "対象年齢", "13〜18歳"),
    "en": ("Organisation", "Next dates", "Ages", "Ages 13–18"),
    "easy": ("だんたい", "つぎに ある 日", "13さい〜18さい"),
}


@pytest.mark.parametrize("lang", ["ja", "en", "easy"])
def test_a_phone_shows_the_popup_in_its_language_and_keeps_a_screenshot(
    browser: Any, server: str, lang: str
) -> None:
    page, log = _open(browser, f"{server}/map?lang={lang}", PHONE)
    page.wait_for_function("() => Tsunagari.ready.then(() => true)")
    page.evaluate("() => Tsunagari.showActivity('" + public_id_of("zz-muni-1") + "')")
    popup = page.wait_for_selector(".leaflet-popup-content")
    page.wait_for_selector(".leaflet-popup-content a[href^='tel:']")
    page.wait_for_timeout(400)  # the popup's pan to stay clear of the controls
    text = popup.inner_text()
    assert "市町村テスト活動" in text  # member text stays as entered
    assert all(word in text for word in POPUP_WORDS[lang])
    box = popup.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    path = ARTIFACTS / "screenshots" / f"map-phone-{lang}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    assert log.errors == []


def _focused(page: Any) -> str:
    return str(
        page.evaluate(
            "() => (document.activeElement.className || '') + ' ' + document.activeElement.textContent.trim()"
        )
    )


def test_a_keyboard_walks_the_list_view_into_a_popup_and_back(browser: Any, server: str) -> None:
    page, log = _open_checked(browser, f"{server}/map?lang=en", DESKTOP)
    page.focus("#tg-list-box summary")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.getElementById('tg-list-box').open")
    page.keyboard.press("Tab")
    first = page.locator("#tg-list > li > button").first
    assert page.evaluate(
        "() => document.activeElement === document.querySelector('#tg-list > li > button')"
    )
    name = first.inner_text()
    assert first.get_attribute("title") == "Show on the map"
    # Enter shows the activity on the map: its popup opens and takes the focus, heading first.
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.activeElement.matches('.leaflet-popup .tg-popup h3')", timeout=15_000
    )
    assert _focused(page).endswith(name)
    # Escape closes it and the focus is back on the entry that opened it.
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('.leaflet-popup')")
    page.wait_for_function(
        "() => document.activeElement === document.querySelector('#tg-list > li > button')"
    )
    # The next Tab reaches the entry's details, which open in place with the same text.
    page.keyboard.press("Tab")
    assert _focused(page).endswith("Details")
    page.keyboard.press("Enter")
    entry = page.wait_for_selector("#tg-list > li:first-child details .tg-popup")
    assert "Organisation" in entry.inner_text()
    assert log.errors == []


def test_a_marker_opened_from_the_keyboard_gives_the_focus_back_on_escape(
    browser: Any, server: str
) -> None:
    page, _ = _open_checked(browser, f"{server}/map", DESKTOP)
    page.evaluate("() => Tsunagari.showActivity('" + public_id_of("zz-town-1") + "')")
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('.leaflet-popup')")
    marker = page.locator(".tg-marker[tabindex='0']").first
    marker.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.matches('.leaflet-popup .tg-popup h3')")
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('.leaflet-popup')")
    assert page.evaluate("() => document.activeElement.classList.contains('tg-marker')")


def test_search_results_are_announced_in_the_live_regions(browser: Any, server: str) -> None:
    page, _ = _open_checked(browser, f"{server}/map?lang=en", DESKTOP)
    status = page.locator("#tg-search-status")
    assert status.get_attribute("aria-live") == "polite"
    assert page.locator("#tg-list-order").get_attribute("aria-live") == "polite"
    page.fill("#tg-address", "さいたま市浦和区常盤六丁目")
    page.press("#tg-address", "Enter")
    page.wait_for_function(
        "() => document.getElementById('tg-search-status').textContent.startsWith('Showing ')"
    )
    assert "常盤" in status.inner_text()
    assert page.text_content("#tg-list-order").startswith("Nearest to ")  # in the folded list
    assert page.inner_text("#tg-nearby-origin").startswith("Nearest to ")
    page.fill("#tg-address", "ぜんぜんない場所ですよ")
    page.press("#tg-address", "Enter")
    page.wait_for_function(
        "() => document.getElementById('tg-search-status').textContent.startsWith('No place found')"
    )
    assert page.text_content("#tg-list-order").startswith("By municipality and name")


def test_an_english_browser_gets_the_english_map(browser: Any, server: str) -> None:
    page, log = open_page(browser, DESKTOP, locale="en-US")
    page.goto(f"{server}/map")
    page.wait_for_function("() => Tsunagari.ready.then(() => true)")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("#tg-count").isdigit()
    assert page.inner_text(".tg-count").startswith("Activities shown: ")
    assert log.errors == []


def test_a_search_short_of_a_town_says_so_in_the_pages_language(browser: Any, server: str) -> None:
    """The geocoder's status words (geocode/labels.py) reach the page through the catalogue."""
    page, log = _open_checked(browser, f"{server}/map?lang=en", DESKTOP)
    page.fill("#tg-address", "川越市")
    page.press("#tg-address", "Enter")
    page.wait_for_function(
        "() => document.getElementById('tg-search-status').textContent.startsWith('Showing ')"
    )
    text = page.inner_text("#tg-search-status")
    assert "Municipality only" in text and "市区町村まで" not in text
    assert log.errors == []
