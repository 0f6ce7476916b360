"""Start-up and memory of the geocoder with all Japan's towns in the store.

Prints the process RSS (``/proc/self/status``, Linux) after the imports, after building the
dictionary (the region's towns; other prefectures are indexed only when first met), after the
first address in 東京都, and after an address in every other prefecture, with the time of each
step. Run it on a store imported with and without ``--japan`` to compare.

Usage::

    .venv/bin/python bench/geocode_japan_memory.py [--store PATH]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    from tsunagari_geo.geocode.core import Geocoder
    from tsunagari_geo.region import PREFECTURES
    from tsunagari_geo.settings import get_settings
    from tsunagari_geo.store import open_store

    print(f"imports          {time.perf_counter() - started:6.2f} s  RSS {rss_mb():5.0f} MB")
    started = time.perf_counter()
    store = open_store(args.store or get_settings().store)
    geocoder = Geocoder.from_store(store)
    print(f"dictionary load  {time.perf_counter() - started:6.2f} s  RSS {rss_mb():5.0f} MB")
    print(f"  store {store.location}: {store.info()['japan_towns']:,} towns of other prefectures")
    started = time.perf_counter()
    first = geocoder.geocode("東京都千代田区丸の内1-1")
    took = time.perf_counter() - started
    print(f"first in 東京都   {took:6.2f} s  RSS {rss_mb():5.0f} MB  (level {first.level})")
    started = time.perf_counter()
    for pref in PREFECTURES:
        geocoder.geocode(pref)
    took = time.perf_counter() - started
    print(f"all prefectures  {took:6.2f} s  RSS {rss_mb():5.0f} MB")


if __name__ == "__main__":
    main()
