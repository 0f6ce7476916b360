"""What a new build costs the servers that serve it: PostGIS (LISTEN/NOTIFY, or the periodic
look when the notice is missed) against the GeoPackage's ``POST /admin/reload``.

Run from the repository root (the store must exist: ``tsunagari-geo data import``; PostgreSQL
15 + PostGIS installed: ``apt-get install postgresql-15-postgis-3``)::

    .venv/bin/python bench/postgis_reload_bench.py [--instances 2 4] [--switches 3] [--dsn URL]

What it does, all in one run on loopback:

1. Starts a PostgreSQL cluster in a temporary folder (``tests/postgis_server.py``; or uses the
   empty database of ``--dsn``, which must have ``CREATE EXTENSION postgis``), copies the
   reference store into it and builds the sample activities (set A) with the real build.
   Set B is the same inputs with the last 20 activities left out (changed activities).
2. For each case, starts the servers as real ``tsunagari-geo serve`` processes: N on the
   database (``TSUNAGARI_WATCH_INTERVAL`` 5 s, the default), N with ``TSUNAGARI_WATCH_LISTEN
   =false`` (the notice missed: only the periodic look), and 2 GeoPackage servers, each with
   its own copy of the store and of the layer files.
3. A load generator runs against every server throughout (one keep-alive client per server,
   an items request every 20 ms); every non-200 answer or failed connection is counted.
4. Then ``--switches`` times, alternately B and A: PostGIS cases run the real build into the
   database; the GeoPackage case copies the other set's files into each server's folder
   (renamed into place, manifest last, as a build does) and sends ``POST /admin/reload`` to
   each server at once. Per server it measures the time from the commit (the moment a
   listener of its own receives the NOTIFY; for the GeoPackage, the reload request sent) to
   the first answer with the new set (an items request's ETag, polled every 10 ms), the CPU
   time the server process spent in that window less what it spends serving the same load
   in as long a quiet window, and its RSS change (psutil; 1 s after the switch).
5. Prints one row per case and server (medians over the switches, and the range).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pandas as pd
import psutil
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the PostGIS server helper, shared with the tests
sys.path.insert(0, str(REPO / "bench"))

from postgis_server import PostgisServer, copy_reference, unavailable_reason  # noqa: E402
from server_helpers import free_port, serve_command, serving  # noqa: E402
from tsunagari_geo.layers.build import BuildInputs, build_layers  # noqa: E402
from tsunagari_geo.settings import get_settings  # noqa: E402
from tsunagari_geo.store import open_store  # noqa: E402

PROBE = "/collections/activities/items?limit=1"
LOAD_PATHS = (
    "/collections/activities/items?limit=100",
    "/collections/activities/items?bbox=139.55,35.85,139.75,35.95&limit=500",
    "/collections/municipalities/items?properties=code,name&limit=63",
)
DROPPED = 20
#: Seconds between two requests of one server's load generator (2 cores for every server).
LOAD_PAUSE = 0.02


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    folder: Path
    failures: int = 0
    requests: int = 0
    proc: psutil.Process = field(init=False)

    def __post_init__(self) -> None:
        self.proc = psutil.Process(self.process.pid)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu(self) -> float:
        times = self.proc.cpu_times()
        return float(times.user + times.system)

    def rss(self) -> int:
        return int(self.proc.memory_info().rss)

    def etag(self, client: httpx.Client) -> str:
        r = client.get(self.base + PROBE)
        r.raise_for_status()
        return str(r.headers["etag"])


@dataclass
class Switch:
    latency_s: float
    cpu_s: float
    rss_mb: float


def _inputs(folder: Path, dropped: int) -> BuildInputs:
    samples = BuildInputs.samples()
    folder.mkdir(parents=True, exist_ok=True)
    activities = pd.read_csv(samples.activities, dtype=str, encoding="utf-8-sig")
    if dropped:
        activities = activities.iloc[:-dropped]
    activities.to_csv(folder / "activities.csv", index=False, encoding="utf-8-sig")
    return BuildInputs(
        organizations=samples.organizations,
        activities=folder / "activities.csv",
        consultations=samples.consultations,
    )


def _start(name: str, folder: Path, env: dict[str, str], stack: ExitStack) -> Server:
    port = free_port()
    process = stack.enter_context(
        serving(serve_command(port), f"http://127.0.0.1:{port}/healthz", env, cwd=folder)
    )
    return Server(name, port, process, folder)


@contextmanager
def _load(servers: list[Server]) -> Iterator[None]:
    """Requests back to back against every server until the block ends; counts failures."""
    stop = threading.Event()

    def hammer(server: Server) -> None:
        with httpx.Client(timeout=30) as client:
            i = 0
            while not stop.is_set():
                i += 1
                server.requests += 1
                try:
                    r = client.get(server.base + LOAD_PATHS[i % len(LOAD_PATHS)])
                    if r.status_code != 200:
                        server.failures += 1
                except httpx.HTTPError:
                    server.failures += 1
                time.sleep(LOAD_PAUSE)

    threads = [threading.Thread(target=hammer, args=(s,), daemon=True) for s in servers]
    for t in threads:
        t.start()
    try:
        yield
    finally:
        stop.set()
        for t in threads:
            t.join()


def _notify_times(url: str) -> tuple[list[float], Callable[[], None]]:
    """Arrival times (perf_counter) of ``tsunagari_published`` at a listener of our own."""
    seen: list[float] = []
    stop = threading.Event()
    ready = threading.Event()

    def listen() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("LISTEN tsunagari_published")
            ready.set()
            while not stop.is_set():
                for _ in conn.notifies(timeout=0.2, stop_after=1):
                    seen.append(time.perf_counter())

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    ready.wait(30)

    def close() -> None:
        stop.set()
        thread.join()

    return seen, close


def _quiet_cpu_rate(servers: list[Server], seconds: float = 2.0) -> list[float]:
    before = [s.cpu() for s in servers]
    time.sleep(seconds)
    return [(s.cpu() - b) / seconds for s, b in zip(servers, before, strict=True)]


def _measure(
    servers: list[Server], trigger: Callable[[], float], timeout: float = 120
) -> list[Switch]:
    """Fire ``trigger`` (returns the moment the new set was committed or asked for) while one
    thread per server polls it every 10 ms until its ETag changes, sampling its CPU time."""
    rates = _quiet_cpu_rate(servers)
    rss0 = [s.rss() for s in servers]
    samples: list[list[tuple[float, float]]] = [[] for _ in servers]
    done: list[float | None] = [None] * len(servers)

    def poll(i: int, s: Server) -> None:
        with httpx.Client(timeout=30) as client:
            old = s.etag(client)
            ready.wait()
            deadline = time.perf_counter() + timeout
            while time.perf_counter() < deadline:
                samples[i].append((time.perf_counter(), s.cpu()))
                if s.etag(client) != old:
                    done[i] = time.perf_counter()
                    samples[i].append((done[i], s.cpu()))  # type: ignore[arg-type]
                    return
                time.sleep(0.01)

    ready = threading.Event()
    pollers = [threading.Thread(target=poll, args=(i, s)) for i, s in enumerate(servers)]
    for p in pollers:
        p.start()
    time.sleep(0.2)
    ready.set()
    t0 = trigger()
    for p in pollers:
        p.join()
    if None in done:
        raise SystemExit("a server did not switch to the new set within the timeout")
    time.sleep(1.0)
    switches = []
    for i, s in enumerate(servers):
        end = done[i]
        assert end is not None
        # The CPU from the last sample before the commit to the switch, less what serving
        # the load costs in as long a time.
        start_t, start_cpu = max((x for x in samples[i] if x[0] <= t0), default=samples[i][0])
        spent = samples[i][-1][1] - start_cpu - rates[i] * (end - start_t)
        switches.append(Switch(end - t0, max(spent, 0.0), (s.rss() - rss0[i]) / 2**20))
    return switches


def _row(case: str, server: Server, runs: list[Switch]) -> str:
    def col(values: list[float], fmt: str) -> str:
        med = statistics.median(values)
        return f"{med:{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"

    return (
        f"| {case} | {server.name} | {col([r.latency_s * 1000 for r in runs], '.0f')} | "
        f"{col([r.cpu_s for r in runs], '.2f')} | {col([r.rss_mb for r in runs], '+.1f')} | "
        f"{server.failures} of {server.requests:,} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--switches", type=int, default=3)
    parser.add_argument("--dsn", help="an empty database with PostGIS instead of a new cluster")
    parser.add_argument("--watch-interval", type=float, default=5.0)
    args = parser.parse_args()
    source = open_store(get_settings().store.resolve())
    os.environ["SOURCE_DATE_EPOCH"] = "1767225600"  # the same inputs, the same set
    with ExitStack() as stack:
        if args.dsn:
            url = args.dsn
            root = Path(tempfile.mkdtemp(prefix="tsunagari-reload-"))
            stack.callback(shutil.rmtree, root, True)
        else:
            reason = unavailable_reason()
            if reason is not None:
                raise SystemExit(reason)
            server = stack.enter_context(PostgisServer.started())
            url = server.create_database("reload")
            root = server.root
        inputs = {"A": _inputs(root / "inputs_a", 0), "B": _inputs(root / "inputs_b", DROPPED)}
        t = time.perf_counter()
        copy_reference(source, url)
        store = open_store(url)
        key_file = b"tsunagari-reload-bench-key-32byte"  # the same public ids in every set
        build_layers(
            store, inputs=inputs["A"], out=Path(url), planner_out=Path(url), id_key=key_file
        )
        print(f"database ready, set A built ({time.perf_counter() - t:.1f} s)")

        # The GeoPackage deployment's two sets, built once; each server gets its own copies.
        gpkg = {}
        for key in ("A", "B"):
            folder = root / f"gpkg_{key}"
            folder.mkdir()
            build_layers(
                source,
                inputs=inputs[key],
                out=folder / "layers.gpkg",
                planner_out=folder / "planner.gpkg",
                id_key=key_file,
            )
            gpkg[key] = folder
        print(f"GeoPackage sets A and B built ({time.perf_counter() - t:.1f} s)")

        env = {
            **os.environ,
            "TSUNAGARI_STORE": url,
            "TSUNAGARI_WATCH_INTERVAL": str(args.watch_interval),
        }
        for key in ("TSUNAGARI_LAYERS", "TSUNAGARI_PLANNER_LAYERS", "TSUNAGARI_TOKEN"):
            env.pop(key, None)
        token = "bench-token"
        rows: list[str] = []
        current = {"db": "A"}

        def db_build() -> float:
            key = "B" if current["db"] == "A" else "A"
            seen, close = _notify_times(url)
            before = len(seen)
            build_layers(
                open_store(url),
                inputs=inputs[key],
                out=Path(url),
                planner_out=Path(url),
                id_key=key_file,
            )
            deadline = time.monotonic() + 10
            while len(seen) == before and time.monotonic() < deadline:
                time.sleep(0.001)
            close()
            current["db"] = key
            return seen[before]

        cases: list[tuple[str, int, dict[str, str]]] = [
            (f"PostGIS, {n} servers, NOTIFY", n, {}) for n in args.instances
        ]
        cases.append(
            (
                f"PostGIS, {min(args.instances)} servers, NOTIFY missed",
                min(args.instances),
                {"TSUNAGARI_WATCH_LISTEN": "false"},
            )
        )
        for case, n, extra in cases:
            with ExitStack() as servers_stack:
                servers = []
                for i in range(n):
                    folder = root / f"{case[:7]}{n}{bool(extra)}_{i}"
                    folder.mkdir()
                    env_i = {**env, **extra, "TSUNAGARI_TILES_DIR": str(folder / "tiles")}
                    servers.append(_start(f"db-{i + 1}", folder, env_i, servers_stack))
                runs: list[list[Switch]] = []
                with _load(servers):
                    time.sleep(1.0)
                    for _ in range(args.switches):
                        runs.append(_measure(servers, db_build))
                versions = {
                    httpx.get(s.base + "/healthz").json()["dataset_version"] for s in servers
                }
                for i, s in enumerate(servers):
                    rows.append(_row(case, s, [r[i] for r in runs]))
                print(f"{case}: done; one dataset_version on all servers: {len(versions) == 1}")

        # GeoPackage: two servers, each with its own store and layer files.
        with ExitStack() as servers_stack:
            servers = []
            for i in range(2):
                folder = root / f"gpkg_server_{i}"
                folder.mkdir()
                shutil.copy(source.location, folder / "tsunagari.gpkg")
                for name in ("layers.gpkg", "planner.gpkg", "layers.manifest.json"):
                    shutil.copy(gpkg["A"] / name, folder / name)
                env_i = {
                    **os.environ,
                    "TSUNAGARI_STORE": str(folder / "tsunagari.gpkg"),
                    "TSUNAGARI_LAYERS": str(folder / "layers.gpkg"),
                    "TSUNAGARI_PLANNER_LAYERS": str(folder / "planner.gpkg"),
                    "TSUNAGARI_TILES_DIR": str(folder / "tiles"),
                    "TSUNAGARI_TOKEN": token,
                }
                servers.append(_start(f"gpkg-{i + 1}", folder, env_i, servers_stack))
            state = {"key": "A"}

            def gpkg_reload() -> float:
                key = "B" if state["key"] == "A" else "A"
                for s in servers:  # as a build renames them: the manifest last
                    for name in ("layers.gpkg", "planner.gpkg", "layers.manifest.json"):
                        shutil.copy(gpkg[key] / name, s.folder / f".{name}.new")
                        os.replace(s.folder / f".{name}.new", s.folder / name)
                state["key"] = key
                t0 = time.perf_counter()
                answers: list[int] = []

                def ask(s: Server) -> None:
                    r = httpx.post(
                        s.base + "/admin/reload",
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=120,
                    )
                    answers.append(r.status_code)

                threads = [threading.Thread(target=ask, args=(s,)) for s in servers]
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
                if answers != [200] * len(servers):
                    raise SystemExit(f"a GeoPackage reload was refused: {answers}")
                return t0

            runs = []
            with _load(servers):
                time.sleep(1.0)
                for _ in range(args.switches):
                    runs.append(_measure(servers, gpkg_reload))
            versions = {httpx.get(s.base + "/healthz").json()["dataset_version"] for s in servers}
            for i, s in enumerate(servers):
                rows.append(
                    _row("GeoPackage, 2 servers, POST /admin/reload", s, [r[i] for r in runs])
                )
            print(f"GeoPackage: done; one dataset_version on both servers: {len(versions) == 1}")

        print(
            f"\n{args.switches} switches per case (A→B→A…, {DROPPED} activities apart), "
            f"watch interval {args.watch_interval:g} s; median (min–max)\n"
        )
        print(
            "| case | server | commit → new set served, ms | reload CPU, s | RSS change, MB | "
            "failed requests during the run |"
        )
        print("|---|---|---:|---:|---:|---:|")
        for row in rows:
            print(row)
        print(f"\nload average: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
