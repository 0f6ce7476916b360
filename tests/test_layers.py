"""The pipeline build and the public/planners' views of activities (privacy rules)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import shapely

from test_layers_fixtures import (
    PUBLIC_ID_KEY,
    PUBLIC_PHONE,
    SECRET_CONTACT,
    SECRET_PHONE,
    SECRET_POINTS,
    TOWN_POINT,
    Built,
    build_deployment,
    public_id_of,
)
from tsunagari_geo.errors import StoreError
from tsunagari_geo.layers.published import LayerSet
from tsunagari_geo.store import Store, open_store

CLI = [sys.executable, "-m", "tsunagari_geo"]
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Built:
    return build_deployment(tmp_path_factory.mktemp("layers"), store_path)


@pytest.fixture(scope="module")
def public(built: Built) -> LayerSet:
    return LayerSet.open(built.settings.layers, "public")


@pytest.fixture(scope="module")
def planner(built: Built) -> LayerSet:
    return LayerSet.open(built.settings.planner_layers, "planner")


def _activity(layers: LayerSet, identifier: str) -> dict[str, object]:
    frame = layers.frames["activities"]
    rows = frame[frame["id"] == identifier]
    assert len(rows) == 1, identifier
    record = rows.iloc[0].to_dict()
    return record


def test_build_writes_every_public_layer(public: LayerSet) -> None:
    assert set(public.frames) == {
        "activities",
        "municipalities",
        "units",
        "good_practices",
        "consultations",
        "small_areas",
    }
    assert len(public.frames["municipalities"]) == 63
    assert len(public.frames["units"]) == 72


def test_small_areas_are_published_with_their_documented_fields(
    public: LayerSet, planner: LayerSet
) -> None:
    from tsunagari_geo.activities.taxonomy import load_taxonomies
    from tsunagari_geo.analysis.people_reach import SMALL_AREA_FIELDS

    areas = public.frames["small_areas"]
    assert len(areas) == 5979
    columns = [c for c in areas.columns if c != "geometry"]
    assert columns[: len(SMALL_AREA_FIELDS)] == list(SMALL_AREA_FIELDS)
    tax = load_taxonomies()
    assert columns[len(SMALL_AREA_FIELDS) :] == [
        *(f"nearest_m_{stage}" for stage in tax.life_stages.codes),
        *(f"nearest_m_theme_{theme}" for theme in tax.themes.codes),
    ]
    assert set(areas.geom_type) == {"Point"}
    assert areas["population"].sum() == 7_344_765
    reach = areas["pop_reach_1km"].dropna()
    assert set(reach.unique()) <= {0.0, 1.0} and 0 < reach.sum() < len(reach)
    # The planners' file holds the same small areas with every activity counted.
    full = planner.frames["small_areas"]
    assert full["key_code"].tolist() == areas["key_code"].tolist()
    assert (full["pop_reach_2km"].fillna(0) >= areas["pop_reach_2km"].fillna(0)).all()


def test_the_plan_is_in_the_planners_file_only(public: LayerSet, planner: LayerSet) -> None:
    from tsunagari_geo.analysis.config import load_coverage_config

    plan = planner.frames["plan"]
    assert "plan" not in public.frames
    assert len(plan) == load_coverage_config().plan.new
    assert plan["order"].tolist() == list(range(1, len(plan) + 1))
    assert plan["running_total"].tolist() == plan["newly_reached"].cumsum().tolist()
    assert (plan["radius_m"] == 1000.0).all()
    assert (plan["unreached"] >= plan["running_total"].max()).all()


def test_the_public_file_records_the_coverage_settings_the_build_used(
    store_path: Path, tmp_path: Path
) -> None:
    from test_layers_fixtures import write_inputs
    from tsunagari_geo.analysis.config import CoverageConfig, load_coverage_config
    from tsunagari_geo.layers.build import build_layers

    shipped = load_coverage_config()
    config = shipped.model_copy(
        update={
            "need": shipped.need.model_copy(update={"foreign_share": 3.0}),
            "plan": shipped.plan.model_copy(update={"new": 2, "radius_m": 2000.0}),
        }
    )
    build_layers(
        open_store(store_path),
        inputs=write_inputs(tmp_path / "inputs"),
        out=tmp_path / "layers.gpkg",
        planner_out=tmp_path / "planner.gpkg",
        id_key=PUBLIC_ID_KEY,
        config=config,
    )
    recorded = CoverageConfig.from_json(
        LayerSet.open(tmp_path / "layers.gpkg", "public").meta["coverage_config"]
    )
    assert recorded == config
    assert len(LayerSet.open(tmp_path / "planner.gpkg", "planner").frames["plan"]) == 2


def test_build_leaves_no_temporary_file(built: Built) -> None:
    folder = built.settings.layers.parent
    assert not [p for p in folder.iterdir() if ".tmp" in p.name]


def test_list_columns_come_back_as_lists(public: LayerSet) -> None:
    record = _activity(public, public_id_of("zz-town-1"))
    assert record["themes"] == ["ibasho"]
    assert record["life_stages"] == ["all_ages"]


def test_public_view_drops_hidden_and_unpublished_rows(public: LayerSet) -> None:
    ids = set(public.frames["activities"]["id"])
    assert "zz-hidden-1" not in ids
    assert "zz-unpub-1" not in ids


def test_public_view_keeps_no_private_column(public: LayerSet) -> None:
    columns = set(public.frames["activities"].columns)
    assert not columns & {"lat", "lng", "location_privacy", "published", "geo_lat", "geo_lng"}


def test_a_contact_is_public_only_where_its_member_made_it_public(
    public: LayerSet, planner: LayerSet
) -> None:
    withheld = _activity(public, public_id_of("zz-town-1"))
    for column in ("phone", "email", "line_url", "phone_uri"):
        assert pd.isna(withheld[column]), column
    assert "contact_public" not in public.frames["activities"].columns
    kept = planner.frames["activities"].set_index("id").loc["zz-town-1"]
    assert kept["phone"] == SECRET_PHONE
    assert kept["email"] == f"{SECRET_CONTACT}@example.jp"
    shown = _activity(public, public_id_of("zz-muni-1"))
    assert shown["phone"] == PUBLIC_PHONE
    assert shown["phone_uri"] == "tel:" + PUBLIC_PHONE.replace("-", "")


def test_sample_contacts_marked_not_public_never_reach_the_public_view(
    public: LayerSet, planner: LayerSet
) -> None:
    everyone = planner.frames["activities"]
    private = everyone[(everyone["contact_public"] != True) & everyone["phone"].notna()]  # noqa: E712
    assert len(private) > 10  # the samples exercise it
    published = set(public.frames["activities"]["phone"].dropna())
    assert published and not published & set(private["phone"])


def test_public_view_keeps_schedule_ages_and_languages(public: LayerSet) -> None:
    record = _activity(public, public_id_of("zz-muni-1"))
    assert record["rrule"] == "FREQ=MONTHLY;BYDAY=2SA"
    assert (record["opens_at"], record["closes_at"]) == ("10:00", "12:00")
    assert (record["minimum_age"], record["maximum_age"]) == (13, 18)
    assert record["languages"] == ["ja", "ne"]


def test_chat_and_phone_consultation_windows_carry_their_line_link_and_tel_link(
    public: LayerSet,
) -> None:
    windows = public.frames["consultations"]
    chat = windows[windows["channels"].map(lambda c: "sns_chat" in c)]
    assert len(chat) and chat["line_url"].str.startswith("https://line.me/").all()
    phone = windows[windows["channels"].map(lambda c: "phone" in c)]
    expected = "tel:" + phone["phone"].str.replace("-", "", regex=False)
    assert len(phone) and (phone["phone_uri"] == expected).all()


def test_members_own_english_and_easy_japanese_names_reach_the_public_view(
    public: LayerSet,
) -> None:
    activities = public.frames["activities"]
    assert activities["name_en"].notna().sum() > 10
    assert activities["name_easy"].notna().sum() > 10


def test_sample_hidden_and_unpublished_rows_are_all_dropped(built: Built, public: LayerSet) -> None:
    report = built.report.privacy
    assert report is not None
    assert "zz-hidden-1" in report.dropped_hidden
    assert "zz-unpub-1" in report.dropped_unpublished
    dropped = set(report.dropped_hidden) | set(report.dropped_unpublished)
    assert not dropped & set(public.frames["activities"]["id"])
    # The sample itself has hidden and unpublished rows besides the crafted ones.
    assert len(dropped) > 2


def test_town_privacy_row_sits_on_its_town_point(public: LayerSet) -> None:
    record = _activity(public, public_id_of("zz-town-1"))
    point = record["geometry"]
    assert isinstance(point, shapely.Point)
    assert (round(point.x, 6), round(point.y, 6)) == TOWN_POINT
    assert record["location_precision"] == "town"
    assert record["address"] == "埼玉県さいたま市浦和区常盤六丁目"


def test_municipality_privacy_row_sits_on_the_representative_point(
    public: LayerSet, store: Store
) -> None:
    record = _activity(public, public_id_of("zz-muni-1"))
    chichibu = store.units.set_index("code").loc["11207"]
    point = record["geometry"]
    assert isinstance(point, shapely.Point)
    assert (point.x, point.y) == pytest.approx((chichibu["rep_lng"], chichibu["rep_lat"]))
    assert record["location_precision"] == "municipality"
    assert record["address"] == "埼玉県秩父市"


def test_exact_rows_keep_their_point_and_address(public: LayerSet, planner: LayerSet) -> None:
    frame = public.frames["activities"]
    exact = frame[frame["location_precision"] == "exact"]
    assert len(exact) > 0
    row = exact.iloc[0]
    members = planner.frames["activities"].set_index("public_id")["id"]
    source = _activity(planner, str(members[row["id"]]))
    assert row.geometry.equals_exact(source["geometry"], 1e-9)
    assert row["address"] == source["address"]


def test_no_public_point_is_a_private_exact_point(public: LayerSet) -> None:
    points = public.frames["activities"].geometry.dropna()
    coords = {(round(p.x, 6), round(p.y, 6)) for p in points}
    for lon, lat in SECRET_POINTS.values():
        assert (round(lon, 6), round(lat, 6)) not in coords


def test_planner_view_keeps_every_row_with_exact_points(planner: LayerSet) -> None:
    hidden = _activity(planner, "zz-hidden-1")
    assert hidden["location_privacy"] == "hidden"
    point = hidden["geometry"]
    assert isinstance(point, shapely.Point)
    assert (point.x, point.y) == pytest.approx(SECRET_POINTS["zz-hidden-1"])
    assert bool(_activity(planner, "zz-unpub-1")["published"]) is False


def test_rows_without_any_place_are_listed_without_geometry(public: LayerSet) -> None:
    frame = public.frames["activities"]
    placeless = frame[frame["location_precision"] == "none"]
    assert len(placeless) > 0
    assert placeless.geometry.isna().all()
    assert set(placeless["format"]) <= {"online", "phone", "outreach", "in_person"}


def test_coverage_layers_carry_area_attributes(public: LayerSet) -> None:
    municipalities = public.frames["municipalities"]
    for column in ("code", "name", "kind", "gap_score", "gap_rank", "reach_1km", "flag_count"):
        assert column in municipalities.columns
    assert municipalities["gap_score"].between(0, 100).all()


def test_opening_the_wrong_kind_of_file_fails(built: Built) -> None:
    with pytest.raises(StoreError, match="expected a planner"):
        LayerSet.open(built.settings.layers, "planner")


def test_opening_a_tampered_file_fails(built: Built, tmp_path: Path) -> None:
    copy = tmp_path / "layers.gpkg"
    copy.write_bytes(built.settings.layers.read_bytes())
    with sqlite3.connect(copy) as conn:
        conn.execute("DELETE FROM activities WHERE id = ?", (public_id_of("zz-town-1"),))
    with pytest.raises(StoreError, match="rows but the build wrote"):
        LayerSet.open(copy, "public")


def test_opening_a_truncated_file_fails(built: Built, tmp_path: Path) -> None:
    copy = tmp_path / "layers.gpkg"
    copy.write_bytes(built.settings.layers.read_bytes()[:5000])
    with pytest.raises(StoreError):
        LayerSet.open(copy, "public")


def test_missing_file_names_the_command_to_run(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="tsunagari-geo build"):
        LayerSet.open(tmp_path / "nope.gpkg", "public")


def test_build_command_writes_the_layers_and_tiles_command_the_archives(
    store_path: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "TSUNAGARI_STORE": str(store_path)}
    out, planner, tiles = tmp_path / "layers.gpkg", tmp_path / "planner.gpkg", tmp_path / "tiles"
    build = subprocess.run(
        [*CLI, "build", "--out", str(out), "--planner-out", str(planner)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )
    assert build.returncode == 0, build.stderr
    assert "非表示" in build.stderr and str(out) in build.stderr.replace("\n", "")
    assert len(LayerSet.open(out, "public").frames["municipalities"]) == 63
    tiles_run = subprocess.run(
        [*CLI, "tiles", "build", "--layers", str(out), "--out-dir", str(tiles), "--max-zoom", "8"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert tiles_run.returncode == 0, tiles_run.stderr
    assert {p.name for p in tiles.iterdir()} == {
        "activities.pmtiles",
        "municipalities.pmtiles",
        "manifest.json",
    }


def test_build_command_names_a_missing_input(store_path: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "build", "--samples", str(tmp_path), "--out", str(tmp_path / "x.gpkg")],
        capture_output=True,
        text=True,
        env={**os.environ, "TSUNAGARI_STORE": str(store_path)},
        timeout=120,
    )
    assert result.returncode == 2
    assert "organizations.csv" in result.stderr
    assert "Traceback" not in result.stderr


def test_moving_a_hidden_or_unpublished_activity_changes_no_public_figure(
    built: Built, public: LayerSet, planner: LayerSet, store_path: Path, tmp_path: Path
) -> None:
    """Coverage counts hidden and unpublished activities, but every published reach and
    distance comes from points the public view shows, so their exact place leaks nowhere."""
    import pandas as pd

    from test_layers_fixtures import write_inputs
    from tsunagari_geo.layers.build import build_layers

    inputs = write_inputs(tmp_path / "inputs")
    activities = pd.read_csv(inputs.activities, dtype=str, encoding="utf-8-sig")
    secret = activities["id"].isin(["zz-hidden-1", "zz-unpub-1"])
    # About 300 m away, inside the same unit (checked below), so counts stay where they were.
    activities.loc[secret, "lat"] = (
        activities.loc[secret, "lat"].astype(float).add(0.0027).astype(str)
    )
    activities.to_csv(inputs.activities, index=False, encoding="utf-8-sig")
    build_layers(
        open_store(store_path),
        inputs=inputs,
        out=tmp_path / "layers.gpkg",
        planner_out=tmp_path / "planner.gpkg",
        id_key=PUBLIC_ID_KEY,
    )
    moved_planner = LayerSet.open(tmp_path / "planner.gpkg", "planner")
    for identifier in ("zz-hidden-1", "zz-unpub-1"):
        assert (
            _activity(moved_planner, identifier)["unit_code"]
            == _activity(planner, identifier)["unit_code"]
        )
        assert (
            _activity(moved_planner, identifier)["geometry"]
            != _activity(planner, identifier)["geometry"]
        )
    moved = LayerSet.open(tmp_path / "layers.gpkg", "public")
    for layer in ("municipalities", "units", "activities", "small_areas"):
        pd.testing.assert_frame_equal(
            pd.DataFrame(moved.frames[layer]), pd.DataFrame(public.frames[layer]), obj=layer
        )


def test_reduced_privacy_rows_whose_text_names_their_town_are_reported(built: Built) -> None:
    """The sample's municipality-level 「八幡木二丁目子ども食堂」 names the 町丁目 its point
    withholds; the build cannot reword it, so it tells the secretariat."""
    assert built.report.privacy is not None
    flagged = built.report.privacy.text_names_place
    assert "act-0117" in flagged
    assert "zz-muni-1" not in flagged
    assert built.report.privacy.summary()["text_names_place"] == len(flagged)
