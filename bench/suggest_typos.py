"""How often a one-character typo in a town name gets the right spelling suggested.

For every town of the reference store (5,389), one kanji of its name (大字 and 丁目 aside) is
replaced by a kanji drawn from the other town names, and the address
``{municipality}{misspelt town}1-1`` is geocoded. Each row lands in one category:

* ``suggested``: not matched, and a suggestion (a corrected address) reads as the right town;
* ``suggested_other``: not matched, suggestions that do not read as it;
* ``no_suggestion``: not matched, nothing suggested;
* ``matched_same``: the typo still reads as the right town (a variant the folding accepts);
* ``matched_other``: the typo is another real town's name, read as that town (a silent
  mistake no geocoder can see, counted so that it is visible).

Usage::

    .venv/bin/python bench/suggest_typos.py [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter

from tsunagari_geo.geocode.core import Geocoder, GeocodeResult
from tsunagari_geo.region import load_region
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import open_store

_CHOME = re.compile(r"[一二三四五六七八九十]+丁目$")
_KANJI = re.compile(r"[\u4e00-\u9fff]")
_NUMERALS = set("一二三四五六七八九十")


def _same(result: GeocodeResult, code: str, town: str) -> bool:
    """Whether ``result`` is ``town`` of unit ``code`` (any 丁目 of it: the typo hides which)."""
    return result.muni_code == code and _CHOME.sub("", result.town) == _CHOME.sub("", town)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    store = open_store(get_settings().store)
    geocoder = Geocoder.from_store(store)
    names = load_region("saitama").registry.by_code
    towns = store.towns[["unit_code", "town"]].drop_duplicates()
    pool = sorted({c for t in towns["town"] for c in t if _KANJI.match(c)} - _NUMERALS)
    counts: Counter[str] = Counter()
    for code, town in towns.itertuples(index=False):
        base = _CHOME.sub("", town).removeprefix("大字")
        places = [i for i, c in enumerate(base) if _KANJI.match(c) and c not in _NUMERALS]
        if len(base) < 2 or not places:
            counts["skipped"] += 1
            continue
        i = rng.choice(places)
        typo = base[:i] + rng.choice([c for c in pool if c != base[i]]) + base[i + 1 :]
        city = names[code].full_name
        result = geocoder.geocode(f"{city}{typo}1-1")
        if result.level == 3:
            counts["matched_same" if _same(result, code, town) else "matched_other"] += 1
        elif any(_same(geocoder.geocode(s), code, town) for s in result.suggestions):
            counts["suggested"] += 1
        elif result.suggestions:
            counts["suggested_other"] += 1
        else:
            counts["no_suggestion"] += 1
    tried = sum(n for k, n in counts.items() if k != "skipped")
    for key in ("suggested", "suggested_other", "no_suggestion", "matched_same", "matched_other"):
        print(f"{key:16s} {counts[key]:5d}  {counts[key] / tried:6.1%}")
    print(f"{'skipped':16s} {counts['skipped']:5d}  (one-character names)")
    print(f"towns tried: {tried}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
