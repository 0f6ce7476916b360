"""Benchmark: the schedule questions the API and the map ask, over N activities' rules.

The shipped sample rules (weekly, 第N曜, 第2・第4) repeated to ``--activities`` rows, then:
``open_on`` for one day (the API's filter, :func:`open_on_mask`), the same day again, a day
at the far end of the allowed range, and the calendar the map reads (:func:`open_days`, the
API's default 92 days and the static site's 366), with its size as JSON and gzipped, in
that order in one process: "first" parses and walks each rule cold, later questions find
the walk kept.

    .venv/bin/python bench/schedule_bench.py [--activities 10000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from datetime import date

import pandas as pd

from tsunagari_geo.activities import schedule
from tsunagari_geo.resources import SAMPLES_DIR


def _timed(label: str, run: object) -> object:
    start = time.perf_counter()
    out = run()  # type: ignore[operator]
    print(f"{label}: {(time.perf_counter() - start) * 1000:.1f} ms")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=10_000)
    args = parser.parse_args()
    samples = pd.read_csv(SAMPLES_DIR / "activities.csv", dtype=str, keep_default_na=False)
    copies = -(-args.activities // len(samples))
    frame = pd.concat([samples] * copies, ignore_index=True).head(args.activities)
    frame["id"] = [f"a{i:06d}" for i in range(len(frame))]
    print(f"{len(frame)} activities, {frame['rrule'].nunique()} distinct rules")
    day = date(2026, 12, 12)
    mask = _timed("open_on 2026-12-12 (first)", lambda: schedule.open_on_mask(frame, day))
    print(f"  open that day: {int(mask.sum())}")  # type: ignore[attr-defined]
    _timed("open_on 2026-12-12 (again)", lambda: schedule.open_on_mask(frame, day))
    _timed(
        "open_on 2099-12-31 (range end)", lambda: schedule.open_on_mask(frame, date(2099, 12, 31))
    )
    records = frame[["id", "rrule"]].to_dict("records")
    for days in (92, 366):
        calendar = _timed(
            f"calendar {days} days", lambda d=days: schedule.open_days(records, day, d)
        )
        body = json.dumps(calendar, separators=(",", ":")).encode()
        print(f"  {len(body) / 1024:.0f} kB, gzip {len(gzip.compress(body)) / 1024:.0f} kB")


if __name__ == "__main__":
    main()
