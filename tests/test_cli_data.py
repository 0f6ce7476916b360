"""The `tsunagari-geo data` commands as the secretariat runs them: a real process, real files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from reference_helpers import REGION_B, make_region_b_source, make_source

CLI = [sys.executable, "-m", "tsunagari_geo"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_data_info_json_gives_counts_and_provenance(store_path: Path) -> None:
    result = _run("data", "info", "--json", "--store", str(store_path))
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert {
        "units",
        "municipalities",
        "towns",
        "area_km2",
        "population",
        "sources",
        "attribution",
    } <= set(info)
    assert (info["units"], info["municipalities"], info["towns"]) == (72, 63, 5389)
    assert info["population"] == 7_344_765
    assert abs(info["area_km2"] - 3797.75) / 3797.75 < 0.002


def test_data_info_human_summary_carries_the_attribution(store_path: Path) -> None:
    result = _run("data", "info", "--store", str(store_path))
    assert result.returncode == 0, result.stderr
    assert "5,389" in result.stdout
    assert "国土数値情報" in result.stdout


def test_data_import_reads_the_source_from_the_environment(
    source_dir: Path, tmp_path: Path
) -> None:
    store = tmp_path / "nested" / "store.gpkg"
    result = _run(
        "data", "import", env={"TSUNAGARI_SOURCE": str(source_dir), "TSUNAGARI_STORE": str(store)}
    )
    assert result.returncode == 0, result.stderr
    assert "72 区域" in result.stdout and "63 市町村" in result.stdout
    assert store.exists()


def test_a_broken_source_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    # The mini source has 3 of the 72 codes the real registry expects.
    source = make_source(tmp_path / "src")
    result = _run("data", "import", "--source", str(source), "--store", str(tmp_path / "s.gpkg"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("エラー: boundary codes differ from the expected 72 units")
    assert "'11103'" in result.stderr and "mini_N03-22_220101.geojson" in result.stderr
    assert not (tmp_path / "s.gpkg").exists()


def test_a_missing_town_dictionary_is_named(source_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(source_dir, source, ignore=shutil.ignore_patterns("samples", "towns"))
    result = _run("data", "import", "--source", str(source), "--store", str(tmp_path / "s.gpkg"))
    assert result.returncode == 2
    assert "ja.json is missing" in result.stderr


def test_info_without_a_store_says_how_to_make_one(tmp_path: Path) -> None:
    result = _run("data", "info", "--store", str(tmp_path / "none.gpkg"))
    assert result.returncode == 2
    assert "data import" in result.stderr


def test_data_import_takes_another_region_and_lookup_reads_it_from_the_store(
    tmp_path: Path,
) -> None:
    store = tmp_path / "b.gpkg"
    source = make_region_b_source(tmp_path / "source")
    result = _run(
        "data", "import", "--region", str(REGION_B / "region"),
        "--source", str(source), "--store", str(store),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "静岡県" in result.stdout and "7 区域" in result.stdout and "4 市町村" in result.stdout
    info = _run("data", "info", "--store", str(store))
    assert info.returncode == 0, info.stderr
    assert "静岡県" in info.stdout and "静岡市・浜松市" in info.stdout
    shutil.rmtree(source)  # the store alone is enough from here on
    lookup = _run("lookup", "静岡市追手町9-6", env={"TSUNAGARI_STORE": str(store)})
    assert lookup.returncode == 0, lookup.stderr
    answer = json.loads(lookup.stdout)
    assert (answer["unit_code"], answer["muni_code"]) == ("22101", "22100")


def test_data_import_names_a_region_that_does_not_exist(tmp_path: Path) -> None:
    result = _run("data", "import", "--region", str(tmp_path / "nowhere"))
    assert result.returncode != 0
    assert "no such region" in result.stderr and "nowhere" in result.stderr
