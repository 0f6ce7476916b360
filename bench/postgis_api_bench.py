"""Benchmark of the service on PostGIS against tipg on the same database and the same rows.

Run from the repository root (the store must exist: ``tsunagari-geo data import``; PostgreSQL
15 + PostGIS installed: ``apt-get install postgresql-15-postgis-3``)::

    .venv/bin/pip install -r requirements-bench.lock   # tipg, the peer, once
    .venv/bin/python bench/postgis_api_bench.py [--seconds 8] [--connections 4 16]

What it does, all in one run on loopback:

1. Starts a PostgreSQL cluster in a temporary folder (``tests/postgis_server.py``), copies the
   reference store into a database, builds the sample layers, and publishes a layer set of
   10,000 synthetic public activities and the 63 municipalities (the data of
   ``bench/api_bench.py``) through the PostGIS store.
2. Gives tipg the same rows as plain tables (``bench.activities``, ``bench.municipalities``:
   one column per property, ``geometry(…, 4326)`` with a GiST index), copied from the
   published set by SQL.
3. Starts both servers under uvicorn, one worker each: ``tsunagari-geo serve`` with
   ``TSUNAGARI_STORE`` the database (our response cache off unless ``--cache``: every answer
   asks PostGIS) and ``tipg.main:app``.
4. Checks that both return the same feature ids for the first bboxes and for the full layer.
5. For each number of connections and each query, the keep-alive load generator of
   ``bench/http_load.py`` (the one of ``bench/api_bench.py``) sends requests for
   ``--seconds``: (a) items in a bbox holding about 500 of the 10,000 activities (200
   different bboxes, cycled), (b) the 63 municipalities. Prints requests per second, p50 and
   p99, MB/s, and the ratios to tipg.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the PostGIS server helper, shared with the tests
sys.path.insert(0, str(REPO / "bench"))

from api_bench import bboxes_of, make_activities  # noqa: E402
from http_load import Query, bbox_paths, compare, print_ratios, serving_both  # noqa: E402
from postgis_server import PostgisServer, copy_reference, unavailable_reason  # noqa: E402
from server_helpers import free_port, serve_env  # noqa: E402
from tsunagari_api.settings import ApiSettings  # noqa: E402
from tsunagari_geo.layers.build import BuildInputs, build_layers  # noqa: E402
from tsunagari_geo.settings import get_settings  # noqa: E402
from tsunagari_geo.store import open_layer_set, open_store, write_layer_set  # noqa: E402

_CASTS = {"int": "bigint", "float": "double precision", "bool": "boolean", "list": "jsonb"}


def _peer_tables(url: str) -> None:
    """The current set's public activities and municipalities as plain tables for tipg."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
        (set_id,) = conn.execute(
            "SELECT set_id FROM tsunagari_current WHERE kind = 'layers'"
        ).fetchone()  # type: ignore[misc]
        for layer in ("activities", "municipalities"):
            (columns,) = conn.execute(
                "SELECT columns FROM tsunagari_layers WHERE set_id = %s AND role = 'public' "
                "AND layer = %s",
                (set_id, layer),
            ).fetchone()  # type: ignore[misc]
            select = []
            for name, kind in columns:
                if kind == "list":
                    select.append(f"props -> '{name}' AS \"{name}\"")
                else:
                    cast = _CASTS.get(kind, "text")
                    select.append(f"(props ->> '{name}')::{cast} AS \"{name}\"")
            conn.execute(f"DROP TABLE IF EXISTS bench.{layer}")
            conn.execute(
                f"CREATE TABLE bench.{layer} AS SELECT {', '.join(select)}, "  # type: ignore[arg-type]
                "geom::geometry(Geometry, 4326) AS geom FROM tsunagari_features "
                f"WHERE set_id = {int(set_id)} AND role = 'public' AND layer = '{layer}' ORDER BY ord"
            )
            key = "id" if layer == "activities" else "code"
            conn.execute(f"ALTER TABLE bench.{layer} ADD PRIMARY KEY ({key})")  # type: ignore[arg-type]
            conn.execute(f"CREATE INDEX ON bench.{layer} USING gist (geom)")  # type: ignore[arg-type]
            conn.execute(f"ANALYZE bench.{layer}")  # type: ignore[arg-type]


def _ids(port: int, path: str, key: str) -> list[str]:
    body = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=60).json()
    return sorted(str(f["properties"][key]) for f in body["features"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--cache", action="store_true", help="keep our response cache on")
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason is not None:
        raise SystemExit(reason)
    try:
        import tipg  # noqa: F401
    except ImportError:
        raise SystemExit(
            "tipg is not installed: .venv/bin/pip install -r requirements-bench.lock"
        ) from None

    source = open_store(get_settings().store.resolve())
    with PostgisServer.started() as server:
        url = server.create_database("bench")
        t = time.perf_counter()
        copy_reference(source, url)
        store = open_store(url)
        folder = server.root / "work"
        folder.mkdir()
        build_layers(
            store,
            inputs=BuildInputs.samples(),
            out=folder / "sample.gpkg",
            planner_out=folder / "planner.gpkg",
        )
        sample = open_layer_set(folder / "sample.gpkg", folder / "planner.gpkg")
        activities = make_activities(
            store, sample.public.frames["activities"].dropna(subset=["geometry"])
        )
        municipalities = sample.public.frames["municipalities"]
        write_layer_set(
            url,
            {"activities": activities, "municipalities": municipalities},
            url,
            {},
            attribution=sample.public.attribution,
        )
        _peer_tables(url)
        boxes = bboxes_of(activities)
        print(
            f"data: {len(activities)} activities, {len(municipalities)} municipalities, "
            f"{len(boxes)} bboxes, one PostgreSQL 15 + PostGIS database "
            f"({time.perf_counter() - t:.1f} s to prepare)"
        )
        ours_port, peer_port = free_port(), free_port()
        # The layers' default locations with a database store: the database itself.
        settings = ApiSettings(store=Path(url), tiles_dir=folder / "t")
        env = serve_env(settings, **({} if args.cache else {"RESPONSE_CACHE_BYTES": "0"}))
        peer_env = {
            **os.environ,
            "DATABASE_URL": url,
            "TIPG_DB_SCHEMAS": '["bench"]',
            "TIPG_MAX_FEATURES_PER_QUERY": "10000",
        }
        with serving_both(
            (ours_port, env), ("tipg.main:app", peer_port, "/collections", peer_env), folder
        ):
            queries = [
                Query(
                    "(a) bbox ~500 of 10,000 activities",
                    bbox_paths("activities", boxes),
                    bbox_paths("bench.activities", boxes),
                ),
                Query(
                    "(b) full 63-municipality layer",
                    ["/collections/municipalities/items?limit=100"],
                    ["/collections/bench.municipalities/items?limit=100"],
                ),
            ]
            for query, key in zip(queries, ("id", "code"), strict=True):
                for ours_path, peer_path in list(zip(query.ours, query.peer, strict=True))[:5]:
                    a, b = _ids(ours_port, ours_path, key), _ids(peer_port, peer_path, key)
                    if a != b:
                        raise SystemExit(
                            f"{query.label}: different features ({len(a)} vs {len(b)})"
                        )
                print(
                    f"check {query.label}: the same feature ids from both ({len(a)} in the first)"
                )
            cache = "on" if args.cache else "off"
            print(
                f"\n{args.seconds:.0f} s per run, no compression, 1 worker each, "
                f"our response cache {cache}\n"
            )
            comparisons = compare(
                queries,
                ours_port,
                peer_port,
                "tipg",
                seconds=args.seconds,
                connections=args.connections,
            )
            print_ratios(comparisons, "tipg")


if __name__ == "__main__":
    main()
