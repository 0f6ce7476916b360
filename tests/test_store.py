"""The store interface: one seam for reference data and published layers, GeoPackage first."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from reference_helpers import (
    make_region_b_source,
    make_source,
    mini_region,
    plain_rows,
    region_b,
)
from tsunagari_geo.errors import SourceError, StoreError
from tsunagari_geo.reference.importer import import_reference
from tsunagari_geo.store import (
    STORE_SCHEMA_VERSION,
    GeoPackageStore,
    LayerSet,
    Store,
    backend_for,
    open_layers,
    open_store,
    write_layers,
)
from tsunagari_geo.store.postgis import PostgisStore, database_url


@pytest.fixture(scope="module")
def store_b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The second region imported into a GeoPackage."""
    folder = tmp_path_factory.mktemp("region_b")
    path = folder / "store.gpkg"
    import_reference(make_region_b_source(folder / "source"), path, region=region_b())
    return path


def test_a_path_opens_the_geopackage_backend(store_b: Path) -> None:
    store = open_store(store_b)
    assert isinstance(store, GeoPackageStore) and isinstance(store, Store)
    assert store.location == str(store_b)
    assert open_store(str(store_b)).location == str(store_b)
    assert open_store(f"file://{store_b}").meta["pref_name"] == "静岡県"


def test_a_path_opens_the_geopackage_backend_behind_the_interface(store_path: Path) -> None:
    store = open_store(store_path)
    assert isinstance(store, Store) and isinstance(store, GeoPackageStore)
    assert store.meta["schema_version"] == STORE_SCHEMA_VERSION


def test_an_unreachable_database_is_named_without_its_password() -> None:
    # Nothing listens on port 1: the error comes at once, naming the URL with *** for the password.
    with pytest.raises(StoreError, match="データベースに接続できません") as err:
        open_store("postgresql://planner:secret@127.0.0.1:1/tsunagari")
    assert "secret" not in err.value.describe()
    assert "postgresql://planner:***@127.0.0.1:1/tsunagari" in err.value.describe()


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(StoreError, match="no store backend for s3://"):
        backend_for("s3://bucket/store.gpkg")


def test_an_import_to_an_unknown_backend_fails_before_reading_sources(tmp_path: Path) -> None:
    # The source folder does not exist: the backend is checked first, so no SourceError.
    with pytest.raises(StoreError, match="no store backend"):
        import_reference(tmp_path / "missing", "s3://bucket/tsunagari")


def test_the_store_holds_its_region(store_b: Path) -> None:
    region = open_store(store_b).region
    expected = region_b()
    assert (region.id, region.pref_name, region.metric_crs) == (
        "shizuoka-mini",
        "静岡県",
        "EPSG:6676",
    )
    assert region.designated_city_codes == ("22100", "22130")
    assert region.files == expected.files  # region.toml and the CSVs, as imported
    assert [m.code for m in region.registry.municipalities] == [
        m.code for m in expected.registry.municipalities
    ]


def test_the_store_holds_the_other_prefectures_names_only(store_b: Path) -> None:
    japan = open_store(store_b).japan_municipalities
    assert set(japan["pref"]) == {"北海道", "埼玉県", "東京都"}
    assert ("北海道", "茅部郡森町") in set(zip(japan["pref"], japan["name"], strict=True))
    assert "静岡県" not in set(japan["pref"])


def test_the_real_store_holds_46_other_prefectures(store: Store) -> None:
    japan = store.japan_municipalities
    assert japan["pref"].nunique() == 46 and "埼玉県" not in set(japan["pref"])
    assert store.info()["japan_municipalities"] == len(japan) > 1000


def test_units_and_municipalities_follow_the_region(store_b: Path) -> None:
    store = open_store(store_b)
    assert sorted(store.units["code"]) == [
        "22101", "22102", "22103", "22138", "22139", "22341", "22461",
    ]  # fmt: skip
    munis = store.municipalities.set_index("code")
    assert list(munis.index) == ["22100", "22130", "22341", "22461"]
    assert bool(munis.loc["22130", "designated_city"]) and munis.loc["22130", "kind"] == "city"
    assert munis.loc["22100", "pop_total"] == 6000


def _set_meta(path: Path, key: str, value: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE metadata SET value = ? WHERE key = ?", (value, key))
    conn.close()


def test_a_store_of_the_previous_schema_is_refused_with_the_fix(
    store_b: Path, tmp_path: Path
) -> None:
    old = tmp_path / "old.gpkg"
    shutil.copyfile(store_b, old)
    _set_meta(old, "schema_version", "1")
    with pytest.raises(
        StoreError, match=r"`tsunagari-geo data import` をもう一度実行してください"
    ) as err:
        open_store(old)
    assert str(old) in str(err.value)


def test_a_store_without_its_region_table_is_refused(store_b: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gpkg"
    shutil.copyfile(store_b, broken)
    conn = sqlite3.connect(broken)
    with conn:
        conn.execute("DELETE FROM gpkg_contents WHERE table_name = 'region'")
        conn.execute("DROP TABLE region")
    conn.close()
    with pytest.raises(StoreError, match=r"レイヤー \['region'\] がありません"):
        open_store(broken)


def test_a_failed_import_leaves_the_previous_store(store_b: Path, tmp_path: Path) -> None:
    target = tmp_path / "store.gpkg"
    shutil.copyfile(store_b, target)
    before = target.read_bytes()
    source = make_source(tmp_path / "mini")
    (source / "population/census_2020_saitama.csv").unlink()
    with pytest.raises(SourceError, match="census"):
        import_reference(source, target, region=mini_region())
    assert target.read_bytes() == before


def test_layers_round_trip_through_the_interface(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"id": ["a", "b"], "themes": [["居場所", "食"], []]},
        geometry=[Point(138.38, 34.97), Point(137.73, 34.71)],
        crs=4326,
    )
    path = write_layers(
        tmp_path / "layers.gpkg", {"activities": frame}, kind="public", attribution=["出典"]
    )
    layers = open_layers(path, "public")
    assert isinstance(layers, LayerSet) and layers.attribution == ["出典"]
    assert layers.frames["activities"]["themes"].tolist() == [["居場所", "食"], []]
    assert LayerSet.open(path, "public").frames["activities"]["id"].tolist() == ["a", "b"]
    with pytest.raises(StoreError, match="expected a planner layer file"):
        open_layers(path, "planner")


def test_layers_at_an_unreachable_database_are_refused_like_the_store() -> None:
    with pytest.raises(StoreError, match="データベースに接続できません"):
        open_layers("postgresql://127.0.0.1:1/layers", "public")


def test_a_postgis_url_read_as_a_path_is_still_recognised() -> None:
    # Settings read TSUNAGARI_STORE as a Path, which folds "//" into "/".
    folded = Path("postgresql://db.example/tsunagari")
    assert backend_for(folded) is PostgisStore
    assert database_url(folded) == "postgresql://db.example/tsunagari"
    assert database_url("postgres://db.example/t") == "postgresql://db.example/t"


def test_a_windows_drive_is_a_path_not_a_scheme() -> None:
    assert backend_for("C:/data/tsunagari.gpkg") is GeoPackageStore


@pytest.mark.parametrize("layer", ["units", "municipalities", "towns", "small_areas"])
def test_attributes_are_the_layer_without_its_geometry(store_path: Path, layer: str) -> None:
    light = open_store(store_path).attributes(layer)  # read without geopandas
    full = getattr(open_store(store_path), layer)
    expected = pd.DataFrame(full.drop(columns=[full.geometry.name]))
    pd.testing.assert_frame_equal(light, expected)
    store = open_store(store_path)
    getattr(store, layer)  # read with its geometry first: the same columns from it
    pd.testing.assert_frame_equal(store.attributes(layer), expected)


#: Every reference layer and table of the session's store (japan_towns: test_geocode_japan).
READ_BY_ROWS = ("units", "municipalities", "towns", "small_areas", "sources", "region", "metadata",
                "japan_municipalities")  # fmt: skip


@pytest.mark.parametrize("layer", READ_BY_ROWS)
def test_plain_rows_are_what_ogr_reads(store_path: Path, layer: str) -> None:
    # Two readers of one file: sqlite3 for the geocoder, OGR (pyogrio) for everything else.
    read = pyogrio.read_dataframe(store_path, layer=layer)
    columns = [c for c in read.columns if c != "geometry"]
    rows = open_store(store_path).rows(layer, columns)
    assert rows == plain_rows(read, columns) and len(rows) == len(read) > 0
    assert all(v is None or type(v) in (str, int, float, bool) for row in rows for v in row)


def test_rows_come_in_the_columns_asked_for(store: Store) -> None:
    first = store.units.iloc[0]
    assert store.rows("units", ("name", "code"))[0] == (first["name"], first["code"])
    with pytest.raises(StoreError, match="layer towns has no column 'nothing'"):
        store.rows("towns", ("town", "nothing"))


def test_the_tables_are_their_plain_rows(store: Store) -> None:
    columns = ("role", "path", "sha256", "size")
    assert plain_rows(store.sources, columns) == store.rows("sources", columns)
    assert store.sources["size"].dtype == "int64"
    names = store.japan_municipalities
    assert plain_rows(names, ("pref", "name")) == store.rows(
        "japan_municipalities", ("pref", "name")
    )
