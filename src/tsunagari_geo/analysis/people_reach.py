"""Reach in people: the share of residents near an in-person venue, from census small areas.

Town reach (:mod:`.reach`) counts 大字・町丁目 points, so a 大字 of 30 residents weighs as much
as a 丁目 of 5,000. Here every census small area (小地域, 町丁・字等) stands at its
representative point with its population (令和2年国勢調査), and an area's reach is

    pop_reach_<d> = Σ population of its small areas whose nearest venue is within d
                    / Σ population of its small areas

for d in :data:`REACH_DISTANCES` (500 m, 1 km, 2 km, straight-line in the region's metric CRS),
a share in 0..1 (NaN where an area has no resident). Venues are the activities
:func:`tsunagari_geo.analysis.reach.inperson_venues` selects; ``pop_reach_<d>_<stage>`` counts
only venues for that life stage (or for all ages), ``pop_reach_<d>_theme_<code>`` only venues
of that theme. Which points count is decided by the caller: the public build passes the points
the public view shows, so no published figure is derived from a hidden or unpublished point.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from tsunagari_geo.activities.taxonomy import Taxonomies
from tsunagari_geo.analysis.distance import metric_xy
from tsunagari_geo.analysis.reach import inperson_venues
from tsunagari_geo.settings import STORE_CRS

#: Reach distances (m) and the suffix of their columns.
REACH_DISTANCES: dict[str, float] = {"500m": 500.0, "1km": 1000.0, "2km": 2000.0}


def small_area_xy(small_areas: pd.DataFrame, metric_crs: str) -> npt.NDArray[np.float64]:
    """Metric coordinates (n × 2) of the small areas' representative points."""
    return metric_xy(small_areas["lng"].astype(float), small_areas["lat"].astype(float), metric_crs)


def venue_groups(acts: pd.DataFrame, tax: Taxonomies) -> dict[str, npt.NDArray[np.bool_]]:
    """Column suffix → mask over the venues: all (``""``), each stage, each theme."""
    venue = inperson_venues(acts)
    stages = acts["stages"][venue].tolist()
    themes = acts["themes"][venue].tolist()
    groups = {"": np.ones(int(venue.sum()), dtype=bool)}
    for stage in tax.life_stages.codes:
        groups[f"_{stage}"] = np.array([stage in s for s in stages], dtype=bool)
    for theme in tax.themes.codes:
        groups[f"_theme_{theme}"] = np.array([theme in t for t in themes], dtype=bool)
    return groups


def nearest_distances(
    origins: npt.NDArray[np.float64], targets: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Distance (m) from each origin to its nearest target; inf when there is no target."""
    if len(targets) == 0 or len(origins) == 0:
        return np.full(len(origins), np.inf)
    dist, _ = cKDTree(targets).query(origins, k=1)
    return np.asarray(dist, dtype=float)


def small_area_distances(
    acts: pd.DataFrame, small_areas: pd.DataFrame, tax: Taxonomies, metric_crs: str
) -> pd.DataFrame:
    """Per small area: ``d<suffix>``, the distance (m) to the nearest venue of each group.

    ``acts`` are prepared activities (:func:`tsunagari_geo.analysis.inputs.prepare_activities`),
    ``small_areas`` the store's small areas (``lat``, ``lng``, ``population``, ``unit_code``,
    ``muni_code``). Returns a frame aligned with ``small_areas``.
    """
    venue = inperson_venues(acts)
    venue_xy = metric_xy(acts["lon"][venue], acts["lat"][venue], metric_crs)
    origins = small_area_xy(small_areas, metric_crs)
    out = pd.DataFrame(index=small_areas.index)
    for suffix, mask in venue_groups(acts, tax).items():
        out[f"d{suffix}"] = nearest_distances(origins, venue_xy[mask])
    return out


def add_people_reach(
    table: pd.DataFrame, small_areas: pd.DataFrame, distances: pd.DataFrame, key: str
) -> None:
    """Add ``pop_reach_<d><suffix>`` (0..1) and ``small_area_population`` to ``table``.

    ``key`` is the small areas' column naming the table's areas (``unit_code`` or
    ``muni_code``); ``table["code"]`` holds the area codes.
    """
    index = pd.Index(table["code"].astype(str))
    area = small_areas[key].astype(str)
    pop = small_areas["population"].astype(float)
    total = pop.groupby(area).sum().reindex(index)
    table["small_area_population"] = total.fillna(0).astype("int64").to_numpy()
    denominator = total.replace(0, np.nan)
    new: dict[str, npt.NDArray[np.float64]] = {}
    for column in distances.columns:
        suffix = column[1:]
        for name, limit in REACH_DISTANCES.items():
            near = (pop * (distances[column] <= limit)).groupby(area).sum().reindex(index)
            new[f"pop_reach_{name}{suffix}"] = np.asarray(
                (near / denominator).round(4), dtype=float
            )
    for column, values in new.items():
        table[column] = values


#: What each column of a small-area table (:func:`small_area_table`) holds, in Japanese: the
#: ``small_areas`` layer, its API collection and the dashboard describe them from here.
SMALL_AREA_FIELDS: dict[str, str] = {
    "key_code": "小地域の KEY_CODE（令和2年国勢調査 小地域集計）",
    "unit_code": "区域コード（市町村、政令指定都市は区ごと）",
    "muni_code": "市町村コード（63市町村）",
    "name": "小地域の名称（町丁・字等）",
    "population": "人口（令和2年国勢調査、2020年）",
    "households": "世帯数（令和2年国勢調査、2020年）",
    "nearest_m": "代表点から最寄りの対面の活動までの直線距離（m、なければ空）",
    "pop_reach_500m": "500m以内に対面の活動がある住民の割合（0〜1、分母: この小地域の人口、"
    "住民は代表点にいるとみなすので 0 か 1、人口0なら空）",
    "pop_reach_1km": "1km以内に対面の活動がある住民の割合（0〜1、同上）",
    "pop_reach_2km": "2km以内に対面の活動がある住民の割合（0〜1、同上）",
    "access_2sfca": "アクセス指標 2SFCA（距離減衰つき、住民1万人あたりの活動の量）",
}
#: The per-group columns after :data:`SMALL_AREA_FIELDS`: the nearest venue of each life
#: stage (``nearest_m_<stage>``) and each theme (``nearest_m_theme_<theme>``), in the order of
#: the taxonomies. A small area's reach for a group at distance d is ``nearest_m_<group> <= d``
#: (its residents stand at its point), so these carry reach per life stage and theme.
SMALL_AREA_GROUP_FIELD = (
    "nearest_m_<group>",
    "代表点から、そのライフステージ（<group> = ライフステージのコード）またはテーマ"
    "（<group> = theme_ + テーマのコード）の最寄りの対面の活動までの直線距離（m、なければ空）。"
    "その距離が 500m・1km・2km 以下なら、この小地域の住民はその活動に届く",
)


def small_area_group_columns(distances: pd.DataFrame) -> list[str]:
    """The per-group columns of a small-area table, from the distance columns (``d_<group>``)."""
    return [f"nearest_m{column[1:]}" for column in distances.columns if column != "d"]


def small_area_table(
    small_areas: pd.DataFrame, distances: pd.DataFrame, extra: pd.DataFrame | None = None
) -> gpd.GeoDataFrame:
    """The small areas with what a planner reads per area (:data:`SMALL_AREA_FIELDS`):
    population, households, the nearest venue (m, ``nearest_m``; empty when none), reach in
    people ``pop_reach_500m`` / ``1km`` / ``2km`` (all venues; the share :func:`add_people_reach`
    computes for any area, here each small area alone: its residents stand at its point, so
    0 or 1, NaN without residents), the columns of ``extra`` (aligned, e.g. 2SFCA
    accessibility), then the nearest venue of each life stage and theme
    (:data:`SMALL_AREA_GROUP_FIELD`). One point per small area, EPSG:4326."""
    d_any = distances["d"].replace(np.inf, np.nan)
    frame = pd.DataFrame(
        {
            "key_code": small_areas["key_code"].astype(str).to_numpy(),
            "unit_code": small_areas["unit_code"].astype(str).to_numpy(),
            "muni_code": small_areas["muni_code"].astype(str).to_numpy(),
            "name": small_areas["name"].astype(str).to_numpy(),
            "population": small_areas["population"].astype("int64").to_numpy(),
            "households": small_areas["households"].astype("int64").to_numpy(),
            "nearest_m": d_any.round(1).to_numpy(dtype=float),
        }
    )
    reach = pd.DataFrame({"code": frame["key_code"]})
    add_people_reach(reach, small_areas, distances[["d"]], "key_code")
    for name in REACH_DISTANCES:
        frame[f"pop_reach_{name}"] = reach[f"pop_reach_{name}"].to_numpy()
    if extra is not None:
        for column in extra.columns:
            frame[column] = extra[column].to_numpy()
    for column, name in zip(
        [c for c in distances.columns if c != "d"], small_area_group_columns(distances), strict=True
    ):
        frame[name] = distances[column].replace(np.inf, np.nan).round(1).to_numpy(dtype=float)
    return gpd.GeoDataFrame(
        frame,
        geometry=gpd.points_from_xy(small_areas["lng"], small_areas["lat"]),
        crs=STORE_CRS,
    )
