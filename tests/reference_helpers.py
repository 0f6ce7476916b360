"""Builders for the hand-made miniature source folder (see tests/fixtures/reference/README.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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
