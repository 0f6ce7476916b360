"""Hostile input files through the batch job and the activities reader.

The corpus is ``tests/hostile/`` (small files, rewritten by ``make_corpus.py``) plus the large
files that script writes at test time (1 MB cells, 100,000-character addresses, a
200,000-vertex polygon). For every file the batch job either writes every row, once, in input
order, with a status from the allowed set, or raises an :class:`InputError` that names the
file, the row and the offending value; never an uncaught exception, a hang or a lost row.
Formula-like cells written back out in CSV and XLSX are text, never formulas.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from hostile import make_corpus
from tsunagari_geo.activities.readers import read_activities
from tsunagari_geo.errors import InputError
from tsunagari_geo.geocode import Geocoder
from tsunagari_geo.geocode.batch import geocode_table
from tsunagari_geo.store import Store
from tsunagari_geo.tables import (
    ISSUES_ATTR,
    XLSX_MAX_CELL,
    neutralize_formula,
    read_table,
    write_table,
)

HOSTILE = Path(__file__).resolve().parent / "hostile"
STATUSES = {"matched", "partial", "ambiguous", "outside_prefecture", "empty", "unmatched"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
OUTPUTS = [".csv", ".xlsx", ".geojson"]

pytestmark = pytest.mark.timeout(60)


def _ids(n: int) -> list[str]:
    return [f"r{i}" for i in range(1, n + 1)]


#: File → the ids of its rows, in order, as a person reads them in the file.
READABLE: dict[str, list[str]] = {
    "cp932.csv": _ids(3),
    "utf8_bom.csv": _ids(3),
    "ragged.csv": ["r1", "r2", "r3", "r4", "r5", "", "r7"],
    "formula.csv": _ids(len(make_corpus.FORMULAS) + 3),
    "nul.csv": _ids(4),
    "invisible.csv": _ids(20),
    "coordinates.csv": _ids(12),
    "text_in_numbers.csv": _ids(4),
    "invalid_geometries.geojson": _ids(10),
    "non_point_geometries.geojson": _ids(5),
    "one_megabyte_cells.csv": _ids(3),
    "long_addresses.csv": _ids(7),
    "huge_polygon.geojson": _ids(2),
}
#: Files whose every cell fits in Excel; the others must be refused as XLSX, naming the cell.
TOO_LONG_FOR_EXCEL = {"one_megabyte_cells.csv", "long_addresses.csv"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    files = {p.name: p for p in HOSTILE.iterdir() if p.suffix in (".csv", ".geojson")}
    files.update(make_corpus.write_large(tmp_path_factory.mktemp("large")))
    return files


@pytest.fixture(scope="module")
def geocoder(store: Store) -> Geocoder:
    return Geocoder.from_store(store)


def test_the_committed_corpus_is_what_the_script_makes_and_small() -> None:
    for name, data in make_corpus.small_files().items():
        assert (HOSTILE / name).read_bytes() == data, f"rerun tests/hostile/make_corpus.py ({name})"
        assert len(data) < 200_000
    assert all(p.stat().st_size < 200_000 for p in HOSTILE.iterdir())


# --- every row out, once, in order ----------------------------------------------------------------


@pytest.mark.parametrize("suffix", OUTPUTS)
@pytest.mark.parametrize("name", sorted(READABLE))
def test_every_row_of_a_hostile_file_comes_out_once_in_order(
    name: str,
    suffix: str,
    corpus: dict[str, Path],
    tmp_path: Path,
    store: Store,
    geocoder: Geocoder,
) -> None:
    out = tmp_path / f"out{suffix}"
    if suffix == ".xlsx" and name in TOO_LONG_FOR_EXCEL:
        with pytest.raises(InputError) as caught:
            geocode_table(corpus[name], out, geocoder=geocoder, store=store)
        error = caught.value
        assert error.path == str(out) and error.row is not None and error.column == "住所"
        assert f"{XLSX_MAX_CELL:,}" in error.message
        assert not out.exists()
        return
    summary = geocode_table(corpus[name], out, geocoder=geocoder, store=store)
    result = read_table(out)
    expected = READABLE[name]
    assert summary.rows == len(expected)
    assert result["id"].tolist() == expected
    assert set(result["status"]) <= STATUSES
    assert sum(summary.by_status.values()) == len(expected)


@pytest.mark.parametrize("name", ["cp932.csv", "utf8_bom.csv", "invisible.csv", "nul.csv"])
def test_encodings_and_invisible_characters_do_not_spoil_matching(
    name: str, corpus: dict[str, Path], tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    out = tmp_path / "out.csv"
    geocode_table(corpus[name], out, geocoder=geocoder, store=store)
    result = read_table(out)
    with_address = result[result["住所"] != ""]
    assert (with_address["status"] == "matched").all(), with_address[["id", "status"]]
    assert "\x00" not in out.read_text(encoding="utf-8-sig")


def test_ragged_rows_are_padded_or_kept_in_extra_columns_and_reported(
    corpus: dict[str, Path], tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    frame = read_table(corpus["ragged.csv"])
    rows = {issue.row for issue in frame.attrs[ISSUES_ATTR]}
    assert {3, 4, 5} <= rows
    out = tmp_path / "out.csv"
    geocode_table(corpus["ragged.csv"], out, geocoder=geocoder, store=store)
    result = read_table(out)
    r4 = result[result["id"] == "r4"].iloc[0]
    assert [r4["_extra_4"], r4["_extra_5"]] == ["extra1", "extra2"]
    assert result.loc[result["id"] == "r3", "status"].item() == "empty"


def test_out_of_range_and_non_numeric_coordinates_are_reported_missing_and_kept(
    corpus: dict[str, Path], tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    for name in ("coordinates.csv", "text_in_numbers.csv"):
        out = tmp_path / f"{name}.csv"
        summary = geocode_table(corpus[name], out, geocoder=geocoder, store=store)
        result = read_table(out)
        given = read_table(corpus[name])
        # NaN, ±inf, 91, 181, 1e400, 0/0 and text are no usable point: "missing", never "ok".
        assert summary.coord_check == {"missing": len(given)}
        # The member's own values come back untouched beside ours.
        # (-inf is neutralised like any formula-like cell: Excel would read it as a name.)
        for column in ("lat", "lng"):
            assert result[column].tolist() == [neutralize_formula(v) for v in given[column]]
        assert (result["geocode_lat"] != "").all()


def test_long_addresses_and_megabyte_cells_come_back_whole(
    corpus: dict[str, Path], tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    for name in ("long_addresses.csv", "one_megabyte_cells.csv"):
        out = tmp_path / f"{name}.csv"
        geocode_table(corpus[name], out, geocoder=geocoder, store=store)
        assert read_table(out)["住所"].tolist() == read_table(corpus[name])["住所"].tolist()
    result = read_table(tmp_path / "one_megabyte_cells.csv.csv")
    assert len(result.loc[1, "住所"]) == 1 << 20
    assert len(result.loc[2, "memo"]) == 1 << 20


def test_invalid_and_unreadable_geometries_are_reported_by_row(corpus: dict[str, Path]) -> None:
    frame = read_table(corpus["invalid_geometries.geojson"])
    issues = {issue.row: issue.message for issue in frame.attrs[ISSUES_ATTR]}
    assert "Self-intersection" in issues[3]  # r2, the bow-tie
    # r3 (unclosed ring) … r10 (an unknown type): read as no geometry, each one reported.
    assert all("空にしました" in issues[row] for row in range(4, 12))
    assert 2 not in issues


def test_non_point_geometries_give_no_coordinates_to_check(
    corpus: dict[str, Path], tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    out = tmp_path / "out.csv"
    summary = geocode_table(
        corpus["non_point_geometries.geojson"], out, geocoder=geocoder, store=store
    )
    assert summary.coord_check == {"ok": 1, "missing": 4}


# --- clear errors for files that cannot be read as asked ---------------------------------------


@pytest.mark.parametrize(
    ("name", "encoding", "row"),
    [
        ("mixed_utf8_cp932.csv", None, 3),
        ("invalid_bytes.csv", None, 3),
        ("cp932.csv", "utf-8", 1),
        ("utf8_bom.csv", "cp932", None),
    ],
)
def test_a_wrong_or_mixed_encoding_is_an_input_error_naming_file_row_and_bytes(
    name: str,
    encoding: str | None,
    row: int | None,
    corpus: dict[str, Path],
    tmp_path: Path,
    store: Store,
    geocoder: Geocoder,
) -> None:
    out = tmp_path / "out.csv"
    try:
        geocode_table(corpus[name], out, geocoder=geocoder, store=store, encoding=encoding)
    except InputError as exc:
        assert exc.path == str(corpus[name])
        assert isinstance(exc.value, bytes) and exc.value
        if row is not None:
            assert exc.row == row
        assert not out.exists()
        return
    # UTF-8 read as CP932 may decode as mojibake instead: then no row may pass as matched.
    assert row is None
    result = read_table(out)
    assert result["id"].tolist() == READABLE[name]
    assert not (result["status"] == "matched").any()


def test_a_geojson_number_json_cannot_hold_is_an_input_error_naming_the_file(
    corpus: dict[str, Path], tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    path = corpus["infinite_coordinate.geojson"]
    with pytest.raises(InputError) as caught:
        geocode_table(path, tmp_path / "out.csv", geocoder=geocoder, store=store)
    assert caught.value.path == str(path)
    assert "1e999" in caught.value.message


def test_the_cli_reports_a_mixed_encoding_in_one_line_and_exits_2(
    corpus: dict[str, Path], tmp_path: Path, store_path: Path, source_dir: Path
) -> None:
    env = {"TSUNAGARI_STORE": str(store_path), "TSUNAGARI_SOURCE": str(source_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "tsunagari_geo", "geocode", str(corpus["mixed_utf8_cp932.csv"]),
         "--out", str(tmp_path / "out.csv")],
        capture_output=True, text=True, env={**__import__("os").environ, **env}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    message = result.stderr.replace("\n", "")
    assert "mixed_utf8_cp932.csv" in message and "3 行目" in message
    assert "Traceback" not in result.stderr


# --- formula injection is neutralised on the way out --------------------------------------------


def _is_plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_formula_cells_are_written_back_as_text_in_csv(
    corpus: dict[str, Path], tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    out = tmp_path / "out.csv"
    geocode_table(corpus["formula.csv"], out, geocoder=geocoder, store=store)
    for path in (out, out.with_name("out.failures.csv")):
        cells = [c for row in csv.reader(io.StringIO(path.read_text("utf-8-sig"))) for c in row]
        dangerous = [c for c in cells if c.startswith(FORMULA_START) and not _is_plain_number(c)]
        assert dangerous == [], path
    memo = read_table(out)["memo"].tolist()
    assert memo[: len(make_corpus.FORMULAS)] == ["'" + f for f in make_corpus.FORMULAS]


def test_formula_cells_are_written_back_as_strings_in_xlsx(
    corpus: dict[str, Path], tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    out = tmp_path / "out.xlsx"
    geocode_table(corpus["formula.csv"], out, geocoder=geocoder, store=store)
    book = openpyxl.load_workbook(out)  # not data_only: a formula would show as type "f"
    sheet = book["データ"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    numbers = {header.index(name) for name in ("level", "lat", "lng")}
    cells = [
        cell
        for row in sheet.iter_rows()
        for i, cell in enumerate(row)
        if cell.value is not None and not (cell.row > 1 and i in numbers)
    ]
    assert cells
    # Text stays text (no formula, type "f"); only level, lat and lng are numbers.
    assert {cell.data_type for cell in cells} == {"s"}
    assert not any(str(cell.value).startswith(FORMULA_START) for cell in cells)
    memo = [row[header.index("memo")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    # XML has no bare CR: openpyxl reads the "\r=1+1" cell back with "\n".
    expected = ["'" + f.replace("\r", "\n") for f in make_corpus.FORMULAS]
    assert memo[: len(make_corpus.FORMULAS)] == expected


def test_formula_headers_are_neutralised_too(tmp_path: Path) -> None:
    frame = pd.DataFrame({"=cmd()": ["=1+1"], "-1.5": ["-1.5"]})
    write_table(frame, tmp_path / "x.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "x.xlsx")["data"]
    assert [c.value for c in sheet[1]] == ["'=cmd()", "-1.5"]
    assert [c.value for c in sheet[2]] == ["'=1+1", "-1.5"]


# --- adversarial strings straight into the geocoder ---------------------------------------------

ADVERSARIAL = [
    "1-" * 50_000,
    "1番地の" * 25_000,
    "字" + "あ" * 100_000 + "1",
    "さいたま市" * 20_000,
    "埼玉県" + "大字" * 50_000,
    "〒" * 100_000,
    "日本" * 50_000 + "東京都",
    "浦和区常盤" + "一丁目" * 30_000,
    "\u202e" * 100_000 + make_corpus.GOOD,
    "0" * 100_000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_100k_strings_geocode_quickly_with_a_status(
    text: str, geocoder: Geocoder
) -> None:
    result = geocoder.geocode(text)
    assert result.status in STATUSES
    assert result.input == text


# --- the activities reader --------------------------------------------------------------------


def _activities_csv(path: Path, rows: list[list[str]]) -> Path:
    header = ["id", "organization_id", "name", "format", "lat", "lng", "address"]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _accounted(path: Path, n: int) -> dict[int, str]:
    """Read activities; every row is either a record or has an error. Row → 'ok' or message."""
    result = read_activities(path)
    status = dict.fromkeys(result.records["row"].tolist(), "ok")
    for problem in result.report.errors:
        assert problem.row is not None and problem.column and problem.message
        status.setdefault(problem.row, f"{problem.column}: {problem.message}")
    assert sorted(status) == list(range(2, n + 2))
    assert result.report.rows_read == n
    return status


def test_hostile_coordinates_in_activities_are_rejected_by_row_and_column(tmp_path: Path) -> None:
    values = [
        ("35.86", "139.64"), ("NaN", "139.6"), ("inf", "139.6"), ("35.8", "-inf"),
        ("91", "139.6"), ("35.8", "181"), ("北緯35度", "139.6"), ("1e400", "139.6"),
        ("35.8", ""), ("nan", "nan"),
    ]  # fmt: skip
    rows = [
        [f"a{i}", "o1", f"活動{i}", "online", lat, lng, ""] for i, (lat, lng) in enumerate(values)
    ]
    status = _accounted(_activities_csv(tmp_path / "a.csv", rows), len(rows))
    assert status[2] == "ok"
    assert all(status[r].startswith(("lat", "lng")) for r in range(3, 12)), status


def test_hostile_text_in_activities_is_kept_or_reported_and_exported_safely(
    tmp_path: Path,
) -> None:
    big = "x" * (1 << 20)
    rows = [
        ["a1", "o1", '=HYPERLINK("http://x","y")', "online", "", "", "@SUM(1)"],
        ["a2", "o1", "名前\x00NUL", "online", "", "", "\u202eさいたま市"],
        ["a3", "o1", big, "online", "", "", ""],
        ["a4", "o1", "\u200b", "online", "", "", "+cmd"],
        ["a5", "o1", "ok", "online", "35.86", "139.64", "-2+3"],
    ]
    path = _activities_csv(tmp_path / "a.csv", rows)
    _accounted(path, len(rows))
    result = read_activities(path)
    frame = pd.DataFrame(result.records.drop(columns="geometry")).astype(str)
    frame = frame[frame["name"].str.len() <= XLSX_MAX_CELL]
    write_table(frame, tmp_path / "acts.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "acts.xlsx")["data"]
    assert all(c.data_type == "s" for row in sheet.iter_rows() for c in row if c.value is not None)


def test_ragged_and_mixed_encoding_activity_files(tmp_path: Path) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(
        "id,organization_id,name,format\r\na1,o1,ok,online\r\na2,o1\r\na3,o1,ok,online,extra\r\n",
        encoding="utf-8",
    )
    status = _accounted(ragged, 3)
    assert status[2] == "ok" and status[3].startswith(("name", "format"))
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(
        "id,organization_id,name,format\r\na1,o1,ひろば活動,online\r\n".encode()
        + "a2,o1,子ども食堂,online\r\n".encode("cp932")
        + "a3,o1,ふれあい喫茶,online\r\n".encode()
    )
    with pytest.raises(InputError) as caught:
        read_activities(mixed)
    assert caught.value.path == str(mixed) and caught.value.row == 3
