"""The batch job and the spatial join on a Dask cluster: the same bytes, the same frames.

A LocalCluster of two workers (threads of this process, for speed; the CLI tests start the
worker processes the command really uses) geocodes the real sample with and without Dask, and
the two outputs and failures files are compared byte for byte; an interrupted Dask job resumes
from the same journal; the partitioned join gives the frame the single join gives.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely
from distributed import Client
from geopandas.testing import assert_geodataframe_equal

from tsunagari_geo.analysis.join import join_points, join_points_on_dask, store_locator
from tsunagari_geo.cli import _fill_optional_values
from tsunagari_geo.cluster import dask_client, worker_store
from tsunagari_geo.errors import InputError, StoreError
from tsunagari_geo.geocode import Geocoder
from tsunagari_geo.geocode.batch import BatchJob, ChunkTask, geocode_table, journal_path
from tsunagari_geo.geocode.on_dask import DaskRunner
from tsunagari_geo.store import Store

CARE = "samples/care_facilities_mhlw_2025.csv"
SPLIT = ["city", "address"]
SLOW_GEOCODE = Path(__file__).with_name("slow_geocode.py")


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with dask_client(workers=2, processes=False) as c:
        yield c


@pytest.fixture(scope="module")
def geocoder(store: Store) -> Geocoder:
    return Geocoder.from_store(store)


@pytest.fixture(scope="module")
def sample(source_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 rows of the real care-facility sample: split address columns, published lat/lng
    (so the coordinate check runs), repeated and unreadable addresses among them."""
    frame = pd.read_csv(source_dir / CARE, dtype=str, keep_default_na=False).head(400)
    path = tmp_path_factory.mktemp("sample") / "in.csv"
    frame.to_csv(path, index=False)
    return path


def _pair(tmp_path: Path, name: str) -> tuple[Path, Path]:
    (tmp_path / "single").mkdir(exist_ok=True)
    (tmp_path / "dask").mkdir(exist_ok=True)
    return tmp_path / "single" / name, tmp_path / "dask" / name


def _same_bytes(single: Path, dask: Path) -> None:
    assert dask.read_bytes() == single.read_bytes()
    failures = dask.with_name(f"{dask.stem}.failures.csv")
    assert failures.read_bytes() == single.with_name(failures.name).read_bytes()


@pytest.mark.parametrize("name", ["out.csv", "out.geojson"])
def test_output_and_failures_are_the_same_bytes_on_dask(
    tmp_path: Path, store: Store, geocoder: Geocoder, client: Client, sample: Path, name: str
) -> None:
    single, dask = _pair(tmp_path, name)
    one = geocode_table(sample, single, geocoder=geocoder, store=store, address_columns=SPLIT,
                        chunk_size=30)  # fmt: skip
    many = geocode_table(sample, dask, store=store, address_columns=SPLIT, chunk_size=30,
                         client=client)  # fmt: skip
    _same_bytes(single, dask)
    assert (many.rows, many.by_status, many.coord_check) == (one.rows, one.by_status,
                                                               one.coord_check)  # fmt: skip
    assert many.by_action == one.by_action and many.failures_count == one.failures_count > 0
    assert many.load_seconds > 0  # the workers' dictionary; the client loaded none
    assert not journal_path(dask).exists()


def test_xlsx_and_geopackage_have_the_same_cells_on_dask(
    tmp_path: Path, store: Store, geocoder: Geocoder, client: Client, sample: Path
) -> None:
    for name in ("out.xlsx", "out.gpkg"):
        single, dask = _pair(tmp_path, name)
        geocode_table(sample, single, geocoder=geocoder, store=store, address_columns=SPLIT,
                      chunk_size=50)  # fmt: skip
        geocode_table(sample, dask, store=store, address_columns=SPLIT, chunk_size=50,
                      client=client)  # fmt: skip
        failures = dask.with_name("out.failures.csv")
        assert failures.read_bytes() == single.with_name(failures.name).read_bytes()
    sheets = [openpyxl.load_workbook(tmp_path / d / "out.xlsx") for d in ("single", "dask")]
    assert sheets[0].sheetnames == sheets[1].sheetnames == ["データ", "集計", "列の説明", "出典"]
    for title in sheets[0].sheetnames:
        cells = [[list(r) for r in book[title].iter_rows(values_only=True)] for book in sheets]
        assert cells[0] == cells[1]
    layers = [gpd.read_file(tmp_path / d / "out.gpkg", layer="out") for d in ("single", "dask")]
    assert len(layers[0]) == 400
    assert_geodataframe_equal(layers[0], layers[1])


def test_overrides_are_applied_by_the_workers(
    tmp_path: Path, store: Store, geocoder: Geocoder, client: Client
) -> None:
    rows = [{"id": str(n), "住所": f"川越市元町1-3-{n}"} for n in range(1, 21)]
    rows += [{"id": "x", "住所": "どこか"}, {"id": "y", "住所": "あいうえお"}]
    src = tmp_path / "in.csv"
    pd.DataFrame(rows).to_csv(src, index=False)
    overrides = tmp_path / "overrides.csv"
    pd.DataFrame(
        [
            {"id": "x", "address": "", "town": "川越市元町二丁目", "lat": "", "lng": ""},
            {"id": "", "address": "あいうえお", "town": "", "lat": "35.9", "lng": "139.5"},
        ]
    ).to_csv(overrides, index=False)
    single, dask = _pair(tmp_path, "out.csv")
    options = {"store": store, "id_column": "id", "overrides": overrides, "chunk_size": 4}
    geocode_table(src, single, geocoder=geocoder, **options)  # type: ignore[arg-type]
    geocode_table(src, dask, client=client, **options)  # type: ignore[arg-type]
    _same_bytes(single, dask)
    status = pd.read_csv(dask, dtype=str, keep_default_na=False, encoding="utf-8-sig")["status"]
    assert status.tolist()[-2:] == ["overridden", "overridden"]


class _CutOff(DaskRunner):
    """A Dask runner whose client dies after ``after`` chunks (as a killed process would)."""

    after = 3

    def __call__(self, tasks: Iterable[ChunkTask]) -> Iterator[tuple[int, list[list[str]]]]:
        for n, done in enumerate(super().__call__(tasks)):
            if n == self.after:
                raise KeyboardInterrupt
            yield done


def test_an_interrupted_dask_job_resumes_from_its_journal_to_the_same_bytes(
    tmp_path: Path, store: Store, geocoder: Geocoder, client: Client, sample: Path
) -> None:
    single, dask = _pair(tmp_path, "out.csv")
    geocode_table(sample, single, geocoder=geocoder, store=store, address_columns=SPLIT,
                  chunk_size=40)  # fmt: skip
    job = BatchJob(sample, dask, geocoder=None, store=store, address_columns=SPLIT,
                   chunk_size=40)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        job.run(runner=_CutOff(client, store, job.rules), progress=False)
    assert not dask.exists()
    assert len(list(journal_path(dask).glob("chunk_*.rows"))) == 3
    resumed = geocode_table(sample, dask, store=store, address_columns=SPLIT, chunk_size=40,
                            resume=True, client=client)  # fmt: skip
    assert resumed.resumed_chunks == 3
    _same_bytes(single, dask)
    assert sorted(p.name for p in dask.parent.iterdir()) == ["out.csv", "out.failures.csv"]


def test_a_dask_journal_resumes_in_a_single_process_too(
    tmp_path: Path, store: Store, geocoder: Geocoder, client: Client, sample: Path
) -> None:
    single, dask = _pair(tmp_path, "out.csv")
    geocode_table(sample, single, geocoder=geocoder, store=store, address_columns=SPLIT,
                  chunk_size=40)  # fmt: skip
    job = BatchJob(sample, dask, geocoder=None, store=store, address_columns=SPLIT,
                   chunk_size=40)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        job.run(runner=_CutOff(client, store, job.rules), progress=False)
    resumed = geocode_table(sample, dask, geocoder=geocoder, store=store, address_columns=SPLIT,
                            chunk_size=40, resume=True)  # fmt: skip
    assert resumed.resumed_chunks == 3
    _same_bytes(single, dask)


def _console_script() -> str:
    script = Path(sys.executable).with_name("tsunagari-geo")
    assert script.exists(), script
    return str(script)


def test_cli_dask_worker_processes_killed_half_way_then_resumed_give_identical_bytes(
    tmp_path: Path,
    store_path: Path,
    source_dir: Path,
    sample: Path,
    store: Store,
    geocoder: Geocoder,
) -> None:
    args = ["--address-column", "city", "--address-column", "address", "--chunk-size", "20"]
    env = {**os.environ, "TSUNAGARI_STORE": str(store_path), "TSUNAGARI_SOURCE": str(source_dir)}
    single, dask = _pair(tmp_path, "out.csv")
    # The single process's bytes (the command runs this same function; see
    # test_geocode_batch.py for the command itself).
    geocode_table(sample, single, geocoder=geocoder, store=store, address_columns=SPLIT,
                  chunk_size=20)  # fmt: skip
    # `--dask` alone, before the input: a LocalCluster of two worker processes. The client
    # pauses 0.3 s after each journalled chunk (a test wrapper), so a kill lands half-way.
    command = ["geocode", "--dask", str(sample), "--out", str(dask), "--workers", "2", *args]
    proc = subprocess.Popen([sys.executable, str(SLOW_GEOCODE), "0.3", *command], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    journal = journal_path(dask)
    deadline = time.monotonic() + 60
    while len(list(journal.glob("chunk_*.rows"))) < 3:
        assert proc.poll() is None, "the job ended before it could be killed"
        assert time.monotonic() < deadline, "the job never wrote its chunks"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the client, its scheduler and its workers at once
    proc.wait()
    assert not dask.exists()
    done = len(list(journal.glob("chunk_*.rows")))
    assert 3 <= done < 20
    resumed = subprocess.run(
        [_console_script(), "geocode", str(sample), "--out", str(dask), "--resume", "--dask",
         "--workers", "2", *args],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert "Dask tcp://127.0.0.1:" in resumed.stderr and "ワーカー 2" in resumed.stderr
    assert f"再開: {done} チャンクを再利用" in resumed.stderr
    assert "要確認" in resumed.stderr
    _same_bytes(single, dask)
    assert not journal.exists()


def test_a_remote_fallback_is_refused_on_a_cluster(
    tmp_path: Path, store: Store, client: Client, sample: Path
) -> None:
    with pytest.raises(InputError, match="--dask と併用できません"):
        geocode_table(sample, tmp_path / "o.csv", store=store, client=client,
                      fallback=lambda result: result)  # fmt: skip


def test_a_worker_refuses_a_store_of_another_import(store: Store) -> None:
    with pytest.raises(StoreError, match="ワーカーの参照データ"):
        worker_store(store.location, "1999-01-01T00:00:00")


def test_dask_alone_means_a_local_cluster_and_an_address_is_kept() -> None:
    assert _fill_optional_values(["geocode", "--dask", "in.csv", "--out", "o.csv"]) == [
        "geocode", "--dask=local", "in.csv", "--out", "o.csv",
    ]  # fmt: skip
    assert _fill_optional_values(["join", "in.csv", "--dask"])[-1] == "--dask=local"
    assert _fill_optional_values(["join", "--dask", "--workers", "4"])[1] == "--dask=local"
    for address in ("tcp://10.0.0.5:8786", "scheduler.local:8786", "tls://h:1"):
        assert _fill_optional_values(["join", "--dask", address])[1:] == ["--dask", address]


def test_a_scheduler_that_is_no_address_names_the_value() -> None:
    with pytest.raises(InputError) as err, dask_client("in.csv"):
        pass
    assert (err.value.column, err.value.value) == ("--dask", "in.csv")


def _border_point(store: Store, a: str, b: str) -> tuple[float, float]:
    units = store.units.set_index("code")
    border = units.loc[a].geometry.boundary.intersection(units.loc[b].geometry.boundary)
    x, y = shapely.get_coordinates(border)[0]
    return float(x), float(y)


def _points(store: Store) -> pd.DataFrame:
    """Points over the prefecture and beyond, a border point, no point and a bad one."""
    minx, miny, maxx, maxy = store.units.total_bounds
    rows = []
    for i in range(1000):
        rows.append({"id": f"p{i}", "lng": minx - 0.05 + (maxx - minx + 0.1) * ((i * 37) % 1000)
                     / 1000, "lat": miny - 0.05 + (maxy - miny + 0.1) * ((i * 91) % 997) / 997,
                     "muni_code": "11201" if i % 3 else ""})  # fmt: skip
    lng, lat = _border_point(store, "11201", "11346")
    rows += [{"id": "border", "lng": lng, "lat": lat, "muni_code": "11346"}]
    rows += [{"id": "none", "lng": None, "lat": None, "muni_code": ""}]
    frame = pd.DataFrame(rows)
    frame.index = frame.index * 2 + 7  # an index of its own comes back as it was
    return frame


def test_the_partitioned_join_gives_the_same_frame(store: Store, client: Client) -> None:
    frame = _points(store)
    single = join_points(frame, store.units, locator=store_locator(store))
    dask = join_points_on_dask(frame, store, client, partition_rows=97)
    pd.testing.assert_frame_equal(dask, single)
    assert dask.loc[dask["id"] == "border", "unit_code"].tolist() == ["11201"]  # smaller code
    assert set(dask["join_check"]) >= {"ok", "disagrees", "outside_prefecture", "no_point"}


def test_the_partitioned_join_of_a_geodataframe_is_the_same_geodataframe(
    store: Store, client: Client
) -> None:
    frame = _points(store).dropna()
    points = gpd.GeoDataFrame(
        frame[["id", "muni_code"]],
        geometry=gpd.points_from_xy(frame["lng"], frame["lat"]),
        crs="EPSG:4326",
    ).to_crs(store.region.metric_crs)  # the join reads any CRS as lon/lat
    single = join_points(points, store.units, locator=store_locator(store))
    dask = join_points_on_dask(points, store, client, partition_rows=150)
    assert isinstance(dask, gpd.GeoDataFrame)
    assert_geodataframe_equal(dask, single)


def test_the_partitioned_join_names_a_missing_column_before_any_task(
    store: Store, client: Client
) -> None:
    with pytest.raises(InputError, match="'x'"):
        join_points_on_dask(pd.DataFrame({"lng": [1.0]}), store, client, lon_column="x")


def test_an_override_a_worker_cannot_place_names_the_file_row_and_value(
    tmp_path: Path, store: Store, client: Client
) -> None:
    src = tmp_path / "in.csv"
    pd.DataFrame([{"id": "1", "住所": "川越市元町1-3-1"}]).to_csv(src, index=False)
    overrides = tmp_path / "overrides.csv"
    pd.DataFrame([{"id": "1", "town": "存在しない町"}]).to_csv(overrides, index=False)
    with pytest.raises(InputError, match="上書きの町名") as err:
        geocode_table(src, tmp_path / "o.csv", store=store, client=client, id_column="id",
                      overrides=overrides)  # fmt: skip
    assert (err.value.path, err.value.row, err.value.value) == (str(overrides), 2, "存在しない町")


def test_the_geocode_command_imports_no_dask_unless_asked() -> None:
    code = (
        "import sys; from tsunagari_geo.cli import _register; _register(['geocode', 'x']); "
        "import tsunagari_geo.geocode.batch; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True
    )
    assert done.stdout.strip() == "[]"
