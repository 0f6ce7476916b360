"""Benchmark of the GeoJSON service against pygeoapi on the same data and the same queries.

Run from the repository root (the store must exist: ``tsunagari-geo data import``)::

    .venv/bin/pip install 'pygeoapi>=0.21'   # the peer (the `bench` extra), once
    .venv/bin/python bench/api_bench.py [--seconds 8] [--connections 8]

What it does, all in one run on loopback:

1. Builds a deployment in a temporary folder: the real pipeline on the sample data (for the
   63-municipality coverage layer), then a layer set (with its manifest, as a build writes
   it) of 10,000 synthetic public activities (sample rows repeated at jittered dictionary
   town points) and those municipalities.
2. Writes the same two layers as GeoJSON files and a pygeoapi configuration serving them with
   pygeoapi's GeoJSON provider.
3. Starts both servers under uvicorn, one worker each: ``tsunagari-geo serve`` and
   ``pygeoapi.starlette_app``.
4. For each server and query, the bounded load generator of ``bench/http_load.py`` (an asyncio
   HTTP/1.1 keep-alive client, ``--connections`` concurrent connections, no compression on
   either side) sends requests
   for ``--seconds`` and records each latency:
   (a) items with a bbox returning about 500 of the 10,000 activities (200 different
       bboxes, cycled, so no single cached answer serves them all);
   (b) the full 63-municipality layer.
5. Prints requests per second, p50 and p99 latency, MB/s, and the ratios to pygeoapi.

Targets (issue 5): at least 5x pygeoapi's requests per second on both, p99 under 50 ms for (a).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd
import shapely

from http_load import Query, bbox_paths, compare, print_ratios, serving_both
from tsunagari_api.settings import ApiSettings
from tsunagari_geo.layers.build import BuildInputs, build_layers
from tsunagari_geo.layers.published import LayerSet, write_layer_set
from tsunagari_geo.settings import get_settings
from tsunagari_geo.store import Store, open_store

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the one server-start helper, shared with the tests
from server_helpers import BIN, free_port, serve_env  # noqa: E402

N_ACTIVITIES = 10_000
TARGET_IN_BBOX = 500


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
        # A set with its manifest, as a build writes it: the service serves nothing else.
        write_layer_set(
            folder / "layers.gpkg",
            {"activities": activities, "municipalities": municipalities},
            folder / "layers-planner.gpkg",
            {},
            attribution=sample.attribution,
        )
        _geojson_file(activities, folder / "activities.geojson")
        _geojson_file(municipalities, folder / "municipalities.geojson")
        boxes = bboxes_of(activities)
        print(
            f"data: {len(activities)} activities, {len(municipalities)} municipalities, {len(boxes)} bboxes "
            f"({time.perf_counter() - t:.1f} s to prepare)"
        )

        ours_port, peer_port = free_port(), free_port()
        settings = ApiSettings(
            store=store_path,
            layers=folder / "layers.gpkg",
            planner_layers=folder / "layers-planner.gpkg",
            tiles_dir=folder / "tiles",
        )
        env = serve_env(settings, **({"RESPONSE_CACHE_BYTES": "0"} if args.no_cache else {}))
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
        with serving_both(
            (ours_port, env),
            ("pygeoapi.starlette_app:APP", peer_port, "/collections?f=json", peer_env),
            folder,
        ):
            queries = [
                Query(
                    "(a) bbox ~500 of 10,000 activities",
                    bbox_paths("activities", boxes),
                    bbox_paths("activities", boxes, f="json"),
                ),
                Query(
                    "(b) full 63-municipality layer",
                    ["/collections/municipalities/items?limit=100"],
                    ["/collections/municipalities/items?limit=100&f=json"],
                ),
            ]
            # Same answers: the first bbox matches the same features on both servers.
            a = httpx.get(f"http://127.0.0.1:{ours_port}{queries[0].ours[0]}").json()
            b = httpx.get(f"http://127.0.0.1:{peer_port}{queries[0].peer[0]}").json()
            print(
                f"check: same bbox → ours {a['numberMatched']} features, pygeoapi {b['numberMatched']}"
            )
            cache = "off" if args.no_cache else "on"
            print(
                f"load: {args.seconds:.0f} s per run, no compression, 1 worker each, "
                f"our response cache {cache}\n"
            )
            comparisons = compare(
                queries,
                ours_port,
                peer_port,
                "pygeoapi",
                seconds=args.seconds,
                connections=[args.connections],
            )
            print_ratios(comparisons, "pygeoapi")
            print("targets: ≥ 5x pygeoapi's requests per second on both, p99 under 50 ms for (a)")
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
