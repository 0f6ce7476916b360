"""``tsunagari-geo site build``: the static site's files, links, data and privacy."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from i18n_helpers import japanese_left
from static_search_helpers import run_static_search
from test_layers_fixtures import (
    SECRET_MARKERS,
    SECRET_POINTS,
    Built,
    build_deployment,
    public_id_of,
)
from tsunagari_geo.cli import _register, app
from tsunagari_geo.errors import InputError
from tsunagari_geo.layers.published import LayerSet

_URL_ATTRS = re.compile(r'<(?:script|link|img|a)\b[^>]*?\b(?:src|href)="([^"]+)"')


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Built:
    return build_deployment(tmp_path_factory.mktemp("site_build"), store_path)


@pytest.fixture(scope="module")
def site(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    tiles = built.settings.tiles_dir
    tiles.mkdir(parents=True, exist_ok=True)
    (tiles / "activities.pmtiles").write_bytes(b"PMTiles\x03fixture")
    _register()
    result = CliRunner().invoke(
        app,
        [
            "site",
            "build",
            "--out",
            str(out),
            "--layers",
            str(built.settings.layers),
            "--store",
            str(built.settings.store),
            "--tiles-dir",
            str(tiles),
            "--basemap",
            "blank",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "静的サイトを書き出しました" in result.output
    return out


def test_site_has_pages_for_the_map_dashboard_and_every_municipality(site: Path) -> None:
    assert (site / "index.html").is_file()
    assert (site / "map.html").is_file() and (site / "dashboard.html").is_file()
    assert len(list((site / "dashboard").glob("*.html"))) == 63


def test_every_link_in_the_pages_resolves_inside_the_site(site: Path) -> None:
    for page in [site / "map.html", site / "dashboard.html", site / "dashboard" / "11201.html"]:
        for url in _URL_ATTRS.findall(page.read_text(encoding="utf-8")):
            if url.startswith(("data:", "#", "http")):
                assert not url.startswith("http"), f"{page.name}: external {url}"
                continue
            target = (page.parent / url.split("?")[0]).resolve()
            assert target.is_file(), f"{page.name}: {url}"


def test_static_pages_search_addresses_in_the_town_index(site: Path, built: Built) -> None:
    html = (site / "map.html").read_text(encoding="utf-8")
    assert '"geocode": null' in html and "data/towns.json" in html
    assert (site / "assets" / "maps" / "search.js").is_file()
    [row] = run_static_search(
        site / "data" / "towns.json",
        ["埼玉県さいたま市浦和区常盤６－４－４"],
        site / "assets" / "maps" / "search.js",
    )
    assert row["answer"]["code"] == "11107" and row["answer"]["town"] == "常盤六丁目"


def test_data_files_are_the_public_layers(site: Path, built: Built) -> None:
    public = LayerSet.open(built.settings.layers, "public").frames
    for name in ("activities", "consultations", "good_practices", "municipalities", "units"):
        document = json.loads((site / "data" / f"{name}.geojson").read_text(encoding="utf-8"))
        assert len(document["features"]) == len(public[name]), name
        assert "attribution" in document


def test_the_site_carries_a_year_of_open_days_for_its_public_activities(
    site: Path, built: Built
) -> None:
    from tsunagari_geo.text import JST

    public = LayerSet.open(built.settings.layers, "public").frames["activities"]
    calendar = json.loads((site / "data" / "activities_calendar.json").read_text("utf-8"))
    start = date.fromisoformat(calendar["start"])
    assert start == datetime.now(JST).date() and calendar["days"] == 366
    assert set(calendar["open"]) <= set(public["id"])
    # 第2土曜: every day listed for zz-muni-1 is the second Saturday of its month.
    days = [start + timedelta(days=k) for k in calendar["open"][public_id_of("zz-muni-1")]]
    assert 12 <= len(days) <= 13
    assert all(d.weekday() == 5 and 8 <= d.day <= 14 for d in days)
    html = (site / "map.html").read_text(encoding="utf-8")
    assert "data/activities_calendar.json" in html


def test_no_hidden_or_unpublished_row_and_no_exact_private_point_reaches_the_site(
    site: Path,
) -> None:
    for path in site.rglob("*"):
        if path.suffix in {".html", ".geojson", ".json", ".csv"}:
            text = path.read_text(encoding="utf-8-sig")
            assert not any(marker in text for marker in SECRET_MARKERS), path
            for lng, lat in SECRET_POINTS.values():
                assert f"{lng}" not in text or f"{lat}" not in text, path


def test_tables_pmtiles_and_licences_are_included(site: Path) -> None:
    for level in ("municipalities", "units"):
        assert (site / "data" / f"table_{level}.csv").stat().st_size > 0
        assert (site / "data" / f"table_{level}.xlsx").stat().st_size > 0
    assert (site / "tiles" / "activities.pmtiles").read_bytes().startswith(b"PMTiles")
    assert (site / "assets" / "vendor" / "leaflet" / "LICENSE").is_file()
    assert (site / "assets" / "vendor" / "leaflet.markercluster" / "MIT-LICENCE.txt").is_file()


def test_boundaries_are_simplified_for_the_web(site: Path, built: Built) -> None:
    import geopandas as gpd
    import shapely

    original = LayerSet.open(built.settings.layers, "public").frames["municipalities"]
    simplified = gpd.read_file(site / "data" / "municipalities.geojson")
    before = int(shapely.get_num_coordinates(original.geometry.to_numpy()).sum())
    after = int(shapely.get_num_coordinates(simplified.geometry.to_numpy()).sum())
    assert after < before
    assert simplified.geometry.is_valid.all()


def test_site_build_refuses_a_file_as_output(built: Built, tmp_path: Path) -> None:
    target = tmp_path / "not-a-folder"
    target.write_text("x")
    _register()
    result = CliRunner().invoke(
        app,
        [
            "site",
            "build",
            "--out",
            str(target),
            "--layers",
            str(built.settings.layers),
            "--store",
            str(built.settings.store),
        ],
    )
    assert isinstance(result.exception, InputError)
    assert "フォルダではありません" in str(result.exception)


def test_the_site_has_the_small_areas_and_no_plan(site: Path, built: Built) -> None:
    """The static site is public: its dashboard reads the public small areas and never shows
    the planners' plan."""
    small = json.loads((site / "data" / "small_areas.geojson").read_text(encoding="utf-8"))
    assert len(small["features"]) == 5979
    assert set(small["features"][0]["properties"]) == {
        "key_code", "name", "population", "nearest_m", "pop_reach_1km"
    }  # fmt: skip
    dashboard = (site / "dashboard.html").read_text(encoding="utf-8")
    assert "data/small_areas.geojson" in dashboard
    assert 'id="tg-plan-table"' not in dashboard and '"plan": []' in dashboard


@pytest.mark.parametrize("page", ["en/map.html", "en/dashboard.html", "en/dashboard/11201.html"])
def test_the_english_static_pages_have_no_japanese_outside_member_data(
    site: Path, page: str
) -> None:
    assert japanese_left((site / page).read_text(encoding="utf-8")) == []
