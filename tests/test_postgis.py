"""The PostGIS store and the service on it, against a real PostgreSQL + PostGIS server.

One contract for both backends: the same reference data and the same build, served by the
real ``tsunagari-geo serve`` over HTTP from a GeoPackage and from PostGIS, give the same bytes
and ETags for every request of :data:`REQUESTS`. Two servers on one database agree with each
other, follow a new build together, and refuse a published set whose rows were changed.
The CLI runs the whole pipeline against a database URL.

The server is started by tests/postgis_server.py (skipped when PostgreSQL 15 + PostGIS are not
installed, a failure in CI).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import psycopg
import pytest

from postgis_server import PostgisServer, copy_reference
from reference_helpers import heavy_modules_after, plain_rows
from server_helpers import BIN, free_port, serve_command, serve_env, serving
from test_layers_fixtures import PUBLIC_ID_KEY, TOKEN, Built, build_deployment, write_inputs
from tsunagari_api.settings import ApiSettings
from tsunagari_geo.errors import StoreError
from tsunagari_geo.layers.build import build_layers
from tsunagari_geo.layers.tiles import TileSpec, build_tiles
from tsunagari_geo.store import Store, open_layer_set, open_store
from tsunagari_geo.store.manifest import read_manifest, tiles_manifest_path
from tsunagari_geo.store.postgis import PostgisStore, current_version, migrate, migrations, pool

#: The requests both backends must answer with the same bytes: the collections, a bbox, paging,
#: selected properties, a filter with a bbox, one feature, the full municipalities layer, a
#: simplified one, and the collections served from memory on both (towns).
BBOX = "139.55,35.85,139.75,35.95"
REQUESTS = (
    "/collections",
    "/collections/activities",
    "/collections/municipalities",
    f"/collections/activities/items?bbox={BBOX}&limit=500",
    f"/collections/activities/items?bbox={BBOX}&theme=ibasho&limit=5&offset=2",
    "/collections/activities/items?limit=20&offset=40",
    "/collections/activities/items?properties=name,themes&limit=30",
    "/collections/activities/items?sortby=-last_verified&limit=10",
    "/collections/activities/items?bbox=139.0,35.9,139.1,36.0",
    "/collections/municipalities/items?limit=63",
    "/collections/municipalities/items?simplify=0.0002&properties=code,name&limit=63",
    f"/collections/units/items?bbox={BBOX}",
    "/collections/units/items/11101",
    "/collections/consultations/items",
    "/collections/good_practices/items",
    "/collections/towns/items?limit=10&offset=100",
    "/collections/activities/items?bbox=150,40,151,41",
    "/collections/activities/items/nothing-has-this-id",
)
#: Links name the host the client asked for; behind one load balancer every server sees one.
HOST = {"Host": "maps.example.lg.jp", "Accept-Encoding": "identity"}
#: Both backends' builds say they were made at this time (``timeStamp``), as reproducible
#: builds do (SOURCE_DATE_EPOCH): the same inputs, the same bytes.
BUILT = "1767225600"  # 2026-01-01T00:00:00Z


@pytest.fixture(scope="module", autouse=True)
def _reproducible_builds() -> Iterator[None]:
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = BUILT
    yield
    if before is None:
        os.environ.pop("SOURCE_DATE_EPOCH", None)
    else:
        os.environ["SOURCE_DATE_EPOCH"] = before


def build_into(url: str, inputs_dir: Path, *, drop_activities: int = 0) -> str:
    """Run the real build on the test inputs into the database; returns the set's version."""
    inputs = write_inputs(inputs_dir)
    if drop_activities:
        table = pd.read_csv(inputs.activities, dtype=str, encoding="utf-8-sig")
        table.iloc[:-drop_activities].to_csv(inputs.activities, index=False, encoding="utf-8-sig")
    report = build_layers(
        open_store(url), inputs=inputs, out=Path(url), planner_out=Path(url), id_key=PUBLIC_ID_KEY
    )
    return report.version


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    etag: str | None


def ask(base: str, path: str) -> Answer:
    r = httpx.get(f"{base}{path}", headers=HOST, timeout=60)
    return Answer(r.status_code, r.content, r.headers.get("etag"))


def pg_settings(url: str, folder: Path) -> ApiSettings:
    return ApiSettings(store=Path(url), tiles_dir=folder / "tiles", token=TOKEN)


@pytest.fixture(scope="module")
def pg_url(
    postgis_server: PostgisServer, store_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A database with the session's reference data and the test build in it."""
    url = postgis_server.create_database("contract")
    copy_reference(open_store(store_path), url)
    build_into(url, tmp_path_factory.mktemp("pg_inputs"))
    return url


@pytest.fixture(scope="module")
def gpkg_built(store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The same build in GeoPackage files."""
    return build_deployment(tmp_path_factory.mktemp("gpkg_contract"), store_path)


@pytest.fixture(scope="module")
def gpkg_server(gpkg_built: Built) -> Iterator[str]:
    built = gpkg_built
    port = free_port()
    with serving(
        serve_command(port), f"http://127.0.0.1:{port}/healthz", serve_env(built.settings)
    ):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def pg_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The servers' own folder (their tiles are files on each server)."""
    return tmp_path_factory.mktemp("pg_contract")


@pytest.fixture(scope="module")
def pg_servers(pg_url: str, pg_folder: Path) -> Iterator[tuple[str, str]]:
    """Two servers on the same database (as behind a load balancer)."""
    env = serve_env(pg_settings(pg_url, pg_folder), WATCH_INTERVAL="1")
    ports = (free_port(), free_port())
    with (
        serving(serve_command(ports[0]), f"http://127.0.0.1:{ports[0]}/healthz", env),
        serving(serve_command(ports[1]), f"http://127.0.0.1:{ports[1]}/healthz", env),
    ):
        yield (f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}")


# --- the store -----------------------------------------------------------------------------


def test_reference_data_round_trips_as_the_geopackage_reads_it(pg_url: str, store: Store) -> None:
    pg = open_store(pg_url)
    assert isinstance(pg, PostgisStore)
    for name in ("units", "municipalities", "towns", "small_areas", "sources"):
        pd.testing.assert_frame_equal(
            pd.DataFrame(getattr(store, name)), pd.DataFrame(getattr(pg, name)), obj=name
        )
    assert pg.region.pref_name == store.region.pref_name
    assert pg.info()["population"] == store.info()["population"]


#: The reference layers (with geometry) and tables (without) both readers read.
LAYERS_WITH_GEOMETRY = ("units", "municipalities", "towns", "small_areas")
ROW_LAYERS = (*LAYERS_WITH_GEOMETRY, "sources", "region", "japan_municipalities")


@pytest.mark.parametrize("layer", ROW_LAYERS)
def test_plain_rows_and_frames_are_the_geopackages(pg_url: str, store: Store, layer: str) -> None:
    pg = open_store(pg_url)
    expected = store.attributes(layer)
    pd.testing.assert_frame_equal(pg.attributes(layer), expected, obj=layer)
    columns = list(expected.columns)
    rows = pg.rows(layer, columns)
    assert rows == store.rows(layer, columns) and len(rows) > 0
    if layer in LAYERS_WITH_GEOMETRY:  # the plain reader agrees with the one building geometry
        assert rows == plain_rows(getattr(pg, layer), columns)


def test_the_geocoder_reads_the_database_without_a_frame_or_geometry_library(pg_url: str) -> None:
    code = (
        "from tsunagari_geo.geocode.core import Geocoder\n"
        "from tsunagari_geo.store import open_store\n"
        f"geocoder = Geocoder.from_store(open_store({pg_url!r}))\n"
        "assert geocoder.geocode('さいたま市浦和区常盤6-4-4').town == '常盤六丁目'"
    )
    assert heavy_modules_after(code) == []


def test_layer_sets_round_trip_as_the_geopackage_reads_them(pg_url: str, gpkg_built: Built) -> None:
    gpkg = open_layer_set(gpkg_built.settings.layers, gpkg_built.settings.planner_layers)
    pg = open_layer_set(pg_url, pg_url)
    for role in ("public", "planner"):
        a, b = getattr(gpkg, role).frames, getattr(pg, role).frames
        assert list(a) == list(b)
        for name in a:
            pd.testing.assert_frame_equal(pd.DataFrame(a[name]), pd.DataFrame(b[name]), obj=name)
        assert gpkg.manifest.members[role].rows == pg.manifest.members[role].rows


def test_migrations_are_recorded_and_applied_once(pg_url: str) -> None:
    db = pool(pg_url)
    assert migrate(db) == []  # the first use applied them all
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT version, name FROM schema_migrations ORDER BY version"
        ).fetchall()
        indexes = {r[0] for r in conn.execute("SELECT indexdef FROM pg_indexes")}
    assert [(n, name) for n, name, _ in migrations()] == [tuple(r) for r in rows]
    assert any("USING gist (geom)" in i and "tsunagari_features" in i for i in indexes)


def test_a_bbox_query_uses_the_gist_index(pg_url: str) -> None:
    published = open_layer_set(pg_url, pg_url)
    table = published.public.tables["activities"]  # type: ignore[attr-defined]
    with pool(pg_url).connection() as conn:
        conn.execute("SET enable_seqscan = off")  # a planner may scan 400 rows; can it use GiST?
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN SELECT ord FROM tsunagari_features WHERE set_id = %s AND role = %s "
                "AND layer = %s AND geom && ST_MakeEnvelope(139.5, 35.8, 139.7, 36.0, 4326) "
                "AND ST_Intersects(geom, ST_MakeEnvelope(139.5, 35.8, 139.7, 36.0, 4326))",
                (table.set_id, "public", "activities"),
            )
        )
    assert "tsunagari_features_geom" in plan
    frame = published.public.frames["activities"]
    inside = frame.cx[139.5:139.7, 35.8:36.0].index.to_numpy()
    assert table.in_boxes([(139.5, 35.8, 139.7, 36.0)]).tolist() == sorted(inside.tolist())


KILLED_BUILD = """
import os, signal, sys
import geopandas as gpd
import shapely
from tsunagari_geo.store import write_layer_set

class Dies:
    calls = 0
    def __str__(self):
        Dies.calls += 1
        if Dies.calls == 50:  # midway through the second layer, the first one already sent
            os.kill(os.getpid(), signal.SIGKILL)
        return "x"

first = gpd.GeoDataFrame({"id": [str(i) for i in range(500)]},
                         geometry=[shapely.Point(139.6, 35.9)] * 500, crs=4326)
second = gpd.GeoDataFrame({"id": [Dies() for _ in range(500)]},
                          geometry=[shapely.Point(139.6, 35.9)] * 500, crs=4326)
url = sys.argv[1]
write_layer_set(url, {"activities": first, "units": second}, url, {}, attribution=[])
"""


def test_a_build_killed_midway_leaves_the_old_set_current(pg_url: str, tmp_path: Path) -> None:
    before = open_layer_set(pg_url, pg_url)
    with psycopg.connect(pg_url) as conn:
        (sets_before,) = conn.execute("SELECT count(*) FROM tsunagari_sets").fetchone()  # type: ignore[misc]
    script = tmp_path / "killed_build.py"
    script.write_text(KILLED_BUILD, encoding="utf-8")
    done = subprocess.run(
        [str(BIN / "python"), str(script), pg_url], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -9, done.stderr[-2000:]
    after = open_layer_set(pg_url, pg_url)
    assert after.version == before.version
    assert len(after.public.frames["activities"]) == len(before.public.frames["activities"])
    with psycopg.connect(pg_url) as conn:
        (sets_after,) = conn.execute("SELECT count(*) FROM tsunagari_sets").fetchone()  # type: ignore[misc]
        (orphans,) = conn.execute(
            "SELECT count(*) FROM tsunagari_features f WHERE NOT EXISTS "
            "(SELECT 1 FROM tsunagari_sets s WHERE s.id = f.set_id)"
        ).fetchone()  # type: ignore[misc]
    assert (sets_after, orphans) == (sets_before, 0)


def test_errors_never_show_the_password(postgis_server: PostgisServer) -> None:
    url = f"postgresql://someone:s3cret-pw@127.0.0.1:{postgis_server.port}/no_such_db"
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert "s3cret-pw" not in caught.value.describe()
    assert "***" in caught.value.describe()


# --- one contract, both backends -----------------------------------------------------------


def test_both_backends_give_the_same_bytes_and_etags(
    gpkg_server: str, pg_servers: tuple[str, str]
) -> None:
    for path in REQUESTS:
        expected = ask(gpkg_server, path)
        got = ask(pg_servers[0], path)
        assert got.status == expected.status, path
        assert got.body == expected.body, path
        assert got.etag == expected.etag, path
    assert ask(gpkg_server, REQUESTS[3]).status == 200


def test_two_servers_on_one_database_give_the_same_bytes_and_etags(
    pg_servers: tuple[str, str],
) -> None:
    for path in REQUESTS:
        a, b = ask(pg_servers[0], path), ask(pg_servers[1], path)
        assert (a.status, a.body, a.etag) == (b.status, b.body, b.etag), path


def _health(base: str) -> dict[str, Any]:
    r = httpx.get(f"{base}/healthz", timeout=60)
    assert r.status_code == 200
    return dict(r.json())


def _reload(base: str) -> None:
    r = httpx.post(f"{base}/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert r.status_code == 200, r.text


def test_two_servers_on_one_database_report_the_same_data_version(
    pg_url: str, pg_servers: tuple[str, str]
) -> None:
    _reload(pg_servers[0])  # one server has loaded once more than the other
    a, b = (_health(base) for base in pg_servers)
    assert a["reload_count"] == b["reload_count"] + 1
    assert a["dataset_version"] == b["dataset_version"]
    assert a["layers_version"] == b["layers_version"] == current_version(pg_url)


def _wait_for_layers(bases: tuple[str, ...], version: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(_health(base)["layers_version"] == version for base in bases):
            return
        time.sleep(0.1)
    raise AssertionError(f"the servers did not switch to {version}")


def test_tiles_built_from_the_database_record_its_set_and_the_service_checks_it(
    pg_url: str, pg_servers: tuple[str, str], pg_folder: Path, tmp_path: Path
) -> None:
    settings = pg_settings(pg_url, pg_folder)
    region = open_store(pg_url).region
    public, _ = settings.layer_locations()
    build_tiles(public, settings.tiles_dir, region=region, spec=TileSpec(5, 8))
    manifest = read_manifest(tiles_manifest_path(settings.tiles_dir), kind="tiles")
    served = current_version(pg_url)
    assert served and manifest.meta["layers_version"] == served
    for base in pg_servers:
        health = _health(base)
        assert health["tiles_layers_version"] == served
        assert health["warnings"] == []
        assert health["tiles"] == ["activities", "municipalities"]

    # A new build: the servers switch, the tiles on this server are now of the old set.
    newer = build_into(pg_url, tmp_path / "inputs", drop_activities=5)
    _wait_for_layers(pg_servers, newer)
    for base in pg_servers:
        (warning,) = _health(base)["warnings"]
        assert f"別の版のレイヤー（{served}）" in warning and newer in warning
        assert "tsunagari-geo tiles build" in warning

    build_tiles(public, settings.tiles_dir, region=region, spec=TileSpec(5, 8))
    assert all(_health(base)["warnings"] == [] for base in pg_servers)
    assert {_health(base)["tiles_layers_version"] for base in pg_servers} == {newer}


def _matched(base: str) -> int:
    r = httpx.get(f"{base}/collections/activities/items", params={"limit": 1}, headers=HOST)
    assert r.status_code == 200
    return int(r.json()["numberMatched"])


def test_a_new_build_switches_every_server_and_a_tampered_set_is_refused(
    pg_url: str, pg_servers: tuple[str, str], tmp_path: Path
) -> None:
    before = {_matched(base) for base in pg_servers}
    assert len(before) == 1
    old_count = before.pop()
    old_body = ask(pg_servers[0], REQUESTS[3])
    version = build_into(pg_url, tmp_path / "inputs", drop_activities=25)
    seen: set[int] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        counts = [_matched(base) for base in pg_servers]
        seen.update(counts)
        if all(c < old_count for c in counts):
            break
        time.sleep(0.2)
    new_count = _matched(pg_servers[0])
    assert new_count < old_count and _matched(pg_servers[1]) == new_count
    assert seen <= {old_count, new_count}  # the old set or the new one, never anything else
    new_body = ask(pg_servers[0], REQUESTS[3])
    assert new_body.body != old_body.body and ask(pg_servers[1], REQUESTS[3]) == new_body
    _wait_for_layers(pg_servers, version)
    assert len({_health(base)["dataset_version"] for base in pg_servers}) == 1

    # A set published with one row changed after its digest was taken: both servers refuse it
    # and keep serving the build they have; a reload asked for is refused the same way.
    with psycopg.connect(pg_url, autocommit=True) as conn, conn.transaction():
        current = conn.execute(
            "SELECT set_id FROM tsunagari_current WHERE kind = 'layers'"
        ).fetchone()
        assert current is not None
        (new_id,) = conn.execute(
            "INSERT INTO tsunagari_sets (kind, version, meta, manifest) SELECT kind, "
            "'tampered0000000', meta, manifest FROM tsunagari_sets WHERE id = %s RETURNING id",
            current,
        ).fetchone()  # type: ignore[misc]
        conn.execute(
            "INSERT INTO tsunagari_layers SELECT %s, role, layer, position, columns, geometry, "
            "rows FROM tsunagari_layers WHERE set_id = %s",
            (new_id, current[0]),
        )
        conn.execute(
            "INSERT INTO tsunagari_features SELECT %s, role, layer, ord, CASE WHEN role = "
            "'public' AND layer = 'activities' AND ord = 0 THEN jsonb_set(props, '{name}', "
            "'\"改ざんされた名前\"') ELSE props END, geom FROM tsunagari_features WHERE set_id = %s",
            (new_id, current[0]),
        )
        conn.execute("UPDATE tsunagari_current SET set_id = %s WHERE kind = 'layers'", (new_id,))
        conn.execute("SELECT pg_notify('tsunagari_published', 'layers tampered0000000')")
    time.sleep(3)  # more than the servers' watch interval
    for base in pg_servers:
        assert ask(base, REQUESTS[3]) == new_body
        refused = httpx.post(
            f"{base}/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        )
        assert refused.status_code == 409
        assert "SHA-256" in refused.json()["detail"]
        assert ask(base, REQUESTS[3]) == new_body
    assert "改ざん" not in ask(pg_servers[0], "/collections/activities/items?limit=1").body.decode()
    assert version not in ("", "tampered0000000")


# --- the CLI against a database ------------------------------------------------------------


def test_the_whole_pipeline_runs_against_a_database_url(
    postgis_server: PostgisServer, source_dir: Path, tmp_path: Path
) -> None:
    url = postgis_server.create_database("cli")
    env = {**os.environ, "TSUNAGARI_STORE": url}
    for key in ("TSUNAGARI_LAYERS", "TSUNAGARI_PLANNER_LAYERS"):
        env.pop(key, None)
    cli = str(BIN / "tsunagari-geo")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [cli, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    run("data", "import", "--source", str(source_dir))
    info = json.loads(run("data", "info", "--json").stdout)
    assert info["units"] == 72 and info["store"] == url
    built = run("build")
    assert "データベースで公開しました" in built.stderr
    assert not (tmp_path / "data/build/layers.gpkg").exists()
    assert (tmp_path / "data/build/public-id.key").exists()  # the key stays on this machine
    run("tiles", "build", "--max-zoom", "8")
    assert (tmp_path / "tiles/activities.pmtiles").stat().st_size > 0
    run("site", "build", "--out", "site")
    assert (tmp_path / "site/map.html").exists()
    published = open_layer_set(url, url)
    assert len(published.public.frames["municipalities"]) == 63
