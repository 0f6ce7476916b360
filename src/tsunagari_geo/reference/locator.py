"""Which unit a point falls in: the one locator every part of the pipeline uses.

:class:`PointLocator` answers "which polygon holds this point" for many points at once;
:func:`store_locator` builds it once per store import for the 72 units, and
:func:`unit_codes_at` turns its answer into unit codes. A point on a border shared by two units
belongs to the unit with the **smaller code**, so the answer never depends on the order of the
polygons. The spatial join (:mod:`tsunagari_geo.analysis.join`), the coverage analysis and the
batch geocoder's coordinate check all ask here, so a border point is in the same unit for each.

Speed: the prefecture is cut into a grid of cells by recursive quartering. A cell wholly inside
one unit answers its points by array lookup; only points in the few cells crossed by a boundary
are tested with shapely's vectorised ``intersects_xy`` against the boundary pieces clipped to
that cell, which hold a handful of vertices each. One million points take about a second
(``bench/join_bench.py``).

Example::

    >>> locator = store_locator(store)
    >>> unit_codes_at(locator, [139.645], [35.861])
    array(['11107'], dtype=object)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from tsunagari_geo.errors import InputError
from tsunagari_geo.store import Store

if TYPE_CHECKING:
    # numpy and shapely are imported by the functions that build or ask a locator: importing
    # this module (the batch geocoder does, for its coordinate check) costs nothing.
    import geopandas as gpd
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    IntArray: TypeAlias = npt.NDArray[np.int64]
    FloatArray: TypeAlias = npt.NDArray[np.float64]
    ArrayLike: TypeAlias = npt.ArrayLike

_OUTSIDE = -1
_MIXED = -2


@dataclass(frozen=True)
class PointLocator:
    """Answers "which polygon holds this point" for many points at once.

    Built once from polygons and their codes; :meth:`locate` returns, for each point, the
    position of the polygon holding it (the smallest code on shared borders) or -1.
    """

    codes: tuple[str, ...]
    origin: tuple[float, float]
    cell_size: tuple[float, float]
    grid: npt.NDArray[np.int32]
    # Boundary cells: for cell c, pieces piece_start[c]:piece_start[c+1] of piece_geoms.
    mixed_cells: IntArray
    piece_start: IntArray
    piece_geoms: npt.NDArray[np.object_]
    piece_owner: IntArray

    @classmethod
    def build(
        cls,
        polygons: gpd.GeoSeries | npt.NDArray[np.object_],
        codes: list[str] | pd.Series,
        *,
        root: int = 16,
        depth: int = 5,
    ) -> PointLocator:
        """Index polygons (any CRS; points must then be given in the same CRS).

        Args:
            polygons: Polygons or MultiPolygons, one per code.
            codes: Their codes; ties on shared borders go to the smallest code.
            root: cells per side of the starting grid.
            depth: times each boundary cell is quartered (final grid: root·2**depth).

        Raises:
            InputError: no polygons, empty or invalid geometry, or duplicate codes.
        """
        import geopandas as gpd
        import numpy as np
        import shapely

        geoms = np.asarray(polygons.values if isinstance(polygons, gpd.GeoSeries) else polygons)
        code_list = [str(c) for c in codes]
        if len(geoms) == 0 or len(geoms) != len(code_list):
            raise InputError("need one polygon per code", value=len(code_list))
        if len(set(code_list)) != len(code_list):
            raise InputError("polygon codes are not unique")
        if shapely.is_empty(geoms).any() or not shapely.is_valid(geoms).all():
            raise InputError("polygons must be valid and non-empty")
        # Owners are numbered by code order so that "smallest owner" means "smallest code".
        order = np.argsort(np.array(code_list), kind="stable")
        geoms = geoms[order]
        code_list = [code_list[i] for i in order]

        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        pad = 1e-9 * max(maxx - minx, maxy - miny, 1.0)
        minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
        side = root * 2**depth
        dx, dy = (maxx - minx) / side, (maxy - miny) / side
        grid = np.full((side, side), _OUTSIDE, dtype=np.int32)

        # Level 0: every root cell against every polygon (via the tree).
        step = 2**depth
        ix, iy = np.meshgrid(np.arange(root), np.arange(root))
        cell_x, cell_y = ix.ravel() * step, iy.ravel() * step
        boxes = shapely.box(
            minx + cell_x * dx,
            miny + cell_y * dy,
            minx + (cell_x + step) * dx,
            miny + (cell_y + step) * dy,
        )
        tree = shapely.STRtree(geoms)
        box_idx, geom_idx = tree.query(boxes, predicate="intersects")
        pair_cell_x, pair_cell_y = cell_x[box_idx], cell_y[box_idx]
        pair_geom = geoms[geom_idx]
        pair_owner = geom_idx.astype(np.int64)
        pair_box = boxes[box_idx]
        pair_geom = _clip(pair_geom, pair_box)

        for level in range(depth + 1):
            size = 2**depth // 2**level
            key = pair_cell_y * side + pair_cell_x
            uniq, first, counts = np.unique(key, return_index=True, return_counts=True)
            # A cell is settled when a single polygon touches it and covers it entirely.
            single = counts == 1
            covered = np.zeros(len(uniq), dtype=bool)
            covered[single] = shapely.covers(pair_geom[first[single]], pair_box[first[single]])
            for k in np.flatnonzero(covered):
                p = first[k]
                y0, x0 = pair_cell_y[p], pair_cell_x[p]
                grid[y0 : y0 + size, x0 : x0 + size] = pair_owner[p]
            open_cells = ~covered
            keep = np.isin(key, uniq[open_cells])
            pair_cell_x, pair_cell_y = pair_cell_x[keep], pair_cell_y[keep]
            pair_geom, pair_owner, pair_box = pair_geom[keep], pair_owner[keep], pair_box[keep]
            if level == depth:
                break
            # Quarter the open cells; each piece goes to the children it touches.
            half = size // 2
            n = len(pair_geom)
            child_dx = np.repeat([[0, half, 0, half]], n, axis=0).ravel()
            child_dy = np.repeat([[0, 0, half, half]], n, axis=0).ravel()
            cx = np.repeat(pair_cell_x, 4) + child_dx
            cy = np.repeat(pair_cell_y, 4) + child_dy
            child_box = shapely.box(
                minx + cx * dx, miny + cy * dy, minx + (cx + half) * dx, miny + (cy + half) * dy
            )
            parent = np.repeat(pair_geom, 4)
            hit = shapely.intersects(parent, child_box)
            pair_cell_x, pair_cell_y = cx[hit], cy[hit]
            pair_owner = np.repeat(pair_owner, 4)[hit]
            pair_box = child_box[hit]
            pair_geom = _clip(parent[hit], pair_box)

        # What is left are boundary cells at the finest level.
        key = pair_cell_y * side + pair_cell_x
        order2 = np.lexsort((pair_owner, key))
        key, pair_geom, pair_owner = key[order2], pair_geom[order2], pair_owner[order2]
        mixed, starts = np.unique(key, return_index=True)
        grid.ravel()[mixed] = _MIXED
        return cls(
            codes=tuple(code_list),
            origin=(float(minx), float(miny)),
            cell_size=(float(dx), float(dy)),
            grid=grid,
            mixed_cells=mixed.astype(np.int64),
            piece_start=np.append(starts, len(key)).astype(np.int64),
            piece_geoms=pair_geom,
            piece_owner=pair_owner,
        )

    def locate(self, x: FloatArray, y: FloatArray) -> IntArray:
        """Position in :attr:`codes` of the polygon holding each point, or -1 (NaN → -1)."""
        import numpy as np
        import shapely

        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        side = self.grid.shape[0]
        out = np.full(len(x), _OUTSIDE, dtype=np.int64)
        fx = (x - self.origin[0]) / self.cell_size[0]
        fy = (y - self.origin[1]) / self.cell_size[1]
        inside = (fx >= 0) & (fx < side) & (fy >= 0) & (fy < side)
        idx = np.flatnonzero(inside)
        cell = fy[idx].astype(np.int64) * side + fx[idx].astype(np.int64)
        label = self.grid.ravel()[cell]
        out[idx] = np.where(label == _MIXED, _OUTSIDE, label)

        mixed_pts = idx[label == _MIXED]
        if len(mixed_pts):
            slot = np.searchsorted(self.mixed_cells, cell[label == _MIXED])
            begin, end = self.piece_start[slot], self.piece_start[slot + 1]
            n_pieces = end - begin
            pt = np.repeat(mixed_pts, n_pieces)
            piece = np.repeat(begin, n_pieces) + _ranges(n_pieces)
            hit = shapely.intersects_xy(self.piece_geoms[piece], x[pt], y[pt])
            # Pieces are sorted by owner within a cell, so the first hit is the smallest code.
            pt, owner = pt[hit], self.piece_owner[piece[hit]]
            first = np.unique(pt, return_index=True)[1]
            out[pt[first]] = owner[first]
        return out


def _clip(
    geoms: npt.NDArray[np.object_], boxes: npt.NDArray[np.object_]
) -> npt.NDArray[np.object_]:
    """Polygons cut to their boxes; a polygon that only touches a box is kept whole.

    Keeping the touching polygon (rather than the line where it touches) lets points on that
    shared edge still see both sides, so the smallest-code rule decides them.
    """
    import numpy as np
    import shapely

    # clip_by_rect is GEOS's rectangle clipper, many times faster than a general intersection;
    # it takes one rectangle per call, so pieces are clipped box by box.
    bounds = shapely.bounds(boxes)
    clipped = np.empty(len(geoms), dtype=object)
    keys, inverse = np.unique(bounds, axis=0, return_inverse=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    starts = np.searchsorted(inverse.ravel()[order], np.arange(len(keys) + 1))
    for k, (xmin, ymin, xmax, ymax) in enumerate(keys):
        members = order[starts[k] : starts[k + 1]]
        clipped[members] = shapely.clip_by_rect(geoms[members], xmin, ymin, xmax, ymax)
    areal = shapely.area(clipped) > 0
    return np.where(areal, clipped, geoms)


def _ranges(lengths: IntArray) -> IntArray:
    """Concatenated ``arange(n)`` for each n in lengths, without a Python loop."""
    import numpy as np

    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    reset = np.repeat(ends - lengths, lengths)
    return np.arange(total, dtype=np.int64) - reset


def locator_for(units: gpd.GeoDataFrame) -> PointLocator:
    """A :class:`PointLocator` for a units frame (``code`` and geometry, EPSG:4326)."""
    if "code" not in units.columns:
        raise InputError("units frame lacks a 'code' column")
    frame = units.to_crs("EPSG:4326") if units.crs and units.crs.to_epsg() != 4326 else units
    return PointLocator.build(frame.geometry, frame["code"].astype(str).tolist())


_STORE_LOCATORS: dict[tuple[str, str], PointLocator] = {}


def store_locator(store: Store) -> PointLocator:
    """The :class:`PointLocator` of a store's 72 units, built once per store import."""
    key = (store.location, store.meta.get("imported_at", ""))
    if key not in _STORE_LOCATORS:
        _STORE_LOCATORS[key] = locator_for(store.units)
    return _STORE_LOCATORS[key]


def muni_codes_of(units: pd.DataFrame) -> dict[str, str]:
    """Unit code → municipality code at the 63 level (``parent_code`` when set, else itself)."""
    import pandas as pd

    parent = (
        units["parent_code"].fillna("").astype(str)
        if "parent_code" in units.columns
        else pd.Series("", index=units.index)
    )
    code = units["code"].astype(str)
    return dict(zip(code, parent.where(parent != "", code), strict=True))


def unit_codes_at(locator: PointLocator, lon: ArrayLike, lat: ArrayLike) -> npt.NDArray[np.object_]:
    """The code of the polygon holding each point, ``""`` where none does (or lon/lat is NaN).

    Longitudes and latitudes in the locator's CRS (EPSG:4326 for :func:`store_locator`).
    """
    import numpy as np

    hit = locator.locate(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    codes = np.array([*locator.codes, ""], dtype=object)
    return codes[np.where(hit >= 0, hit, len(locator.codes))]
