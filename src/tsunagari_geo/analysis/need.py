"""Need: where loneliness and isolation risk is higher, from the official census, and the gap
between that need and the supply the platform's activities give.

Indicators per area (63 municipalities or 72 units), shares in 0..1, 令和2年国勢調査:

    single_household_share  単独世帯 / 一般世帯              (single_households / general_households)
    older_alone_share       65歳以上の単独世帯 / 65歳以上人口   (single_65plus_households / pop_65plus)
    children_share          15歳未満人口 / 総人口            (pop_0_14 / pop_total)
    foreign_share           外国人 / 総人口                  (foreign_pop / pop_total)

``need_score`` (0–100) = 100 × Σ weight × rank(indicator) / Σ weight, rank being the area's
percentile rank among the level's areas (ties share the mean rank). ``need_gap_score``
(0–100) = need_score × (1 − supply), supply = (reach × pop_reach_<d> + access ×
rank(access_2sfca)) / (reach + access). Weights and ``d`` are in ``coverage.toml`` ([need],
[need_gap]); :data:`NEED_FORMULA` words it for the dashboard.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsunagari_geo.analysis.config import CoverageConfig

#: indicator → (numerator, denominator) census columns.
INDICATORS: dict[str, tuple[str, str]] = {
    "single_household_share": ("single_households", "general_households"),
    "older_alone_share": ("single_65plus_households", "pop_65plus"),
    "children_share": ("pop_0_14", "pop_total"),
    "foreign_share": ("foreign_pop", "pop_total"),
}
#: indicator → Japanese label with its denominator, as the dashboard shows it.
INDICATOR_LABELS = {
    "single_household_share": "単独世帯の割合（分母: 一般世帯）",
    "older_alone_share": "一人暮らしの高齢者の割合（65歳以上の単独世帯 / 65歳以上人口）",
    "children_share": "子どもの割合（15歳未満 / 総人口）",
    "foreign_share": "外国人の割合（外国人 / 総人口）",
}


def _rank(values: pd.Series) -> pd.Series:
    """Percentile rank in 0..1 (lowest 0, highest 1, ties the mean rank); NaN stays NaN."""
    valid = values.notna()
    if valid.sum() <= 1:
        return values.where(~valid, 0.5)
    ranks = values[valid].rank(method="average")
    return ((ranks - 1) / (valid.sum() - 1)).reindex(values.index)


def add_need(table: pd.DataFrame, cfg: CoverageConfig) -> bool:
    """Add the indicators and ``need_score`` to ``table``; False (nothing added) when the
    store's census lacks the columns (a store imported from the older CSV)."""
    needed = {c for pair in INDICATORS.values() for c in pair}
    if not needed <= set(table.columns):
        return False
    weights = cfg.need.model_dump()
    score = pd.Series(0.0, index=table.index)
    for name, (num, den) in INDICATORS.items():
        denominator = table[den].astype(float).replace(0, np.nan)
        table[name] = (table[num].astype(float) / denominator).round(5)
        score += weights[name] * _rank(table[name]).fillna(0.5)
    table["need_score"] = (100 * score / sum(weights.values())).round(2)
    return True


def add_need_gap(table: pd.DataFrame, cfg: CoverageConfig) -> None:
    """Add ``supply_score`` (0..1) and ``need_gap_score`` (0–100) where need and supply are
    known (``need_score``, ``pop_reach_<d>``, ``access_2sfca``)."""
    reach_column = f"pop_reach_{cfg.need_gap.reach_distance}"
    if not {"need_score", reach_column, "access_2sfca"} <= set(table.columns):
        return
    gap = cfg.need_gap
    reach = table[reach_column].astype(float).fillna(0.0)
    access = _rank(table["access_2sfca"].astype(float)).fillna(0.0)
    supply = (gap.reach * reach + gap.access * access) / (gap.reach + gap.access)
    table["supply_score"] = supply.round(4)
    table["need_gap_score"] = (table["need_score"] * (1 - supply)).round(2)


#: The need and need-gap formulas as pages word them (a message of the pages' catalogue):
#: ``{name}`` placeholders are the values of :func:`need_formula_values`.
NEED_FORMULA = (
    "ニーズ（0〜100）= 100 × Σ 重み × 順位(指標) / Σ 重み。指標と重み: "
    "単独世帯の割合 {single_household_share}、一人暮らしの高齢者の割合 {older_alone_share}、"
    "子どもの割合 {children_share}、外国人の割合 {foreign_share}"
    "（順位は同じ階層の区域内の百分位、令和2年国勢調査）。"
    "供給（0〜1）= ({reach} × {reach_distance}以内の住民の割合 + {access} × "
    "順位(2SFCA アクセス)) / {supply_total}。"
    "ニーズとのギャップ = ニーズ × (1 − 供給)。"
)


def need_formula_values(cfg: CoverageConfig) -> dict[str, str]:
    """The configured weights :data:`NEED_FORMULA` names, as written (1, 0.5, 1km)."""
    w, g = cfg.need, cfg.need_gap
    return {
        "single_household_share": f"{w.single_household_share:g}",
        "older_alone_share": f"{w.older_alone_share:g}",
        "children_share": f"{w.children_share:g}",
        "foreign_share": f"{w.foreign_share:g}",
        "reach": f"{g.reach:g}",
        "reach_distance": str(g.reach_distance),
        "access": f"{g.access:g}",
        "supply_total": f"{g.reach + g.access:g}",
    }


def need_formula(cfg: CoverageConfig) -> str:
    """The need and need-gap formulas with the configured weights, in Japanese."""
    return NEED_FORMULA.format(**need_formula_values(cfg))
