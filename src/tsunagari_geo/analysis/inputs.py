"""The analysis' inputs, checked and in one shape: activities, organisations, good practices.

:func:`prepare_activities` decides where each activity counts (the unit holding its point, else
its ``unit_code``/``muni_code``, else its single ``serves`` code) and how (in person or remote);
:func:`prepare_organizations` and :func:`prepare_practices` do the same for members and 好事例.
:class:`Areas` holds both levels' frames and the one locator they are placed with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from tsunagari_geo.activities.models import LOCAL_FORMATS, PREFECTURE, split_list
from tsunagari_geo.activities.taxonomy import ALL_AGES, Taxonomies
from tsunagari_geo.analysis.join import coordinates
from tsunagari_geo.cells import coordinate_columns, yes_no_column
from tsunagari_geo.errors import InputError
from tsunagari_geo.reference.locator import PointLocator, unit_codes_at

#: Organisation kinds (Japanese names in the data) → column suffixes.
KIND_KEYS = {
    "行政": "government",
    "NPO等": "npo",
    "社協": "shakyo",
    "企業・業界団体": "company",
    "その他": "other",
}
#: Awards that make a good practice worth spreading.
AWARDS = ("大賞", "優秀賞")


@dataclass(frozen=True)
class Areas:
    """Both levels' frames, their codes and the unit → municipality map."""

    units: gpd.GeoDataFrame
    municipalities: gpd.GeoDataFrame
    towns: pd.DataFrame
    to_muni: dict[str, str]
    locator: PointLocator
    #: the CRS distances are measured in (the region's metric CRS).
    metric_crs: str


def list_column(frame: pd.DataFrame, column: str) -> list[list[str]]:
    if column not in frame.columns:
        return [[] for _ in range(len(frame))]
    # Lists of codes pass as they are (the fast path for frames built in code).
    return [
        v if isinstance(v, list) else split_list(v) if not is_missing(v) else []
        for v in frame[column]
    ]


def is_missing(value: object) -> bool:
    if isinstance(value, list | tuple | np.ndarray):
        return False
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def text_column(frame: pd.DataFrame, column: str) -> npt.NDArray[np.object_]:
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[column].fillna("").astype(str).str.strip().to_numpy(dtype=object)


def check_codes(
    lists: list[list[str]], allowed: tuple[str, ...], ids: npt.NDArray[Any], what: str
) -> None:
    known = set(allowed)
    for i, items in enumerate(lists):
        for item in items:
            if item not in known:
                # Frames reach here without spreadsheet rows; the record id locates it.
                raise InputError(
                    f"unknown {what} code in record {ids[i]!r}; validate with the readers first",
                    column=what,
                    value=item,
                )


def prepare_activities(frame: pd.DataFrame, areas: Areas, tax: Taxonomies) -> pd.DataFrame:
    """One row per activity: where it is, how it counts, its themes and life stages."""
    n = len(frame)
    ids = text_column(frame, "id")
    themes = list_column(frame, "themes")
    stages = list_column(frame, "life_stages")
    serves = list_column(frame, "serves")
    check_codes(themes, tax.themes.codes, ids, "themes")
    check_codes(stages, tax.life_stages.codes, ids, "life_stages")
    fmt = text_column(frame, "format")
    bad_fmt = ~np.isin(fmt, ["in_person", "online", "phone", "outreach"])
    if bad_fmt.any():
        i = int(np.flatnonzero(bad_fmt)[0])
        raise InputError(f"unknown format of activity {ids[i]!r}", column="format", value=fmt[i])

    if n and (coordinate_columns(frame.columns) or isinstance(frame, gpd.GeoDataFrame)):
        lon, lat, missing, bad = coordinates(frame)
    else:
        lon = lat = np.full(n, np.nan)
        missing, bad = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    unit = unit_codes_at(areas.locator, lon, lat)
    reason = np.where(
        missing,
        "no_point",
        np.where(bad, "bad_point", np.where(unit == "", "outside_prefecture", "")),
    ).astype(object)

    # No point inside the prefecture: fall back on the geocoder's codes (unit_code, then
    # muni_code, either of which may be a unit or a municipality), then on `serves`.
    unit_ref = text_column(frame, "unit_code")
    ref = text_column(frame, "muni_code")
    muni_codes = set(areas.municipalities["code"].astype(str))
    muni = np.array([areas.to_muni.get(u, "") for u in unit], dtype=object)
    prefwide = np.array([PREFECTURE in s for s in serves], dtype=bool)
    for i in np.flatnonzero(unit == "").tolist():
        single = serves[i][0] if len(serves[i]) == 1 and not prefwide[i] else ""
        for candidate in (unit_ref[i], ref[i], single):
            if candidate in areas.to_muni:
                unit[i], muni[i] = candidate, areas.to_muni[candidate]
                break
            if candidate in muni_codes:
                muni[i] = candidate
                break

    local = np.isin(fmt, list(LOCAL_FORMATS)) & ~prefwide
    every_stage = set(tax.life_stages.codes)
    stage_sets = [set(s) | every_stage if ALL_AGES in s else set(s) for s in stages]
    org_ids = text_column(frame, "organization_id")
    return pd.DataFrame(
        {
            "id": ids,
            "organization_id": org_ids,
            "format": fmt,
            "local": local,
            "published": yes_no_column(
                frame,
                "published",
                default=True,
                rows=frame["row"].tolist() if "row" in frame.columns else None,
            ),
            "privacy": text_column(frame, "location_privacy"),
            "themes": themes,
            "stages": [sorted(s) for s in stage_sets],
            "serves": serves,
            "prefecture_wide": prefwide,
            "lon": lon,
            "lat": lat,
            "unit_code": unit,
            "muni_code": muni,
            "reason": reason,
            # Places or people a venue serves, where the record says (E2SFCA supply weight).
            "capacity": (
                pd.to_numeric(frame["capacity"], errors="coerce").to_numpy(dtype=float)
                if "capacity" in frame.columns
                else np.full(n, np.nan)
            ),
        }
    )


def prepare_organizations(frame: pd.DataFrame | None, areas: Areas) -> pd.DataFrame:
    columns = ["id", "name", "kind", "kind_key", "unit_code", "muni_code"]
    if frame is None or len(frame) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    base = text_column(frame, "base_muni_code")
    kind = text_column(frame, "kind")
    unknown = ~np.isin(kind, list(KIND_KEYS))
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        ident = text_column(frame, "id")[i]
        raise InputError(f"unknown kind of organisation {ident!r}", column="kind", value=kind[i])
    muni_codes = set(areas.municipalities["code"].astype(str))
    return pd.DataFrame(
        {
            "id": text_column(frame, "id"),
            "name": text_column(frame, "name"),
            "kind": kind,
            "kind_key": [KIND_KEYS[k] for k in kind],
            # A unit code is a unit; さいたま市 itself (11100) is a municipality only.
            "unit_code": [b if b in areas.to_muni else "" for b in base],
            "muni_code": [areas.to_muni.get(b, b if b in muni_codes else "") for b in base],
        }
    )


def prepare_practices(frame: pd.DataFrame | None, tax: Taxonomies) -> pd.DataFrame:
    columns = ["id", "title", "organization_name", "themes", "muni_code", "fiscal_year", "award"]
    if frame is None or len(frame) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    out = pd.DataFrame(
        {
            "id": text_column(frame, "id"),
            "title": text_column(frame, "title"),
            "organization_name": text_column(frame, "organization_name"),
            "themes": list_column(frame, "themes"),
            "muni_code": text_column(frame, "muni_code"),
            "fiscal_year": text_column(frame, "fiscal_year"),
            "award": text_column(frame, "award"),
        }
    )
    check_codes(list(out["themes"]), tax.themes.codes, out["id"].to_numpy(), "themes")
    return out[out["award"].isin(AWARDS)].reset_index(drop=True)
