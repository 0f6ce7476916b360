"""Spatial join of points to the 72 units and 63 municipalities (point-in-polygon).

:func:`join_points` adds three columns to every row, dropping none:

* ``unit_code``: the unit (市町村, or さいたま市's 区) whose polygon holds the point, else empty
  (it replaces a ``unit_code`` column the input had, after comparing with it);
* ``muni_code_by_point``: its municipality at the 63 level (a ward's city), else empty;
* ``join_check``: ``ok`` (agrees with the row's own code, e.g. the geocoder's: its
  ``unit_code`` where set, else its ``muni_code``), ``disagrees``, ``unchecked`` (the row has
  no code to compare with), ``outside_prefecture``, ``no_point`` (no coordinates) or
  ``bad_point`` (coordinates that are not numbers or lie outside longitude/latitude ranges).

Which unit holds a point is decided by the one locator,
:mod:`tsunagari_geo.reference.locator` (a point on a border shared by two units belongs to the
unit with the **smaller code**; one million points take about a second).

:func:`join_points_on_dask` is the same join partitioned on a Dask cluster
(``tsunagari-geo join … --dask``): the rows cut in order into partitions (dask-geopandas for a
GeoDataFrame), each joined on a worker by :func:`join_points` itself with the worker's
:func:`store_locator`, so the frame that comes back is the one :func:`join_points` gives.

Example::

    >>> located = join_points(frame, store.units, lon_column="lng", lat_column="lat")
    >>> located[["unit_code", "muni_code_by_point", "join_check"]]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from tsunagari_geo.cells import COORDINATE_PAIRS, coordinate_columns
from tsunagari_geo.errors import InputError
from tsunagari_geo.reference.locator import (
    PointLocator,
    locator_for,
    muni_codes_of,
    store_locator,
    unit_codes_at,
)

if TYPE_CHECKING:
    from distributed import Client

    from tsunagari_geo.reference.locator import FloatArray
    from tsunagari_geo.store import Store

__all__ = [
    "JOIN_CHECKS",
    "PointLocator",
    "coordinates",
    "join_points",
    "join_points_on_dask",
    "locator_for",
    "muni_codes_of",
    "store_locator",
    "unit_codes_at",
]

#: Rows per partition of :func:`join_points_on_dask` (the locator answers ~1 M points a second).
PARTITION_ROWS = 100_000
#: Columns :func:`join_points` adds, in order.
JOIN_COLUMNS = ("unit_code", "muni_code_by_point", "join_check")

#: Values of ``join_check``.
JOIN_CHECKS = ("ok", "disagrees", "unchecked", "outside_prefecture", "no_point", "bad_point")


def _check_column(frame: pd.DataFrame, given: str | None) -> None:
    if given is not None and given not in frame.columns:
        raise InputError(f"column {given!r} not found; columns are {list(frame.columns)}")


def _numbers(column: pd.Series) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """A column as floats (NaN where not a number) and where it is empty."""
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.isnan(values)
    text = column.astype("string").str.strip()
    empty = (text.isna() | (text == "")).to_numpy(dtype=bool)
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return values, empty


def coordinates(
    frame: pd.DataFrame, *, lon_column: str | None = None, lat_column: str | None = None
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Longitude and latitude of every row, and which rows lack or garble them.

    Coordinates come from the named columns, else from the pair
    :func:`tsunagari_geo.cells.coordinate_columns` finds, else from a GeoDataFrame's point
    geometry (converted to EPSG:4326). A row whose columns are empty has no point; one whose cells are not numbers,
    or are outside longitude/latitude ranges, has a bad point.

    Returns:
        ``(lon, lat, missing, bad)``; lon/lat are NaN where missing or bad.

    Raises:
        InputError: a named column does not exist, or no coordinates can be found at all.
    """
    _check_column(frame, lon_column)
    _check_column(frame, lat_column)
    found = coordinate_columns(frame.columns) or (None, None)
    lon_col, lat_col = lon_column or found[0], lat_column or found[1]
    if lon_col is not None and lat_col is not None:
        lon, lon_empty = _numbers(frame[lon_col])
        lat, lat_empty = _numbers(frame[lat_col])
        missing = lon_empty & lat_empty
    elif isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        geo = frame.geometry
        if geo.crs is not None and geo.crs.to_epsg() != 4326:
            geo = geo.to_crs("EPSG:4326")
        values = geo.values
        missing = np.asarray(geo.isna() | shapely.is_empty(values), dtype=bool)
        is_point = shapely.get_type_id(values) == 0
        lon = np.where(is_point & ~missing, shapely.get_x(values), np.nan)
        lat = np.where(is_point & ~missing, shapely.get_y(values), np.nan)
    elif lon_column is None and lat_column is None:
        raise InputError(
            "no coordinate columns: name them with --lon-column/--lat-column "
            f"(tried {[f'{lon}/{lat}' for lon, lat in COORDINATE_PAIRS]})"
        )
    else:
        raise InputError("give both a longitude and a latitude column")
    with np.errstate(invalid="ignore"):
        bad = ~missing & (np.isnan(lon) | np.isnan(lat) | (np.abs(lon) > 180) | (np.abs(lat) > 90))
    lon = np.where(bad | missing, np.nan, lon)
    lat = np.where(bad | missing, np.nan, lat)
    return lon, lat, np.asarray(missing, dtype=bool), np.asarray(bad, dtype=bool)


def _codes(frame: pd.DataFrame, column: str) -> npt.NDArray[np.object_]:
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[column].fillna("").astype(str).str.strip().to_numpy(dtype=object)


def join_points(
    frame: pd.DataFrame,
    units: gpd.GeoDataFrame,
    *,
    lon_column: str | None = None,
    lat_column: str | None = None,
    reference_column: str | None = None,
    locator: PointLocator | None = None,
) -> pd.DataFrame:
    """Add ``unit_code``, ``muni_code_by_point`` and ``join_check`` to every row.

    Args:
        frame: rows with coordinates (see :func:`coordinates`); a GeoDataFrame stays one.
        units: the 72 units (``code``, ``parent_code``, geometry), e.g. ``store.units``.
        lon_column, lat_column: coordinate columns, if not the usual names.
        reference_column: the code to compare with; by default the row's ``unit_code`` where
            set, else its ``muni_code`` (the geocoder's batch output has both); it may be
            a unit or a municipality code. Absent or empty → ``unchecked``.
        locator: a prebuilt :class:`PointLocator` for ``units`` (built when None).

    Returns:
        A copy of ``frame`` with the three columns appended; row order and count unchanged.
        Codes are strings, empty where no unit holds the point.

    Raises:
        InputError: coordinates cannot be found (see :func:`coordinates`).
    """
    lon, lat, missing, bad = coordinates(frame, lon_column=lon_column, lat_column=lat_column)
    unit_code = unit_codes_at(locator or locator_for(units), lon, lat)
    to_muni = muni_codes_of(units)
    muni_code = np.array([to_muni.get(c, "") for c in unit_code], dtype=object)

    if reference_column is not None:
        ref = _codes(frame, reference_column)
    else:
        # A ward, when the row names one, is checked as a ward; else the municipality.
        unit_ref, muni_ref = _codes(frame, "unit_code"), _codes(frame, "muni_code")
        ref = np.where(unit_ref != "", unit_ref, muni_ref).astype(object)
    check = np.where(
        ref == "", "unchecked", np.where((ref == unit_code) | (ref == muni_code), "ok", "disagrees")
    ).astype(object)
    check[unit_code == ""] = "outside_prefecture"
    check[bad] = "bad_point"
    check[missing] = "no_point"

    out = frame.copy()
    out["unit_code"] = unit_code
    out["muni_code_by_point"] = muni_code
    out["join_check"] = check
    return out


def join_points_on_dask(
    frame: pd.DataFrame,
    store: Store,
    client: Client,
    *,
    lon_column: str | None = None,
    lat_column: str | None = None,
    reference_column: str | None = None,
    partition_rows: int = PARTITION_ROWS,
) -> pd.DataFrame:
    """:func:`join_points` of ``frame`` against ``store.units``, partitioned on the cluster of
    ``client``: the same frame (rows, order, index, columns and their dtypes).

    Partitions of ``partition_rows`` rows (at least one per worker thread) keep the input's
    order; each is joined on a worker by :func:`join_points` with the locator of the store
    the worker opens at ``store.location`` (:func:`tsunagari_geo.cluster.worker_store`), so
    no task carries the boundaries and a border point goes where it goes everywhere else.

    Raises:
        InputError: coordinates cannot be found (see :func:`coordinates`), before any task.
    """
    import dask
    import dask.dataframe as dd

    from tsunagari_geo.cluster import store_location

    # Wrong columns fail here, on the client, naming the column, not inside a worker.
    coordinates(frame.iloc[:0], lon_column=lon_column, lat_column=lat_column)
    threads = sum(client.nthreads().values()) or 1
    partitions = max(1, min(len(frame), max(threads, -(-len(frame) // partition_rows))))
    meta = frame.iloc[:0].copy()
    for name in JOIN_COLUMNS:
        meta[name] = np.array([], dtype=object)
    job = {
        "location": store_location(store),
        "imported_at": store.meta.get("imported_at", ""),
        "lon_column": lon_column,
        "lat_column": lat_column,
        "reference_column": reference_column,
    }
    # Dask would turn text columns into Arrow strings: the frame must come back as it went.
    with dask.config.set({"dataframe.convert-string": False}):
        if isinstance(frame, gpd.GeoDataFrame):
            import dask_geopandas

            parts = dask_geopandas.from_geopandas(frame, npartitions=partitions, sort=False)
        else:
            parts = dd.from_pandas(frame, npartitions=partitions, sort=False)
        joined = parts.map_partitions(_join_partition, **job, meta=meta)
        out = client.compute(joined, sync=True)
    return out


def _join_partition(
    part: pd.DataFrame,
    *,
    location: str,
    imported_at: str,
    lon_column: str | None,
    lat_column: str | None,
    reference_column: str | None,
) -> pd.DataFrame:
    """One partition on a worker: :func:`join_points` with this process's store locator."""
    from tsunagari_geo.cluster import worker_store

    store = worker_store(location, imported_at)
    return join_points(
        part,
        store.units,
        lon_column=lon_column,
        lat_column=lat_column,
        reference_column=reference_column,
        locator=store_locator(store),
    )
