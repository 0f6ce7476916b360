"""Accuracy of the batch geocoding job on the real MHLW care-facility sample (2,290 rows).

Runs the same job as ``tsunagari-geo geocode INPUT --out OUT --address-column city
--address-column address`` and compares with the published columns:

(a) share of rows whose ``muni_code`` agrees with the published ``city`` column (of rows whose
    ``city`` names a Saitama municipality), (b) for rows whose published point lies in Saitama,
    the distance from our point (median, p90, share within 1 km), (c) share at level 3, (d) the
    failure categories (status + reason) and the coordinate-check counts, (e) how many rows
    below level 3 get a spelling suggestion in the failures file, and which.

Usage::

    .venv/bin/python bench/geocode_accuracy.py [--sample PATH] [--show N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tsunagari_geo.geocode.batch import geocode_table
from tsunagari_geo.geocode.core import Geocoder
from tsunagari_geo.geocode.labels import ROW_COLUMN, SUGGESTIONS_COLUMN
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import Store, open_store

DEFAULT_SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "shared/data/saitama/samples/care_facilities_mhlw_2025.csv"
)


@dataclass
class Accuracy:
    """The numbers the issue asks for."""

    rows: int
    named: int
    muni_agree: int
    level3: int
    in_saitama_points: int
    compared_points: int
    median_m: float
    p90_m: float
    within_1km: float
    failures: dict[str, int]
    coord_check: dict[str, int]
    disagreements: pd.DataFrame
    far: pd.DataFrame
    #: rows below level 3 with the spelling suggestions the failures file gives them
    suggested: pd.DataFrame

    @property
    def muni_share(self) -> float:
        return self.muni_agree / self.named if self.named else 0.0

    @property
    def level3_share(self) -> float:
        return self.level3 / self.rows if self.rows else 0.0


def measure(sample: Path, store: Store, geocoder: Geocoder) -> Accuracy:
    """Run the batch job on ``sample`` and compute (a)–(d)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.csv"
        geocode_table(
            sample, out, geocoder=geocoder, store=store, address_columns=["city", "address"]
        )
        frame = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        failures_file = pd.read_csv(
            out.with_name("out.failures.csv"),
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
        )
    # The published city never carries 埼玉県; without it 美里町 is also in 宮城県 and 熊本県.
    published = frame["city"].map(lambda c: geocoder.geocode("埼玉県" + c).muni_code if c else "")
    named = published != ""
    agree = named & (published == frame["muni_code"])
    level = frame["level"].astype(int)
    check = frame["coord_check"]
    distance = pd.to_numeric(frame["coord_distance_m"], errors="coerce")
    in_saitama = check.isin(["ok", "other_municipality", "far_from_address", "unchecked"])
    compared = distance[in_saitama].dropna().to_numpy()
    not_matched = frame[frame["status"] != "matched"]
    failures = Counter(
        f"{s}: {r}" for s, r in zip(not_matched["status"], not_matched["reason"], strict=True)
    )
    show = ["address", "city", "geocode_city", "town", "status", "reason", "coord_distance_m"]
    return Accuracy(
        rows=len(frame),
        named=int(named.sum()),
        muni_agree=int(agree.sum()),
        level3=int((level == 3).sum()),
        in_saitama_points=int(in_saitama.sum()),
        compared_points=len(compared),
        median_m=float(np.median(compared)) if len(compared) else float("nan"),
        p90_m=float(np.percentile(compared, 90)) if len(compared) else float("nan"),
        within_1km=float((compared <= 1000).mean()) if len(compared) else float("nan"),
        failures=dict(failures.most_common()),
        coord_check=dict(Counter(check)),
        disagreements=frame.loc[named & ~agree, show],
        far=frame.loc[in_saitama & (distance > 2000), show].sort_values(
            "coord_distance_m", key=lambda s: pd.to_numeric(s), ascending=False
        ),
        suggested=failures_file.loc[
            failures_file["level"] != "3",
            [ROW_COLUMN, "city", "address", "status", SUGGESTIONS_COLUMN],
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=DEFAULT_SAMPLE)
    parser.add_argument("--show", type=int, default=15, help="rows of each listing to print")
    args = parser.parse_args(argv)
    store = open_store(get_settings().store)
    geocoder = Geocoder.from_store(store)
    acc = measure(args.sample, store, geocoder)
    print(f"rows: {acc.rows}")
    print(
        f"(a) municipality agrees with published city: {acc.muni_agree}/{acc.named} "
        f"= {acc.muni_share:.2%}"
    )
    print(
        f"(b) published point in Saitama: {acc.in_saitama_points} rows, compared {acc.compared_points}:"
        f" median {acc.median_m:.0f} m, p90 {acc.p90_m:.0f} m, within 1 km {acc.within_1km:.2%}"
    )
    print(f"(c) level 3: {acc.level3}/{acc.rows} = {acc.level3_share:.2%}")
    print("(d) rows not matched, by status and reason:")
    for key, n in acc.failures.items():
        print(f"    {n:5d}  {key}")
    print("    coord_check:", acc.coord_check)
    with_hint = acc.suggested[acc.suggested[SUGGESTIONS_COLUMN] != ""]
    print(
        f"(e) rows below level 3 with a spelling suggestion: {len(with_hint)}/{len(acc.suggested)}"
    )
    with pd.option_context("display.width", 250, "display.max_colwidth", 60):
        print("municipality disagreements:")
        print(acc.disagreements.head(args.show).to_string())
        print("published point > 2 km from ours:")
        print(acc.far.head(args.show).to_string())
        print("rows below level 3 and their suggestions:")
        print(acc.suggested.head(args.show).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
