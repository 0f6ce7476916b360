"""The page builders, the page router and the vendored assets, without a browser.

The pages are checked as HTML: every script, stylesheet and image they name is served by the
app itself; the data comes by URL, not inlined; the tables download with their attribution.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import folium
import numpy as np
import openpyxl
import pytest

from test_layers_fixtures import SECRET_MARKERS, Built, build_deployment
from tsunagari_geo.analysis.classes import class_breaks
from tsunagari_geo.layers.published import LayerSet
from tsunagari_geo.maps.data import SiteData, dashboard_metrics, vocabulary
from tsunagari_geo.maps.pages import (
    api_links,
    build_dashboard_page,
    build_map_page,
    static_links,
)
from tsunagari_geo.maps.settings import GSI_PALE_URL, MapSettings
from tsunagari_geo.maps.vendor import PACKAGES, VENDOR_DIR, VENDOR_SOURCE, ensure_vendored
from tsunagari_geo.reference.attribution import GSI_TILES, REFERENCE_ATTRIBUTION

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tsunagari_api.factory import create_app
from tsunagari_geo.region import load_region
from tsunagari_geo.text import japanese_datetime

SAITAMA = load_region("saitama")

_URL_ATTRS = re.compile(r'<(?:script|link|img)\b[^>]*?\b(?:src|href)="([^"]+)"')


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Built:
    return build_deployment(tmp_path_factory.mktemp("maps"), store_path)


@pytest.fixture(scope="module")
def data(built: Built) -> SiteData:
    return SiteData.open(built.settings.layers, built.settings.store, built.settings.planner_layers)


@pytest.fixture(scope="module")
def client(built: Built, monkeypatch_module: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch_module.setenv("TSUNAGARI_BASEMAP", "blank")
    ensure_vendored()
    with TestClient(create_app(built.settings)) as c:
        yield c


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _resource_urls(html: str) -> list[str]:
    return _URL_ATTRS.findall(html)


# --- pages -------------------------------------------------------------------------------------


def test_map_page_loads_every_resource_from_its_own_origin() -> None:
    html = build_map_page(
        api_links(), MapSettings(basemap="blank"), REFERENCE_ATTRIBUTION, region=SAITAMA
    )
    urls = _resource_urls(html)
    assert "/assets/vendor/leaflet/leaflet.js" in urls
    assert "/assets/vendor/leaflet.markercluster/leaflet.markercluster.js" in urls
    assert all(u.startswith(("/", "data:")) for u in urls), urls
    assert "cdn" not in html.lower() and "https://" not in html


def test_folium_class_defaults_are_left_alone() -> None:
    build_map_page(api_links(), MapSettings(basemap="blank"), REFERENCE_ATTRIBUTION, region=SAITAMA)
    assert dict(folium.Map.default_js)["leaflet"].startswith("https://")


def test_gsi_basemap_is_a_setting_with_its_attribution() -> None:
    gsi = build_map_page(
        api_links(), MapSettings(basemap="gsi"), REFERENCE_ATTRIBUTION, region=SAITAMA
    )
    blank = build_map_page(
        api_links(), MapSettings(basemap="blank"), REFERENCE_ATTRIBUTION, region=SAITAMA
    )
    assert GSI_PALE_URL in gsi and "地理院タイル" in gsi
    assert "cyberjapandata" not in blank and GSI_TILES not in blank


def test_map_page_is_japanese_phone_ready_and_names_every_source() -> None:
    html = build_map_page(
        api_links(), MapSettings(basemap="blank"), REFERENCE_ATTRIBUTION, region=SAITAMA
    )
    assert '<html lang="ja">' in html
    assert 'name="viewport"' in html
    for line in REFERENCE_ATTRIBUTION:
        assert line in html


def test_map_page_fetches_its_data_instead_of_inlining_it(data: SiteData) -> None:
    html = build_map_page(
        api_links(), MapSettings(basemap="blank"), data.attribution, region=SAITAMA
    )
    assert len(html.encode()) < 60_000
    assert "/collections/activities/items" in html
    names = data.layers["activities"]["name"].astype(str)
    assert not any(name in html for name in names)


def test_static_links_are_relative_to_the_page_folder() -> None:
    top, below = static_links(0), static_links(1)
    assert top.activities == "data/activities.geojson" and top.geocode is None
    assert below.assets == "../assets" and below.municipality_page == "../dashboard/{code}.html"


def test_dashboard_page_carries_class_breaks_not_the_polygons(data: SiteData) -> None:
    html = build_dashboard_page(api_links(), MapSettings(basemap="blank"), data)
    assert len(html.encode()) < 80_000
    config = json.loads(re.search(r"Tsunagari\.startDashboard\(\w+, (.*)\);", html)[1])  # type: ignore[index]
    gap = config["metrics"]["municipalities"][0]
    assert gap["column"] == "gap_score"
    assert gap["breaks"] == pytest.approx(data.gap_breaks("municipalities"), abs=1e-3)


# --- data --------------------------------------------------------------------------------------


def test_metrics_offer_density_per_life_stage_and_town_reach(data: SiteData) -> None:
    columns = [m.column for m in data.metrics("municipalities")]
    stages = list(vocabulary(SAITAMA)["life_stages"])
    assert columns[:2] == ["gap_score", "inperson_per10k"]
    assert all(f"stage_{s}_per10k" in columns for s in stages)
    assert "reach_1km" in columns and "reach_2km" in columns


def test_class_breaks_are_increasing_and_cover_the_maximum() -> None:
    values = [float(v) for v in range(100)]
    import numpy as np

    breaks = class_breaks(np.array(values), "Quantiles", 4)
    assert list(breaks) == sorted(breaks) and breaks[-1] == 99.0


def test_metrics_skip_columns_the_layer_lacks() -> None:
    import pandas as pd

    frame = pd.DataFrame({"gap_score": [1.0, 2.0, 3.0]})
    assert [m.column for m in dashboard_metrics(frame, vocabulary(SAITAMA))] == ["gap_score"]


def test_tables_have_one_row_per_area(data: SiteData) -> None:
    assert len(data.table("municipalities")) == 63
    assert len(data.table("units")) == 72
    assert {"コード", "名称", "ギャップスコア", "市町村が未加入"} <= set(
        data.table("units").columns
    )


def test_the_units_table_shows_the_ward_unknown_figure_of_saitama_city(data: SiteData) -> None:
    header = "区不明の対面の活動（市全体）"
    units = data.table("units").set_index("コード")
    assert header not in data.table("municipalities").columns
    wards = units.loc[units.index.str.startswith("111"), header]
    # One figure for the city, shown beside each of its wards; none outside it.
    assert wards.nunique() == 1
    assert (units.loc[~units.index.str.startswith("111"), header] == 0).all()
    city = data.table("municipalities").set_index("コード").loc["11100", "対面の活動"]
    assert units.loc[wards.index, "対面の活動"].sum() + wards.iloc[0] == city


def test_town_index_answers_every_town_with_its_ward(data: SiteData) -> None:
    index = data.town_index()
    units = index["units"]
    answered = {(units[a[0]][0], a[1]) for a in index["answers"] if len(a) == 4}
    towns = data.store.towns
    named = towns["town"].where(~towns["town"].str.startswith(("（", "(")), towns["koaza"])
    assert set(zip(towns["unit_code"].astype(str), named.astype(str), strict=True)) <= answered
    assert [u[1] for u in units if u[0] == "11107"] == ["さいたま市浦和区"]
    assert {u[0] for u in units} >= {"11100", "11107"} and len(units) == 73


def test_municipality_report_counts_published_activities_by_theme_and_stage(
    data: SiteData,
) -> None:
    report = data.municipality_report("11201")
    activities = data.layers["activities"]
    own = activities[activities["muni_code"] == "11201"]
    expected = sum(
        1
        for themes, stages in zip(own["themes"], own["life_stages"], strict=True)
        if "ibasho" in themes and "all_ages" in stages
    )
    assert report["matrix"]["counts"]["ibasho"]["all_ages"] == expected
    assert report["name"] == "川越市"
    assert all(n["municipality"] != "川越市" for n in report["neighbours"])
    distances = [n["distance_km"] for n in report["neighbours"]]
    assert distances == sorted(distances)


def test_unknown_municipality_raises_key_error(data: SiteData) -> None:
    with pytest.raises(KeyError):
        data.municipality_report("99999")


# --- the router --------------------------------------------------------------------------------


def test_service_serves_map_dashboard_and_municipality_pages(client: TestClient) -> None:
    for path in ("/map", "/dashboard", "/dashboard/11201"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert '<html lang="ja">' in response.text


def _first_suggestion(data: SiteData) -> tuple[str, str]:
    flagged = data.extras["suggestions"]
    first = flagged[flagged["level"] == "municipality"].iloc[0]
    return str(first["area_code"]), str(first["organization_name"])


def test_municipality_page_keeps_suggestions_off_by_default(
    client: TestClient, data: SiteData
) -> None:
    code, _ = _first_suggestion(data)
    body = client.get(f"/dashboard/{code}").text
    assert 'id="tg-matrix"' in body
    assert 'id="tg-suggestions"' not in body


def test_municipality_page_shows_suggestions_when_turned_on(
    built: Built, data: SiteData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TSUNAGARI_BASEMAP", "blank")
    monkeypatch.setenv("TSUNAGARI_DASHBOARD_SUGGESTIONS", "true")
    code, organization = _first_suggestion(data)
    with TestClient(create_app(built.settings)) as planner_client:
        body = planner_client.get(f"/dashboard/{code}").text
    assert 'id="tg-suggestions"' in body
    assert organization in body.split('id="tg-suggestions"', 1)[1]


def test_unknown_municipality_page_is_a_problem_404(client: TestClient) -> None:
    response = client.get("/dashboard/99999")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "99999" in response.json()["detail"]
    assert "63市町村の5桁コード、例: 11201" in response.json()["detail"]


def test_every_resource_of_the_pages_is_served(client: TestClient) -> None:
    for path in ("/map", "/dashboard", "/dashboard/11201"):
        for url in _resource_urls(client.get(path).text):
            if url.startswith("data:"):
                continue
            assert client.get(url).status_code == 200, url


def test_assets_refuse_paths_outside_the_static_folder(client: TestClient) -> None:
    assert client.get("/assets/../pages.py").status_code == 404
    assert client.get("/assets/%2e%2e/pages.py").status_code == 404
    assert client.get("/assets/maps/nothing.js").status_code == 404


def test_pages_stay_out_of_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api").json()["paths"]
    assert not any(p.startswith(("/map", "/dashboard", "/assets")) for p in paths)


def test_table_downloads_as_csv_with_63_rows(client: TestClient) -> None:
    response = client.get("/dashboard/table/municipalities.csv")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["コード", "名称"] and len(rows) == 64


def test_table_downloads_as_xlsx_with_attribution_sheet(client: TestClient) -> None:
    response = client.get("/dashboard/table/units.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book["data"].max_row == 73
    assert [r[0] for r in book["出典"].iter_rows(values_only=True)][
        : len(REFERENCE_ATTRIBUTION)
    ] == list(REFERENCE_ATTRIBUTION)


def test_table_rejects_unknown_levels_and_formats(client: TestClient) -> None:
    assert client.get("/dashboard/table/towns.csv").status_code in (400, 404)
    assert client.get("/dashboard/table/units.pdf").status_code in (400, 404)


def test_public_layers_read_by_the_pages_hold_no_hidden_row(built: Built) -> None:
    public = LayerSet.open(built.settings.layers, "public").frames["activities"]
    text = public.drop(columns="geometry").astype(str).to_csv()
    assert not any(marker in text for marker in SECRET_MARKERS)


# --- vendoring ---------------------------------------------------------------------------------


def test_vendored_files_match_the_pinned_versions_and_keep_their_licences() -> None:
    target = ensure_vendored()
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    lock = json.loads((VENDOR_SOURCE / "package-lock.json").read_text(encoding="utf-8"))
    for package in PACKAGES:
        assert manifest[package.name] == lock["packages"][f"node_modules/{package.name}"]["version"]
        assert (target / package.name / package.license_file).stat().st_size > 0
    assert target == VENDOR_DIR


def test_package_json_pins_exact_versions() -> None:
    pinned = json.loads((VENDOR_SOURCE / "package.json").read_text(encoding="utf-8"))
    for version in pinned["dependencies"].values():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), version


def test_a_request_on_the_old_data_after_a_reload_leaves_the_new_pages_alone() -> None:
    """Pages are kept per dataset version: a slow request that began before /admin/reload
    neither evicts the new generation's page nor stores its old page in its place."""
    from types import SimpleNamespace

    from tsunagari_api.routers.pages import _SiteCache

    cache = _SiteCache()
    old, new = SimpleNamespace(version="old"), SimpleNamespace(version="new")
    cache._data = {"old": object(), "new": object()}  # type: ignore[dict-item]
    assert cache.page(new, ("map",), lambda: "new page") == "new page"  # type: ignore[arg-type]
    assert cache.page(old, ("map",), lambda: "old page") == "old page"  # type: ignore[arg-type]
    assert cache.page(new, ("map",), lambda: "rebuilt") == "new page"  # type: ignore[arg-type]


# --- census denominators, reach in people and need (issue 13) -------------------------------


def test_per_10k_labels_name_their_denominator_and_census_year(data: SiteData) -> None:
    labels = {m.column: m.label for m in data.metrics("municipalities")}
    assert "分母: 15～64歳人口、2020年国勢調査" in labels["stage_working_age_per10k"]
    assert "15～39歳の区分なし" in labels["stage_youth_per10k"]


def test_the_public_layers_carry_reach_in_people_and_need(data: SiteData) -> None:
    for level in ("municipalities", "units"):
        frame = data.layer(level)
        for column in ("pop_reach_500m", "pop_reach_1km", "pop_reach_2km"):
            values = frame[column].dropna()
            assert len(values) == len(frame) and values.between(0, 1).all()
        assert (frame["pop_reach_500m"] <= frame["pop_reach_2km"]).all()
        assert frame["need_gap_score"].between(0, 100).all()
    columns = [m.column for m in data.metrics("units")]
    assert {"pop_reach_1km", "need_score", "need_gap_score", "older_alone_share"} <= set(columns)


def test_dashboard_explains_denominators_and_the_need_formula(data: SiteData) -> None:
    html = build_dashboard_page(api_links(), MapSettings(basemap="blank"), data)
    assert "指標の説明" in html and "ニーズとのギャップ = ニーズ × (1 − 供給)" in html
    assert "現役世代 = 15～64歳人口" in html


def _config(html: str) -> dict[str, object]:
    """The configuration a page hands to its script (the JSON after the map's name)."""
    start = re.search(r"Tsunagari\.start\w+\(\w+, (\{.*\})\);", html)
    assert start is not None
    return dict(json.loads(start.group(1).replace("<\\/", "</")))


@pytest.mark.parametrize("basemap", ["gsi", "blank"])
def test_pages_never_block_zooming(basemap: str, data: SiteData) -> None:
    settings = MapSettings(basemap=basemap)
    pages = [
        build_map_page(api_links(), settings, REFERENCE_ATTRIBUTION, region=SAITAMA),
        build_dashboard_page(api_links(), settings, data),
    ]
    for html in pages:
        viewports = re.findall(r'<meta name="viewport"[^>]*>', html)
        assert viewports == [
            '<meta name="viewport" content="width=device-width, initial-scale=1" />'
        ]


def test_the_map_corner_credits_gsi_tiles_once() -> None:
    html = build_map_page(
        api_links(), MapSettings(basemap="gsi"), REFERENCE_ATTRIBUTION, region=SAITAMA
    )
    config = _config(html)
    assert GSI_TILES in config["attribution"]  # the footer's list of sources
    assert GSI_TILES not in config["corner_attribution"]  # the tile layer credits itself there


def test_every_theme_has_its_own_marker_letter() -> None:
    vocab = vocabulary(SAITAMA)
    marks = vocab["theme_marks"]
    assert set(marks) == set(vocab["themes"])
    assert len(set(marks.values())) == len(marks)
    assert marks["childcare"] != marks["children_school"]


def test_theme_colours_keep_the_white_letter_readable() -> None:
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for colour in vocabulary(SAITAMA)["theme_colours"].values():
        assert 1.05 / (luminance(colour) + 0.05) >= 4.5, colour


def test_municipality_page_keeps_every_life_stage_density(data: SiteData) -> None:
    labels = [label for label, _, _ in data.municipality_report("11201")["metrics"]]
    # Each density names its denominator after the stage (issue 13); the stage stays whole.
    assert any(
        label.startswith("1万人あたり対面の活動数（妊産婦・乳幼児期・分母") for label in labels
    )
    assert any(label.startswith("1万人あたり対面の活動数（子ども・分母") for label in labels)
    assert "町字到達率（1km以内・全体）" in labels
    assert not any(label.startswith("町字到達率（1km以内・子") for label in labels)


def test_build_time_is_shown_in_jst_in_japanese(data: SiteData, client: TestClient) -> None:
    recorded = data.meta["built_at"]
    assert recorded.endswith("+00:00")
    shown = japanese_datetime(recorded)
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2}", shown)
    assert japanese_datetime("2026-12-01T19:39:34+00:00") == "2026年12月2日 4:39"
    for path in ("/dashboard", "/dashboard/11201"):
        body = client.get(path).text
        assert f"集計日時: {shown}" in body
        assert recorded not in body


def test_the_default_classes_are_the_same_on_every_build() -> None:
    # The dashboard's first request computes ~60 of these: an exact, deterministic scheme.
    values = np.random.default_rng(7).gamma(2.0, 2.0, 72)
    scheme = MapSettings().classification_scheme
    assert class_breaks(values, scheme) == class_breaks(values.copy(), scheme)
    assert class_breaks(values, scheme)[-1] == pytest.approx(values.max(), abs=1e-3)


# --- small areas, the plan and the settings on the dashboard ---------------------------------


def test_dashboard_states_small_area_reach_with_its_denominator_and_year(
    client: TestClient, built: Built
) -> None:
    body = client.get("/dashboard").text
    areas = LayerSet.open(built.settings.layers, "public").frames["small_areas"]
    without = int(
        areas.loc[(areas["pop_reach_1km"] == 0) & (areas["population"] > 0), "population"].sum()
    )
    assert 'id="tg-small-area-toggle"' in body
    assert f"1km以内に対面の活動がない住民: <strong>{without:,}人</strong>" in body
    assert "分母: 国勢調査2020年 小地域人口（7,344,765人" in body
    assert "総務省統計局 令和2年国勢調査（小地域集計）" in body  # the credit, in the sources
    config = json.loads(
        body.split("Tsunagari.startDashboard(", 1)[1].split(", ", 1)[1].rsplit(");", 1)[0]
    )
    assert config["small_areas"] is True
    assert config["links"]["small_areas"].startswith("/collections/small_areas/items")


def test_the_plan_is_not_on_the_dashboard_unless_planners_tables_are_turned_on(
    client: TestClient, built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan is computed from every activity, hidden ones too: like the matching
    suggestions it shows only where the dashboard is not public."""
    assert 'id="tg-plan-table"' not in client.get("/dashboard").text
    monkeypatch.setenv("TSUNAGARI_BASEMAP", "blank")
    monkeypatch.setenv("TSUNAGARI_DASHBOARD_SUGGESTIONS", "true")
    plan = LayerSet.open(built.settings.planner_layers, "planner").frames["plan"]
    with TestClient(create_app(built.settings)) as planner_client:
        body = planner_client.get("/dashboard").text
    table = body.split('id="tg-plan-table"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr><td") == len(plan) == 5
    last = plan.sort_values("order").iloc[-1]
    assert f"{int(last['running_total']):,}人</td></tr>" in table
    assert f"{int(plan['unreached'].iloc[0]):,}人のうち、5か所" in body


def test_the_explanation_panel_explains_the_settings_the_build_used(data: SiteData) -> None:
    """Before: the panel read the shipped coverage.toml, whatever the build had used."""
    from dataclasses import replace

    from tsunagari_geo.analysis.config import load_coverage_config

    shipped = load_coverage_config()
    used = shipped.model_copy(
        update={
            "need": shipped.need.model_copy(update={"foreign_share": 3.25}),
            "weights": shipped.weights.model_copy(update={"not_member": 7.5}),
        }
    )
    built_with = replace(data, meta={**data.meta, "coverage_config": used.as_json()}, _cache={})
    html = build_dashboard_page(api_links(), MapSettings(basemap="blank"), built_with)
    explain = html.split('class="tg-explain"', 1)[1]
    assert "外国人の割合 3.25" in explain and "市町村が未加入 7.5" in explain
    assert "外国人の割合 3.25" not in build_dashboard_page(
        api_links(), MapSettings(basemap="blank"), data
    )


@pytest.mark.parametrize("scheme", ["FisherJenks", "Quantiles"])
def test_the_dashboard_and_the_analysis_draw_the_same_gap_classes(
    data: SiteData, scheme: str
) -> None:
    from tsunagari_geo.analysis.classes import classify_gap

    for level in ("municipalities", "units"):
        frame = data.layer(level)
        drawn = dashboard_metrics(frame, data.vocabulary, scheme, 5, None)
        dashboard = next(m.breaks for m in drawn if m.column == "gap_score")
        classified, analysis = classify_gap(frame.copy(), scheme, 5)
        assert list(dashboard) == analysis and len(analysis) >= 2, level
        # Each area's class is the first bound its score does not exceed.
        scores = classified["gap_score"].astype(float).round(3)
        bounds = [analysis[c] for c in classified["gap_class"]]
        assert (scores <= bounds).all()
        lower = [analysis[c - 1] if c else -1.0 for c in classified["gap_class"]]
        assert (scores > lower).all()
