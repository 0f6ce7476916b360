"""Benchmark of the GeoJSON service against pygeoapi on the same data and the same queries.

Run from the repository root (the store must exist: ``tsunagari-geo data import``)::

    .venv/bin/pip install 'pygeoapi>=0.21'   # the peer (the `bench` extra), once
    .venv/bin/python bench/api_bench.py [--seconds 8] [--connections 8]

What it does, all in one run on loopback:

1. Builds a deployment in a temporary folder: the real pipeline on the sample data (for the
   63-municipality coverage layer), then an ``activities`` layer of 10,000 synthetic public
   activities (sample rows repeated at jittered dictionary town points).
2. Writes the same two layers as GeoJSON files and a pygeoapi configuration serving them with
   pygeoapi's GeoJSON provider.
3. Starts both servers under uvicorn, one worker each: ``tsunagari-geo serve`` and
   ``pygeoapi.starlette_app``.
4. For each server and query, a bounded load generator (an asyncio HTTP/1.1 keep-alive client,
   ``--connections`` concurrent connections, no compression on either side) sends requests
   for ``--seconds`` and records each latency:
   (a) items with a bbox returning about 500 of the 10,000 activities (200 different
       bboxes, cycled, so no single cached answer serves them all);
   (b) the full 63-municipality layer.
5. Prints requests per second, p50 and p99 latency, and the ratios to pygeoapi.

Targets (issue 5): at least 5x pygeoapi's requests per second on both, p99 under 50 ms for (a).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tsunagari_geo.layers.build import BuildInputs, build_layers
from tsunagari_geo.layers.published import LayerSet, write_layers
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import Store, open_store

REPO = Path(__file__).resolve().parent.parent

BIN = Path(sys.executable).parent
N_ACTIVITIES = 10_000
TARGET_IN_BBOX = 500


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- data ------------------------------------------------------------------------------------


def make_activities(store: Store, sample: gpd.GeoDataFrame, seed: int = 7) -> gpd.GeoDataFrame:
    """10,000 public activities: sample rows repeated at jittered dictionary town points."""
    rng = np.random.default_rng(seed)
    towns = store.towns
    picks = rng.integers(0, len(towns), N_ACTIVITIES)
    lon = towns["lng"].to_numpy()[picks] + rng.normal(0, 0.002, N_ACTIVITIES)
    lat = towns["lat"].to_numpy()[picks] + rng.normal(0, 0.002, N_ACTIVITIES)
    rows = sample.drop(columns="geometry").sample(N_ACTIVITIES, replace=True, random_state=seed)
    rows = rows.reset_index(drop=True)
    rows["id"] = [f"bench-{i:05d}" for i in range(N_ACTIVITIES)]
    rows["location_precision"] = "exact"
    rows["unit_code"] = towns["unit_code"].to_numpy()[picks]
    rows["muni_code"] = towns["muni_code"].to_numpy()[picks]
    return gpd.GeoDataFrame(rows, geometry=shapely.points(lon, lat), crs="EPSG:4326")


def bboxes_of(points: gpd.GeoDataFrame, n: int = 200, seed: int = 11) -> list[tuple[float, ...]]:
    """``n`` square bboxes, each holding 450–550 of the points (searched by bisection)."""
    rng = np.random.default_rng(seed)
    x = points.geometry.x.to_numpy()
    y = points.geometry.y.to_numpy()
    out: list[tuple[float, ...]] = []
    while len(out) < n:
        cx, cy = x[rng.integers(len(x))], y[rng.integers(len(y))]
        lo, hi = 0.001, 0.5
        for _ in range(30):
            half = (lo + hi) / 2
            inside = int(((abs(x - cx) <= half) & (abs(y - cy) <= half)).sum())
            if inside < TARGET_IN_BBOX * 0.9:
                lo = half
            elif inside > TARGET_IN_BBOX * 1.1:
                hi = half
            else:
                out.append(
                    (
                        round(cx - half, 6),
                        round(cy - half, 6),
                        round(cx + half, 6),
                        round(cy + half, 6),
                    )
                )
                break
    return out


def _geojson_file(frame: gpd.GeoDataFrame, path: Path) -> None:
    """A plain GeoJSON FeatureCollection, ids in ``id``, lists as lists (as we serve them)."""
    features = []
    geometries = json.loads(frame.geometry.to_json())["features"]
    records = json.loads(pd.DataFrame(frame.drop(columns="geometry")).to_json(orient="records"))
    for record, geometry in zip(records, geometries, strict=True):
        features.append(
            {
                "type": "Feature",
                "id": record["id" if "id" in record else "code"],
                "geometry": geometry["geometry"],
                "properties": record,
            }
        )
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    )


def _pygeoapi_config(folder: Path, port: int) -> Path:
    extent = {
        "spatial": {
            "bbox": [138.7, 35.7, 139.95, 36.3],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        }
    }
    contact = {
        k: "bench"
        for k in (
            "name",
            "position",
            "address",
            "city",
            "stateorprovince",
            "postalcode",
            "country",
            "phone",
            "fax",
            "email",
            "url",
            "hours",
            "instructions",
        )
    }
    contact["role"] = "pointOfContact"

    def resource(name: str, path: Path, id_field: str) -> dict[str, object]:
        return {
            "type": "collection",
            "title": name,
            "description": name,
            "keywords": [name],
            "extents": extent,
            "providers": [
                {"type": "feature", "name": "GeoJSON", "data": str(path), "id_field": id_field}
            ],
        }

    config = {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": f"http://127.0.0.1:{port}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": False,
            "languages": ["en-US"],
            "cors": False,
            "pretty_print": False,
            "limits": {"default_items": 100, "max_items": 10000},
            "map": {"url": "https://example.invalid/{z}/{x}/{y}.png", "attribution": "none"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "bench",
                "description": "bench",
                "keywords": ["bench"],
                "keywords_type": "theme",
                "terms_of_service": "none",
                "url": "http://127.0.0.1",
            },
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "bench", "url": "http://127.0.0.1"},
            "contact": contact,
        },
        "resources": {
            "activities": resource("activities", folder / "activities.geojson", "id"),
            "municipalities": resource("municipalities", folder / "municipalities.geojson", "code"),
        },
    }
    path = folder / "pygeoapi.yml"
    path.write_text(json.dumps(config, ensure_ascii=False))  # JSON is YAML
    return path


# --- servers ---------------------------------------------------------------------------------


def _wait(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"server exited: {process.stdout.read().decode() if process.stdout else ''}"
            )
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"server at {url} did not start")


# --- load generator --------------------------------------------------------------------------


@dataclass
class Result:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    bytes_read: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) * 1000


async def _one_connection(
    host: str, port: int, paths: list[str], start: int, until: float, out: Result
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = start
    try:
        while time.perf_counter() < until:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/geo+json, application/json\r\n\r\n".encode()
            )
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {
                k.lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            if "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            else:  # chunked
                chunks = []
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                    chunk = await reader.readexactly(size + 2)
                    if size == 0:
                        break
                    chunks.append(chunk[:-2])
                body = b"".join(chunks)
            out.latencies.append(time.perf_counter() - t0)
            out.statuses[status] = out.statuses.get(status, 0) + 1
            out.bytes_read += len(body)
            out.requests += 1
    finally:
        writer.close()


def load(port: int, paths: list[str], seconds: float, connections: int) -> Result:
    """Send requests over ``connections`` keep-alive connections for ``seconds``."""
    result = Result(0, 0.0, [], {}, 0)

    async def main() -> None:
        # Warm up: one pass so that first-request costs (imports, file cache) are not timed.
        warm = Result(0, 0.0, [], {}, 0)
        await _one_connection("127.0.0.1", port, paths[:3], 0, time.perf_counter() + 0.5, warm)
        t0 = time.perf_counter()
        until = t0 + seconds
        await asyncio.gather(
            *(
                _one_connection("127.0.0.1", port, paths, k * 17, until, result)
                for k in range(connections)
            )
        )
        result.seconds = time.perf_counter() - t0

    asyncio.run(main())
    return result


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="disable our response cache (every answer assembled anew)",
    )
    args = parser.parse_args()
    if shutil.which("pygeoapi", path=str(BIN)) is None:
        raise SystemExit("pygeoapi is not installed: .venv/bin/pip install 'pygeoapi>=0.21'")

    store_path = get_settings().store.resolve()
    store = open_store(store_path)
    folder = Path(tempfile.mkdtemp(prefix="api_bench_"))
    try:
        t = time.perf_counter()
        build_layers(
            store,
            inputs=BuildInputs.samples(),
            out=folder / "sample.gpkg",
            planner_out=folder / "planner.gpkg",
        )
        sample = LayerSet.open(folder / "sample.gpkg", "public")
        activities = make_activities(store, sample.frames["activities"].dropna(subset=["geometry"]))
        municipalities = sample.frames["municipalities"]
        write_layers(
            folder / "layers.gpkg",
            {"activities": activities, "municipalities": municipalities},
            kind="public",
            attribution=sample.attribution,
        )
        _geojson_file(activities, folder / "activities.geojson")
        _geojson_file(municipalities, folder / "municipalities.geojson")
        boxes = bboxes_of(activities)
        print(
            f"data: {len(activities)} activities, {len(municipalities)} municipalities, {len(boxes)} bboxes "
            f"({time.perf_counter() - t:.1f} s to prepare)"
        )

        ours_port, peer_port = _free_port(), _free_port()
        env = {
            **os.environ,
            "TSUNAGARI_STORE": str(store_path),
            "TSUNAGARI_LAYERS": str(folder / "layers.gpkg"),
            "TSUNAGARI_PLANNER_LAYERS": str(folder / "none.gpkg"),
            "TSUNAGARI_TILES_DIR": str(folder / "tiles"),
        }
        if args.no_cache:
            env["TSUNAGARI_RESPONSE_CACHE_BYTES"] = "0"
        config = _pygeoapi_config(folder, peer_port)
        openapi = folder / "pygeoapi-openapi.yml"
        subprocess.run(
            [
                str(BIN / "pygeoapi"),
                "openapi",
                "generate",
                str(config),
                "--output-file",
                str(openapi),
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "PYGEOAPI_CONFIG": str(config)},
        )
        peer_env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
        ours = subprocess.Popen(
            [
                str(BIN / "tsunagari-geo"),
                "serve",
                "--port",
                str(ours_port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
        peer = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "pygeoapi.starlette_app:APP",
                "--port",
                str(peer_port),
                "--log-level",
                "warning",
            ],
            env=peer_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
        try:
            _wait(f"http://127.0.0.1:{ours_port}/healthz", ours)
            _wait(f"http://127.0.0.1:{peer_port}/collections?f=json", peer)
            queries = {
                "(a) bbox ~500 of 10,000 activities": (
                    [
                        f"/collections/activities/items?{urlencode({'bbox': ','.join(map(str, b)), 'limit': 1000})}"
                        for b in boxes
                    ],
                    [
                        f"/collections/activities/items?{urlencode({'bbox': ','.join(map(str, b)), 'limit': 1000, 'f': 'json'})}"
                        for b in boxes
                    ],
                ),
                "(b) full 63-municipality layer": (
                    ["/collections/municipalities/items?limit=100"],
                    ["/collections/municipalities/items?limit=100&f=json"],
                ),
            }
            # Same answers: the first bbox matches the same features on both servers.
            import httpx

            a = httpx.get(
                f"http://127.0.0.1:{ours_port}{queries['(a) bbox ~500 of 10,000 activities'][0][0]}"
            ).json()
            b = httpx.get(
                f"http://127.0.0.1:{peer_port}{queries['(a) bbox ~500 of 10,000 activities'][1][0]}"
            ).json()
            print(
                f"check: same bbox → ours {a['numberMatched']} features, pygeoapi {b['numberMatched']}"
            )
            cache = "off" if args.no_cache else "on"
            print(
                f"load: {args.connections} connections, {args.seconds:.0f} s per run, "
                f"no compression, 1 worker each, our response cache {cache}\n"
            )
            print(
                f"{'query':38} {'server':9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'MB/s':>7} {'non-200':>8}"
            )
            ratios = []
            for label, (our_paths, peer_paths) in queries.items():
                results = {}
                for name, port, paths in (
                    ("ours", ours_port, our_paths),
                    ("pygeoapi", peer_port, peer_paths),
                ):
                    r = load(port, paths, args.seconds, args.connections)
                    results[name] = r
                    bad = sum(v for k, v in r.statuses.items() if k != 200)
                    print(
                        f"{label:38} {name:9} {r.rps:8.1f} {r.percentile(50):8.1f} {r.percentile(99):8.1f} "
                        f"{r.bytes_read / r.seconds / 1e6:7.1f} {bad:8d}"
                    )
                ratio = results["ours"].rps / results["pygeoapi"].rps
                ratios.append((label, ratio, results["ours"].percentile(99)))
            print()
            for label, ratio, p99 in ratios:
                print(
                    f"{label}: {ratio:.1f}x pygeoapi's requests per second (target ≥ 5x); our p99 {p99:.1f} ms"
                )
        finally:
            for process in (ours, peer):
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
