"""The whole batch job on 1, 2 and 4 Dask workers against the single process.

Builds N addresses (default 1,000,000): distinct spelling variants of **real** addresses, made
by ``bench/geocode_bench.py``'s ``real_addresses`` and ``build_variants`` (the MHLW
care-facility sample, the 子ども食堂 sample and the peer's test addresses in the region;
prefecture and 郡 written or not, every dash, full- and half-width digits, 丁目 forms,
buildings, 〒 prefixes), seeded so every run is the same. When the variants of those few
thousand addresses run out before N, the list is repeated until N rows (a member list repeats
addresses too); the printout says how many are distinct.

Each job is a whole command, as a person runs it, timed from start to exit
(``time.perf_counter`` around the subprocess, start-up, dictionary loads, CSV in and out,
journal and failures file included)::

    tsunagari-geo geocode in.csv --out single/out.csv
    tsunagari-geo geocode in.csv --out daskN/out.csv --dask --workers N     # N = 1, 2, 4

and the CPU seconds of each process and its children (the workers). The table gives each
job's wall time, its speed-up over the single process, and whether its output and failures
file are the single process's bytes (sha256). A LocalCluster's workers are processes on this
machine: with 2 cores, 4 workers cannot beat 2, and a machine shared with other work makes
wall times noisy (the CPU column is steadier).

Usage::

    .venv/bin/python bench/dask_bench.py                  # 1,000,000 addresses
    .venv/bin/python bench/dask_bench.py --n 200000       # a shorter run
    .venv/bin/python bench/dask_bench.py --workers 1 2    # other cluster sizes
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from geocode_bench import build_variants, real_addresses  # beside this file
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import open_store


def addresses(n: int, seed: int) -> tuple[list[str], int, int]:
    """N addresses (variants of real ones, repeated past the distinct ones), how many are
    distinct, and how many real addresses they vary."""
    settings = get_settings()
    source = settings.source_dir()
    if source is None:
        raise SystemExit("no source folder (TSUNAGARI_SOURCE)")
    pref = open_store(settings.store).region.pref_name
    real = real_addresses(source, pref)
    variants = build_variants(real, n, pref, seed)
    rows = (variants * (n // len(variants) + 1))[:n]
    return rows, len(variants), len(real)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_job(src: Path, out: Path, extra: list[str]) -> tuple[float, float, tuple[str, str]]:
    """One whole ``tsunagari-geo geocode`` command: wall seconds, CPU seconds (the process
    and its workers), and the sha256 of its output and failures file."""
    command = (
        shutil.which("tsunagari-geo", path=str(Path(sys.executable).parent)) or "tsunagari-geo"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TSUNAGARI_STORE": str(get_settings().store.resolve())}
    cpu = _children_cpu()
    started = time.perf_counter()
    subprocess.run([command, "geocode", str(src), "--out", str(out), *extra], env=env,
                   check=True, capture_output=True)  # fmt: skip
    wall = time.perf_counter() - started
    failures = out.with_name(f"{out.stem}.failures.csv")
    return wall, _children_cpu() - cpu, (_sha256(out), _sha256(failures))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="addresses (rows)")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--chunk-size", type=int, default=1000, help="rows per chunk (task)")
    args = parser.parse_args(argv)
    rows, distinct, real = addresses(args.n, args.seed)
    print(
        f"{len(rows):,} addresses: {distinct:,} distinct variants of {real:,} real addresses "
        f"(seed {args.seed}); {os.cpu_count()} CPUs; chunk {args.chunk_size:,} rows"
    )
    chunk = ["--chunk-size", str(args.chunk_size)]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.csv"
        pd.DataFrame({"住所": rows}).to_csv(src, index=False)
        results: list[tuple[str, float, float, bool]] = []
        wall, cpu, reference = run_job(src, Path(tmp) / "single" / "out.csv", chunk)
        results.append(("single process", wall, cpu, True))
        print(f"  single process: {wall:.1f} s", flush=True)
        for n in args.workers:
            out = Path(tmp) / f"dask{n}" / "out.csv"
            wall, cpu, digest = run_job(src, out, [*chunk, "--dask", "--workers", str(n)])
            results.append((f"--dask --workers {n}", wall, cpu, digest == reference))
            print(f"  --dask --workers {n}: {wall:.1f} s", flush=True)
            shutil.rmtree(out.parent)
    single = results[0][1]
    print()
    print(f"| job ({len(rows):,} rows) | wall s | CPU s | speed-up vs single | identical bytes |")
    print("|---|---:|---:|---:|---|")
    for name, wall, cpu, same in results:
        print(
            f"| {name} | {wall:.1f} | {cpu:.1f} | {single / wall:.2f}× | {'yes' if same else 'NO'} |"
        )
    return 0 if all(same for *_, same in results) else 1


if __name__ == "__main__":
    sys.exit(main())
