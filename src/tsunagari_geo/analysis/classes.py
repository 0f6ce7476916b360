"""Class breaks of the gap score (``gap_class``) by a mapclassify scheme."""

from __future__ import annotations

import warnings

import geopandas as gpd
import mapclassify
import numpy as np

from tsunagari_geo.errors import InputError


def classify_gap(
    table: gpd.GeoDataFrame, scheme: str, k: int
) -> tuple[gpd.GeoDataFrame, list[float]]:
    """``gap_class`` by a mapclassify scheme; all-equal scores fall in class 0."""
    y = table["gap_score"].to_numpy(dtype=float)
    if np.unique(y).size < 2:
        table["gap_class"] = 0
        return table, [float(y.max())] if len(y) else []
    try:
        with warnings.catch_warnings():
            # Few distinct scores make some schemes warn that they merge classes; that's fine.
            warnings.simplefilter("ignore")
            classifier = mapclassify.classify(y, scheme, k=min(k, int(np.unique(y).size)))
    except (KeyError, ValueError, TypeError) as exc:
        raise InputError(f"unknown or unusable classification scheme: {exc}", value=scheme) from exc
    table["gap_class"] = np.asarray(classifier.yb, dtype=int)
    return table, [float(b) for b in classifier.bins]
