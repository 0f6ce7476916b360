"""横展開 (spreading good practice): awarded practices near an area that lacks their theme."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from tsunagari_geo.activities.taxonomy import Taxonomies
from tsunagari_geo.analysis.config import CoverageConfig
from tsunagari_geo.analysis.distance import rep_points
from tsunagari_geo.analysis.inputs import Areas


def spread_candidates(
    level: str,
    table: gpd.GeoDataFrame,
    practices: pd.DataFrame,
    areas: Areas,
    tax: Taxonomies,
    cfg: CoverageConfig,
) -> pd.DataFrame:
    """横展開: awarded practices nearby whose theme the area has no in-person activity for."""
    columns = [
        "level", "area_code", "area_name", "theme", "theme_label", "practice_id", "title",
        "organization_name", "award", "fiscal_year", "practice_muni_code", "distance_km",
    ]  # fmt: skip
    rows = practices.explode("themes").dropna(subset=["themes"])
    if rows.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    muni_rep = dict(
        zip(
            areas.municipalities["code"].astype(str),
            rep_points(areas.municipalities, areas.metric_crs),
            strict=True,
        )
    )
    area_rep = rep_points(table, areas.metric_crs)
    out = []
    for i, (code, name) in enumerate(zip(table["code"], table["name"], strict=True)):
        for p in rows.itertuples(index=False):
            # A practice in the area itself is already there; spreading means going elsewhere.
            if table[f"theme_{p.themes}"].iat[i] > 0 or p.muni_code == table["muni_code"].iat[i]:
                continue
            if p.muni_code in muni_rep:
                dist = float(np.hypot(*(area_rep[i] - muni_rep[p.muni_code]))) / 1000
                if dist > cfg.spread.max_distance_km:
                    continue
                distance: float | None = round(dist, 1)
            elif cfg.spread.include_unlocated:
                distance = None
            else:
                continue
            out.append(
                (
                    level, code, name, p.themes, tax.themes.labels[str(p.themes)], p.id, p.title,
                    p.organization_name, p.award, p.fiscal_year, p.muni_code, distance,
                )
            )  # fmt: skip
    return pd.DataFrame(out, columns=columns)


def spread_themes(spread: pd.DataFrame, codes: pd.Series) -> list[str]:
    """Per area code: the theme labels of its 横展開 candidates, in order, joined by 、."""
    themes_by_area: dict[str, list[str]] = {}
    for code, label in zip(spread["area_code"], spread["theme_label"], strict=True):
        labels = themes_by_area.setdefault(code, [])
        if label not in labels:
            labels.append(label)
    return ["、".join(themes_by_area.get(c, [])) for c in codes]
