"""Probes from outside: public figures reveal nothing withheld, public ids reveal no order or
gap, and a withheld place stays withheld in the text of its row.

Each probe is what someone holding only the public layers would try: subtract the public
list of activities from the public counts, compare the public layers with each other, read
the published text with the geocoder, line the public ids up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from test_layers_fixtures import PUBLIC_ID_KEY, public_id_of, write_inputs
from tsunagari_geo.activities.models import LOCAL_FORMATS, PREFECTURE
from tsunagari_geo.activities.taxonomy import ALL_AGES, load_taxonomies
from tsunagari_geo.geocode import Geocoder
from tsunagari_geo.layers.build import BuildReport, build_layers
from tsunagari_geo.layers.public_ids import KEY_FILE
from tsunagari_geo.layers.published import LayerSet
from tsunagari_geo.store import open_store
from tsunagari_geo.text import fold


def _row(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "organization_id": "org-001",
        "themes": "ibasho",
        "life_stages": "children",
        "format": "in_person",
        "published": "true",
        "fiscal_year": 2025,
        "is_fictional": "true",
        "description": "架空のテスト行です。",
    }
    base.update(values)
    return base


#: Reduced-privacy rows whose text names what their point withholds, in the forms the
#: geocoder accepts, and two that may be published.
TEXT_ROWS = [
    _row(
        id="tx-chome-digit",
        name="八幡木2丁目の子ども食堂",
        address="埼玉県川口市八幡木二丁目20-6",
        location_privacy="municipality",
    ),
    _row(
        id="tx-chome-wide",
        name="みんなの食堂",
        description="会場は八幡木２丁目の集会所です。",
        address="埼玉県川口市八幡木二丁目20-6",
        location_privacy="municipality",
    ),
    _row(
        id="tx-banchi",
        name="みんなの居場所",
        description="会場は中新田2127番地の集会所です。",
        address="埼玉県鶴ヶ島市大字中新田2127",
        location_privacy="town",
    ),
    _row(
        id="tx-banchi-kanji",
        name="居場所カフェ",
        target_text="中新田二千百二十七番地にお越しください",
        address="埼玉県鶴ヶ島市大字中新田2127",
        location_privacy="town",
    ),
    _row(
        id="tx-building",
        name="ひだまりの会",
        schedule_text="毎月第1土曜 つるがしま会館にて",
        address="埼玉県鶴ヶ島市富士見三丁目1-1 つるがしま会館2階",
        location_privacy="town",
    ),
    _row(
        id="tx-reviewed",
        name="八幡木二丁目町会の食堂",
        address="埼玉県川口市八幡木二丁目20-6",
        location_privacy="municipality",
        place_text_reviewed="はい",
    ),
    _row(
        id="tx-town-named",
        name="中新田の居場所",
        description="毎月1回、13:00から。300円。",
        address="埼玉県鶴ヶ島市大字中新田2127",
        location_privacy="town",
    ),
]
WITHHELD = {"tx-chome-digit", "tx-chome-wide", "tx-banchi", "tx-banchi-kanji", "tx-building"}


@dataclass(frozen=True)
class Deployment:
    folder: Path
    report: BuildReport
    public: LayerSet
    planner: LayerSet
    inputs: pd.DataFrame


def _build(folder: Path, store_path: Path, *, id_key: bytes | None = PUBLIC_ID_KEY) -> Deployment:
    inputs = write_inputs(folder / "inputs")
    rows = pd.read_csv(inputs.activities, dtype=str, encoding="utf-8-sig")
    rows = pd.concat([rows, pd.DataFrame(TEXT_ROWS).astype(str)], ignore_index=True)
    rows.to_csv(inputs.activities, index=False, encoding="utf-8-sig")
    report = build_layers(
        open_store(store_path),
        inputs=inputs,
        out=folder / "layers.gpkg",
        planner_out=folder / "planner.gpkg",
        id_key=id_key,
    )
    return Deployment(
        folder=folder,
        report=report,
        public=LayerSet.open(folder / "layers.gpkg", "public"),
        planner=LayerSet.open(folder / "planner.gpkg", "planner"),
        inputs=rows,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Deployment:
    return _build(tmp_path_factory.mktemp("figures"), store_path)


# --- counts ------------------------------------------------------------------------------------


def _listed_counts(public: LayerSet, key: str) -> pd.DataFrame:
    """What the public list of activities accounts for per area: in person, by theme, by stage."""
    acts = pd.DataFrame(public.frames["activities"])
    local = acts[
        acts["format"].isin(list(LOCAL_FORMATS))
        & ~acts["serves"].map(lambda s: PREFECTURE in list(s))
        & (acts[key].astype(str) != "")
    ]
    tax = load_taxonomies()
    out = pd.DataFrame({"inperson_total": local.groupby(key).size()})
    for theme in tax.themes.codes:
        has = local["themes"].map(lambda t, code=theme: code in list(t))
        out[f"theme_{theme}"] = local[has].groupby(key).size()
    for stage in tax.life_stages.codes:
        has = local["life_stages"].map(lambda s, code=stage: code in list(s) or ALL_AGES in list(s))
        out[f"stage_{stage}"] = local[has].groupby(key).size()
    return out.fillna(0).astype(int)


def _recovered(public: LayerSet) -> int:
    """Withheld activities recovered by subtracting the public list from the public counts."""
    recovered = 0
    for layer, key in (("units", "unit_code"), ("municipalities", "muni_code")):
        figures = pd.DataFrame(public.frames[layer]).set_index("code")
        listed = _listed_counts(public, key).reindex(figures.index, fill_value=0)
        for column in listed.columns:
            recovered += int((figures[column] - listed[column]).abs().sum())
        if "inperson_published" in figures.columns:
            recovered += int((figures["inperson_published"] - listed["inperson_total"]).abs().sum())
    return recovered


def test_subtracting_the_public_list_from_public_counts_recovers_no_withheld_activity(
    built: Deployment,
) -> None:
    """Before: the units and municipalities layers counted all 8 withheld in-person activities
    (三芳町: inperson_total 1, inperson_published 0); every count now matches the list."""
    assert _recovered(built.public) == 0


def test_the_planners_file_keeps_the_full_figures(built: Deployment) -> None:
    public = pd.DataFrame(built.public.frames["municipalities"]).set_index("code")
    full = pd.DataFrame(built.planner.frames["municipalities"]).set_index("code")
    assert len(full) == 63 and len(built.planner.frames["units"]) == 72
    miyoshi = full.index[full["name"].str.contains("三芳")][0]
    assert full.loc[miyoshi, "inperson_total"] == 1
    assert public.loc[miyoshi, "inperson_total"] == 0
    # Every withheld in-person row is counted for planners and for nobody else.
    assert full["inperson_total"].sum() > public["inperson_total"].sum()
    assert "inperson_published" in full.columns
    assert "inperson_published" not in public.columns


def test_public_municipalities_and_units_agree_with_each_other(built: Deployment) -> None:
    """A municipality is its unit, or (さいたま市) its wards plus its ward-unknown rows."""
    munis = pd.DataFrame(built.public.frames["municipalities"]).set_index("code")
    units = pd.DataFrame(built.public.frames["units"])
    for code, wards in units.groupby("muni_code"):
        unknown = int(wards["ward_unknown_inperson"].max()) if len(wards) > 1 else 0
        assert munis.loc[code, "inperson_total"] == wards["inperson_total"].sum() + unknown, code


def test_public_small_area_reach_is_what_the_public_list_of_activities_gives(
    built: Deployment, store_path: Path
) -> None:
    """The small areas' distances and reach, recomputed by anyone from the public list alone
    (its in-person points that locate a row), are exactly the published ones: no withheld
    venue shortens a distance."""
    import numpy as np
    from scipy.spatial import cKDTree

    from tsunagari_geo.analysis.placement import LOCATING

    crs = open_store(store_path).region.metric_crs
    acts = built.public.frames["activities"]
    venue = acts[
        (acts["format"] == "in_person")
        & acts["location_precision"].isin(LOCATING)
        & ~acts["serves"].map(lambda s: PREFECTURE in list(s))
        & acts.geometry.notna()
    ].to_crs(crs)
    areas = built.public.frames["small_areas"]
    xy = np.column_stack([areas.to_crs(crs).geometry.x, areas.to_crs(crs).geometry.y])
    nearest, _ = cKDTree(np.column_stack([venue.geometry.x, venue.geometry.y])).query(xy)
    np.testing.assert_allclose(areas["nearest_m"].to_numpy(dtype=float), nearest, atol=0.06)
    populated = areas["population"] > 0
    np.testing.assert_array_equal(
        areas.loc[populated, "pop_reach_1km"].to_numpy(), (nearest[populated] <= 1000) * 1.0
    )
    # The planners' small areas count every activity: some are nearer a withheld venue.
    full = built.planner.frames["small_areas"]
    assert (full["nearest_m"] < areas["nearest_m"] - 1).any()


# --- ids ---------------------------------------------------------------------------------------


def test_public_ids_reveal_neither_the_members_ids_nor_their_order(built: Deployment) -> None:
    ids = built.public.frames["activities"]["id"].astype(str).tolist()
    members = set(built.inputs["id"])
    assert not set(ids) & members
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)
    assert not any(m in i for i in ids for m in ("act-", "zz-", "tx-"))
    # Rows come in the order of their opaque ids, not in the members' order.
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_public_ids_are_stable_and_withholding_a_row_renumbers_nothing(
    built: Deployment, store_path: Path, tmp_path: Path
) -> None:
    planner = pd.DataFrame(built.planner.frames["activities"]).set_index("id")
    assert planner.loc["zz-town-1", "public_id"] == public_id_of("zz-town-1")
    before = set(built.public.frames["activities"]["id"])
    inputs = write_inputs(tmp_path / "inputs")
    rows = pd.read_csv(inputs.activities, dtype=str, encoding="utf-8-sig")
    rows.loc[rows["id"] == "zz-town-1", "location_privacy"] = "hidden"
    rows.to_csv(inputs.activities, index=False, encoding="utf-8-sig")
    build_layers(
        open_store(store_path),
        inputs=inputs,
        out=tmp_path / "layers.gpkg",
        planner_out=tmp_path / "planner.gpkg",
        id_key=PUBLIC_ID_KEY,
    )
    after = set(LayerSet.open(tmp_path / "layers.gpkg", "public").frames["activities"]["id"])
    # Exactly the hidden row went; every other activity kept its public id (no gap moved).
    assert before - after >= {public_id_of("zz-town-1")}
    assert after <= before


def test_the_key_file_is_made_once_and_keeps_ids_stable_across_builds(
    store_path: Path, tmp_path: Path
) -> None:
    inputs = write_inputs(tmp_path / "inputs")
    store = open_store(store_path)
    runs = []
    for _ in range(2):
        build_layers(
            store,
            inputs=inputs,
            out=tmp_path / "layers.gpkg",
            planner_out=tmp_path / "planner.gpkg",
        )
        runs.append(LayerSet.open(tmp_path / "layers.gpkg", "public").frames["activities"]["id"])
    key = tmp_path / KEY_FILE
    assert key.stat().st_mode & 0o077 == 0
    assert runs[0].tolist() == runs[1].tolist()
    assert not set(runs[0]) & {public_id_of("zz-town-1")}  # another key, other ids


# --- text --------------------------------------------------------------------------------------


def test_rows_whose_text_names_the_withheld_place_are_not_published(built: Deployment) -> None:
    ids = set(built.public.frames["activities"]["id"])
    for member in WITHHELD:
        assert public_id_of(member) not in ids, member
    assert public_id_of("tx-reviewed") in ids
    assert public_id_of("tx-town-named") in ids  # a town-level row may name its town


def test_the_build_report_lists_each_withheld_row_with_the_words_found(
    built: Deployment,
) -> None:
    privacy = built.report.privacy
    assert privacy is not None
    found = privacy.withheld_for_text
    assert set(found) >= WITHHELD
    assert found["tx-chome-digit"] == ["八幡木2丁目"]
    assert found["tx-chome-wide"] == ["八幡木2丁目"]
    assert found["tx-banchi"] == ["2127番地"]
    assert found["tx-banchi-kanji"] == ["二千百二十七番地"]
    assert found["tx-building"] == ["つるがしま会館"]
    assert "act-0117" in found  # the sample's 「八幡木二丁目子ども食堂」
    assert "tx-reviewed" in privacy.reviewed_text and "tx-reviewed" not in found
    assert any(line.startswith("tx-banchi: 「2127番地」") for line in privacy.text_lines())


def test_no_published_reduced_row_names_its_withheld_town_to_the_geocoder(
    built: Deployment, store_path: Path
) -> None:
    """The attack: read the published text after the public municipality with the geocoder.
    Before, 「八幡木二丁目子ども食堂」 was published at 川口市 and 川口市八幡木二丁目 gave the
    planners' town back."""
    geocoder = Geocoder.from_store(open_store(store_path))
    planner = pd.DataFrame(built.planner.frames["activities"]).set_index("public_id")
    named = []
    for row in built.public.frames["activities"].to_dict("records"):
        source = planner.loc[row["id"]]
        if source["location_privacy"] != "municipality" or not source["geo_town"]:
            continue
        if str(source.get("place_text_reviewed")).lower() in ("true", "1", "はい"):
            continue
        text = fold(" ".join(str(row.get(c) or "") for c in ("name", "description")))
        for i in range(len(text)):
            reading = geocoder.geocode(str(source["geo_city"]) + text[i:], suggest=False)
            if reading.town == source["geo_town"]:
                named.append((source.name, text[i:]))
    assert named == []
