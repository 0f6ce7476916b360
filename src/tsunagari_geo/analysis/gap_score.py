"""Gap flags and the gap score (0–100) of each area, weights and thresholds from the config."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsunagari_geo.activities.taxonomy import ALL_AGES, Taxonomies
from tsunagari_geo.analysis.config import CoverageConfig


def add_flags_and_score(table: pd.DataFrame, tax: Taxonomies, cfg: CoverageConfig) -> None:
    stages = [s for s in tax.life_stages.codes if s != ALL_AGES]
    labels = tax.life_stages.labels
    missing = table[[f"stage_{s}" for s in stages]].to_numpy() == 0
    table["flag_no_inperson"] = table["inperson_total"] == 0
    table["flag_stage_missing"] = missing.any(axis=1)
    table["stages_missing"] = [
        "、".join(labels[s] for s, m in zip(stages, row, strict=True) if m) for row in missing
    ]
    density = table["inperson_per10k"].astype(float)
    # At-or-below the quantile: adding an activity raises the area's density by δ and the
    # quantile by at most δ, so an unflagged area never becomes flagged by gaining one.
    threshold = float(np.nanquantile(density, cfg.thresholds.density_quantile))
    table["flag_low_density"] = (density <= threshold).to_numpy()
    reach = table[f"reach_{cfg.thresholds.reach_distance_m // 1000}km"].astype(float)
    share = cfg.thresholds.reach_share
    table["flag_low_reach"] = (reach < share).fillna(False).to_numpy(dtype=bool)
    table["flag_not_member"] = ~table["government_member"].astype(bool)
    flags = ["flag_no_inperson", "flag_stage_missing", "flag_low_density", "flag_low_reach"]
    table["flag_count"] = table[[*flags, "flag_not_member"]].sum(axis=1).astype(int)

    w = cfg.weights
    components = {
        "no_inperson": table["flag_no_inperson"].astype(float),
        "life_stage_missing": pd.Series(missing.mean(axis=1), index=table.index),
        "low_density": table["flag_low_density"].astype(float),
        "low_reach": ((share - reach.fillna(share)) / share).clip(lower=0, upper=1),
        "not_member": table["flag_not_member"].astype(float),
    }
    weights = w.model_dump()
    total = sum(weights.values())
    score = sum(weights[name] * value for name, value in components.items()) / total * 100
    table["gap_score"] = pd.Series(score, index=table.index).round(1)
    table["gap_rank"] = table["gap_score"].rank(ascending=False, method="min").astype(int)


#: The gap score's formula as pages word it (a message of the pages' catalogue, translated
#: where it is shown): ``{name}`` placeholders are the values of :func:`gap_formula_values`.
GAP_FORMULA = (
    "ギャップスコア（0〜100）= 100 × Σ 重み × 要素 / Σ 重み。要素と重み: "
    "対面の活動なし {no_inperson}、活動のないライフステージの割合 {life_stage_missing}、"
    "活動密度が県内下位{density_quantile}以下 {low_density}、"
    "町字到達率（{reach_km}km以内）が {reach_share}未満 {low_reach}、市町村が未加入 {not_member}。"
)


def gap_formula_values(cfg: CoverageConfig) -> dict[str, str]:
    """The configured weights and thresholds :data:`GAP_FORMULA` names, as written (30, 25%)."""
    w, t = cfg.weights, cfg.thresholds
    return {
        "no_inperson": f"{w.no_inperson:g}",
        "life_stage_missing": f"{w.life_stage_missing:g}",
        "density_quantile": f"{t.density_quantile:.0%}",
        "low_density": f"{w.low_density:g}",
        "reach_km": f"{t.reach_distance_m / 1000:g}",
        "reach_share": f"{t.reach_share:.0%}",
        "low_reach": f"{w.low_reach:g}",
        "not_member": f"{w.not_member:g}",
    }


def gap_formula(cfg: CoverageConfig) -> str:
    """The gap score's formula with the configured weights and thresholds, in Japanese."""
    return GAP_FORMULA.format(**gap_formula_values(cfg))
