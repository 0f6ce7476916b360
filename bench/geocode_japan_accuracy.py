"""Accuracy on all of Japan: the peer's own test suite, our geocoder beside the peer.

The suite is ``test/addresses/addresses.csv`` of @geolonia/normalize-japanese-addresses
(``../shared/data/japan/peer_tests/addresses.csv``, 7,191 rows from all 47 prefectures, MIT):
each row gives the expected 都道府県, 市区町村, 町字 and a point (``緯度経度`` is "lng,lat").
For each geocoder the table says

* municipality agreement: 都道府県 and 市区町村 both as expected (all rows; 市区町村 folded
  like towns, so 鎌ヶ谷市 meets 鎌ケ谷市);
* town agreement: 町字 as expected, of the rows that assert one (an empty 町字 asserts nothing);
  the suite's 町字 is the full one, with the 小字 where one is written (木津池田), so ours is
  ``town`` + ``koaza`` (木津 + 池田), the peer's its ``town``;
* level 3: share of rows read down to a town;
* coordinate error against the expected point, in metres, over rows where both have a point
  (median, p90, p99, share within 100 m / 1 km). The expected point is often the building
  (位置情報レベル 8) while both geocoders give the town's representative point, so the
  error is mostly the size of the town.

Towns are compared after :func:`tsunagari_geo.text.fold` (ヶ/ケ, 澤/沢 …), for both alike.
The store must hold all Japan's towns (``tsunagari-geo data import --japan ../shared/data/japan``).

The peer runs offline on the same national dictionary through ``bench/peer/normalize.mjs``
(install it once with ``cd bench/peer && npm ci``); ``--no-peer`` skips it.

Usage::

    .venv/bin/python bench/geocode_japan_accuracy.py [--store PATH] [--suite PATH] [--no-peer]
        [--show N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tsunagari_geo.geocode.core import Geocoder
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import open_store
from tsunagari_geo.text import fold

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared/data/japan"
DEFAULT_SUITE = SHARED / "peer_tests/addresses.csv"
PEER_DIR = ROOT / "bench/peer"


@dataclass
class Score:
    """One geocoder's numbers on the suite."""

    name: str
    rows: int
    muni_agree: int
    towns_asserted: int
    town_agree: int
    level3: int
    errors_m: np.ndarray
    seconds: float

    def line(self) -> list[str]:
        e = self.errors_m
        q = (lambda p: f"{np.percentile(e, p):,.0f}") if len(e) else (lambda p: "-")
        return [
            self.name,
            f"{self.muni_agree / self.rows:.1%}",
            f"{self.town_agree / self.towns_asserted:.1%}",
            f"{self.level3 / self.rows:.1%}",
            q(50),
            q(90),
            q(99),
            f"{(e <= 100).mean():.1%}" if len(e) else "-",
            f"{(e <= 1000).mean():.1%}" if len(e) else "-",
            f"{len(e):,}",
            f"{self.seconds:.1f}",
        ]


HEADER = [
    "geocoder",
    "市区町村一致",
    "町字一致",
    "level 3",
    "誤差 中央値 m",
    "p90 m",
    "p99 m",
    "≤100 m",
    "≤1 km",
    "点の数",
    "秒",
]


def read_suite(path: Path) -> pd.DataFrame:
    """The suite with expected lat/lng split out of ``緯度経度`` ("lng,lat")."""
    suite = pd.read_csv(path, dtype=str, keep_default_na=False)
    lng_lat = suite["緯度経度"].str.split(",", expand=True)
    suite["exp_lng"] = pd.to_numeric(lng_lat[0], errors="coerce")
    suite["exp_lat"] = pd.to_numeric(lng_lat[1], errors="coerce")
    return suite


def haversine_m(
    lat1: np.ndarray, lng1: np.ndarray, lat2: np.ndarray, lng2: np.ndarray
) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lng2 - lng1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))


def score(name: str, suite: pd.DataFrame, found: pd.DataFrame, seconds: float) -> Score:
    """Compare ``found`` (columns pref, city, town, level, lat, lng; same order) with the suite."""
    muni = (found["pref"].to_numpy() == suite["都道府県"].to_numpy()) & np.array(
        [
            fold(str(a)) == fold(str(b))
            for a, b in zip(found["city"], suite["市区町村"], strict=True)
        ]
    )
    asserted = suite["町字"] != ""
    town = np.array(
        [fold(str(a)) == fold(str(b)) for a, b in zip(found["town"], suite["町字"], strict=True)]
    )
    lat = pd.to_numeric(found["lat"], errors="coerce").to_numpy(dtype=float)
    lng = pd.to_numeric(found["lng"], errors="coerce").to_numpy(dtype=float)
    both = ~np.isnan(lat) & suite["exp_lat"].notna().to_numpy()
    errors = haversine_m(
        lat[both], lng[both], suite["exp_lat"].to_numpy()[both], suite["exp_lng"].to_numpy()[both]
    )
    return Score(
        name=name,
        rows=len(suite),
        muni_agree=int(muni.sum()),
        towns_asserted=int(asserted.sum()),
        town_agree=int((town & asserted.to_numpy()).sum()),
        level3=int((pd.to_numeric(found["level"], errors="coerce") >= 3).sum()),
        errors_m=errors,
        seconds=seconds,
    )


def run_ours(geocoder: Geocoder, addresses: list[str]) -> tuple[pd.DataFrame, float]:
    started = time.perf_counter()
    rows = []
    for address in addresses:
        r = geocoder.geocode(address, suggest=False)
        rows.append((r.pref, r.city, r.town + r.koaza, r.level, r.lat, r.lng, r.status, r.reason))
    seconds = time.perf_counter() - started
    columns = ["pref", "city", "town", "level", "lat", "lng", "status", "reason"]
    return pd.DataFrame(rows, columns=columns), seconds


def run_peer(addresses: list[str], api: Path) -> tuple[pd.DataFrame, float] | str:
    """The peer's answers, or why it could not run."""
    if not (PEER_DIR / "node_modules/@geolonia/normalize-japanese-addresses").is_dir():
        return "bench/peer is not installed (cd bench/peer && npm ci)"
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.txt", Path(tmp) / "out.jsonl"
        src.write_text("\n".join(addresses) + "\n", encoding="utf-8")
        cmd = ["node", str(PEER_DIR / "normalize.mjs"), "--api", str(api), "--no-warmup"]
        done = subprocess.run(
            [*cmd, "--in", str(src), "--out", str(out)], capture_output=True, text=True
        )
        if done.returncode != 0:
            return f"the peer failed: {done.stderr.strip()[-500:]}"
        stats = json.loads(done.stderr.strip().splitlines()[-1])
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    frame = pd.DataFrame(rows).reindex(columns=["pref", "city", "town", "level", "lat", "lng"])
    return frame.fillna({"pref": "", "city": "", "town": ""}), float(stats["seconds"])


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--suite", type=Path, default=DEFAULT_SUITE)
    parser.add_argument("--api", type=Path, default=SHARED / "towns/api/ja")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--show", type=int, default=0, help="print N disagreements of ours")
    args = parser.parse_args()

    store = open_store(args.store or get_settings().store)
    if not store.has_japan_towns:
        print(
            f"{store.location} holds no towns of other prefectures; import with "
            "`tsunagari-geo data import --japan ../shared/data/japan`",
            file=sys.stderr,
        )
        return 2
    suite = read_suite(args.suite)
    addresses = suite["住所"].tolist()
    started = time.perf_counter()
    geocoder = Geocoder.from_store(store)
    load = time.perf_counter() - started
    ours, seconds = run_ours(geocoder, addresses)
    scores = [score("tsunagari-geo", suite, ours, seconds)]
    peer_note = "peer skipped (--no-peer)"
    if not args.no_peer:
        peer = run_peer(addresses, args.api)
        if isinstance(peer, str):
            peer_note = peer
        else:
            scores.append(score("peer 2.10.1", suite, peer[0], peer[1]))
            peer_note = ""
    print(f"suite: {args.suite} ({len(suite):,} rows, {scores[0].towns_asserted:,} assert a town)")
    print(f"store: {store.location}; dictionary load {load:.2f} s (other prefectures lazily)")
    print_table([HEADER, *(s.line() for s in scores)])
    print(
        "町字一致: " + ", ".join(f"{s.name} {s.town_agree:,}/{s.towns_asserted:,}" for s in scores)
    )
    if peer_note:
        print(peer_note)
    if args.show:
        wrong = ours.assign(expected=suite["都道府県"] + suite["市区町村"] + suite["町字"])
        wrong = wrong[
            (
                (ours["pref"] + ours["city"]).map(fold)
                != (suite["都道府県"] + suite["市区町村"]).map(fold)
            )
            | ((suite["町字"] != "") & (ours["town"].map(fold) != suite["町字"].map(fold)))
        ]
        wrong.insert(0, "住所", suite.loc[wrong.index, "住所"])
        print(wrong.head(args.show).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
