"""Throughput of the batch geocoder against @geolonia/normalize-japanese-addresses 2.10.1.

Builds N **distinct** addresses (default 100,000) from real dictionary towns with random block
numbers and the formatting variants the geocoder must read (prefecture and 郡 omitted or not,
大字 dropped, 丁目 as 六丁目 / 6丁目 / ６丁目 / the first number of 6-4-4, every dash variant,
番地/号/の forms, full-width digits, 〒 postal prefix, spaces), seeded so every run is the same.
The truth (unit code, town) of each address is known.

Ours: the batch job itself (:func:`tsunagari_geo.geocode.batch.geocode_table`, CSV in, CSV out,
journal and all), single process; the rate counts its geocoding loop, the dictionary load is
reported separately. The peer: ``bench/peer/normalize.mjs`` (``npm ci`` first if needed) on the
same addresses, offline against the same Geolonia town dictionary; its rate counts its
``normalize()`` loop after warm-up. Both sides' agreement with the truth is printed (municipality,
and municipality + town, compared by folded town key so spelling conventions do not count).

Whole-job mode (``--whole-job``): the file is distinct spelling variants of **real** addresses
(the MHLW care-facility sample, the peer's own test addresses in the region and the 子ども食堂
sample: prefecture and 郡 written or not, full- and half-width digits, every dash, 丁目 as 六丁目 /
6丁目 / 6-, 番地/号/の forms, 〒 prefixes, spaces, a building after the number), and both sides run
as the processes a person starts: ``tsunagari-geo geocode in.csv --out out.csv`` (start-up,
dictionary load, CSV read and write, failures file and all) and ``node normalize.mjs`` on the
same addresses (start-up, warm-up, file read and write). Wall-clock times of both processes and
their ratio are printed, with each side's share of rows read to a town (level 3).

Usage::

    .venv/bin/python bench/geocode_bench.py            # 100,000 addresses
    .venv/bin/python bench/geocode_bench.py --n 5000   # a quick run
    .venv/bin/python bench/geocode_bench.py --whole-job --n 95000   # both whole processes
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tsunagari_geo.geocode.batch import geocode_table
from tsunagari_geo.geocode.core import Geocoder
from tsunagari_geo.region import load_region
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import Store, open_store
from tsunagari_geo.text import int_to_kanji, town_key

HERE = Path(__file__).resolve().parent
PEER = HERE / "peer"
DASHES = "-－‐‑–—―−ｰー"
FULL = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass(frozen=True)
class Sample:
    """One generated address and its truth."""

    address: str
    unit_code: str
    town: str


def _block(rnd: random.Random) -> tuple[int, int]:
    return rnd.randint(1, 3000), rnd.randint(1, 40)


def _format(rnd: random.Random, town_text: str, chome: int | None, base: str) -> str:
    """A town and block written in one of the forms people use."""
    a, b = _block(rnd)
    dash = rnd.choice(DASHES)
    if chome is not None:
        form = rnd.randrange(5)
        if form == 0:
            return f"{town_text}{a}{dash}{b}"
        if form == 1:
            return f"{base}{chome}丁目{a}番{b}号"
        if form == 2:
            return f"{base}{chome}{dash}{a}{dash}{b}"
        if form == 3:
            return f"{base}{str(chome).translate(FULL)}丁目{str(a).translate(FULL)}{dash}{b}"
        return f"{base}{int_to_kanji(chome)}丁目{a}番地の{b}"
    form = rnd.randrange(4)
    if form == 0:
        return f"{town_text}{a}{dash}{b}"
    if form == 1:
        return f"{town_text}{a}番地{b}"
    if form == 2:
        return f"{town_text}{str(a).translate(FULL)}"
    return f"{town_text}{a}番地の{b}"


def build_addresses(store: Store, n: int, seed: int = 20261126) -> list[Sample]:
    """N distinct addresses from real towns, with their truth; deterministic for a seed."""
    rnd = random.Random(seed)
    registry = load_region("saitama").registry
    towns = store.towns[store.towns["koaza"].fillna("") == ""]
    towns = towns[~towns["town"].str.startswith(("（", "("))]
    keys_by_unit: dict[str, set[str]] = {}
    for unit, name in zip(towns["unit_code"], towns["town"], strict=True):
        key = town_key(str(name))
        keys_by_unit.setdefault(str(unit), set()).add(key)
        if key.endswith("丁目"):  # 高倉三丁目 → 高倉: a 大字高倉 beside it keeps its 大字
            keys_by_unit[str(unit)].add(key.rstrip("一二三四五六七八九十丁目") + "#chome")
    records = list(zip(towns["unit_code"].astype(str), towns["town"].astype(str), strict=True))
    seen: set[str] = set()
    out: list[Sample] = []
    while len(out) < n:
        unit_code, town = records[rnd.randrange(len(records))]
        muni = registry.by_code[unit_code]
        prefix = ""
        if rnd.random() < 0.6:
            prefix = "〒000-0000 埼玉県" if rnd.random() < 0.05 else "埼玉県"
        city = muni.full_name if (muni.gun and rnd.random() < 0.5) else muni.name
        if rnd.random() < 0.1:
            city = city + " "
        text = town
        key = town_key(town)
        # 大字 is often dropped, but not where 大字X and X町 both exist: that would be
        # (rightly) ambiguous, so there is no single truth to compare with ...
        # ... nor where 大字X and X三丁目 both exist (高倉3 could be either).
        droppable = (
            town.startswith("大字")
            and key + "町" not in keys_by_unit[unit_code]
            and key + "#chome" not in keys_by_unit[unit_code]
        )
        if droppable and rnd.random() < 0.5:
            text = town[2:]
        chome = None
        base = text
        if text.endswith("丁目"):
            for number in range(1, 40):
                numeral = int_to_kanji(number) + "丁目"
                if text.endswith(numeral) and len(text) > len(numeral):
                    chome, base = number, text[: -len(numeral)]
        address = prefix + city + _format(rnd, text, chome, base)
        if address in seen:
            continue
        seen.add(address)
        out.append(Sample(address, unit_code, town))
    return out


def run_ours(samples: list[Sample], store: Store, workdir: Path) -> dict[str, float]:
    """The batch job on the samples; returns rates and agreement."""
    started = time.perf_counter()
    geocoder = Geocoder.from_store(store)
    load = time.perf_counter() - started
    src, out = workdir / "in.csv", workdir / "out.csv"
    pd.DataFrame({"住所": [s.address for s in samples]}).to_csv(src, index=False)
    t0 = time.perf_counter()
    summary = geocode_table(
        src, out, geocoder=geocoder, store=store, chunk_size=10_000, progress=False
    )
    total = time.perf_counter() - t0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    muni_ok = town_ok = 0
    # The truth is a unit (a ward of さいたま市, not the city): compare the row's unit_code.
    for sample, code, town in zip(samples, frame["unit_code"], frame["town"], strict=True):
        if code == sample.unit_code:
            muni_ok += 1
            if town == sample.town:
                town_ok += 1
    n = len(samples)
    return {
        "load_seconds": load,
        "geocode_seconds": summary.geocode_seconds,
        "job_seconds": total,
        "rate": n / summary.geocode_seconds,
        "job_rate": n / total,
        "muni": muni_ok / n,
        "town": town_ok / n,
    }


def run_peer(samples: list[Sample], workdir: Path, api: Path) -> dict[str, float]:
    """normalize.mjs on the same addresses; returns its rate and agreement."""
    if not (PEER / "node_modules" / "@geolonia").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER, check=True)
    src, out = workdir / "addresses.txt", workdir / "peer.jsonl"
    src.write_text("".join(s.address + "\n" for s in samples), encoding="utf-8")
    done = subprocess.run(
        ["node", "normalize.mjs", "--api", api.as_uri(), "--in", str(src), "--out", str(out)],
        cwd=PEER, check=True, capture_output=True, text=True,
    )  # fmt: skip
    stats = json.loads(done.stderr.strip().splitlines()[-1])
    registry = load_region("saitama").registry
    # The peer names municipalities as Geolonia does: 比企郡滑川町, さいたま市浦和区.
    code_of = {m.full_name: m.code for m in registry.units}
    muni_ok = town_ok = 0
    lines = out.read_text(encoding="utf-8").splitlines()
    for sample, line in zip(samples, lines, strict=True):
        result = json.loads(line)
        if (
            result.get("pref") == "埼玉県"
            and code_of.get(result.get("city") or "") == sample.unit_code
        ):
            muni_ok += 1
            if town_key(result.get("town") or "") == town_key(sample.town):
                town_ok += 1
    n = len(samples)
    return {
        "load_seconds": float(stats.get("load_seconds", 0.0)),
        "seconds": float(stats["seconds"]),
        "rate": n / float(stats["seconds"]),
        "muni": muni_ok / n,
        "town": town_ok / n,
        "errors": float(stats.get("errors", 0)),
    }


SAMPLES = ("care_facilities_mhlw_2025.csv", "kodomo_shokudo_sayama.csv")
_NUMBERS_RE = re.compile(
    r"([0-9０-９]+)[-－‐‑–—―−ｰー]([0-9０-９]+)(?:[-－‐‑–—―−ｰー]([0-9０-９]+))?"
)
_CHOME_RE = re.compile(r"([0-9０-９]+|[一二三四五六七八九十]+)丁目")
HALF = str.maketrans("０１２３４５６７８９－", "0123456789-")
BUILDINGS = ("", "", "", " ○○ビル2F", "　コーポ101号室", " 第二ハイツ", "（つながり会館内）")


def real_addresses(source: Path, pref: str) -> list[str]:
    """Distinct real addresses: the region's sample files and the peer's own test addresses
    in the region's prefecture."""
    found: list[str] = []
    care = pd.read_csv(source / "samples" / SAMPLES[0], dtype=str, keep_default_na=False)
    # Some rows carry their municipality only in the city column, as the member's file does.
    for address, city in zip(care["address"], care["city"], strict=True):
        body = address.removeprefix(pref)
        found.append(address if not city or city in body else city + body)
    kodomo = pd.read_csv(source / "samples" / SAMPLES[1], dtype=str, keep_default_na=False)
    found += [a for a in kodomo["address"] if a]
    peer_tests = source.parent / "japan" / "peer_tests" / "addresses.csv"
    if peer_tests.is_file():
        peer = pd.read_csv(peer_tests, dtype=str, keep_default_na=False)
        found += [a for a in peer["住所"] if a.startswith(pref)]
    return list(dict.fromkeys(found))


def _variant(rnd: random.Random, address: str, pref: str) -> str:
    """One way a person could write ``address``."""
    text = address.translate(HALF) if rnd.random() < 0.5 else address
    body = text[len(pref) :] if text.startswith(pref) else text
    roll = rnd.random()
    text = body if roll < 0.4 else pref + body
    if "大字" in text and rnd.random() < 0.5:
        text = text.replace("大字", "", 1)
    match = _NUMBERS_RE.search(text)
    if match is not None:
        a, b, c = (g.translate(HALF) if g else g for g in match.groups())
        if rnd.random() < 0.5:
            a, b = (x.translate(FULL) for x in (a, b))
        dash = rnd.choice(DASHES)
        form = rnd.randrange(6)
        if c is not None and form == 1:
            numbers = f"{a}丁目{b}番{c}号"
        elif c is not None and form == 2 and int(a.translate(HALF)) < 40:
            numbers = f"{int_to_kanji(int(a.translate(HALF)))}丁目{b}{dash}{c}"
        elif c is not None and form == 3:
            numbers = f"{a}丁目{b}番地の{c}"
        elif c is None and form == 4:
            numbers = f"{a}番地{b}"
        else:
            numbers = dash.join(x for x in (a, b, c) if x)
        text = text[: match.start()] + numbers + text[match.end() :]
    elif _CHOME_RE.search(text) and rnd.random() < 0.5:
        text = _CHOME_RE.sub(lambda m: m.group(1).translate(FULL) + "丁目", text, count=1)
    if rnd.random() < 0.15:
        cut = next((i + 1 for i, ch in enumerate(text) if ch in "市町村" and i > 1), 0)
        text = text[:cut] + rnd.choice((" ", "　")) + text[cut:]
    postal = "〒330-0000 " if roll > 0.95 else ""
    return postal + text + rnd.choice(BUILDINGS)


def build_variants(addresses: list[str], n: int, pref: str, seed: int) -> list[str]:
    """Up to N distinct variants of the real addresses, round-robin, deterministic for a seed."""
    rnd = random.Random(seed)
    seen: dict[str, None] = {}
    attempts = 0
    while len(seen) < n and attempts < 40 * n:
        address = addresses[attempts % len(addresses)]
        attempts += 1
        seen.setdefault(_variant(rnd, address, pref), None)
    return list(seen)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_whole_jobs(
    variants: list[str], workdir: Path, store: Path, api: Path, *, peer: bool = True
) -> dict[str, float]:
    """Both whole jobs as processes on the same addresses: wall-clock seconds of each and the
    CPU seconds (user + system) each process used, which a machine shared with other work
    disturbs far less than the wall clock."""
    src, out = workdir / "in.csv", workdir / "out.csv"
    pd.DataFrame({"住所": variants}).to_csv(src, index=False)
    command = (
        shutil.which("tsunagari-geo", path=str(Path(sys.executable).parent)) or "tsunagari-geo"
    )
    env = {**os.environ, "TSUNAGARI_STORE": str(store)}
    started, cpu = time.perf_counter(), _children_cpu()
    subprocess.run([command, "geocode", str(src), "--out", str(out)], env=env, check=True,
                   capture_output=True)  # fmt: skip
    ours = time.perf_counter() - started
    ours_cpu = _children_cpu() - cpu
    levels = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")["level"]
    stats = {"ours": ours, "ours_cpu": ours_cpu, "ours_town": float((levels == "3").mean())}
    if not peer:
        return stats
    if not (PEER / "node_modules" / "@geolonia").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER, check=True)
    text, jsonl = workdir / "addresses.txt", workdir / "peer.jsonl"
    text.write_text("".join(v + "\n" for v in variants), encoding="utf-8")
    started, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(
        ["node", "normalize.mjs", "--api", api.as_uri(), "--in", str(text), "--out", str(jsonl)],
        cwd=PEER, check=True, capture_output=True,
    )  # fmt: skip
    stats["peer"] = time.perf_counter() - started
    stats["peer_cpu"] = _children_cpu() - cpu
    results = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    stats["peer_town"] = sum(1 for r in results if (r.get("level") or 0) >= 3) / len(results)
    return stats


def main_whole_job(args: argparse.Namespace) -> int:
    settings = get_settings()
    source = settings.source_dir()
    if source is None:
        print("no source folder (TSUNAGARI_SOURCE)", file=sys.stderr)
        return 1
    store = open_store(settings.store)
    pref = store.region.pref_name
    addresses = real_addresses(source, pref)
    variants = build_variants(addresses, args.n, pref, args.seed)
    print(
        f"whole job: {len(variants):,} distinct variants of {len(addresses):,} real addresses "
        f"(seed {args.seed}); e.g. {variants[1]}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        api = (source / "towns" / "api" / "ja").resolve()
        stats = run_whole_jobs(variants, Path(tmp), settings.store.resolve(), api,
                               peer=not args.no_peer)  # fmt: skip
    print(f"ours : tsunagari-geo geocode, whole process {stats['ours']:.2f} s wall, "
          f"{stats['ours_cpu']:.2f} s CPU; town level {stats['ours_town']:.2%}")  # fmt: skip
    if "peer" in stats:
        print(f"peer : node normalize.mjs, whole process {stats['peer']:.2f} s wall, "
              f"{stats['peer_cpu']:.2f} s CPU; town level {stats['peer_town']:.2%}")  # fmt: skip
        print(
            f"ratio: {stats['peer'] / stats['ours']:.1f}x wall, "
            f"{stats['peer_cpu'] / stats['ours_cpu']:.1f}x CPU (the peer's time / ours)"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="distinct addresses")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--no-peer", action="store_true", help="skip the npm peer")
    parser.add_argument(
        "--whole-job",
        action="store_true",
        help="both whole processes on variants of real addresses (start-up and I/O included)",
    )
    args = parser.parse_args(argv)
    if args.whole_job:
        return main_whole_job(args)
    settings = get_settings()
    store = open_store(settings.store)
    source = settings.source_dir()
    samples = build_addresses(store, args.n, args.seed)
    assert len({s.address for s in samples}) == len(samples)
    print(f"addresses: {len(samples):,} distinct (seed {args.seed}); e.g. {samples[0].address}")
    with tempfile.TemporaryDirectory() as tmp:
        ours = run_ours(samples, store, Path(tmp))
        print(
            f"ours : dictionary load {ours['load_seconds']:.2f} s; geocoding loop "
            f"{ours['geocode_seconds']:.2f} s = {ours['rate']:,.0f} addr/s (whole job incl. CSV "
            f"read/write {ours['job_seconds']:.2f} s = {ours['job_rate']:,.0f} addr/s); "
            f"municipality {ours['muni']:.2%}, town {ours['town']:.2%}"
        )
        if args.no_peer or source is None:
            return 0
        peer = run_peer(samples, Path(tmp), (source / "towns" / "api" / "ja").resolve())
        print(
            f"peer : @geolonia/normalize-japanese-addresses 2.10.1, warm-up "
            f"{peer['load_seconds']:.2f} s; loop {peer['seconds']:.2f} s = {peer['rate']:,.0f} "
            f"addr/s; municipality {peer['muni']:.2%}, town {peer['town']:.2%}, "
            f"errors {peer['errors']:.0f}"
        )
    print(
        f"ratio: {ours['rate'] / peer['rate']:.1f}x the peer's throughput "
        f"(whole job incl. I/O: {ours['job_rate'] / peer['rate']:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
