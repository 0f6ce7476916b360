"""Boundaries simplified as one coverage (tsunagari_geo.layers.simplify)."""

from __future__ import annotations

import numpy as np
import shapely

from tsunagari_geo.layers.simplify import simplify_coverage


def _neighbours() -> np.ndarray:
    # Two squares sharing a zig-zag border of small teeth (amplitude 0.001).
    teeth = [(1 + (0.001 if i % 2 else 0), i / 20) for i in range(21)]
    left = shapely.Polygon([(0, 0), *teeth, (0, 1)])
    right = shapely.Polygon([(2, 0), (2, 1), *reversed(teeth)])
    return np.array([left, right, None, shapely.Polygon()], dtype=object)


def test_neighbours_keep_one_shared_border() -> None:
    geoms = _neighbours()
    out = simplify_coverage(geoms, 0.01)
    left, right = out[0], out[1]
    assert shapely.get_num_coordinates(left) < shapely.get_num_coordinates(geoms[0])
    assert left.intersection(right).area == 0
    assert abs(left.union(right).area - 2.0) < 1e-12  # no gap opened along the border
    assert out[2] is None and out[3].is_empty


def test_points_and_zero_tolerance_come_back_unchanged() -> None:
    points = np.array([shapely.Point(1, 2), None], dtype=object)
    assert list(simplify_coverage(points, 0.5)) == list(points)
    polygons = _neighbours()
    assert simplify_coverage(polygons, 0) is polygons


def test_a_layer_mixing_polygons_and_lines_is_simplified_geometry_by_geometry() -> None:
    a = shapely.Point(0, 0).buffer(1, quad_segs=64)
    b = shapely.Point(1, 0).buffer(1, quad_segs=64)
    line = shapely.LineString([(0, 0), (0.5, 0.001), (1, 0)])
    out = simplify_coverage(np.array([a, b, line], dtype=object), 0.05)
    assert all(g.is_valid for g in out)
    assert shapely.get_num_coordinates(out[0]) < shapely.get_num_coordinates(a)
    assert shapely.get_num_coordinates(out[2]) == 2
