"""Reading and writing the secretariat's tables: encodings, rows kept, atomic and safe writes."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point

from tsunagari_geo.errors import InputError
from tsunagari_geo.tables import ISSUES_ATTR, neutralize_formula, read_table, write_table

ROWS = (
    "id,住所,郵便番号\n001,埼玉県さいたま市浦和区常盤6-4-4,0330-0061\n002,川越市元町1-3-1,3500062\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932", "shift_jis"])
def test_csv_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(ROWS.encode(encoding))
    frame = read_table(path)
    assert frame.columns.tolist() == ["id", "住所", "郵便番号"]
    assert frame["住所"].tolist() == ["埼玉県さいたま市浦和区常盤6-4-4", "川越市元町1-3-1"]


def test_cells_stay_text_with_leading_zeros(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(ROWS, encoding="utf-8")
    frame = read_table(path)
    assert frame["id"].tolist() == ["001", "002"]
    assert frame["郵便番号"].tolist() == ["0330-0061", "3500062"]


def test_columns_as_str_false_converts_numeric_columns(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("n,name\n1,a\n2.5,b\n", encoding="utf-8")
    frame = read_table(path, columns_as_str=False)
    assert frame["n"].tolist() == [1.0, 2.5]
    assert frame["name"].tolist() == ["a", "b"]


def test_explicit_encoding_overrides_detection(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(ROWS.encode("cp932"))
    with pytest.raises(InputError) as err:
        read_table(path, encoding="utf-8")
    assert err.value.row == 1  # the header already holds 住所 in CP932
    assert str(path) in str(err.value)


def test_ragged_rows_and_nul_bytes_are_kept_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"a,b\n1\n2,x\x00y\n3,4,5\n\n6,7\n")
    frame = read_table(path)
    assert frame["a"].tolist() == ["1", "2", "3", "", "6"]
    assert frame["b"].tolist() == ["", "xy", "4", "", "7"]
    assert frame["_extra_3"].tolist() == ["", "", "5", "", ""]
    rows = sorted({issue.row for issue in frame.attrs[ISSUES_ATTR]})
    assert rows == [2, 3, 4, 5]


def test_blank_line_in_a_one_column_file_is_an_empty_value(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("住所\n川越市\n\nさいたま市\n\n", encoding="utf-8")
    assert read_table(path)["住所"].tolist() == ["川越市", "", "さいたま市", ""]


def test_trailing_blank_lines_of_a_wider_table_are_dropped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("a,b\n1,2\n,\n\n\n", encoding="utf-8")
    frame = read_table(path)
    assert frame["a"].tolist() == ["1", ""]
    assert "末尾の空行 2 行" in str(frame.attrs[ISSUES_ATTR][-1])


def test_quoted_newlines_stay_in_one_cell(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('a,b\n1,"x\ny"\n2,z\n', encoding="utf-8")
    assert read_table(path)["b"].tolist() == ["x\ny", "z"]


def test_duplicate_and_blank_headers_get_unique_names(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("住所,住所,\n1,2,3\n", encoding="utf-8")
    assert read_table(path).columns.tolist() == ["住所", "住所.2", "column_3"]


def test_missing_file_and_unknown_suffix_raise(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="見つかりません"):
        read_table(tmp_path / "nope.csv")
    other = tmp_path / "x.doc"
    other.write_text("x")
    with pytest.raises(InputError, match="形式"):
        read_table(other)


def test_xlsx_keeps_text_and_formats_numbers(tmp_path: Path) -> None:
    path = tmp_path / "in.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "住所", "定員"])
    sheet.append(["007", "川越市元町1-3-1", 18])
    sheet.append([None, None, None])
    sheet.append(["008", "熊谷市宮町2-47-1", 2.5])
    book.save(path)
    frame = read_table(path)
    assert frame.to_dict("list") == {
        "id": ["007", "", "008"],
        "住所": ["川越市元町1-3-1", "", "熊谷市宮町2-47-1"],
        "定員": ["18", "", "2.5"],
    }
    assert [i.row for i in frame.attrs[ISSUES_ATTR]] == [3]


def test_geojson_points_get_lon_lat_columns(tmp_path: Path) -> None:
    path = tmp_path / "in.geojson"
    gdf = gpd.GeoDataFrame(
        {"code": ["011", "012"]}, geometry=[Point(139.6, 35.8), Point(139.5, 35.9)], crs=4326
    )
    gdf.to_file(path)
    frame = read_table(path)
    assert isinstance(frame, gpd.GeoDataFrame)
    assert frame["code"].tolist() == ["011", "012"]
    assert frame["lon"].tolist() == ["139.6", "139.5"]
    assert frame["lat"].tolist() == ["35.8", "35.9"]


def test_formula_injection_is_neutralised_but_numbers_are_not() -> None:
    assert neutralize_formula("=1+2") == "'=1+2"
    assert neutralize_formula("@SUM(A1)") == "'@SUM(A1)"
    assert neutralize_formula("+81-3") == "'+81-3"
    assert neutralize_formula("\tx") == "'\tx"
    assert neutralize_formula("-1.5") == "-1.5"
    assert neutralize_formula("+3") == "+3"
    assert neutralize_formula("浦和") == "浦和"


def test_full_width_and_blank_led_formulas_are_neutralised() -> None:
    """A Japanese spreadsheet reads ＝＋－＠ as their ASCII forms, and trims leading blanks."""
    for cell in ("＝1+2", "＋81-3", "－A1", "＠SUM(A1)", " =1+2", "\u3000=1+2", " \t@x", "\nx"):
        assert neutralize_formula(cell) == "'" + cell, cell
    assert neutralize_formula(" 浦和") == " 浦和"


def test_csv_is_written_with_bom_and_safe_cells(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_table(pd.DataFrame({"name": ["=cmd()", "-1.5", "ok"], "id": ["001", "002", "003"]}), path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = read_table(path)
    assert back["name"].tolist() == ["'=cmd()", "-1.5", "ok"]
    assert back["id"].tolist() == ["001", "002", "003"]


def test_xlsx_written_with_attribution_sheet(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_table(pd.DataFrame({"a": ["@x", "1"]}), path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["data", "出典"]
    assert [c.value for c in book["data"]["A"]] == ["a", "'@x", "1"]


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_full_width_and_blank_led_formulas_are_neutralised_in_files(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"out.{suffix}"
    cells = ["＝HYPERLINK(1)", " =1+2", "\t＠x", "浦和"]
    write_table(pd.DataFrame({"name": cells}), path)
    if suffix == "csv":
        written = read_table(path)["name"].tolist()
    else:
        written = [c.value for c in openpyxl.load_workbook(path)["data"]["A"]][1:]
    assert written == ["'＝HYPERLINK(1)", "' =1+2", "'\t＠x", "浦和"]


def test_geojson_from_lat_lng_columns_has_attribution(tmp_path: Path) -> None:
    path = tmp_path / "out.geojson"
    frame = pd.DataFrame({"id": ["1", "2"], "lat": ["35.86", ""], "lng": ["139.64", ""]})
    write_table(frame, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "国土数値情報" in doc["attribution"]
    assert doc["features"][0]["geometry"]["coordinates"] == [139.64, 35.86]
    assert doc["features"][1]["geometry"] is None
    assert [f["properties"]["id"] for f in doc["features"]] == ["1", "2"]


def test_gpkg_has_layer_and_attribution_table(tmp_path: Path) -> None:
    path = tmp_path / "result.gpkg"
    frame = pd.DataFrame({"id": ["1"], "lat": ["35.86"], "lng": ["139.64"]})
    write_table(frame, path)
    back = gpd.read_file(path, layer="result")
    assert back["id"].tolist() == ["1"]
    with sqlite3.connect(path) as conn:
        lines = [r[0] for r in conn.execute("SELECT text FROM attribution ORDER BY line_no")]
    assert any("国勢調査" in line for line in lines)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_folder_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(InputError, match="書き込めません") as err:
            write_table(pd.DataFrame({"a": ["1"]}), folder / "out.csv")
        assert "out.csv" in str(err.value)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_table(pd.DataFrame({"a": ["old"] * 1000}), path)
    before = path.read_bytes()

    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("cell cannot be written")

    half_bad = pd.DataFrame({"a": ["new"] * 999 + [Unprintable()]})
    with pytest.raises(RuntimeError):
        write_table(half_bad, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_missing_output_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="フォルダ"):
        write_table(pd.DataFrame({"a": ["1"]}), tmp_path / "nope" / "out.csv")


def test_unknown_output_suffix_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="拡張子"):
        write_table(pd.DataFrame({"a": ["1"]}), tmp_path / "out.doc")


def test_write_tables_puts_the_earlier_files_back_when_a_later_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    from tsunagari_geo.tables import write_tables

    first, second = tmp_path / "out.failures.csv", tmp_path / "out.csv"
    write_tables([(pd.DataFrame({"a": ["old"]}), first), (pd.DataFrame({"a": ["old"]}), second)])
    before = first.read_bytes(), second.read_bytes()
    real_replace = os.replace

    def failing_replace(a: os.PathLike[str] | str, b: os.PathLike[str] | str) -> None:
        if Path(b) == second and Path(a).name.startswith(".out.csv."):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        real_replace(a, b)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(InputError) as caught:
        write_tables(
            [(pd.DataFrame({"a": ["new"]}), first), (pd.DataFrame({"a": ["new"]}), second)]
        )
    assert caught.value.path == str(second)
    assert (first.read_bytes(), second.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.failures.csv"]
