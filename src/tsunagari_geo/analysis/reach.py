"""Town reach: how far each 大字・町丁目 is from the nearest in-person venue, per area."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from tsunagari_geo.activities.taxonomy import Taxonomies
from tsunagari_geo.analysis.distance import metric_xy
from tsunagari_geo.analysis.inputs import Areas
from tsunagari_geo.settings import STORE_CRS


def inperson_venues(acts: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Which prepared activities are venues a resident can walk to: in-person, with a point.

    Outreach (訪問) has no venue: it goes to homes. Points outside the prefecture still count:
    a resident may cross the border.
    """
    return np.asarray(
        acts["local"].to_numpy()
        & (acts["format"].to_numpy() == "in_person")
        & ~np.isnan(acts["lon"].to_numpy(dtype=float)),
        dtype=bool,
    )


def town_distances(acts: pd.DataFrame, areas: Areas, tax: Taxonomies) -> pd.DataFrame:
    """Per town: distance (m) to the nearest in-person venue, overall and per life stage.

    Venues are in-person activities with a point (outreach has no venue: it goes to homes).
    Points outside the prefecture still count: a resident may cross the border.
    """
    towns = areas.towns
    if "lat" in towns.columns and "lng" in towns.columns:
        t_lon, t_lat = towns["lng"].astype(float), towns["lat"].astype(float)
    else:
        geo = gpd.GeoSeries(towns.geometry).to_crs(STORE_CRS)
        t_lon, t_lat = geo.x, geo.y
    town_xy = metric_xy(t_lon, t_lat, areas.metric_crs)
    out = pd.DataFrame(
        {
            "unit_code": towns["unit_code"].astype(str).to_numpy(),
            "muni_code": towns["muni_code"].astype(str).to_numpy(),
        }
    )
    venue = inperson_venues(acts)
    venue_xy = metric_xy(acts["lon"][venue], acts["lat"][venue], areas.metric_crs)
    venue_stages = acts["stages"][venue].tolist()

    def nearest(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        if not mask.any() or len(town_xy) == 0:
            return np.full(len(town_xy), np.inf)
        dist, _ = cKDTree(venue_xy[mask]).query(town_xy, k=1)
        return np.asarray(dist, dtype=float)

    out["d_any"] = nearest(np.ones(len(venue_xy), dtype=bool))
    for stage in tax.life_stages.codes:
        mask = np.array([stage in s for s in venue_stages], dtype=bool)
        out[f"d_{stage}"] = nearest(mask)
    return out


def add_reach(table: pd.DataFrame, reach: pd.DataFrame, key: str, tax: Taxonomies) -> None:
    """Town reach: share of towns within 1 / 2 km of a venue, and the median distance."""
    index = pd.Index(table["code"])
    area = reach[key]
    table["towns"] = area.value_counts().reindex(index, fill_value=0).to_numpy()

    def share(column: str, limit: float) -> npt.NDArray[np.float64]:
        s = (reach[column] <= limit).astype(float).groupby(area).mean()
        return np.asarray(s.reindex(index).round(4), dtype=np.float64)

    table["reach_1km"] = share("d_any", 1000)
    table["reach_2km"] = share("d_any", 2000)
    # No venue at all gives infinite distances; their median is not a number to publish.
    median = reach["d_any"].replace(np.inf, np.nan).groupby(area).median()
    has_inf = np.isinf(reach["d_any"]).groupby(area).any()
    median[has_inf.reindex(median.index, fill_value=False)] = np.nan
    table["median_nearest_m"] = median.reindex(index).round(1).to_numpy(dtype=float)
    for stage in tax.life_stages.codes:
        table[f"reach_1km_{stage}"] = share(f"d_{stage}", 1000)
        table[f"reach_2km_{stage}"] = share(f"d_{stage}", 2000)
