"""The spatial join: every row gets its unit, its municipality and a check; none is dropped."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from tsunagari_geo.analysis.join import PointLocator, join_points, locator_for
from tsunagari_geo.cli import _register, app
from tsunagari_geo.errors import InputError
from tsunagari_geo.store import Store
from tsunagari_geo.tables import read_table

# Two wards side by side and a town to the east, in plain degrees:
#   11102 [139.0, 139.1] × [36.0, 36.1] | 11101 [139.1, 139.2] × … | 11201 [139.2, 139.3] × …
SQUARES = gpd.GeoDataFrame(
    {"code": ["11102", "11101", "11201"], "parent_code": ["11100", "11100", ""]},
    geometry=[
        shapely.box(139.0, 36.0, 139.1, 36.1),
        shapely.box(139.1, 36.0, 139.2, 36.1),
        shapely.box(139.2, 36.0, 139.3, 36.1),
    ],
    crs="EPSG:4326",
)


def _points(rows: list[tuple[object, object, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["lng", "lat", "muni_code"])


def test_each_point_gets_its_unit_and_municipality() -> None:
    out = join_points(_points([(139.05, 36.05, ""), (139.25, 36.05, "")]), SQUARES)
    assert out["unit_code"].tolist() == ["11102", "11201"]
    assert out["muni_code_by_point"].tolist() == ["11100", "11201"]


def test_a_point_on_a_shared_border_goes_to_the_smaller_code() -> None:
    on_edge = _points([(139.1, 36.05, ""), (139.2, 36.05, ""), (139.1, 36.1, "")])
    assert join_points(on_edge, SQUARES)["unit_code"].tolist() == ["11101", "11101", "11101"]


def test_the_border_rule_does_not_depend_on_polygon_order() -> None:
    reversed_units = SQUARES.iloc[::-1].reset_index(drop=True)
    out = join_points(_points([(139.1, 36.05, ""), (139.2, 36.02, "")]), reversed_units)
    assert out["unit_code"].tolist() == ["11101", "11101"]


def test_join_check_reads_the_batch_outputs_unit_code_before_its_muni_code() -> None:
    rows = pd.DataFrame(
        {
            "lng": [139.05, 139.05, 139.05],
            "lat": [36.05, 36.05, 36.05],
            # the geocoder's two codes: a ward, the other ward, the city with its ward unknown
            "unit_code": ["11102", "11101", ""],
            "muni_code": ["11100", "11100", "11100"],
        }
    )
    out = join_points(rows, SQUARES)
    assert out["join_check"].tolist() == ["ok", "disagrees", "ok"]
    assert out["unit_code"].tolist() == ["11102", "11102", "11102"]


def test_join_check_compares_with_the_geocoders_code() -> None:
    rows = _points(
        [
            (139.05, 36.05, "11100"),  # the city of a ward: agrees
            (139.05, 36.05, "11102"),  # the ward itself: agrees
            (139.05, 36.05, "11201"),  # another municipality
            (139.05, 36.05, ""),  # nothing to compare with
            (140.5, 36.05, "11201"),  # outside every unit
            ("", "", "11201"),  # no coordinates
            ("abc", 36.05, ""),  # not a number
            (139.05, 95.0, ""),  # latitude out of range
        ]
    )
    out = join_points(rows, SQUARES)
    assert out["join_check"].tolist() == [
        "ok",
        "ok",
        "disagrees",
        "unchecked",
        "outside_prefecture",
        "no_point",
        "bad_point",
        "bad_point",
    ]
    assert len(out) == len(rows)
    assert out.loc[4:, "unit_code"].tolist() == ["", "", "", ""]


def test_original_columns_and_order_are_kept() -> None:
    rows = _points([(139.25, 36.05, "x"), (139.05, 36.05, "y")]).assign(name=["b", "a"])
    out = join_points(rows, SQUARES)
    assert out.columns.tolist()[:4] == ["lng", "lat", "muni_code", "name"]
    assert out["name"].tolist() == ["b", "a"]


def test_named_coordinate_columns() -> None:
    rows = pd.DataFrame({"東経": ["139.15"], "北緯": ["36.05"]})
    out = join_points(rows, SQUARES, lon_column="東経", lat_column="北緯")
    assert out["unit_code"].tolist() == ["11101"]
    with pytest.raises(InputError, match="経度"):
        join_points(rows, SQUARES, lon_column="経度", lat_column="北緯")


def test_point_geometry_is_read_when_there_are_no_columns() -> None:
    frame = gpd.GeoDataFrame(
        {"id": [1, 2]}, geometry=[shapely.Point(139.15, 36.05), None], crs="EPSG:4326"
    )
    out = join_points(frame, SQUARES)
    assert isinstance(out, gpd.GeoDataFrame)
    assert out["join_check"].tolist() == ["unchecked", "no_point"]


def test_no_coordinates_at_all_is_an_input_error() -> None:
    with pytest.raises(InputError, match="lon-column"):
        join_points(pd.DataFrame({"address": ["x"]}), SQUARES)


def test_locator_rejects_duplicate_codes() -> None:
    with pytest.raises(InputError, match="unique"):
        PointLocator.build(SQUARES.geometry, ["1", "1", "2"])


def test_join_agrees_with_geopandas_sjoin_on_10000_random_points(store: Store) -> None:
    units = store.units
    minx, miny, maxx, maxy = units.total_bounds
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(minx, maxx, 10_000), rng.uniform(miny, maxy, 10_000)
    ours = join_points(pd.DataFrame({"lng": lon, "lat": lat}), units, locator=locator_for(units))
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    theirs = gpd.sjoin(points, units[["code", "geometry"]], how="left", predicate="intersects")
    # Random points never fall exactly on a border, but keep the same rule if one did.
    theirs = theirs.sort_values("code").groupby(level=0)["code"].first().reindex(points.index)
    assert ours["unit_code"].tolist() == theirs.fillna("").tolist()
    assert (ours["unit_code"] != "").sum() > 5_000


def test_join_command_writes_every_row(store_path: object, tmp_path: object) -> None:
    from pathlib import Path

    tmp = Path(str(tmp_path))
    source = tmp / "points.csv"
    source.write_text(
        "name,経度,緯度,muni_code\n浦和,139.6453,35.8617,11107\n県外,139.76,35.68,\n空,,,\n",
        encoding="utf-8",
    )
    out = tmp / "joined.csv"
    _register()
    result = CliRunner().invoke(
        app, ["join", str(source), "--out", str(out), "--store", str(store_path)]
    )
    assert result.exit_code == 0, result.output
    joined = read_table(out)
    assert joined["unit_code"].tolist() == ["11107", "", ""]
    assert joined["join_check"].tolist() == ["ok", "outside_prefecture", "no_point"]
    assert "3 行を判定しました" in result.output
