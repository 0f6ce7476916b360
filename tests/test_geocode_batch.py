"""The batch geocoding job and its CLI: every row out, in order, checked, resumable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from tsunagari_geo.analysis.join import join_points
from tsunagari_geo.cli import _register, app
from tsunagari_geo.errors import InputError
from tsunagari_geo.geocode import Geocoder
from tsunagari_geo.geocode.batch import (
    FAR_THRESHOLD_M,
    OUT_COLUMNS,
    find_address_columns,
    geocode_table,
    journal_path,
)
from tsunagari_geo.store import Store
from tsunagari_geo.tables import write_table

CARE = "samples/care_facilities_mhlw_2025.csv"


@pytest.fixture(scope="module")
def geocoder(store: Store) -> Geocoder:
    return Geocoder.from_store(store)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    pd.DataFrame(rows).to_csv(path, index=False, encoding=encoding)
    return path


def test_every_row_comes_out_in_order_with_its_own_columns(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    rows = [
        {"id": "003", "住所": "さいたま市浦和区常盤6-4-4", "memo": "=1+1"},
        {"id": "001", "住所": "", "memo": ""},
        {"id": "002", "住所": "東京都千代田区丸の内1-1", "memo": "x"},
        {"id": "002", "住所": "さいたま市浦和区常盤6-4-4", "memo": "duplicate kept"},
    ]
    src = _write_csv(tmp_path / "in.csv", rows)
    summary = geocode_table(src, tmp_path / "out.csv", geocoder=geocoder, store=store)
    out = _read(tmp_path / "out.csv")
    assert out.columns.tolist() == ["id", "住所", "memo", *OUT_COLUMNS]
    assert out["id"].tolist() == ["003", "001", "002", "002"]
    assert out["status"].tolist() == ["matched", "empty", "outside_prefecture", "matched"]
    assert out["memo"].tolist()[0] == "'=1+1"  # formula injection neutralised
    assert summary.rows == 4
    assert summary.by_status == {"matched": 2, "empty": 1, "outside_prefecture": 1}
    assert summary.by_level == {3: 2, 0: 1, 1: 1}


def test_failures_file_lists_rows_needing_a_person(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    rows = [
        {"住所": "さいたま市浦和区常盤6-4-4"},
        {"住所": "川口市新堀1234"},
        {"住所": "あいうえお"},
    ]
    src = _write_csv(tmp_path / "in.csv", rows)
    summary = geocode_table(src, tmp_path / "result.csv", geocoder=geocoder, store=store)
    failures = _read(tmp_path / "result.failures.csv")
    assert summary.failures == tmp_path / "result.failures.csv"
    # Grouped by what a person has to do (a name to add comes before a choice to make).
    assert failures["行"].tolist() == ["4", "3"]
    assert failures["対応"].tolist() == ["住所に市町村名がない", "候補が複数"]
    assert failures["status"].tolist() == ["unmatched", "ambiguous"]
    assert "川口市大字新堀" in failures["候補"].iloc[1]
    assert failures["もしかして"].tolist() == ["", ""]


def test_failures_file_suggests_the_spelling_one_character_away(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    rows = [{"住所": "さいたま市浦和区常磐6-4-4"}, {"住所": "伊那町小室1-2"}]
    src = _write_csv(tmp_path / "in.csv", rows)
    geocode_table(src, tmp_path / "result.csv", geocoder=geocoder, store=store)
    out = _read(tmp_path / "result.csv")
    assert out["status"].tolist() == ["partial", "unmatched"]  # a hint is never applied
    assert "もしかして" not in out.columns and "suggestions" not in out.columns
    failures = _read(tmp_path / "result.failures.csv")
    assert failures["もしかして"].tolist() == [
        "さいたま市浦和区常盤6-4-4",
        "北足立郡伊奈町小室1-2",
    ]


def test_address_header_is_recognised_or_the_columns_are_listed() -> None:
    assert find_address_columns(["id", "所在地", "tel"]) == ["所在地"]
    assert find_address_columns(["Address", "name"]) == ["Address"]
    assert find_address_columns(["都道府県", "市区町村", "町域", "番地"]) == [
        "都道府県",
        "市区町村",
        "町域",
        "番地",
    ]
    with pytest.raises(InputError, match="id, name, tel"):
        find_address_columns(["id", "name", "tel"])


def test_unknown_address_column_names_the_column(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    src = _write_csv(tmp_path / "in.csv", [{"addr1": "x"}])
    with pytest.raises(InputError, match="住所の列") as err:
        geocode_table(
            src, tmp_path / "o.csv", geocoder=geocoder, store=store, address_columns=["住所"]
        )
    assert err.value.column == "住所"


def test_split_address_columns_are_joined(tmp_path: Path, store: Store, geocoder: Geocoder) -> None:
    rows = [
        {"都道府県": "埼玉県", "市区町村": "さいたま市浦和区", "町域": "常盤六丁目", "番地": "4-4"},
        {"都道府県": "埼玉県", "市区町村": "川越市", "町域": "元町一丁目", "番地": ""},
    ]
    src = _write_csv(tmp_path / "in.csv", rows)
    geocode_table(src, tmp_path / "out.csv", geocoder=geocoder, store=store)
    out = _read(tmp_path / "out.csv")
    assert out["town"].tolist() == ["常盤六丁目", "元町一丁目"]
    assert out["rest"].tolist() == ["4-4", ""]


def test_city_then_address_columns_never_double_the_municipality(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    rows = [
        {"city": "草加市", "address": "稲荷5-1-31"},
        {"city": "草加市", "address": "埼玉県草加市稲荷5-1-31"},
    ]
    src = _write_csv(tmp_path / "in.csv", rows)
    geocode_table(
        src, tmp_path / "o.csv", geocoder=geocoder, store=store, address_columns=["city", "address"]
    )
    out = _read(tmp_path / "o.csv")
    # Our columns that clash with the input's (city) get the geocode_ prefix.
    assert out["geocode_city"].tolist() == ["草加市", "草加市"]
    assert out["town"].tolist() == ["稲荷五丁目", "稲荷五丁目"]
    assert out["city"].tolist() == ["草加市", "草加市"]


def test_split_columns_keep_an_outside_prefecture_row_and_trust_a_saitama_row(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    rows = [
        {"都道府県": "東京都", "市区町村": "千代田区", "町域": "丸の内", "番地": "1-1"},
        {"都道府県": "千葉県", "市区町村": "松戸市", "町域": "", "番地": "1-2"},
        {"都道府県": "埼玉県", "市区町村": "白岡市", "町域": "", "番地": "栄町704"},
    ]
    src = _write_csv(tmp_path / "in.csv", rows)
    geocode_table(
        src,
        tmp_path / "o.csv",
        geocoder=geocoder,
        store=store,
        address_columns=["都道府県", "市区町村", "町域", "番地"],
    )
    out = _read(tmp_path / "o.csv")
    assert out["status"].tolist()[:2] == ["outside_prefecture", "outside_prefecture"]
    assert out["level"].tolist() == ["1", "1", "2"]
    assert out["pref"].tolist() == ["東京都", "千葉県", "埼玉県"]
    assert (out["city"].iloc[2], out["muni_code"].iloc[2]) == ("白岡市", "11246")


def test_our_columns_clashing_only_by_case_are_renamed_for_gpkg(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    row = {"ID": "1", "住所": "さいたま市浦和区常盤6-4-4", "Lat": "35.86", "Lng": "139.64"}
    src = _write_csv(tmp_path / "in.csv", [{**row, "Status": "open", "City": "x"}])
    geocode_table(src, tmp_path / "o.gpkg", geocoder=geocoder, store=store)
    back = gpd.read_file(tmp_path / "o.gpkg", layer="o")
    assert back["Lat"].tolist() == ["35.86"]
    assert back["Status"].tolist() == ["open"]
    assert back["geocode_status"].tolist() == ["matched"]
    assert back["geocode_city"].tolist() == ["さいたま市浦和区"]
    assert back["geocode_lat"].tolist() == [35.861675]  # ours a number; the input's Lat as read
    assert back["level"].tolist() == [3]


def test_gpkg_field_clash_is_an_input_error_naming_file_and_column(tmp_path: Path) -> None:
    frame = pd.DataFrame({"Lat": ["1"], "lat": ["2"], "lng": ["3"]})
    with pytest.raises(InputError) as err:
        write_table(frame, tmp_path / "dup.gpkg")
    assert err.value.path == str(tmp_path / "dup.gpkg")
    assert err.value.column == "lat"
    assert not (tmp_path / "dup.gpkg").exists()


def test_an_input_column_named_geometry_comes_out(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    src = _write_csv(tmp_path / "in.csv", [{"住所": "川越市元町1-3-1", "geometry": "POINT (1 2)"}])
    geocode_table(src, tmp_path / "o.csv", geocoder=geocoder, store=store)
    out = _read(tmp_path / "o.csv")
    assert out["geometry"].tolist() == ["POINT (1 2)"]
    assert out["town"].tolist() == ["元町一丁目"]
    geocode_table(src, tmp_path / "o.geojson", geocoder=geocoder, store=store)
    doc = json.loads((tmp_path / "o.geojson").read_text(encoding="utf-8"))
    feature = doc["features"][0]
    assert feature["properties"]["geometry"] == "POINT (1 2)"
    assert feature["geometry"]["type"] == "Point"


def test_cp932_input_is_detected(tmp_path: Path, store: Store, geocoder: Geocoder) -> None:
    src = _write_csv(tmp_path / "in.csv", [{"住所": "川越市元町1-3-1"}], encoding="cp932")
    geocode_table(src, tmp_path / "o.csv", geocoder=geocoder, store=store)
    assert _read(tmp_path / "o.csv")["town"].tolist() == ["元町一丁目"]


def test_xlsx_in_geojson_out_with_attribution(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["番号", "所在地"])
    sheet.append(["0012", "川越市元町1-3-1"])
    sheet.append(["0013", "不明"])
    book.save(tmp_path / "in.xlsx")
    geocode_table(tmp_path / "in.xlsx", tmp_path / "o.geojson", geocoder=geocoder, store=store)
    doc = json.loads((tmp_path / "o.geojson").read_text(encoding="utf-8"))
    assert "国土数値情報" in doc["attribution"]
    first, second = doc["features"]
    assert first["properties"]["番号"] == "0012"
    assert first["properties"]["town"] == "元町一丁目"
    lng, lat = first["geometry"]["coordinates"]
    # Numbers as numbers (level, lat, lng), as in XLSX; a row with no point has null ones.
    assert (lat, lng) == (first["properties"]["lat"], first["properties"]["lng"])
    assert first["properties"]["level"] == 3
    assert second["geometry"] is None
    assert second["properties"]["lat"] is None and second["properties"]["level"] == 0


def test_gpkg_output(tmp_path: Path, store: Store, geocoder: Geocoder) -> None:
    src = _write_csv(tmp_path / "in.csv", [{"住所": "川越市元町1-3-1"}])
    geocode_table(src, tmp_path / "o.gpkg", geocoder=geocoder, store=store)
    back = gpd.read_file(tmp_path / "o.gpkg", layer="o")
    assert back["town"].tolist() == ["元町一丁目"]
    assert back.geometry.iloc[0].x == pytest.approx(float(back["lng"].iloc[0]))


def test_existing_coordinates_are_checked_not_overwritten(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    town = geocoder.geocode("川越市元町1-3-1")
    assert town.lat is not None and town.lng is not None
    # 川越市's representative point lies inside 川越市, about 2.8 km from 元町一丁目.
    kawagoe = store.units.set_index("code").loc["11201"]
    rows = [
        {"住所": "川越市元町1-3-1", "緯度": str(town.lat + 0.001), "経度": str(town.lng)},
        {"住所": "川越市元町1-3-1", "緯度": "", "経度": ""},
        {"住所": "川越市元町1-3-1", "緯度": "35.681236", "経度": "139.767125"},  # 東京駅
        {"住所": "川越市元町1-3-1", "緯度": "35.8617", "経度": "139.6455"},  # 浦和区
        {"住所": "川越市元町1-3-1", "緯度": str(kawagoe.rep_lat), "経度": str(kawagoe.rep_lng)},
        {"住所": "あいうえお", "緯度": "35.9", "経度": "139.48"},
    ]
    src = _write_csv(tmp_path / "in.csv", rows)
    summary = geocode_table(src, tmp_path / "o.csv", geocoder=geocoder, store=store)
    out = _read(tmp_path / "o.csv")
    assert out["緯度"].tolist()[0] == rows[0]["緯度"]
    assert out["coord_check"].tolist() == [
        "ok",
        "missing",
        "outside_prefecture",
        "other_municipality",
        "far_from_address",
        "unchecked",
    ]
    assert 100 < int(out["coord_distance_m"].iloc[0]) < 120  # 0.001° of latitude ≈ 111 m
    assert int(out["coord_distance_m"].iloc[4]) > FAR_THRESHOLD_M
    assert out["coord_distance_m"].iloc[1] == ""
    assert summary.coord_check["ok"] == 1


def _shared_border_point(store: Store, a: str, b: str) -> tuple[float, float]:
    """A vertex of the border two units share (lon, lat)."""
    units = store.units.set_index("code")
    border = units.loc[a].geometry.boundary.intersection(units.loc[b].geometry.boundary)
    point = shapely.get_coordinates(border)[0]
    return float(point[0]), float(point[1])


def test_a_point_on_a_shared_border_is_checked_as_the_join_places_it(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    # 川越市 (11201) and 川島町 (11346) share a border: its points belong to the smaller code,
    # for the coordinate check exactly as for the spatial join.
    lng, lat = _shared_border_point(store, "11201", "11346")
    rows = [
        {"住所": "川越市元町1-3-1", "lat": str(lat), "lng": str(lng)},
        {"住所": "比企郡川島町大字平沼1", "lat": str(lat), "lng": str(lng)},
    ]
    src = _write_csv(tmp_path / "in.csv", rows)
    geocode_table(src, tmp_path / "o.csv", geocoder=geocoder, store=store)
    out = _read(tmp_path / "o.csv")
    assert out["muni_code"].tolist() == ["11201", "11346"]
    assert out["coord_check"].tolist()[1] == "other_municipality"
    assert out["coord_check"].tolist()[0] in ("ok", "far_from_address")
    joined = join_points(pd.DataFrame({"lng": [lng], "lat": [lat]}), store.units)
    assert joined["unit_code"].tolist() == ["11201"]


def test_both_codes_come_out_and_no_ward_is_invented(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    rows = [
        {"住所": "さいたま市浦和区常盤6-4-4"},
        {"住所": "さいたま市塚本1-1"},  # 西区 and 桜区 both have 塚本
        {"住所": "川越市元町1-3-1"},
    ]
    src = _write_csv(tmp_path / "in.csv", rows)
    geocode_table(src, tmp_path / "o.csv", geocoder=geocoder, store=store)
    out = _read(tmp_path / "o.csv")
    assert out["unit_code"].tolist() == ["11107", "", "11201"]
    assert out["muni_code"].tolist() == ["11100", "11100", "11201"]


def test_a_city_only_address_is_checked_against_the_city(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    rows = [
        {"住所": "さいたま市塚本1-1", "緯度": "35.8617", "経度": "139.6455"},  # in 浦和区
        {"住所": "さいたま市塚本1-1", "緯度": "35.9251", "経度": "139.4857"},  # in 川越市
    ]
    src = _write_csv(tmp_path / "in.csv", rows)
    geocode_table(src, tmp_path / "o.csv", geocoder=geocoder, store=store)
    assert _read(tmp_path / "o.csv")["coord_check"].tolist() == ["ok", "other_municipality"]


def test_overrides_by_id_and_by_address(tmp_path: Path, store: Store, geocoder: Geocoder) -> None:
    rows = [
        {"no": "1", "住所": "川口市新堀1234"},
        {"no": "2", "住所": "どこか"},
        {"no": "3", "住所": "川越市元町1-3-1"},
    ]
    src = _write_csv(tmp_path / "in.csv", rows)
    overrides = _write_csv(
        tmp_path / "ov.csv",
        [
            {"id": "1", "address": "", "town": "大字新堀", "lat": "", "lng": ""},
            {"id": "", "address": "どこか", "town": "", "lat": "35.9", "lng": "139.5"},
        ],
    )
    geocode_table(
        src, tmp_path / "o.csv", geocoder=geocoder, store=store, id_column="no", overrides=overrides
    )
    out = _read(tmp_path / "o.csv")
    assert out["status"].tolist() == ["overridden", "overridden", "matched"]
    assert out["town"].iloc[0] == "大字新堀"
    assert (out["lat"].iloc[1], out["lng"].iloc[1]) == ("35.9", "139.5")
    assert out["reason"].tolist()[:2] == ["override_town:2", "override_point:3"]


def test_bad_override_names_file_row_and_value(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    src = _write_csv(tmp_path / "in.csv", [{"no": "1", "住所": "x"}])
    overrides = _write_csv(tmp_path / "ov.csv", [{"id": "1", "lat": "north", "lng": "1"}])
    with pytest.raises(InputError) as err:
        geocode_table(
            src, tmp_path / "o.csv", geocoder=geocoder, store=store, id_column="no",
            overrides=overrides,
        )  # fmt: skip
    assert (err.value.row, err.value.path) == (2, str(overrides))


def test_resume_reuses_finished_chunks_and_restarts_on_a_changed_input(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    rows = [{"住所": f"川越市元町1-3-{i}"} for i in range(1, 31)]
    src = _write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "o.csv"
    journal = journal_path(out)
    # A journal from a run with another input is not reused, even with resume.
    journal.mkdir()
    (journal / "manifest.json").write_text('{"input_sha256": "other"}')
    (journal / "chunk_000000.rows").write_text("garbage\n")
    summary = geocode_table(src, out, geocoder=geocoder, store=store, resume=True, chunk_size=7)
    assert summary.resumed_chunks == 0
    assert _read(out)["rest"].tolist() == [f"3-{i}" for i in range(1, 31)]
    assert not journal.exists()


#: Runs the CLI with a pause after each journal chunk, so a kill can land half-way.
SLOW_GEOCODE = Path(__file__).with_name("slow_geocode.py")


def _console_script() -> str:
    script = Path(sys.executable).with_name("tsunagari-geo")
    assert script.exists(), script
    return str(script)


@pytest.mark.parametrize(
    "rows",
    [
        [["11107", "11100", "埼玉県", "さいたま市浦和区", "常盤六丁目", "4-4"]],
        [["", "", "", "", "", ""], ["a|b", "", "", "", "", ""]],
        # A separator inside a cell (no reading has one) makes the chunk JSON, read back exact.
        [["1\x1f2", "x\x1ey", "", "", "", ""], ["", "", "", "", "", "\x1f"]],
    ],
)
def test_a_journal_chunk_reads_back_as_written(rows: list[list[str]]) -> None:
    from tsunagari_geo.geocode.batch import _decode_chunk, _encode_chunk

    assert _decode_chunk(_encode_chunk(rows)) == rows


def test_sigkill_half_way_then_resume_gives_identical_bytes(
    tmp_path: Path, store_path: Path, source_dir: Path
) -> None:
    sample = pd.read_csv(source_dir / CARE, dtype=str, keep_default_na=False)
    src = tmp_path / "in.csv"
    sample.head(600).to_csv(src, index=False)
    args = ["--address-column", "city", "--address-column", "address", "--chunk-size", "40"]
    env = {**os.environ, "TSUNAGARI_STORE": str(store_path), "TSUNAGARI_SOURCE": str(source_dir)}

    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    subprocess.run(
        [_console_script(), "geocode", str(src), "--out", str(reference_dir / "out.csv"), *args],
        env=env, check=True, capture_output=True,
    )  # fmt: skip

    killed_dir = tmp_path / "killed"
    killed_dir.mkdir()
    out = killed_dir / "out.csv"
    journal = journal_path(out)
    # The same job, paused 0.3 s after each chunk by a wrapper (production has no such hook).
    proc = subprocess.Popen(
        [sys.executable, str(SLOW_GEOCODE), "0.3", "geocode", str(src), "--out", str(out), *args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(list(journal.glob("chunk_*.rows"))) < 4:
        assert proc.poll() is None, "the job ended before it could be killed"
        assert time.monotonic() < deadline, "the job never wrote its chunks"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    done = len(list(journal.glob("chunk_*.rows")))
    assert 4 <= done < 15

    resumed = subprocess.run(
        [_console_script(), "geocode", str(src), "--out", str(out), "--resume", *args],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert "再開" in resumed.stderr
    assert out.read_bytes() == (reference_dir / "out.csv").read_bytes()
    assert (killed_dir / "out.failures.csv").read_bytes() == (
        reference_dir / "out.failures.csv"
    ).read_bytes()
    assert len(_read(out)) == 600
    assert not journal.exists()
    assert sorted(p.name for p in killed_dir.iterdir()) == ["out.csv", "out.failures.csv"]


def test_cli_lookup_prints_json(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGARI_STORE", str(store_path))
    _register()
    result = CliRunner().invoke(app, ["lookup", "さいたま市常盤6-4-4"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["unit_code"], data["muni_code"]) == ("11107", "11100")
    assert (data["town"], data["level"]) == ("常盤六丁目", 3)


def test_cli_geocode_writes_output_and_summary(
    tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TSUNAGARI_STORE", str(store_path))
    _register()
    src = _write_csv(tmp_path / "in.csv", [{"住所": "川越市元町1-3-1"}, {"住所": ""}])
    result = CliRunner().invoke(app, ["geocode", str(src), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.output
    assert "要確認 1 行" in result.output
    assert _read(tmp_path / "o.csv")["status"].tolist() == ["matched", "empty"]


def test_cli_missing_columns_is_one_clear_line(tmp_path: Path, store_path: Path) -> None:
    src = _write_csv(tmp_path / "in.csv", [{"name": "x"}])
    env = {**os.environ, "TSUNAGARI_STORE": str(store_path)}
    done = subprocess.run(
        [_console_script(), "geocode", str(src), "--out", str(tmp_path / "o.csv")],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert "住所の列が見つかりません" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o.csv").exists()
    shutil.rmtree(tmp_path)


def test_input_columns_named_like_ours_are_kept_and_ours_renamed(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    row = {
        "住所": "伊那町小室1-2",
        "行": "r",
        "候補": "c",
        "もしかして": "s",
        "geocode_もしかして": "gs",
    }
    src = _write_csv(tmp_path / "in.csv", [row])
    geocode_table(src, tmp_path / "result.csv", geocoder=geocoder, store=store)
    failures = _read(tmp_path / "result.failures.csv")
    assert failures[["行", "候補", "もしかして", "geocode_もしかして"]].iloc[0].tolist() == [
        "r",
        "c",
        "s",
        "gs",
    ]
    assert failures["geocode_行"].tolist() == ["2"]
    assert failures["geocode_もしかして_2"].tolist() == ["北足立郡伊奈町小室1-2"]


#: Modules a CSV batch job does without (slow to import: most of a small job's start-up).
_GEO_MODULES = ("geopandas", "shapely", "pyogrio", "pyproj", "pandas", "numpy", "pyarrow")


def test_the_batch_module_imports_no_geometry_or_frame_library() -> None:
    code = (
        "import sys; import tsunagari_geo.geocode.batch; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {_GEO_MODULES!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_csv_job_reads_the_store_without_geometry_or_frame_libraries(
    tmp_path: Path, store_path: Path
) -> None:
    src = _write_csv(tmp_path / "in.csv", [{"住所": "さいたま市浦和区常盤6-4-4"}])
    out = tmp_path / "out.csv"
    code = (
        "import sys; from pathlib import Path; "
        "from tsunagari_geo.geocode.batch import geocode_table; "
        "from tsunagari_geo.store import open_store; "
        f"geocode_table(Path({str(src)!r}), Path({str(out)!r}), store=open_store({str(store_path)!r})); "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {_GEO_MODULES!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
    row = _read(out).iloc[0]
    assert (row["town"], row["level"], row["status"]) == ("常盤六丁目", "3", "matched")
