"""What the pages show, read from the published layers: one :class:`SiteData` per build.

The maps only ever see the public layer file (``data/build/layers.gpkg``, written by
``tsunagari-geo build``): hidden and unpublished activities are not in it and no point in it is
more precise than its row's privacy allows. This module adds what the pages need on top of it:
the vocabulary (labels of every code), the dashboard's metrics with their class breaks, the
table the planners download, the municipality page's figures and the compact town index the
static site searches addresses in.

Example::

    >>> data = SiteData.open("data/build/layers.gpkg", "data/build/tsunagari.gpkg")  # doctest: +SKIP
    >>> data.table("municipalities").shape  # doctest: +SKIP
    (63, 24)
"""

from __future__ import annotations

import ast
import datetime
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tsunagari_geo.activities.contact import LANGUAGES
from tsunagari_geo.activities.taxonomy import load_taxonomies
from tsunagari_geo.analysis.classes import class_breaks
from tsunagari_geo.analysis.config import CoverageConfig, load_coverage_config
from tsunagari_geo.cells import parse_yes_no
from tsunagari_geo.errors import StoreError
from tsunagari_geo.geocode.labels import STATUS_LABELS
from tsunagari_geo.layers.published import LayerSet
from tsunagari_geo.maps.i18n import Gettext, gettext_for, translate_labels
from tsunagari_geo.reference.attribution import REFERENCE_ATTRIBUTION
from tsunagari_geo.region import Region
from tsunagari_geo.store import Store, open_layers, open_store
from tsunagari_geo.text import JST, japanese_datetime

FORMAT_LABELS = {"in_person": "対面", "online": "オンライン", "phone": "電話", "outreach": "訪問"}
CHANNEL_LABELS = {
    "phone": "電話",
    "sns_chat": "SNS・チャット",
    "email": "メール",
    "in_person": "対面",
    "online": "オンライン",
}
#: One colour per theme (in the taxonomy's order), distinguishable on a light background and
#: each at least 4.5:1 against the white letter on the marker (WCAG 1.4.3).
THEME_COLOURS = (
    "#e6194b",
    "#00695c",
    "#b34700",
    "#4363d8",
    "#911eb4",
    "#6d6d00",
    "#9a6324",
    "#800000",
    "#616161",
    "#000075",
    "#c0007a",
    "#2f7d32",
    "#5d4037",
)
#: The letter on a theme's marker and in the legend: one distinct letter per theme, since
#: first characters collide (子育て and 子ども・不登校 both start with 子). A theme missing here
#: falls back to its first character.
THEME_MARKS = {
    "ibasho": "居",
    "consultation": "相",
    "childcare": "育",
    "children_school": "学",
    "youth": "若",
    "hikikomori": "ひ",
    "elderly": "高",
    "disability": "障",
    "poverty_food": "食",
    "employment": "就",
    "foreign_residents": "外",
    "community": "地",
    "awareness_training": "啓",
}
#: Rows of the public layers are drawn where their privacy allows; this is the note for each.
PRIVACY_NOTES = {
    "town": "場所は町字（大字・町丁目）の代表点に表示しています。正確な場所は団体にお問い合わせください。",
    "municipality": "場所は市町村の代表点に表示しています。正確な場所は団体にお問い合わせください。",
}
#: The census year of the denominators when a store does not record it (令和2年国勢調査).
CENSUS_YEAR = 2020
#: Gap flags of the coverage layers (``tsunagari_geo.analysis.coverage``) → Japanese label.
FLAG_LABELS = {
    "flag_no_inperson": "対面の活動なし",
    "flag_stage_missing": "活動のないライフステージあり",
    "flag_low_density": "活動密度が県内下位",
    "flag_low_reach": "町字到達率が低い",
    "flag_not_member": "市町村が未加入",
}
#: Columns of the planners' table besides the flags, in order, with their Japanese headers.
TABLE_COLUMNS = (
    ("gap_rank", "順位"),
    ("gap_score", "ギャップスコア"),
    ("pop_total", "人口"),
    ("inperson_total", "対面の活動"),
    ("ward_unknown_inperson", "区不明の対面の活動（市全体）"),
    ("remote_total", "遠隔で使える活動"),
    ("inperson_per10k", "1万人あたり活動数"),
    ("reach_1km", "町字到達率 1km"),
    ("reach_2km", "町字到達率 2km"),
    ("median_nearest_m", "最寄り活動までの距離 中央値(m)"),
    ("pop_reach_500m", "住民到達率 500m（小地域人口）"),
    ("pop_reach_1km", "住民到達率 1km（小地域人口）"),
    ("pop_reach_2km", "住民到達率 2km（小地域人口）"),
    ("access_2sfca", "アクセス指標 2SFCA（1万人あたり）"),
    ("need_score", "ニーズ（0〜100）"),
    ("need_gap_score", "ニーズとのギャップ（0〜100）"),
    ("need_gap_rank", "ニーズとのギャップ順位"),
    ("orgs_total", "拠点のある会員団体"),
    ("stages_missing", "活動のないライフステージ"),
    ("spread_themes", "横展開できる好事例のテーマ"),
)
#: Kinds of member organisations counted on the municipality page.
ORG_KIND_LABELS = {
    "government": "行政",
    "npo": "NPO等",
    "shakyo": "社協",
    "company": "企業・業界団体",
    "other": "その他",
}
#: Layer names of the coverage frames → the level names the analysis uses in class_breaks.
LEVEL_KEYS = {"municipalities": "municipality", "units": "unit"}


@dataclass(frozen=True)
class Metric:
    """A choropleth variable: column, Japanese label, unit and class breaks (upper bounds)."""

    column: str
    label: str
    unit: str
    breaks: tuple[float, ...]
    higher_is_worse: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "label": self.label,
            "unit": self.unit,
            "breaks": list(self.breaks),
            "higher_is_worse": self.higher_is_worse,
        }


@dataclass(frozen=True)
class SiteData:
    """The public layers the pages are built from (every frame in EPSG:4326).

    ``extras`` holds the planners' aggregate tables the municipality page shows (matching
    ``suggestions`` and 横展開 ``spread``): they name organisations and areas, never an
    activity's point or fields, and are left out when ``None``.
    """

    layers: dict[str, gpd.GeoDataFrame]
    store: Store
    attribution: tuple[str, ...] = REFERENCE_ATTRIBUTION
    meta: dict[str, str] = field(default_factory=dict)
    extras: dict[str, pd.DataFrame] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def open(
        cls,
        layers_path: Path | str,
        store_path: Path | str,
        planner_path: Path | str | None = None,
    ) -> SiteData:
        """Read the public layer file, the reference store and (optionally) the planners'
        suggestion tables.

        Raises StoreError (naming the file) when a file is missing or broken.
        """
        public = open_layers(layers_path, "public")
        planner = open_layers(planner_path, "planner") if planner_path else None
        return cls.from_layer_sets(public, open_store(store_path), planner)

    @classmethod
    def from_layer_sets(
        cls, public: LayerSet | None, store: Store, planner: LayerSet | None = None
    ) -> SiteData:
        """Wrap layer files already opened (as the service holds them).

        Only ``suggestions``, ``spread`` and ``plan`` (where new places would reach the most
        residents: small areas' points, no activity) are taken from ``planner``; its
        activities never.
        """
        if public is not None and public.kind != "public":
            raise StoreError("maps are built from the public layers only", path=public.path)
        extras: dict[str, pd.DataFrame] = {}
        if planner is not None:
            for name in ("suggestions", "spread"):
                if name in planner.frames:
                    extras[name] = pd.DataFrame(planner.frames[name]).drop(
                        columns="geometry", errors="ignore"
                    )
            if "plan" in planner.frames:
                plan = planner.frames["plan"]
                extras["plan"] = pd.DataFrame(plan.drop(columns="geometry")).assign(
                    lng=plan.geometry.x.round(6).to_numpy(), lat=plan.geometry.y.round(6).to_numpy()
                )
        lines = tuple(
            dict.fromkeys((*REFERENCE_ATTRIBUTION, *(public.attribution if public else [])))
        )
        return cls(
            layers=dict(public.frames) if public else {},
            store=store,
            attribution=lines,
            meta=dict(public.meta) if public else {},
            extras=extras,
        )

    @property
    def built_at(self) -> str:
        """When the layers were built, in JST and in Japanese (「2026年12月2日 4:39」), or ""."""
        return japanese_datetime(self.meta.get("built_at", "")) if self.meta.get("built_at") else ""

    def built_at_in(self, lang: str) -> str:
        """When the layers were built, in JST, as ``lang`` writes a date (English:
        「2 December 2026, 4:39 JST」; otherwise :attr:`built_at`), or ""."""
        value = self.meta.get("built_at", "")
        if lang != "en" or not value:
            return self.built_at
        try:
            instant = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=datetime.UTC)
        local = instant.astimezone(JST)
        return f"{local.day} {local:%B %Y}, {local.hour}:{local:%M} JST"

    @cached_property
    def coverage_config(self) -> CoverageConfig:
        """The coverage settings the build used (recorded in the layers' metadata), else the
        shipped ``coverage.toml`` (layers built before the build recorded them)."""
        recorded = self.meta.get("coverage_config")
        return CoverageConfig.from_json(recorded) if recorded else load_coverage_config()

    def small_area_reach(self, distance: str = "1km") -> dict[str, Any] | None:
        """Residents of the census small areas and how many have no in-person activity within
        ``distance`` (from the public layer's ``pop_reach_<distance>``), or None before a
        build with small areas. Keys: population, without, share_without, areas_without."""
        frame = self.layers.get("small_areas")
        column = f"pop_reach_{distance}"
        if frame is None or column not in frame.columns:
            return None
        pop = pd.to_numeric(frame["population"], errors="coerce").fillna(0)
        without = (pd.to_numeric(frame[column], errors="coerce") == 0) & (pop > 0)
        total = int(pop.sum())
        return {
            "population": total,
            "without": int(pop[without].sum()),
            "share_without": float(pop[without].sum() / total) if total else 0.0,
            "areas_without": int(without.sum()),
        }

    def plan(self, lang: str = "ja") -> list[dict[str, Any]]:
        """The build's plan (planners' file, loaded only where the pages show planners'
        tables): order, unit and small-area name, newly reached and running total, point."""
        frame = self.extras.get("plan")
        if frame is None:
            return []
        names = self.store.region.registry.by_code
        rows = []
        for record in frame.sort_values("order").to_dict("records"):
            unit = names.get(str(record.get("unit_code")))
            rows.append(
                {
                    "order": int(record["order"]),
                    "area": unit.name_in(lang) if unit is not None else "",
                    "name": str(record.get("name") or record.get("candidate") or ""),
                    "newly_reached": int(record["newly_reached"]),
                    "running_total": int(record["running_total"]),
                    "lat": float(record["lat"]),
                    "lng": float(record["lng"]),
                    "radius_m": float(record.get("radius_m", 0) or 0),
                    "unreached": int(record.get("unreached", 0) or 0),
                }
            )
        return rows

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """A public layer by name; municipalities and units fall back to the store's
        (boundaries and population, without coverage) before the first build.

        Raises StoreError when another layer was not built.
        """
        if name in self.layers:
            return self.layers[name]
        if name == "municipalities":
            return self.store.municipalities
        if name == "units":
            return self.store.units
        raise StoreError(f"layer {name!r} is not in the published layers; run the build")

    @cached_property
    def vocabulary(self) -> dict[str, Any]:
        """Code → Japanese label for every code a page shows, plus the theme colours."""
        vocab = vocabulary(self.store.region)
        year = self.store.meta.get("census_year") or ""
        vocab["census_year"] = int(year) if year.isdigit() and int(year) else CENSUS_YEAR
        return vocab

    def gap_breaks(self, level: str) -> list[float] | None:
        """The analysis' own gap-score class breaks for a layer, if the build recorded them."""
        text = self.meta.get("class_breaks")
        if not text:
            return None
        try:
            recorded = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return None
        breaks = recorded.get(LEVEL_KEYS.get(level, level)) if isinstance(recorded, dict) else None
        return [float(b) for b in breaks] if breaks else None

    def metrics(
        self, level: str, scheme: str = "FisherJenks", k: int = 5, lang: str = "ja"
    ) -> list[Metric]:
        """The dashboard's choropleth variables for ``municipalities`` or ``units``, labelled
        in ``lang`` (the class breaks are the same in every language)."""
        key = f"metrics:{level}:{scheme}:{k}:{lang}"
        if key not in self._cache:
            tr = gettext_for(lang)
            self._cache[key] = dashboard_metrics(
                self.layer(level),
                translated_vocabulary(self.vocabulary, tr, self.store.region, lang),
                scheme,
                k,
                self.gap_breaks(level),
                tr,
            )
        return list(self._cache[key])

    def table(self, level: str) -> pd.DataFrame:
        """The planners' table for ``municipalities`` (63) or ``units`` (72), without geometry,
        with Japanese headers as in the downloads: コード, 名称, then the dashboard's columns
        and one column per gap flag (● when flagged)."""
        frame = self.layer(level)
        out = pd.DataFrame({"コード": frame["code"].astype(str).to_numpy()})
        for column in table_columns(frame):
            values = frame[column["key"]]
            if column["type"] == "flag":
                values = values.map(_flag_text)
            elif column["type"] == "number":
                values = pd.to_numeric(values, errors="coerce").round(3)
            out[column["label"]] = values.to_numpy()
        return out

    def municipality_names(self, lang: str = "ja") -> dict[str, str]:
        """63-level code → name in ``lang`` (郡 prefixed for towns and villages in Japanese,
        the registry's ``name_en`` in English: :meth:`Municipality.name_in`)."""
        return municipality_names(self.store.region, lang)

    def town_index(self) -> dict[str, Any]:
        """The static site's address search index, generated from the store's geocoder.

        What the server's ``/geocode`` answers for every written form of the municipalities
        and towns, with the character folding as tables (see
        :func:`tsunagari_geo.maps.search_index.build_search_index`); built once per SiteData.
        """
        if "town_index" not in self._cache:
            # Imported here: only the static site needs the geocoder, not the service's pages.
            from tsunagari_geo.geocode import Geocoder
            from tsunagari_geo.maps.search_index import build_search_index

            self._cache["town_index"] = build_search_index(Geocoder.from_store(self.store))
        return dict(self._cache["town_index"])

    def municipality_report(self, code: str, lang: str = "ja") -> dict[str, Any]:
        """Everything the municipality page shows for a 63-level ``code``.

        Labels are in ``lang``; member-entered text (names, organisations) stays as entered.
        Keys: code, name, metrics (label, value, unit), flags, matrix (theme × life stage counts
        of the published activities there), organizations (members with a published activity
        there, and counts by kind of members based there), neighbours (nearest published
        in-person activities in neighbouring municipalities), suggestions, spread and
        good_practices. Raises KeyError for an unknown code.
        """
        municipalities = self.layer("municipalities")
        match = municipalities[municipalities["code"].astype(str) == code]
        if match.empty:
            raise KeyError(code)
        row = match.iloc[0]
        activities = self.layers.get("activities", _empty_points())
        own = (
            activities[activities["muni_code"].astype(str) == code]
            if "muni_code" in activities.columns
            else activities[:0]
        )
        tr = gettext_for(lang)
        return {
            "code": code,
            "name": self.municipality_names(lang).get(code, str(row["name"])),
            "metrics": [
                (m.label, _plain(row.get(m.column)), m.unit)
                for m in self.metrics("municipalities", lang=lang)
                if not _is_stage_reach(m.column)
            ],
            "flags": [
                tr(label)
                for column, label in flag_columns(municipalities).items()
                if _truthy(row[column])
            ],
            "stages_missing": _translated_list(_plain(row.get("stages_missing")) or "", tr, lang),
            "matrix": theme_stage_matrix(own, self.vocabulary),
            "organizations": [
                {**o, "kind": tr(o["kind"]) if o["kind"] else ""} for o in _organizations(own)
            ],
            "org_counts": {
                tr(label): _plain(row.get(f"orgs_{key}"))
                for key, label in ORG_KIND_LABELS.items()
                if f"orgs_{key}" in row.index
            },
            "neighbours": self._neighbour_activities(code, municipalities, activities, lang),
            "suggestions": [
                self._in_language(s, lang, tr) for s in self._extra("suggestions", code)
            ],
            "spread": [self._in_language(s, lang, tr) for s in self._extra("spread", code)],
            "good_practices": _records(self.layers.get("good_practices"), "muni_code", code),
        }

    def _in_language(self, record: dict[str, Any], lang: str, tr: Gettext) -> dict[str, Any]:
        """A planners' row (suggestion or 横展開) with the labels the analysis wrote in Japanese
        read again from its codes in ``lang``: the need or theme label from the taxonomies
        (through the catalogue), area names from the registry, the member kind's label."""
        out = dict(record)
        vocab = self.vocabulary
        if "need_code" in out:
            table = vocab["themes"] if out.get("need_kind") == "theme" else vocab["life_stages"]
            out["need_label"] = tr(table.get(out["need_code"], str(out.get("need_label", ""))))
        if "theme" in out and "theme_label" in out:
            out["theme_label"] = tr(vocab["themes"].get(out["theme"], str(out["theme_label"])))
        names = self.store.region.registry.by_code
        for column in ("area", "provider_area"):
            unit = names.get(str(out.get(f"{column}_code", "")))
            if unit is not None and f"{column}_name" in out:
                out[f"{column}_name"] = unit.name_in(lang)
        if out.get("organization_kind"):
            out["organization_kind"] = tr(str(out["organization_kind"]))
        return out

    def _extra(self, name: str, code: str) -> list[dict[str, Any]]:
        frame = self.extras.get(name)
        if frame is None or "area_code" not in frame.columns:
            return []
        if "level" in frame.columns:
            frame = frame[frame["level"].astype(str) == "municipality"]
        return _records(frame, "area_code", code)

    def _neighbour_activities(
        self,
        code: str,
        municipalities: gpd.GeoDataFrame,
        activities: gpd.GeoDataFrame,
        lang: str = "ja",
        n: int = 10,
    ) -> list[dict[str, Any]]:
        """The ``n`` published in-person activities of neighbouring municipalities nearest to
        this one's boundary (distances in the region's metric CRS)."""
        if activities.empty or "muni_code" not in activities.columns:
            return []
        shapes = gpd.GeoSeries(
            municipalities.geometry.to_numpy(),
            index=municipalities["code"].astype(str).to_numpy(),
            crs=municipalities.crs,
        ).to_crs(self.store.region.metric_crs)
        own = shapes[code]
        neighbours = shapes.index[shapes.intersects(own) & (shapes.index != code)]
        candidates = activities[activities["muni_code"].astype(str).isin(neighbours)]
        if "format" in candidates.columns:
            candidates = candidates[candidates["format"].isin(["in_person", "outreach"])]
        candidates = candidates[candidates.geometry.notna()]
        if candidates.empty:
            return []
        distances = shapely.distance(
            candidates.geometry.to_crs(self.store.region.metric_crs).to_numpy(), own
        )
        order = np.argsort(distances, kind="stable")[:n]
        names = self.municipality_names(lang)
        themes = translate_labels(self.vocabulary["themes"], gettext_for(lang))
        out = []
        for i in order:
            record = candidates.iloc[int(i)]
            out.append(
                {
                    "id": str(record.get("id", "")),
                    "name": str(record.get("name", "")),
                    "organization": str(record.get("organization_name") or ""),
                    "municipality": names.get(str(record["muni_code"]), str(record["muni_code"])),
                    "themes": [themes.get(t, t) for t in _as_list(record.get("themes"))],
                    "distance_km": round(float(distances[i]) / 1000, 1),
                }
            )
        return out


def _translated_list(text: str, tr: Gettext, lang: str) -> str:
    """Labels the analysis joined by 、 (``stages_missing``), each through the catalogue,
    joined as ``lang`` writes a list."""
    if not text:
        return ""
    return (", " if lang == "en" else "、").join(tr(label) for label in text.split("、"))


def _as_list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _organizations(activities: pd.DataFrame) -> list[dict[str, str]]:
    """Member organisations with a published activity in ``activities``, by name."""
    if activities.empty or "organization_name" not in activities.columns:
        return []
    kinds = (
        activities["organization_kind"]
        if "organization_kind" in activities.columns
        else pd.Series("", index=activities.index)
    )
    pairs = sorted(
        {
            (str(n), str(k or ""))
            for n, k in zip(activities["organization_name"], kinds, strict=True)
            if isinstance(n, str) and n
        }
    )
    return [{"name": n, "kind": k} for n, k in pairs]


def _records(frame: pd.DataFrame | None, column: str, code: str) -> list[dict[str, Any]]:
    if frame is None or column not in frame.columns:
        return []
    rows = frame[frame[column].astype(str) == code]
    return [
        {str(k): _plain(v) for k, v in r.items() if k != "geometry"}
        for r in rows.to_dict("records")
    ]


def vocabulary(region: Region) -> dict[str, Any]:
    """Labels of every code the pages show (themes, life stages, ``region``'s municipalities …)
    and the theme colours."""
    tax = load_taxonomies()
    themes = tax.themes.labels
    return {
        "themes": themes,
        "life_stages": tax.life_stages.labels,
        "denominators": tax.life_stages.denominator_labels,
        "census_year": CENSUS_YEAR,
        "circumstances": tax.circumstances.labels,
        "formats": FORMAT_LABELS,
        "channels": CHANNEL_LABELS,
        "theme_colours": {
            code: THEME_COLOURS[i % len(THEME_COLOURS)] for i, code in enumerate(themes)
        },
        "theme_marks": theme_marks(themes),
        "municipalities": municipality_names(region),
        "privacy_notes": PRIVACY_NOTES,
        "languages": LANGUAGES,
    }


def municipality_names(region: Region, lang: str = "ja") -> dict[str, str]:
    """63-level code → the name pages in ``lang`` show: place names are data, read from the
    registry (``name_en`` in English, the Japanese name where it has none, and in
    やさしい日本語), never from the catalogue."""
    return {m.code: m.name_in(lang) for m in region.registry.municipalities_63}


#: The vocabulary's tables of labels a language translates through the catalogue
#: (municipality names are place names: :func:`municipality_names` reads them in a language).
TRANSLATED_TABLES = (
    "themes",
    "life_stages",
    "denominators",
    "circumstances",
    "formats",
    "channels",
    "privacy_notes",
    "languages",
)


def translated_vocabulary(
    vocab: dict[str, Any], tr: Gettext, region: Region, lang: str = "ja"
) -> dict[str, Any]:
    """:func:`vocabulary` with its labels in the language of ``_`` (a gettext) and its
    municipality names in ``lang``, plus
    ``status_labels``: the geocoder's statuses in words (``geocode/labels.py``, through the
    same catalogue), which the map's search shows beside a result short of a town."""
    out = dict(vocab)
    for name in TRANSLATED_TABLES:
        if name in out:
            out[name] = translate_labels(out[name], tr)
    if "municipalities" in out:
        out["municipalities"] = municipality_names(region, lang)
    if "theme_marks" in out:
        out["theme_marks"] = _distinct_marks(translate_labels(out["theme_marks"], tr))
    pref = tr(region.pref_name)
    out["status_labels"] = {
        code: tr(template).format(pref=pref) for code, template in STATUS_LABELS.items()
    }
    return out


def _is_stage_reach(column: str) -> bool:
    """A town-reach metric of one life stage (``reach_1km_children``): the dashboard offers it,
    the municipality page keeps to the overall reach. Decided on the column, never the label
    (labels of life stages contain 「・」 too: 妊産婦・乳幼児期)."""
    return column.startswith("reach_") and not column.endswith("km")


def theme_marks(themes: dict[str, str]) -> dict[str, str]:
    """Theme code → the one letter its markers show; raises ValueError if two would share one."""
    return _distinct_marks(
        {code: THEME_MARKS.get(code, label[:1]) for code, label in themes.items()}
    )


def _distinct_marks(marks: dict[str, str]) -> dict[str, str]:
    """``marks`` itself; raises ValueError if two themes would show one letter (in any
    language: the catalogue translates the letters too)."""
    seen: dict[str, str] = {}
    for code, mark in marks.items():
        if mark in seen:
            raise ValueError(
                f"themes {seen[mark]} and {code} would both show 「{mark}」 on the map"
            )
        seen[mark] = code
    return marks


def _identity(text: str) -> str:
    return text


def dashboard_metrics(
    frame: pd.DataFrame,
    vocab: dict[str, Any],
    scheme: str = "FisherJenks",
    k: int = 5,
    gap_breaks: Sequence[float] | None = None,
    _: Callable[[str], str] = _identity,
) -> list[Metric]:
    """The choropleth variables a coverage layer offers, each with mapclassify class breaks.

    The gap score comes first (with ``gap_breaks``, the analysis' own classes, when given),
    then activities per 10,000 residents overall and per life stage (``inperson_per10k``,
    ``stage_<code>_per10k``), then town reach (``reach_1km``, ``reach_2km`` and per stage).
    Columns absent from the layer are simply not offered. Labels are in the language of
    ``_`` (a gettext; Japanese when omitted), with the labels of ``vocab`` as they are.
    """
    stages: dict[str, str] = vocab["life_stages"]
    denominators: dict[str, str] = vocab.get("denominators", {})
    year = vocab.get("census_year", CENSUS_YEAR)
    rate = _("件/1万人")
    share = _("割合（0〜1）")
    points = _("点（0〜100）")
    candidates: list[tuple[str, str, str, bool]] = [
        ("gap_score", _("ギャップスコア"), points, True)
    ]
    candidates.append(
        (
            "inperson_per10k",
            _("1万人あたり対面の活動数（全体・分母: 総人口、{year}年国勢調査）").format(year=year),
            rate,
            False,
        )
    )
    for code, label in stages.items():
        base = denominators.get(code, "")
        if base:
            text = _("1万人あたり対面の活動数（{stage}・分母: {base}、{year}年国勢調査）")
        else:
            text = _("1万人あたり対面の活動数（{stage}）")
        candidates.append(
            (f"stage_{code}_per10k", text.format(stage=label, base=base, year=year), rate, False)
        )
    for km in (1, 2):
        candidates.append(
            (f"reach_{km}km", _("町字到達率（{km}km以内・全体）").format(km=km), share, False)
        )
        for code, label in stages.items():
            candidates.append(
                (
                    f"reach_{km}km_{code}",
                    _("町字到達率（{km}km以内・{stage}）").format(km=km, stage=label),
                    share,
                    False,
                )
            )
    candidates += _people_and_need_metrics(year, _)
    metrics = []
    for column, label, unit, worse in candidates:
        if column not in frame.columns:
            continue
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        if column == "gap_score" and gap_breaks:
            breaks = tuple(round(float(b), 3) for b in gap_breaks)
        else:
            breaks = class_breaks(values, scheme, k)
        metrics.append(Metric(column, label, unit, breaks, worse))
    return metrics


def _people_and_need_metrics(
    year: int, _: Callable[[str], str] = _identity
) -> list[tuple[str, str, str, bool]]:
    """Reach in people, 2SFCA, need and the need gap (columns a layer may lack)."""
    from tsunagari_geo.analysis.need import INDICATOR_LABELS

    tr = _  # the indicators' labels are decided in analysis/need.py

    source = _("{year}年国勢調査").format(year=year)
    points = _("点（0〜100）")
    share = _("割合（0〜1）")
    out: list[tuple[str, str, str, bool]] = [
        (
            "need_gap_score",
            _("ニーズとのギャップ（ニーズ×(1−供給)、{source}）").format(source=source),
            points,
            True,
        ),
        ("need_score", _("ニーズ（{source}の4指標）").format(source=source), points, True),
    ]
    for column, label in INDICATOR_LABELS.items():
        out.append(
            (column, _("{label}、{source}").format(label=tr(label), source=source), share, True)
        )
    for name in ("500m", "1km", "2km"):
        out.append(
            (
                f"pop_reach_{name}",
                _(
                    "住民到達率（{distance}以内に対面の活動がある住民の割合・分母: 小地域の人口、{source}）"
                ).format(distance=name, source=source),
                share,
                False,
            )
        )
    out.append(
        (
            "access_2sfca",
            _("アクセス指標 2SFCA（住民1万人あたりの活動・距離減衰あり、{source}）").format(
                source=source
            ),
            _("件/1万人"),
            False,
        )
    )
    return out


def flag_columns(frame: pd.DataFrame) -> dict[str, str]:
    """Gap-flag columns present in a coverage layer → Japanese label."""
    return {c: label for c, label in FLAG_LABELS.items() if c in frame.columns}


def table_columns(frame: pd.DataFrame) -> list[dict[str, str]]:
    """The planners' table columns present in a coverage layer: key, Japanese label, type."""
    out = [{"key": "name", "label": "名称", "type": "text"}]
    for column, label in TABLE_COLUMNS:
        if column in frame.columns:
            numeric = pd.api.types.is_numeric_dtype(frame[column])
            out.append({"key": column, "label": label, "type": "number" if numeric else "text"})
    for column, label in flag_columns(frame).items():
        out.append({"key": column, "label": label, "type": "flag"})
    return out


def theme_stage_matrix(activities: pd.DataFrame, vocab: dict[str, Any]) -> dict[str, Any]:
    """Counts of activities by theme (rows) × life stage (columns), every code present."""
    themes = list(vocab["themes"])
    stages = list(vocab["life_stages"])
    counts = {t: dict.fromkeys(stages, 0) for t in themes}
    for row_themes, row_stages in zip(
        activities.get("themes", pd.Series([], dtype=object)),
        activities.get("life_stages", pd.Series([], dtype=object)),
        strict=True,
    ):
        for t in _as_list(row_themes):
            for s in _as_list(row_stages):
                if t in counts and s in counts[t]:
                    counts[t][s] += 1
    return {"themes": themes, "stages": stages, "counts": counts}


def _empty_points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": []}, geometry=gpd.GeoSeries([], crs=4326))


def _truthy(value: Any) -> bool:
    # A flag the build wrote: a boolean, 0/1, or empty (not flagged).
    return bool(parse_yes_no(value))


def _flag_text(value: Any) -> str:
    return "●" if _truthy(value) else ""


def _plain(value: Any) -> Any:
    """A value as plain JSON-ready Python (numpy scalars unwrapped, NaN as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    return value
