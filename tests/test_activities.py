"""Activity records: taxonomies, readers with a validation report, templates, samples."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from reference_helpers import make_region_b_source, region_b
from tsunagari_geo.activities.models import Activity, Consultation, Vocabulary
from tsunagari_geo.activities.readers import (
    read_activities,
    read_consultations,
    read_good_practices,
    read_organizations,
    to_table,
)
from tsunagari_geo.activities.samples import (
    SAMPLES_DIR,
    TEMPLATES_DIR,
    generate_samples,
    template_frame,
    write_samples,
)
from tsunagari_geo.activities.taxonomy import CENSUS_COLUMNS, load_taxonomies
from tsunagari_geo.cli import _register, app
from tsunagari_geo.errors import InputError
from tsunagari_geo.reference.importer import import_reference
from tsunagari_geo.store import Store, open_store
from tsunagari_geo.tables import read_table

FIXTURES = Path(__file__).parent / "fixtures" / "analysis"


@pytest.fixture(scope="module")
def orgs() -> gpd.GeoDataFrame:
    return read_organizations(FIXTURES / "organizations.csv").records


# --- taxonomies ---------------------------------------------------------------------------------


def test_taxonomies_hold_the_issue_vocabularies() -> None:
    tax = load_taxonomies()
    assert len(tax.themes.codes) == 13
    assert tax.themes.resolve("生活困窮・食支援") == "poverty_food"
    assert tax.life_stages.labels["perinatal"] == "妊産婦・乳幼児期"
    assert "孤独・孤立" in tax.circumstances.labels.values()


def test_every_life_stage_names_a_census_denominator_and_says_why() -> None:
    tax = load_taxonomies()
    assert set(tax.life_stages.denominators.values()) <= set(CENSUS_COLUMNS)
    assert tax.life_stages.denominators["elderly"] == "pop_65plus"
    assert all(term.note for term in tax.life_stages.terms)


def test_working_age_is_divided_by_the_official_15_to_64_count() -> None:
    stages = load_taxonomies().life_stages
    assert stages.denominators["working_age"] == "pop_15_64"
    assert stages.denominators["children"] == "pop_0_14"


def test_a_stage_without_a_census_band_says_so_in_its_denominator_label() -> None:
    stages = load_taxonomies().life_stages
    assert stages.denominators["youth"] == "pop_total"
    assert "15～39歳の区分なし" in stages.denominator_labels["youth"]
    assert stages.denominator_labels["working_age"] == "15～64歳人口"


def test_a_bad_denominator_is_reported_with_its_row(tmp_path: Path) -> None:
    for name in ("themes.csv", "circumstances.csv"):
        (tmp_path / name).write_text("code,label_ja,label_en\nx,エックス,X\n", encoding="utf-8")
    (tmp_path / "life_stages.csv").write_text(
        "code,label_ja,label_en,denominator\nkids,子ども,Children,pop_0_9\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match="pop_0_9") as err:
        load_taxonomies(tmp_path)
    assert err.value.row == 2


# --- readers ------------------------------------------------------------------------------------


def test_organizations_keep_valid_rows_and_report_the_rest() -> None:
    result = read_organizations(FIXTURES / "organizations.csv")
    assert result.records["id"].tolist() == ["o1", "o2", "o3"]
    assert result.records["kind"].tolist() == ["NPO等", "企業・業界団体", "行政"]
    assert result.records["member_since"].tolist()[:2] == [date(2024, 4, 1), date(2024, 6, 1)]
    problems = {(p.row, p.column, p.value) for p in result.report.errors}
    assert problems == {
        (5, "kind", "学校"),
        (6, "member_since", "2024-13-01"),
        (6, "url", "ftp://x"),
    }


def test_valid_activities_become_a_geodataframe(orgs: gpd.GeoDataFrame) -> None:
    result = read_activities(FIXTURES / "activities.csv", organizations=orgs)
    records = result.records
    assert records.crs == "EPSG:4326"
    assert records["id"].tolist() == ["a1", "a2"]
    a1, a2 = records.iloc[0], records.iloc[1]
    assert a1["themes"] == ["ibasho", "elderly"] and a1["life_stages"] == ["all_ages"]
    assert (a1["format"], a1["fiscal_year"]) == ("in_person", 2025)
    assert a1.geometry.equals(shapely.Point(139.6453, 35.8617))
    assert a2["life_stages"] == ["youth", "working_age"] and a2["serves"] == ["prefecture"]
    assert (a2["published"], a2["location_privacy"]) == (False, "hidden")
    assert a2["last_verified"] == date(2025, 5, 1)
    assert a2.geometry is None
    assert records["row"].tolist() == [2, 3]


def test_every_problem_names_row_column_and_value(orgs: gpd.GeoDataFrame) -> None:
    report = read_activities(FIXTURES / "activities.csv", organizations=orgs).report
    found = {(p.row, p.column, p.value) for p in report.errors}
    assert (4, "themes", "ibasho;gardening") in found  # unknown theme code
    assert (5, "organization_id", "o9") in found  # organisation not in the list
    assert (6, "last_verified", "2025-02-30") in found  # bad date
    assert (7, "lat", "lat=35.9, lng=") in found  # latitude without longitude
    assert (8, "id", "a1") in found  # duplicate id
    assert {(9, c) for c in ("format", "location_privacy", "published", "rrule")} <= {
        (r, c) for r, c, _ in found
    }
    assert (10, "serves", "13101;prefecture") in found
    assert report.rows_read == 9 and report.rows_valid == 2
    assert not report.ok


def test_messages_are_in_japanese(orgs: gpd.GeoDataFrame) -> None:
    report = read_activities(FIXTURES / "activities.csv", organizations=orgs).report
    by_column = {p.column: p.message for p in report.errors}
    assert "gardening" in by_column["themes"] and "テーマ" in by_column["themes"]
    assert "日付" in by_column["last_verified"]
    assert "団体一覧" in by_column["organization_id"]


def test_unknown_columns_pass_through_with_a_warning(orgs: gpd.GeoDataFrame) -> None:
    result = read_activities(FIXTURES / "activities.csv", organizations=orgs)
    assert result.records["geocoder_note"].tolist() == ["kept", ""]
    warnings = [p for p in result.report.problems if p.severity == "warning"]
    assert [(p.row, p.column) for p in warnings] == [(None, "geocoder_note")]


def test_the_report_is_writable_as_csv(orgs: gpd.GeoDataFrame, tmp_path: Path) -> None:
    report = read_activities(FIXTURES / "activities.csv", organizations=orgs).report
    path = report.write(tmp_path / "report.csv")
    table = read_table(path)
    assert table.columns.tolist() == [
        "file",
        "kind",
        "row",
        "column",
        "value",
        "severity",
        "message",
    ]
    assert len(table) == len(report.problems)
    assert "ibasho;gardening" in table["value"].tolist()


@pytest.mark.parametrize(("cell", "expected"), [("○", True), ("×", False), ("ＮＯ", False)])
def test_yes_no_cells_read_every_documented_spelling(
    tmp_path: Path, orgs: gpd.GeoDataFrame, cell: str, expected: bool
) -> None:
    path = tmp_path / "acts.csv"
    path.write_text(
        f"id,organization_id,name,format,published\na,o1,n,online,{cell}\n", encoding="utf-8"
    )
    result = read_activities(path, organizations=orgs)
    assert result.records["published"].tolist() == [expected]


@pytest.mark.parametrize("cell", ["たぶん", "on", "2"])
def test_an_unknown_yes_no_cell_is_reported_never_read_as_true_or_false(
    tmp_path: Path, orgs: gpd.GeoDataFrame, cell: str
) -> None:
    path = tmp_path / "acts.csv"
    path.write_text(
        f"id,organization_id,name,format,published\na,o1,n,online,{cell}\n", encoding="utf-8"
    )
    result = read_activities(path, organizations=orgs)
    assert result.records.empty
    (problem,) = result.report.errors
    assert (problem.row, problem.column, problem.value) == (2, "published", cell)
    assert "はい/いいえ" in problem.message


def test_coordinates_under_any_detected_pair_of_headers(
    tmp_path: Path, orgs: gpd.GeoDataFrame
) -> None:
    path = tmp_path / "acts.csv"
    path.write_text(
        "id,organization_id,name,format,経度,緯度\na,o1,n,in_person,139.6453,35.8617\n",
        encoding="utf-8",
    )
    records = read_activities(path, organizations=orgs).records
    assert records.geometry.iloc[0].equals(shapely.Point(139.6453, 35.8617))


def test_a_missing_required_column_fails_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "acts.csv"
    path.write_text("id,name,format\na,b,online\n", encoding="utf-8")
    with pytest.raises(InputError, match="organization_id") as err:
        read_activities(path)
    assert err.value.path == str(path)


def test_geojson_points_give_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "acts.geojson"
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [139.5, 35.9]},
        "properties": {"id": "g1", "organization_id": "o1", "name": "点", "format": "in_person"},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), "utf-8")
    records = read_activities(path).records
    assert (records["lng"].iat[0], records["lat"].iat[0]) == (139.5, 35.9)


def test_records_write_back_as_text(orgs: gpd.GeoDataFrame) -> None:
    records = read_activities(FIXTURES / "activities.csv", organizations=orgs).records
    table = to_table(records, Activity, japanese_headers=True)
    assert table["テーマ (themes)"].tolist() == ["ibasho;elderly", "consultation"]
    assert table["公開 (published)"].tolist() == ["true", "false"]


# --- templates, good practices, samples ---------------------------------------------------------


@pytest.mark.parametrize("name", ["activities.csv", "activities.xlsx"])
def test_templates_read_back_with_japanese_headers(name: str, store: Store) -> None:
    result = read_activities(TEMPLATES_DIR / name)
    assert result.report.ok, result.report.to_frame()
    assert result.records["themes"].iat[0] == ["ibasho", "elderly"]
    columns = template_frame(store).columns.tolist()
    assert read_table(TEMPLATES_DIR / name).columns.tolist() == columns


def test_good_practices_hold_the_real_awards_without_guesses() -> None:
    result = read_good_practices()
    assert result.report.ok
    gp = result.records.set_index("id")
    assert gp.loc["gp-2024-01", "award"] == "大賞"
    assert gp.loc["gp-2024-01", "organization_name"] == "特定非営利活動法人 新座子育てネットワーク"
    assert gp.loc[["gp-2024-02", "gp-2024-03"], "award"].tolist() == ["優秀賞", "優秀賞"]
    assert gp.loc["gp-2025-01", "fiscal_year"] == 2025
    # What the sources do not say stays empty.
    assert gp["summary"].isna().all()
    assert gp.loc[["gp-2024-02", "gp-2024-03", "gp-2025-01"], "muni_code"].isna().all()


def test_sample_files_read_without_errors_and_are_marked_fictional() -> None:
    orgs = read_organizations(SAMPLES_DIR / "organizations.csv")
    acts = read_activities(SAMPLES_DIR / "activities.csv", organizations=orgs.records)
    windows = read_consultations(SAMPLES_DIR / "consultations.csv")
    for result in (orgs, acts, windows):
        assert result.report.ok, result.report.to_frame().head()
        assert result.records["is_fictional"].all()
    assert len(orgs.records) >= 150 and len(acts.records) >= 400
    a = acts.records
    assert a["geometry"].isna().mean() > 0.6  # most rows are left for the geocoder
    assert {"hidden", "town", "municipality"} <= set(a["location_privacy"])
    assert (~a["published"]).any()
    assert a["serves"].map(lambda s: s == ["prefecture"]).sum() >= 5
    assert "README.md" in {p.name for p in SAMPLES_DIR.iterdir()}


def test_sample_addresses_use_real_towns_and_the_south_east_is_dense(
    store: Store,
) -> None:
    acts = read_activities(SAMPLES_DIR / "activities.csv").records
    towns = set(store.towns["town"])
    names = {}
    from tsunagari_geo.region import load_region

    for m in load_region("saitama").registry.units:
        names[m.code] = "埼玉県" + m.full_name
    local = acts[acts["address"].notna()]
    for address, serves in zip(local["address"], local["serves"], strict=True):
        prefix = names[serves[0]]
        assert address.startswith(prefix), address
        rest = address.removeprefix(prefix).rstrip("0123456789-")
        assert rest in towns, address
    per_unit = local["serves"].map(lambda s: s[0]).value_counts()
    assert per_unit.get("11203", 0) > 5 * per_unit.get("11207", 0)  # 川口市 vs 秩父市
    munis = {load_region("saitama").registry.by_code[c].muni_code for c in per_unit.index}
    assert len(munis) >= 50


def test_samples_regenerate_byte_for_byte(store: Store, tmp_path: Path) -> None:
    write_samples(generate_samples(store), tmp_path)
    for name in ("organizations.csv", "activities.csv", "consultations.csv"):
        assert (tmp_path / name).read_bytes() == (SAMPLES_DIR / name).read_bytes(), name


def test_the_template_example_is_a_real_town_of_the_region(store: Store) -> None:
    example = template_frame(store).iloc[0]
    serves = example["対象地域 (serves)"]
    prefix = "埼玉県" + store.region.registry.by_code[serves].full_name
    address = example["住所 (address)"]
    assert address.startswith(prefix) and address.endswith("1-1")
    assert address.removeprefix(prefix).removesuffix("1-1") in set(store.towns["town"])


@pytest.fixture(scope="module")
def store_b(tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder = tmp_path_factory.mktemp("samples_b")
    import_reference(make_region_b_source(folder / "source"), folder / "s.gpkg", region=region_b())
    return open_store(folder / "s.gpkg")


def test_samples_of_another_region_are_written_in_its_names(store_b: Store) -> None:
    samples = generate_samples(store_b, organizations=30, activities=60)
    orgs = samples.organizations
    assert "静岡県 福祉部（架空の会員データ）" in set(orgs["name"])
    addresses = samples.activities["address"].replace("", None).dropna()
    assert len(addresses) > 40 and addresses.str.startswith("静岡県").all()
    codes = {m.code for m in store_b.region.registry.municipalities}
    for cell in samples.consultations["serves"]:
        assert all(c in codes or c == "prefecture" for c in cell.split(";")), cell
    for table in (orgs, samples.activities, samples.consultations):
        assert not table.astype(str).apply(lambda c: c.str.contains("埼玉|さいたま")).any().any()
    example = template_frame(store_b).iloc[0]
    assert example["住所 (address)"].startswith("静岡県")
    assert example["対象地域 (serves)"] in codes


def test_vocabulary_accepts_municipality_names_for_serves() -> None:
    record = Activity.model_validate(
        {
            "id": "x",
            "organization_id": "o",
            "name": "n",
            "format": "電話",
            "serves": "川越市、蕨市",
        },
        context=Vocabulary.default(),
    )
    assert (record.format, record.serves) == ("phone", ["11201", "11223"])


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (Activity, {"organization_id": "o", "format": "電話"}),
        (Consultation, {"provider": "埼玉県"}),
    ],
)
def test_activities_and_consultations_check_life_stages_and_serves_alike(
    model: type[Activity] | type[Consultation], fields: dict[str, str]
) -> None:
    base = {"id": "x", "name": "n", **fields}
    record = model.model_validate(
        {**base, "life_stages": "高齢者", "serves": "川越市"}, context=Vocabulary.default()
    )
    assert (record.life_stages, record.serves) == (["elderly"], ["11201"])
    with pytest.raises(ValueError, match="ライフステージ"):
        model.model_validate({**base, "life_stages": "宇宙人"}, context=Vocabulary.default())


# --- the coverage command on the samples ---------------------------------------------------------


def test_coverage_command_on_the_samples(store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "coverage.geojson"
    _register()
    result = CliRunner().invoke(
        app,
        [
            "coverage",
            "--activities", str(SAMPLES_DIR / "activities.csv"),
            "--organizations", str(SAMPLES_DIR / "organizations.csv"),
            "--out", str(out),
            "--store", str(store_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = gpd.read_file(out)
    assert len(frame) == 63
    assert set(frame.geom_type) <= {"Polygon", "MultiPolygon"}
    assert frame["inperson_total"].sum() > 300
    assert json.loads(out.read_text("utf-8"))["attribution"]
    assert (tmp_path / "coverage.suggestions.csv").exists()
    assert (tmp_path / "coverage.report.csv").exists()
    assert "ギャップスコア上位" in result.output


def test_coverage_command_keeps_the_place_of_rows_it_does_not_geocode(
    store_path: Path, tmp_path: Path
) -> None:
    """A row placed only by its muni_code stays in that municipality when another row of the
    same file needs geocoding."""
    header = "id,organization_id,name,themes,life_stages,format,address,muni_code,published,location_privacy"
    (tmp_path / "orgs.csv").write_text(
        "id,name,kind,base_muni_code\no1,テスト団体,NPO等,11201\n", encoding="utf-8"
    )
    rows = [
        "a1,o1,住所のある活動,ibasho,all_ages,in_person,秩父市熊木町8-15,,true,exact",
        "a2,o1,市町村だけの活動,ibasho,all_ages,in_person,,11201,true,exact",
    ]
    (tmp_path / "acts.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    out = tmp_path / "coverage.csv"
    _register()
    result = CliRunner().invoke(
        app,
        [
            "coverage",
            "--activities", str(tmp_path / "acts.csv"),
            "--organizations", str(tmp_path / "orgs.csv"),
            "--out", str(out),
            "--store", str(store_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, dtype={"code": str}).set_index("code")
    assert frame.loc["11201", "inperson_total"] == 1  # 川越市, from its muni_code
    assert frame.loc["11207", "inperson_total"] == 1  # 秩父市, geocoded


def test_samples_command_rewrites_the_files(store_path: Path, tmp_path: Path) -> None:
    _register()
    result = CliRunner().invoke(
        app,
        [
            "samples",
            "--out-dir", str(tmp_path / "samples"),
            "--templates-dir", str(tmp_path / "templates"),
            "--store", str(store_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "架空のサンプル" in result.output
    assert (tmp_path / "samples" / "activities.csv").read_bytes() == (
        SAMPLES_DIR / "activities.csv"
    ).read_bytes()
    assert (tmp_path / "templates" / "activities.csv").read_bytes() == (
        TEMPLATES_DIR / "activities.csv"
    ).read_bytes()
    assert (tmp_path / "templates" / "activities.xlsx").exists()


def test_coverage_command_reports_rejected_rows(store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "units.csv"
    _register()
    result = CliRunner().invoke(
        app,
        [
            "coverage",
            "--activities", str(FIXTURES / "activities.csv"),
            "--organizations", str(FIXTURES / "organizations.csv"),
            "--out", str(out),
            "--level", "unit",
            "--store", str(store_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(read_table(out)) == 72
    report = read_table(tmp_path / "units.report.csv")
    errors = report[report["severity"] == "error"]
    assert ("activities.csv" in errors["file"].str.cat()) and "4" in errors["row"].tolist()
    assert "organizations.csv" in report["file"].str.cat()
    assert "9 行中 2 行を読み込み" in result.output


# --- contact, hours, ages and languages ----------------------------------------------------------

_CONTACT_HEADER = (
    "活動ID (id),団体ID (organization_id),活動名 (name),形態 (format),電話番号 (phone),"
    "メール (email),LINE (line_url),開始時刻 (opens_at),終了時刻 (closes_at),"
    "対象年齢（下限） (minimum_age),対象年齢（上限） (maximum_age),対応言語 (languages),"
    "連絡先の公開 (contact_public)"
)


def test_contact_hours_ages_and_languages_are_read_into_their_written_forms(
    tmp_path: Path,
) -> None:
    path = tmp_path / "acts.csv"
    path.write_text(
        f"{_CONTACT_HEADER}\n"
        "ok,o1,よい例,対面,０４８（５５５）０１２３,info@example.jp,https://lin.ee/abc,"
        "１０：００,12:00,15歳,39,英語;zh-hans;vi,はい\n"
        "free,o1,フリーダイヤル,電話,0120000123,,,,,,,,\n",
        encoding="utf-8",
    )
    result = read_activities(path)
    assert result.report.ok, result.report.problems
    ok, free = result.records.iloc[0], result.records.iloc[1]
    assert (ok["phone"], ok["email"], ok["line_url"]) == (
        "048-555-0123",
        "info@example.jp",
        "https://lin.ee/abc",
    )
    assert (ok["opens_at"], ok["closes_at"]) == ("10:00", "12:00")
    assert (ok["minimum_age"], ok["maximum_age"]) == (15, 39)
    assert ok["languages"] == ["en", "zh-Hans", "vi"]
    assert bool(ok["contact_public"]) is True
    assert free["phone"] == "0120-000-123"
    assert bool(free["contact_public"]) is False  # empty is no


def test_a_bad_phone_email_line_time_age_or_language_names_file_row_column_and_value(
    tmp_path: Path,
) -> None:
    path = tmp_path / "acts.csv"
    rows = [
        "p1,o1,電話,対面,0485550123,,,,,,,,",  # a geographic number without its hyphens
        "p2,o1,電話,対面,03-1234-567,,,,,,,,",  # a digit short
        "e1,o1,メール,対面,,info@@example,,,,,,,",
        "l1,o1,LINE,対面,,,https://example.com/line,,,,,,",
        "t1,o1,時刻,対面,,,,25:00,,,,,",
        "t2,o1,時刻,対面,,,,13:00,12:00,,,,",
        "a1,o1,年齢,対面,,,,,,20,10,,",
        "a2,o1,年齢,対面,,,,,,130,,,",
        "g1,o1,言語,対面,,,,,,,,klingon,",
        "c1,o1,公開,対面,,,,,,,,,たぶん",
    ]
    path.write_text(_CONTACT_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = read_activities(path)
    assert result.records.empty
    assert result.report.path == str(path)
    found = {(p.row, p.column, p.value) for p in result.report.errors}
    assert found == {
        (2, "電話番号 (phone)", "0485550123"),
        (3, "電話番号 (phone)", "03-1234-567"),
        (4, "メール (email)", "info@@example"),
        (5, "LINE (line_url)", "https://example.com/line"),
        (6, "開始時刻 (opens_at)", "25:00"),
        (7, "終了時刻 (closes_at)", "12:00"),
        (8, "対象年齢（上限） (maximum_age)", "10"),
        (9, "対象年齢（下限） (minimum_age)", "130"),
        (10, "対応言語 (languages)", "klingon"),
        (11, "連絡先の公開 (contact_public)", "たぶん"),
    }
    messages = {p.row: p.message for p in result.report.errors}
    assert "ハイフン" in messages[2] and "開始時刻 13:00" in messages[7]
    table = result.report.to_frame()
    assert set(table["file"]) == {str(path)}
