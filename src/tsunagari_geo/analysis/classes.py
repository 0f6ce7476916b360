"""Class breaks by a mapclassify scheme: the one rule for the gap score's ``gap_class`` and
every choropleth class the dashboard draws (``maps/data.py`` calls :func:`class_breaks`)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import mapclassify
import numpy as np

from tsunagari_geo.errors import InputError

#: mapclassify's scheme names as its ``classify`` reads them (case and ``_`` ignored).
_SCHEMES = frozenset(name.lower() for name in mapclassify.CLASSIFIERS)


def class_breaks(values: np.ndarray, scheme: str = "FisherJenks", k: int = 5) -> tuple[float, ...]:
    """Upper bounds of ``k`` classes of ``values`` by a mapclassify scheme, rounded to 3
    decimals (fewer classes where values tie: ``k`` or fewer distinct values are their own
    classes; NaN is left out).

    Raises InputError naming the scheme when mapclassify has no such scheme.

    >>> class_breaks(np.array([1.0, 2.0, 2.0]))
    (1.0, 2.0)
    """
    # The scheme is checked first: an unknown one is an error even where ties decide the classes.
    if scheme.lower().replace("_", "") not in _SCHEMES:
        raise InputError(
            f"unknown classification scheme (mapclassify has {', '.join(mapclassify.CLASSIFIERS)})",
            value=scheme,
        )
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return ()
    distinct = np.unique(finite)
    if distinct.size <= k:
        return tuple(round(float(v), 3) for v in distinct)
    try:
        with warnings.catch_warnings():
            # Few distinct values make some schemes warn that they merge classes; that's fine.
            warnings.simplefilter("ignore")
            bins = mapclassify.classify(finite, scheme, k=k).bins
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise InputError(f"unknown or unusable classification scheme: {exc}", value=scheme) from exc
    return tuple(dict.fromkeys(round(float(b), 3) for b in bins))


def classify_gap(
    table: gpd.GeoDataFrame, scheme: str, k: int
) -> tuple[gpd.GeoDataFrame, list[float]]:
    """``gap_class`` (0 = lowest) by :func:`class_breaks` of ``gap_score``; the breaks too."""
    y = table["gap_score"].to_numpy(dtype=float)
    breaks = class_breaks(y, scheme, k)
    if not breaks:
        table["gap_class"] = 0
        return table, []
    # A score rounded above the last (rounded) bound still belongs to the top class.
    classes = np.searchsorted(np.asarray(breaks), np.round(y, 3), side="left")
    table["gap_class"] = np.minimum(classes, len(breaks) - 1).astype(int)
    return table, list(breaks)
