"""Builders for the hand-made miniature source folder (see tests/fixtures/reference/README.md)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tsunagari_geo.region import Region, load_region

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "reference"
BOUNDARY_NAME = "mini_N03-22_220101.geojson"


def make_source(dest: Path, **replace: str) -> Path:
    """Lay out the mini source in ``dest``; ``replace`` maps a role to a file in variants/.

    Roles: ``boundaries``, ``census``, ``towns_index``.
    """
    shutil.copytree(FIXTURES / "mini", dest)
    # Kept under another name so no file in the repo is named like the real census file.
    (dest / "population").mkdir(exist_ok=True)
    shutil.copyfile(FIXTURES / "mini_census.csv", dest / "population/census_2020_saitama.csv")
    towns = json.loads((FIXTURES / "mini_towns.json").read_text(encoding="utf-8"))
    folder = dest / "towns/api/ja/埼玉県"
    folder.mkdir(parents=True)
    for muni, rows in towns.items():
        (folder / f"{muni}.json").write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
    targets = {
        "boundaries": dest / "municipal_boundaries" / BOUNDARY_NAME,
        "census": dest / "population/census_2020_saitama.csv",
        "towns_index": dest / "towns/api/ja.json",
    }
    for role, variant in replace.items():
        shutil.copyfile(FIXTURES / "variants" / variant, targets[role])
    return dest


def mini_region() -> Region:
    """The region of the mini source: さいたま市 with two wards, and 川越市."""
    return load_region(FIXTURES / "mini_region")


#: The second region (a miniature of 静岡県, see tests/fixtures/region_b/README.md).
REGION_B = FIXTURES.parent / "region_b"


def region_b() -> Region:
    """The second region: two designated cities, names shared with other prefectures."""
    return load_region(REGION_B / "region")


def make_region_b_source(dest: Path) -> Path:
    """A copy of the second region's source folder in ``dest`` (tests may break it)."""
    shutil.copytree(REGION_B / "source", dest)
    return dest


#: The workbook's headings (row 5 group, row 7 label) for the columns the importer reads, in
#: the order of the e-Stat 「主な結果」 sheet; a test writes its own rows under them.
WORKBOOK_HEADINGS = (
    ("総人口（男女別）", "総数"),
    ("年齢別人口（男女「総数」）", "15歳未満"),
    (None, "15～64歳"),
    (None, "65歳以上"),
    ("国籍", "日本人"),
    (None, "外国人"),
    ("世帯", "総世帯"),
    (None, "一般世帯"),
    (None, "うち\n単独世帯"),
    (None, "うち\n65歳以上の単独世帯"),
)

#: The mini region's census as the workbook gives it: code_name, kind, total, 0-14, 15-64,
#: 65+, Japanese, foreign, households, general households, single, single 65+.
MINI_WORKBOOK_ROWS = (
    ("11000_埼玉県", "a", 8000, 1000, 4900, 2100, 7920, 80, 3300, 3290, 1100, 380),
    ("11100_さいたま市", 1, 3000, 400, 1900, 700, 2970, 30, 1300, 1296, 500, 150),
    ("11101_さいたま市西区", 0, 1000, 100, 600, 300, 990, 10, 400, 399, 150, 60),
    ("11102_さいたま市北区", 0, 2000, 300, 1300, 400, 1980, 20, 900, 897, 350, 90),
    ("11201_川越市", 2, 5000, 600, 3000, 1400, 4950, 50, 2000, 1994, 600, 230),
)

#: Small areas of the mini region: KEY_CODE, CITY_NAME, S_NAME, JINKO, SETAI, lon, lat.
MINI_SMALL_AREAS = (
    ("11101001000", "さいたま市西区", "指扇", 600, 250, 139.57, 35.92),
    ("11101002000", "さいたま市西区", "大字宝来", 400, 150, 139.58, 35.93),
    ("11102001001", "さいたま市北区", "宮原町一丁目", 2000, 900, 139.62, 35.92),
    ("11201001001", "川越市", "元町一丁目", 4000, 1600, 139.50, 35.95),
    ("11201009000", "川越市", "霞ケ関北", 1000, 400, 139.51, 35.95),
)


def write_workbook(path: Path, rows: tuple[tuple[object, ...], ...] = MINI_WORKBOOK_ROWS) -> Path:
    """A census workbook laid out like e-Stat's 主な結果 (headings in rows 5 and 7, data from 10)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "第１面事項_2020年"
    sheet.cell(1, 1, "令和２年国勢調査（総務省統計局）　都道府県・市区町村別の主な結果")
    for j, (group, label) in enumerate(WORKBOOK_HEADINGS, start=5):
        if group:
            sheet.cell(5, j, group)
        sheet.cell(7, j, label)
    for i, (area, kind, *counts) in enumerate(rows, start=10):
        sheet.cell(i, 1, "11_埼玉県")
        sheet.cell(i, 2, area)
        sheet.cell(i, 4, kind)
        for j, value in enumerate(counts, start=5):
            sheet.cell(i, j, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def write_small_areas(path: Path, rows: tuple[tuple[object, ...], ...] = MINI_SMALL_AREAS) -> Path:
    """A small-area attribute table (.dbf, CP932) with the e-Stat fields the importer reads."""
    import pandas as pd
    import pyogrio

    frame = pd.DataFrame(
        [
            {
                "KEY_CODE": key, "PREF": key[:2], "CITY": key[2:5], "CITY_NAME": city,
                "S_NAME": name, "JINKO": pop, "SETAI": hh, "X_CODE": lon, "Y_CODE": lat,
                "AREA": 10000.0, "AREA_MAX_F": "M",
            }
            for key, city, name, pop, hh, lon, lat in rows
        ]
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(frame, path, driver="ESRI Shapefile", encoding="cp932")
    path.with_suffix(".cpg").unlink(missing_ok=True)  # e-Stat ships none: CP932 is assumed
    return path


def mini_census_region(dest: Path) -> Region:
    """The mini region reading the census workbook and small areas instead of the CSV."""
    shutil.copytree(FIXTURES / "mini_region", dest)
    toml = dest / "region.toml"
    text = toml.read_text(encoding="utf-8").replace(
        'census = "population/census_2020_saitama.csv"',
        'census_workbook = "population/major_results.xlsx"\nsmall_areas = "small_areas/r2ka11.dbf"',
    )
    toml.write_text(text, encoding="utf-8")
    return load_region(dest)


def make_census_source(dest: Path) -> Path:
    """The mini source with a census workbook and small areas (see :func:`mini_census_region`)."""
    make_source(dest)
    write_workbook(dest / "population/major_results.xlsx")
    write_small_areas(dest / "small_areas/r2ka11.dbf")
    return dest


def plain_rows(frame: Any, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """``frame``'s ``columns`` as tuples of plain values, a missing cell (NaN, NA) as None: what
    :meth:`Store.rows` gives, to compare the two readers cell by cell."""
    return [
        tuple(None if pd.isna(v) else v for v in row)
        for row in frame[list(columns)].itertuples(index=False, name=None)
    ]


#: The frame and geometry libraries a geocoding job does without (their import is most of a
#: small job's start-up: pandas with pyarrow alone ~0.7 s).
HEAVY_MODULES = ("pandas", "numpy", "pyarrow", "geopandas", "shapely", "pyogrio", "pyproj")


def heavy_modules_after(code: str) -> list[str]:
    """The :data:`HEAVY_MODULES` a fresh interpreter has imported after running ``code``."""
    probe = (
        f"{code}\nimport sys\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY_MODULES)!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return list(ast.literal_eval(done.stdout.strip().splitlines()[-1]))
