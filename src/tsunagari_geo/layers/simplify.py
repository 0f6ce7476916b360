"""Lighter boundaries for the web: municipal polygons simplified as one coverage.

Simplifying each polygon on its own opens slivers and overlaps along shared borders;
:func:`shapely.coverage_simplify` simplifies every shared edge once, so neighbours keep a
common border. Layers that are not polygons (activity points) come back unchanged, and a
polygon layer that is not a clean coverage falls back to per-geometry simplification that
preserves topology.

Example::

    light = simplify_coverage(units.geometry.to_numpy(), 0.0002)  # about 20 m at 36° N
"""

from __future__ import annotations

import numpy as np
import shapely

#: Tolerance for boundaries on the web pages and the static site, in degrees (about 20 m):
#: outlines stay recognisable at zoom 14 and the layers shrink about four times.
WEB_SIMPLIFY_DEGREES = 0.0002

#: shapely type ids of Polygon and MultiPolygon.
_POLYGONAL = (3, 6)


def simplify_coverage(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """``geoms`` simplified with ``tolerance`` in their own units (degrees in EPSG:4326).

    Missing and empty geometries stay as they are; a tolerance of 0 returns ``geoms``.
    """
    geoms = np.asarray(geoms, dtype=object)
    if tolerance <= 0 or len(geoms) == 0:
        return geoms
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    kinds = shapely.get_type_id(geoms[present])
    if not np.isin(kinds, _POLYGONAL).all():
        return geoms if (kinds == 0).all() else _each(geoms, present, tolerance)
    out = geoms.copy()
    try:
        out[present] = shapely.coverage_simplify(geoms[present], tolerance)
    except shapely.errors.GEOSException:
        return _each(geoms, present, tolerance)
    return out


def _each(geoms: np.ndarray, present: np.ndarray, tolerance: float) -> np.ndarray:
    out = geoms.copy()
    out[present] = shapely.simplify(geoms[present], tolerance, preserve_topology=True)
    return out
