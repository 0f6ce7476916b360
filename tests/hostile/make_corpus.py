"""The hostile-input corpus: small bad files kept in this folder, large ones made at test time.

``python tests/hostile/make_corpus.py`` rewrites the small files here (each well under 200 KB,
reviewed in git); :func:`write_large` writes the large ones (1 MB cells, 100,000-character
addresses, a 200,000-vertex polygon) into a temporary folder, because they must never be
committed. Every table has an ``id`` column numbered ``r1, r2, …`` in input order, so a test
can check that every row came out, once, in order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent

GOOD = "さいたま市浦和区常盤6-4-4"
GOOD2 = "川越市元町1-3-1"
GOOD3 = "所沢市並木1-1-1"

#: Cells a spreadsheet would run as formulas, each of which must come back out as text.
FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
    "=cmd|' /C calc'!A0",
]
#: Bidirectional controls and zero-width characters hidden in otherwise good addresses.
INVISIBLE = {
    "rlm": "\u200f",
    "lrm": "\u200e",
    "rlo": "\u202e",
    "lri": "\u2066",
    "pdi": "\u2069",
    "zwsp": "\u200b",
    "zwj": "\u200d",
    "zwnj": "\u200c",
    "bom": "\ufeff",
    "word_joiner": "\u2060",
}


def _csv(rows: list[list[str]], header: list[str]) -> str:
    def cell(value: str) -> str:
        if any(c in value for c in ',"\r\n'):
            return '"' + value.replace('"', '""') + '"'
        return value

    return "\r\n".join(",".join(cell(v) for v in r) for r in [header, *rows]) + "\r\n"


def _numbered(addresses: list[str], **extra: list[str]) -> str:
    header = ["id", "住所", *extra]
    rows = [
        [f"r{i}", a, *(values[i - 1] for values in extra.values())]
        for i, a in enumerate(addresses, start=1)
    ]
    return _csv(rows, header)


def _feature(geometry: dict[str, object] | None, n: int, address: str = GOOD) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {"id": f"r{n}", "住所": address},
        "geometry": geometry,
    }


def _collection(features: list[dict[str, object]]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def small_files() -> dict[str, bytes]:
    """Name → bytes of every small hostile file kept in this folder."""
    files: dict[str, bytes] = {}
    text = _numbered([GOOD, GOOD2, GOOD3])
    files["cp932.csv"] = text.encode("cp932")
    files["utf8_bom.csv"] = text.encode("utf-8-sig")
    # UTF-8 with one row pasted from a Shift_JIS file.
    lines = text.split("\r\n")
    files["mixed_utf8_cp932.csv"] = (
        "\r\n".join(lines[:2]).encode() + b"\r\n" + lines[2].encode("cp932") + b"\r\n"
        + "\r\n".join(lines[3:]).encode()
    )  # fmt: skip
    files["invalid_bytes.csv"] = text.encode().replace(b"r2,", b"r2,\xff\xfe\x80", 1)
    files["ragged.csv"] = (
        "id,住所,memo\r\n"
        f"r1,{GOOD},a\r\n"
        f"r2,{GOOD2}\r\n"  # one field short
        "r3\r\n"  # address missing altogether
        f"r4,{GOOD3},b,extra1,extra2\r\n"  # two fields too many
        f"r5,{GOOD},c\r\n"
        ",,\r\n"  # a real row of empty cells
        f"r7,{GOOD2},d\r\n"
    ).encode()
    files["formula.csv"] = _numbered(
        [GOOD] * len(FORMULAS) + [f for f in FORMULAS[:3]],
        memo=[*FORMULAS, "", "", ""],
    ).encode()
    files["nul.csv"] = _numbered(
        [GOOD, "さいたま市浦和区\x00常盤6-4-4", "\x00", GOOD3], memo=["", "a\x00b", "", "\x00"]
    ).encode()
    names = list(INVISIBLE)
    files["invisible.csv"] = _numbered(
        [GOOD.replace("浦和区", f"浦和区{INVISIBLE[n]}") for n in names]
        + [INVISIBLE[n] + GOOD2 + INVISIBLE[n] for n in names],
        kind=names + names,
    ).encode()
    files["coordinates.csv"] = _numbered(
        [GOOD] * 12,
        lat=["NaN", "inf", "-inf", "91", "-91", "35.86", "北緯35度", "", "35.86", "1e400", "0", "35.86"],
        lng=["139.6", "139.6", "139.6", "139.6", "139.6", "181", "139.6", "139.6", "", "139.6", "0", "-inf"],
    ).encode()  # fmt: skip
    files["text_in_numbers.csv"] = _numbered(
        [GOOD, GOOD2, GOOD3, GOOD],
        lat=["三十五", "35.86.1", "0x23", "35,86"],
        lng=["139.6", "百三十九", "1_39.6", "139,6"],
    ).encode()
    bowtie = [[139.6, 35.8], [139.7, 35.9], [139.7, 35.8], [139.6, 35.9], [139.6, 35.8]]
    unclosed = [[139.6, 35.8], [139.7, 35.8], [139.7, 35.9], [139.6, 35.9]]
    files["invalid_geometries.geojson"] = _collection(
        [
            _feature({"type": "Point", "coordinates": [139.645, 35.861]}, 1),
            _feature({"type": "Polygon", "coordinates": [bowtie]}, 2),
            _feature({"type": "Polygon", "coordinates": [unclosed]}, 3, GOOD2),
            # Wrong nesting: a Polygon's coordinates written as a LineString's.
            _feature({"type": "Polygon", "coordinates": bowtie}, 4, GOOD3),
            _feature({"type": "Point", "coordinates": [[139.6, 35.8]]}, 5),
            _feature({"type": "Point", "coordinates": []}, 6),
            _feature(None, 7),
            _feature({"type": "MultiPolygon", "coordinates": [[[[139.6, 35.8]]]]}, 8),
            _feature({"type": "Polygon", "coordinates": [[[1e10, 35.8], [0, 0], [1, 1]]]}, 9),
            _feature({"type": "Unknown", "coordinates": [139.6, 35.8]}, 10),
        ]
    ).encode()
    # JSON has no infinity: GDAL refuses the whole file, which must be said clearly.
    files["infinite_coordinate.geojson"] = (
        _collection([_feature({"type": "Point", "coordinates": [139.6, 35.8]}, 1)])
        .replace("139.6", "1e999")
        .encode()
    )
    files["non_point_geometries.geojson"] = _collection(
        [
            _feature({"type": "Point", "coordinates": [139.645, 35.861]}, 1),
            _feature({"type": "LineString", "coordinates": [[139.6, 35.8], [139.7, 35.9]]}, 2),
            _feature({"type": "Polygon", "coordinates": [[*unclosed, unclosed[0]]]}, 3, GOOD2),
            _feature({"type": "MultiPoint", "coordinates": [[139.6, 35.8], [139.7, 35.9]]}, 4),
            _feature(
                {
                    "type": "GeometryCollection",
                    "geometries": [{"type": "Point", "coordinates": [139.6, 35.8]}],
                },
                5,
                GOOD3,
            ),
        ]
    ).encode()
    return files


def one_megabyte_cells() -> str:
    """Three rows; the address of r2 and the memo of r3 are 1 MB each."""
    big = "あ" * (1 << 20)
    return _numbered([GOOD, big, GOOD2], memo=["", "", "x" * (1 << 20)])


def long_addresses() -> str:
    """100,000-character addresses: a real one padded, and ones of pure digits and dashes."""
    n = 100_000
    return _numbered(
        [
            GOOD,
            (GOOD + "ー" * n)[:n],
            ("1-" * n)[:n],
            ("埼玉県" * n)[:n],
            ("さいたま市" + "浦和区" * n)[:n],
            ("〒330-0061 " * n)[:n],
            GOOD3,
        ]
    )


def huge_polygon(vertices: int = 200_000) -> str:
    """One feature whose geometry is a 200,000-vertex polygon around 浦和, and a good point."""
    ring = [
        [
            139.645 + 0.05 * math.cos(2 * math.pi * k / vertices),
            35.861 + 0.05 * math.sin(2 * math.pi * k / vertices),
        ]
        for k in range(vertices)
    ]
    ring.append(ring[0])
    return _collection(
        [
            _feature({"type": "Polygon", "coordinates": [ring]}, 1),
            _feature({"type": "Point", "coordinates": [139.645, 35.861]}, 2, GOOD2),
        ]
    )


LARGE: dict[str, Callable[[], str]] = {
    "one_megabyte_cells.csv": one_megabyte_cells,
    "long_addresses.csv": long_addresses,
    "huge_polygon.geojson": huge_polygon,
}


def write_large(folder: Path) -> dict[str, Path]:
    """Write the large hostile files into ``folder`` (a temporary one); name → path."""
    out = {}
    for name, make in LARGE.items():
        path = folder / name
        path.write_text(make(), encoding="utf-8")
        out[name] = path
    return out


def main() -> None:
    """Rewrite the small files of the corpus beside this script."""
    for name, data in small_files().items():
        assert len(data) < 200_000, name
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
