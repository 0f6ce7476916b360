"""Counts per area: in-person activities by theme and life stage, remote ones, the ward-unknown
(区不明) figure, rates per 10,000 residents, and member organisations."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tsunagari_geo.activities.taxonomy import Taxonomies
from tsunagari_geo.analysis.inputs import KIND_KEYS, Areas


def add_counts(
    table: pd.DataFrame, level: str, acts: pd.DataFrame, areas: Areas, tax: Taxonomies
) -> None:
    """Add the activity counts and rates of one level to ``table`` (one row per area code)."""
    key = "unit_code" if level == "unit" else "muni_code"
    index = pd.Index(table["code"])

    local = acts[acts["local"] & (acts[key] != "")]

    def per_area(series: pd.Series) -> npt.NDArray[Any]:
        return series.reindex(index, fill_value=0).to_numpy()

    table["inperson_total"] = per_area(local.groupby(key).size())
    table["inperson_published"] = per_area(local[local["published"]].groupby(key).size())
    if level == "unit":
        table["ward_unknown_inperson"] = ward_unknown(acts, table["code"], areas)
    for prefix, column, codes in (
        ("theme", "themes", tax.themes.codes),
        ("stage", "stages", tax.life_stages.codes),
    ):
        counts = _tag_counts(local, key, column)
        for code in codes:
            found = counts[code] if counts is not None and code in counts else pd.Series(dtype=int)
            table[f"{prefix}_{code}"] = per_area(found).astype(int)
    table["remote_total"] = remote_counts(level, acts, table["code"], areas)

    pop = table["pop_total"].astype(float).replace(0, np.nan)
    table["inperson_per10k"] = (table["inperson_total"] / pop * 1e4).round(3)
    for stage, column in tax.life_stages.denominators.items():
        if column not in table.columns:
            # A store imported from a census without this band (the older CSV has no 15–64):
            # no rate rather than one over another population.
            table[f"stage_{stage}_per10k"] = np.nan
            continue
        denominator = table[column].astype(float).replace(0, np.nan)
        table[f"stage_{stage}_per10k"] = (table[f"stage_{stage}"] / denominator * 1e4).round(3)


def _tag_counts(local: pd.DataFrame, key: str, column: str) -> pd.DataFrame | None:
    """Area × tag counts of a list column (themes, stages), or None when no row has a tag."""
    rows = local[[key, column]].explode(column).dropna()
    return pd.crosstab(rows[key], rows[column]) if len(rows) else None


def ward_unknown(acts: pd.DataFrame, codes: pd.Series, areas: Areas) -> list[int]:
    """Per ward: in-person activities of its city whose ward is not known (区不明).

    They count for the city at the 63 level and in no ward; each ward of the city shows the
    city's figure, so that the 72-unit table still accounts for them. 0 outside such cities.
    """
    unknown = acts[acts["local"] & (acts["unit_code"] == "") & (acts["muni_code"] != "")]
    per_city = unknown.groupby("muni_code").size()
    out = []
    for code in codes:
        city = areas.to_muni.get(code, code)
        out.append(int(per_city.get(city, 0)) if city != code else 0)
    return out


def population_columns(tax: Taxonomies) -> list[str]:
    return list(dict.fromkeys(["pop_total", *tax.life_stages.denominators.values()]))


def remote_counts(
    level: str, acts: pd.DataFrame, codes: pd.Series, areas: Areas
) -> npt.NDArray[np.int64]:
    """Online, phone and prefecture-wide activities reaching each area."""
    remote = acts[~acts["local"]]
    everywhere = int(remote["prefecture_wide"].sum())
    wards: dict[str, list[str]] = {}
    for unit, muni in areas.to_muni.items():
        wards.setdefault(muni, []).append(unit)
    reached: list[str] = []
    for serves, unit, muni in zip(
        remote["serves"][~remote["prefecture_wide"]],
        remote["unit_code"][~remote["prefecture_wide"]],
        remote["muni_code"][~remote["prefecture_wide"]],
        strict=True,
    ):
        targets = serves or [unit or muni]
        if level == "unit":
            found = {u for t in targets for u in ([t] if t in areas.to_muni else wards.get(t, []))}
        else:
            found = {areas.to_muni.get(t, t) for t in targets if t}
        reached.extend(found)
    counts = pd.Series(reached, dtype=object).value_counts()
    return (counts.reindex(pd.Index(codes), fill_value=0).to_numpy() + everywhere).astype(np.int64)


def add_members(table: pd.DataFrame, level: str, orgs: pd.DataFrame, areas: Areas) -> None:
    key = "unit_code" if level == "unit" else "muni_code"
    index = pd.Index(table["code"])
    based = orgs[orgs[key] != ""]
    table["orgs_total"] = based.groupby(key).size().reindex(index, fill_value=0).to_numpy()
    for kind in KIND_KEYS.values():
        counts = based[based["kind_key"] == kind].groupby(key).size()
        table[f"orgs_{kind}"] = counts.reindex(index, fill_value=0).to_numpy()
    government = set(orgs.loc[orgs["kind_key"] == "government", "muni_code"])
    government_units = set(orgs.loc[orgs["kind_key"] == "government", "unit_code"])
    if level == "unit":
        # A ward office is part of the city: the city's membership covers its wards.
        table["government_member"] = [
            c in government_units
            or (areas.to_muni.get(c, c) != c and areas.to_muni[c] in government)
            for c in table["code"]
        ]
    else:
        table["government_member"] = [c in government for c in table["code"]]
