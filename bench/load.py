"""Load: `tsunagari-geo serve --workers 2` on loopback at rising, open-loop request rates.

The deployment is the real pipeline on the shipped samples (plus the tiles), built into a
temporary folder from the reference store ``TSUNAGARI_STORE`` (default
``data/build/tsunagari.gpkg``; ``tsunagari-geo data import`` writes it). ``--reuse-build``
serves ``data/build/layers.gpkg``, ``data/build/planner.gpkg`` and ``tiles/`` as they are
instead (build them first with ``tsunagari-geo build`` and ``tsunagari-geo tiles build``).

The mix is fixed and bounded: 35 % items with a bbox (200 windows around published
activities, ``limit`` 100), 20 % single features, 20 % ``.mvt`` tiles (zooms 8–12 over
activities), 10 % ``Range`` reads of the ``.pmtiles`` archives (4–16 KB), 15 % ``GET
/geocode`` (sample addresses). Every URL pool is finite, so the service's response cache
fills during the warm-up and the memory figures measure leaks, not caching.

Open loop: requests are sent at their scheduled times whatever the answers do, and latency
is measured from the scheduled time, so a slow server cannot hide queueing (no coordinated
omission). At most ``--max-in-flight`` requests are outstanding; a request that would exceed
it counts as an error (``dropped``). The rate doubles step by step (50, 100, 200, … req/s)
until a step misses (any error, or p99 ≥ 100 ms), then bisects between the rates held and
missed; each step lasts ``duration / steps`` seconds and sends at most ``rate × seconds``
requests. Any time left runs at the highest rate held, so the server is under load for the
whole ``--duration``. The requests are spread over ``--clients`` processes (asyncio + httpx
each), so the client is not the limit; its CPU is reported per step.

Reported per step: achieved rate, errors, p50/p99 (ms), the client's own CPU (if it nears
one core the client, not the server, is the limit); the highest rate held with zero errors
and p99 < 100 ms; the server's RSS (the uvicorn supervisor and its workers, psutil if
installed, else /proc) after the warm-up and at the end, flagging growth over 10 %.

    .venv/bin/python bench/load.py                 # 60 s
    .venv/bin/python bench/load.py --quick         # 15 s, for a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tsunagari_api.settings import ApiSettings
from tsunagari_geo.layers.build import BuildInputs, build_layers
from tsunagari_geo.layers.paths import DEFAULT_LAYERS, DEFAULT_PLANNER_LAYERS, DEFAULT_TILES_DIR
from tsunagari_geo.layers.published import LayerSet
from tsunagari_geo.layers.tiles import build_tiles
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import open_store

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the one server-start helper, shared with the tests
from server_helpers import LOOPBACK, free_port, serve_command, serve_env, serving  # noqa: E402

P99_TARGET_MS = 100.0
MEMORY_GROWTH_LIMIT = 0.10
MIX = {"items_bbox": 35, "feature": 20, "tile_mvt": 20, "pmtiles_range": 10, "geocode": 15}


@dataclass(frozen=True)
class Request:
    """One request of the pool: its kind (a key of :data:`MIX`), path and headers."""

    kind: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class StepResult:
    """What one rate step did."""

    target: float
    seconds: float
    sent: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    client_cpu: float = 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def achieved(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return math.inf
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def held(self) -> bool:
        return self.error_count == 0 and self.percentile(0.99) < P99_TARGET_MS


# --- the deployment --------------------------------------------------------------------------


def deployment(folder: Path, reuse: bool) -> ApiSettings:
    """Settings of the files to serve: built into ``folder`` from the samples, or data/build."""
    store = get_settings().store
    if reuse:
        settings = ApiSettings(
            store=store,
            layers=REPO / DEFAULT_LAYERS,
            planner_layers=REPO / DEFAULT_PLANNER_LAYERS,
            tiles_dir=REPO / DEFAULT_TILES_DIR,
        )
        missing = [
            p
            for p in (settings.layers, settings.tiles_dir / "activities.pmtiles")
            if not p.exists()
        ]
        if missing:
            raise SystemExit(
                f"--reuse-build: {missing[0]} がありません（build / tiles build を先に）"
            )
        return settings
    t0 = time.perf_counter()
    opened = open_store(store)
    build_layers(
        opened,
        inputs=BuildInputs.samples(),
        out=folder / "layers.gpkg",
        planner_out=folder / "planner.gpkg",
    )
    build_tiles(folder / "layers.gpkg", folder / "tiles", region=opened.region)
    print(f"built the sample deployment in {time.perf_counter() - t0:.1f} s ({folder})")
    return ApiSettings(
        store=store,
        layers=folder / "layers.gpkg",
        planner_layers=folder / "planner.gpkg",
        tiles_dir=folder / "tiles",
    )


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def request_pool(settings: ApiSettings, rng: random.Random) -> dict[str, list[Request]]:
    """The finite pools of requests per kind, drawn from the published data."""
    public = LayerSet.open(settings.layers, "public").frames
    activities = public["activities"]
    mapped = activities[activities.geometry.notna() & ~activities.geometry.is_empty]
    points = [(p.x, p.y) for p in mapped.geometry]
    ids = [str(i) for i in activities["id"]]
    items = []
    for _ in range(200):
        lon, lat = rng.choice(points)
        half = rng.choice((0.01, 0.03, 0.08))
        bbox = f"{lon - half:.4f},{lat - half:.4f},{lon + half:.4f},{lat + half:.4f}"
        items.append(Request("items_bbox", f"/collections/activities/items?bbox={bbox}&limit=100"))
    features = [Request("feature", f"/collections/activities/items/{i}") for i in ids]
    tiles = []
    for _ in range(300):
        lon, lat = rng.choice(points)
        z = rng.randint(8, 12)
        x, y = _tile_of(lon, lat, z)
        name = rng.choice(("activities", "municipalities"))
        tiles.append(Request("tile_mvt", f"/tiles/{name}/{z}/{x}/{y}.mvt"))
    ranges = []
    for name in ("activities", "municipalities"):
        size = (settings.tiles_dir / f"{name}.pmtiles").stat().st_size
        # The header and root directory first, as a PMTiles reader does, then tile data.
        ranges.append(
            Request("pmtiles_range", f"/tiles/{name}.pmtiles", {"Range": "bytes=0-16383"})
        )
        for _ in range(50):
            length = rng.randint(4096, 16384)
            first = rng.randint(0, max(0, size - length))
            ranges.append(
                Request(
                    "pmtiles_range",
                    f"/tiles/{name}.pmtiles",
                    {"Range": f"bytes={first}-{first + length - 1}"},
                )
            )
    addresses = [
        str(a) for a in activities["address"].dropna().unique() if str(a) and str(a) != "nan"
    ]
    geocode = [
        Request("geocode", "/geocode", params={"q": a})
        for a in rng.sample(addresses, min(150, len(addresses)))
    ]
    return {
        "items_bbox": items,
        "feature": features,
        "tile_mvt": tiles,
        "pmtiles_range": ranges,
        "geocode": geocode,
    }


def schedule(pools: dict[str, list[Request]], n: int, rng: random.Random) -> list[Request]:
    """``n`` requests drawn by the :data:`MIX` weights."""
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=n)
    return [rng.choice(pools[k]) for k in kinds]


# --- the load generator ----------------------------------------------------------------------


def _ok(request: Request, response: httpx.Response) -> bool:
    if request.kind == "pmtiles_range":
        return response.status_code == 206
    if request.kind == "tile_mvt":
        return response.status_code in (200, 204)
    return response.status_code == 200


async def _send(
    base: str,
    requests: Sequence[tuple[float, Request]],
    max_in_flight: int,
) -> tuple[int, dict[str, int], list[float]]:
    """Send each request at its scheduled ``time.monotonic()``; open loop.

    Returns (sent, errors by kind, latencies in ms measured from the scheduled time).
    """
    errors: dict[str, int] = {}
    latencies: list[float] = []
    in_flight = 0
    tasks: set[asyncio.Task[None]] = set()
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:

        async def one(request: Request, scheduled: float) -> None:
            nonlocal in_flight
            try:
                response = await client.get(
                    request.path, headers=request.headers, params=request.params
                )
                await response.aread()
                if _ok(request, response):
                    latencies.append((time.monotonic() - scheduled) * 1000)
                else:
                    error(f"HTTP {response.status_code}")
            except httpx.HTTPError as exc:
                error(type(exc).__name__)
            finally:
                in_flight -= 1

        sent = 0
        for scheduled, request in requests:
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent += 1
            if in_flight >= max_in_flight:
                error("dropped (in flight)")
                continue
            in_flight += 1
            task = asyncio.create_task(one(request, scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            # Late answers still count (their latency says so), but no step waits forever.
            _done, pending = await asyncio.wait(set(tasks), timeout=10)
            for task in pending:
                task.cancel()
                error("timeout (10 s)")
    return sent, errors, latencies


def client_process(
    base: str, requests: Sequence[tuple[float, Request]], max_in_flight: int
) -> tuple[int, dict[str, int], list[float], float]:
    """One client process's share of a step; also returns the CPU seconds it used."""
    cpu0 = time.process_time()
    sent, errors, latencies = asyncio.run(_send(base, requests, max_in_flight))
    return sent, errors, latencies, time.process_time() - cpu0


def run_step(
    pool: ProcessPoolExecutor,
    clients: int,
    base: str,
    requests: Sequence[Request],
    rate: float,
    seconds: float,
    max_in_flight: int,
) -> StepResult:
    """Send ``requests`` at ``rate`` per second for ``seconds``, spread round-robin over
    ``clients`` processes (the i-th request is due at start + i / rate whichever sends it)."""
    result = StepResult(target=rate, seconds=seconds)
    start = time.monotonic() + 0.3  # every client process is waiting by then
    timed = [(start + i / rate, r) for i, r in enumerate(requests[: int(rate * seconds)])]
    shares = [timed[k::clients] for k in range(clients)]
    futures = [
        pool.submit(client_process, base, share, max(1, max_in_flight // clients))
        for share in shares
    ]
    cpu = 0.0
    for future in futures:
        sent, errors, latencies, used = future.result()
        result.sent += sent
        result.latencies_ms += latencies
        cpu += used
        for kind, count in errors.items():
            result.errors[kind] = result.errors.get(kind, 0) + count
    result.client_cpu = cpu / max(seconds, time.monotonic() - start)
    return result


# --- server memory ---------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(c) for c in task.read_text().split()]
    return found


def server_rss(pid: int) -> dict[int, int]:
    """Resident set size in bytes of ``pid`` and all its descendants."""
    try:
        import psutil  # type: ignore[import-untyped]

        root = psutil.Process(pid)
        return {p.pid: p.memory_info().rss for p in [root, *root.children(recursive=True)]}
    except ImportError:
        pass
    sizes: dict[int, int] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                sizes[current] = int(line.split()[1]) * 1024
        todo += _children(current)
    return sizes


# --- main --------------------------------------------------------------------------------------


def drive(base: str, pools: dict[str, list[Request]], args: argparse.Namespace) -> list[StepResult]:
    """The rate steps (doubling; one step halfway after the first miss), then the soak."""
    rng = random.Random(7)
    step_seconds = args.duration / args.steps
    results: list[StepResult] = []
    held, missed = 0.0, 0.0
    rate = args.start_rate
    with ProcessPoolExecutor(args.clients) as pool:
        for _ in range(args.steps):
            requests = schedule(pools, int(rate * step_seconds), rng)
            step = run_step(
                pool, args.clients, base, requests, rate, step_seconds, args.max_in_flight
            )
            results.append(step)
            _print_step(step)
            if step.held:
                held = rate
            else:
                missed = rate
                # An overloaded server still works off the queue the client gave up on; let
                # it drain, or the next (lower) step would pay for this one.
                time.sleep(5)
            # Bisect after the first miss, down to a quarter of the rate held.
            if missed and (held == 0 or missed - held <= 0.25 * held):
                break
            rate = (held + missed) / 2 if missed else rate * 2
        remaining = args.duration - step_seconds * len(results)
        if remaining >= 1 and held:
            requests = schedule(pools, int(held * remaining), rng)
            step = run_step(pool, args.clients, base, requests, held, remaining, args.max_in_flight)
            results.append(step)
            _print_step(step, note="(soak at the highest rate held)")
    return results


def _print_step(step: StepResult, note: str = "") -> None:
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(step.errors.items())) or "0"
    print(
        f"{step.target:8.0f} {step.achieved:9.1f} {step.sent:7d}  {errors:<28} "
        f"{step.percentile(0.5):8.1f} {step.percentile(0.99):8.1f} {step.client_cpu:10.2f}"
        f"  {'held' if step.held else 'MISSED'} {note}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds under load")
    parser.add_argument("--quick", action="store_true", help="15 s, 4 steps (smoke run)")
    parser.add_argument("--start-rate", type=float, default=50.0, help="first step, req/s")
    parser.add_argument("--steps", type=int, default=7, help="rate steps (double, then bisect)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-in-flight", type=int, default=200)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--reuse-build", action="store_true", help="serve data/build + tiles/")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.steps = 15.0, 4

    with tempfile.TemporaryDirectory() as tmp:
        settings = deployment(Path(tmp), args.reuse_build)
        pools = request_pool(settings, random.Random(1))
        port = free_port()
        base = f"http://{LOOPBACK}:{port}"
        env = serve_env(settings, BASEMAP="blank")
        command = serve_command(port, workers=args.workers)
        with serving(command, f"{base}/healthz", env) as server:
            after_start = sum(server_rss(server.pid).values())
            # Warm-up: every pooled request once per worker, so both caches are full.
            with httpx.Client(base_url=base, timeout=30) as client:
                for pool in pools.values():
                    for request in pool:
                        for _ in range(args.workers):
                            client.get(request.path, headers=request.headers, params=request.params)
            warm = server_rss(server.pid)
            print(
                f"server: pid {server.pid} + {len(warm) - 1} child processes on {base}; mix {MIX}; "
                f"open loop, at most {args.max_in_flight} in flight"
            )
            print(
                f"{'target/s':>8} {'achieved/s':>9} {'sent':>7}  {'errors':<28} {'p50 ms':>8} "
                f"{'p99 ms':>8} {'client cores':>12}"
            )
            results = drive(base, pools, args)
            end = server_rss(server.pid)

    rates_held = [s.target for s in results if s.held]
    highest = max(rates_held) if rates_held else 0.0
    start_total, end_total = sum(warm.values()), sum(end.values())
    growth = (end_total - start_total) / start_total
    all_latencies = [x for s in results for x in s.latencies_ms]
    print()
    print(
        f"highest rate held (0 errors, p99 < {P99_TARGET_MS:.0f} ms): {highest:.0f} req/s"
        + (
            f"  (median latency overall {statistics.median(all_latencies):.1f} ms)"
            if all_latencies
            else ""
        )
    )
    print(f"server RSS right after start: {after_start / 2**20:.1f} MiB")
    print(
        f"server RSS after warm-up: {start_total / 2**20:.1f} MiB, at the end: "
        f"{end_total / 2**20:.1f} MiB, growth {growth * 100:+.1f} % "
        f"({'OK' if growth <= MEMORY_GROWTH_LIMIT else 'FLAG: over 10 %'})"
    )
    for pid in sorted(end):
        before = warm.get(pid, 0)
        print(f"  pid {pid}: {before / 2**20:.1f} → {end[pid] / 2**20:.1f} MiB")
    busiest = max(s.client_cpu for s in results)
    if busiest > 0.9 * args.clients:
        print(
            f"note: the clients used {busiest:.2f} of {args.clients} cores; they may be the limit"
        )
    print(
        f"client: {args.clients} processes, asyncio + httpx, busiest step {busiest:.2f} cores; "
        f"machine has {os.cpu_count()} CPUs, shared by clients and server"
    )


if __name__ == "__main__":
    main()
