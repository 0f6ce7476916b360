"""What the secretariat reads: Japanese words beside every code, failures grouped by what to do,
XLSX with numbers and named sheets, no silent output format, nonsense suggestions never made,
and a `geocode` run that imports only what it needs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from tsunagari_geo.cli import COMMAND_MODULES, _register, app
from tsunagari_geo.errors import InputError
from tsunagari_geo.geocode import REASONS, Geocoder
from tsunagari_geo.geocode.batch import OUT_COLUMNS, geocode_table
from tsunagari_geo.geocode.labels import (
    LEVEL_LABELS,
    STATUS_LABELS,
    action_for,
    reason_label,
    reason_labels,
    status_label,
)
from tsunagari_geo.store import Store
from tsunagari_geo.tables import output_format, write_table

_LATIN = re.compile(r"[A-Za-z_]{3,}")


@pytest.fixture(scope="module")
def geocoder(store: Store) -> Geocoder:
    return Geocoder.from_store(store)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _csv(path: Path, addresses: list[str]) -> Path:
    pd.DataFrame({"住所": addresses}).to_csv(path, index=False)
    return path


def test_every_status_level_and_reason_has_japanese_words(store: Store) -> None:
    region = store.region
    for status in (*STATUS_LABELS, "matched"):
        assert not _LATIN.search(status_label(status, region)), status
    assert [LEVEL_LABELS[n] for n in range(4)] == [
        "住所として読めない",
        "都道府県まで",
        "市区町村まで",
        "町字まで",
    ]
    for code in REASONS:
        (text,) = reason_labels(f"{code}:1", region)
        assert not _LATIN.search(text), code
    assert status_label("outside_prefecture", region) == f"{region.pref_name}外の住所"


def test_a_reason_keeps_its_detail_and_several_are_one_cell(store: Store) -> None:
    labels = reason_labels("former_municipality:大宮市,ward_inferred", store.region)
    assert labels[0] == "旧市町村名から現在の市町村に読み替えました (大宮市)"
    assert labels[1].endswith("の区を町名から推定しました")
    assert reason_label("override_point:7", store.region) == (
        "上書きファイルの緯度経度を使いました (上書きファイル 7 行目)"
    )


def test_each_row_needing_a_person_says_what_to_do(store: Store) -> None:
    region = store.region
    assert action_for("unmatched", "municipality_not_found", (), region) == "住所に市町村名がない"
    assert action_for("partial", "chome_not_found", (), region) == "丁目が辞書にない"
    assert action_for("ambiguous", "ward_ambiguous", (), region) == "候補が複数"
    assert action_for("outside_prefecture", "outside_prefecture", (), region) == "埼玉県外の住所"
    assert action_for("partial", "town_not_found", ("x",), region).startswith("表記の誤り")
    assert action_for("matched", "", (), region, "far_from_address") == (
        "公表の緯度経度が住所から離れている"
    )


def test_output_puts_japanese_words_beside_each_code(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    src = _csv(tmp_path / "in.csv", ["さいたま市浦和区常盤6-4-4", "東京都千代田区丸の内1-1"])
    geocode_table(src, tmp_path / "out.csv", geocoder=geocoder, store=store)
    out = _read(tmp_path / "out.csv")
    columns = out.columns.tolist()
    for label, code in (("一致レベル", "level"), ("結果", "status"), ("理由", "reason")):
        assert columns.index(label) == columns.index(code) + 1
    assert out["結果"].tolist() == ["町字まで一致", "埼玉県外の住所"]
    assert out["一致レベル"].tolist() == ["町字まで", "都道府県まで"]
    assert out["理由"].tolist()[1] == "埼玉県外の住所です"


def test_failures_are_grouped_by_what_a_person_has_to_do(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    addresses = [
        "川口市新堀1234",  # 候補が複数
        "東京都千代田区丸の内1-1",  # 県外
        "あいうえお",  # 市町村名がない
        "さいたま市浦和区常盤6-4-4",  # fine
        "東京都北区王子1",  # 県外
    ]
    geocode_table(
        _csv(tmp_path / "in.csv", addresses), tmp_path / "o.csv", geocoder=geocoder, store=store
    )
    failures = _read(tmp_path / "o.failures.csv")
    assert failures.columns.tolist()[:2] == ["行", "対応"]
    assert failures["対応"].tolist() == [
        "埼玉県外の住所",
        "埼玉県外の住所",
        "住所に市町村名がない",
        "候補が複数",
    ]
    assert failures["行"].tolist() == ["3", "6", "4", "2"]


def test_xlsx_has_numbers_a_japanese_data_sheet_a_summary_and_the_sources(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    src = _csv(tmp_path / "in.csv", ["さいたま市浦和区常盤6-4-4", "", "あいうえお"])
    geocode_table(src, tmp_path / "out.xlsx", geocoder=geocoder, store=store)
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")
    assert book.sheetnames == ["データ", "集計", "列の説明", "出典"]
    rows = list(book["データ"].values)
    header, first = rows[0], rows[1]
    cell = dict(zip(header, first, strict=True))
    assert isinstance(cell["lat"], float) and isinstance(cell["lng"], float)
    assert cell["level"] == 3 and isinstance(cell["level"], int)
    assert dict(zip(header, rows[2], strict=True))["lat"] is None  # empty, not ""
    summary = list(book["集計"].values)
    assert summary[0] == ("区分", "コード", "意味", "行数")
    assert ("一致レベル", "3", "町字まで", 1) in summary
    assert ("結果", "empty", "住所が空", 1) in summary
    # Every column the job added is explained in words, and so are the failures file's own.
    guide = list(book["列の説明"].values)
    assert guide[0] == ("列", "ファイル", "意味")
    explained = {name: meaning for name, _, meaning in guide[1:]}
    input_columns = {"住所"}
    added = [h for h in header if h not in input_columns]
    assert list(explained)[: len(added)] == added
    assert list(explained)[len(added) :] == ["行", "対応", "候補", "もしかして"]
    assert all(meaning for meaning in explained.values()), explained
    assert "町字" in explained["town"] and "緯度" in explained["lat"]


def test_an_unknown_output_extension_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"'\.txt'.*\.csv, \.xlsx"):
        output_format(tmp_path / "out.txt")
    with pytest.raises(InputError, match=r"\.tsv"):
        write_table(pd.DataFrame({"a": ["1"]}), tmp_path / "out.tsv")
    assert not list(tmp_path.iterdir())


def test_cli_refuses_out_txt_before_geocoding(
    tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TSUNAGARI_STORE", str(store_path))
    _register()
    src = _csv(tmp_path / "in.csv", ["川越市元町1-3-1"])
    result = CliRunner().invoke(app, ["geocode", str(src), "--out", str(tmp_path / "out.txt")])
    assert result.exit_code != 0
    assert "'.txt'" in str(result.exception) and ".gpkg" in str(result.exception)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_cli_summary_says_each_level_in_words(
    tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TSUNAGARI_STORE", str(store_path))
    _register()
    src = _csv(tmp_path / "in.csv", ["川越市元町1-3-1", "", "あいうえお"])
    result = CliRunner().invoke(app, ["geocode", str(src), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.output
    for words in ("町字まで", "住所として読めない", "住所が空", "住所に市町村名がない: 1 行"):
        assert words in result.output


def test_a_longer_word_is_never_corrected_into_a_municipality_name(geocoder: Geocoder) -> None:
    for text in ("さいたま都市計画事業浦和東部第二特定土地区画整理事業地内", "川越都市計画"):
        result = geocoder.geocode(text)
        assert result.status == "unmatched"
        assert not any("市市" in s for s in result.suggestions), result.suggestions
    assert geocoder.geocode("伊那町小室1-2").suggestions[0] == "北足立郡伊奈町小室1-2"


def test_every_command_is_in_the_table_of_command_modules() -> None:
    _register()
    found: dict[str, str] = {}
    for command in app.registered_commands:
        assert command.callback is not None
        found[command.name or ""] = command.callback.__module__
    for group in app.registered_groups:
        typer_app = group.typer_instance
        assert typer_app is not None
        callbacks = [c.callback for c in typer_app.registered_commands if c.callback]
        found[group.name or ""] = callbacks[0].__module__
    assert found == {name: f"tsunagari_geo.cli.{m}" for name, m in COMMAND_MODULES.items()}


def test_the_geocode_command_imports_neither_the_other_commands_nor_geopy() -> None:
    code = (
        "import sys; from tsunagari_geo.cli import _register; _register(['geocode', 'x']); "
        "print(sorted(m for m in sys.modules if m.startswith(('tsunagari_geo.cli.', 'geopy'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True
    )
    assert done.stdout.strip() == "['tsunagari_geo.cli.console', 'tsunagari_geo.cli.geocode']"


def test_out_columns_keep_every_code_for_programs() -> None:
    assert {"unit_code", "muni_code", "level", "lat", "lng", "status", "reason"} <= set(OUT_COLUMNS)


def test_rows_written_alike_get_the_answer_each_would_get_alone(
    tmp_path: Path, store: Store, geocoder: Geocoder
) -> None:
    addresses = [
        "さいたま市浦和区常盤6-4-4",
        "さいたま市浦和区常盤６−４−４",  # normalises like the first: one reading, own input
        "さいたま市浦和区常磐６ー４ー４",  # a typo: suggestions come along
        "さいたま市浦和区常磐6-4-4",
        "川口市新堀1234",
        "川口市新堀１２３４",
    ]
    geocode_table(
        _csv(tmp_path / "in.csv", addresses), tmp_path / "o.csv", geocoder=geocoder, store=store
    )
    out = _read(tmp_path / "o.csv")
    for address, (_, row) in zip(addresses, out.iterrows(), strict=True):
        alone = geocoder.geocode(address)
        assert row["住所"] == address
        assert (row["town"], row["rest"], row["status"], row["reason"]) == (
            alone.town,
            alone.rest,
            alone.status,
            alone.reason,
        )
    failures = _read(tmp_path / "o.failures.csv").set_index("行")
    assert failures.loc["4", "もしかして"] == failures.loc["5", "もしかして"] != ""
