"""The pipeline build: input tables → geocode → join → coverage → the published layer files.

``build_layers`` reads the organisations, activities, consultation windows (相談窓口) and good
practices (好事例), geocodes every activity address (rows without coordinates get their point
from it; every row gets its town, 町字, for the privacy rules), joins points to units,
computes coverage, and writes two GeoPackages and their manifest as one set (all three or
none; see :mod:`tsunagari_geo.store.manifest`):

* the public file (``data/build/layers.gpkg``): ``activities`` (public view),
  ``consultations``, ``good_practices``, ``municipalities``, ``units`` and ``small_areas``
  (census small areas, 小地域, with their reach and 2SFCA; coverage computed from the public
  view only: every count, share and score there is what the public list of activities
  accounts for, so no comparison of public layers recovers a withheld activity);
* the planners' file (``data/build/planner.gpkg``): ``activities`` (every row, exact point),
  ``municipalities``, ``units`` and ``small_areas`` (the full figures, every activity
  counted), ``suggestions`` and ``spread`` (matching suggestions and 横展開 candidates) and
  ``plan`` (where N new places would reach the most residents, ``[plan]`` of the settings),
  which are computed from every activity, hidden ones included.

The public file's metadata records the coverage settings the build used
(``coverage_config``, JSON), so a page explains the formulas of the figures it shows.

Invalid input rows are kept out and listed in the validation reports, never silently fixed.

Example::

    >>> report = build_layers(store, inputs=BuildInputs.samples(), out=Path("data/build/layers.gpkg"))
    >>> report.counts["activities"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tsunagari_geo.activities.contact import tel_uri
from tsunagari_geo.activities.models import Vocabulary
from tsunagari_geo.activities.readers import (
    GOOD_PRACTICES_CSV,
    ReadResult,
    ValidationReport,
    read_activities,
    read_consultations,
    read_good_practices,
    read_organizations,
)
from tsunagari_geo.activities.taxonomy import load_taxonomies
from tsunagari_geo.analysis.config import CoverageConfig, load_coverage_config
from tsunagari_geo.analysis.coverage import CoverageResult, compute_coverage
from tsunagari_geo.analysis.placement import LOCATING, placed_point
from tsunagari_geo.analysis.plan import Plan, plan_from_store
from tsunagari_geo.errors import InputError
from tsunagari_geo.geocode import Geocoder
from tsunagari_geo.layers.paths import DEFAULT_LAYERS, DEFAULT_PLANNER_LAYERS
from tsunagari_geo.layers.privacy import (
    PrivacyReport,
    locate_activities,
    planner_activities,
    public_activities,
)
from tsunagari_geo.layers.public_ids import key_path, load_or_create_key, public_ids
from tsunagari_geo.layers.published import write_layer_set
from tsunagari_geo.reference.attribution import REFERENCE_ATTRIBUTION, SMALL_AREA_ATTRIBUTION
from tsunagari_geo.resources import SAMPLES_DIR
from tsunagari_geo.store import Store

SAMPLES = SAMPLES_DIR


@dataclass(frozen=True)
class BuildInputs:
    """The input tables (CSV, XLSX or GeoJSON). Consultations and good practices optional."""

    organizations: Path
    activities: Path
    consultations: Path | None = None
    good_practices: Path | None = None

    @classmethod
    def samples(cls, folder: Path = SAMPLES) -> BuildInputs:
        """The fictional sample dataset in ``data/samples`` and the real good practices."""
        consultations = folder / "consultations.csv"
        return cls(
            organizations=folder / "organizations.csv",
            activities=folder / "activities.csv",
            consultations=consultations if consultations.exists() else None,
            good_practices=None,  # read_good_practices() defaults to data/good_practices.csv
        )


@dataclass
class BuildReport:
    """What the build read, kept, dropped and wrote."""

    public_path: Path
    planner_path: Path
    validation: list[ValidationReport] = field(default_factory=list)
    privacy: PrivacyReport | None = None
    counts: dict[str, int] = field(default_factory=dict)
    geocode_status: dict[str, int] = field(default_factory=dict)
    unlocated_for_coverage: int = 0
    #: The written set's version (its manifest's), as the service reports it.
    version: str = ""


def _require(result: ReadResult, what: str) -> gpd.GeoDataFrame:
    if result.report.rows_read and not result.report.rows_valid:
        raise InputError(
            f"{what}: no valid row; see the validation report", path=result.report.path
        )
    return result.records


def _drop_row_column(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.drop(columns=[c for c in ("row",) if c in frame.columns])


def _consultations(records: gpd.GeoDataFrame, geocoder: Geocoder) -> gpd.GeoDataFrame:
    """Consultation windows with their point: given, else geocoded from the address if any."""
    frame = _drop_row_column(records).copy()
    geoms: list[Any] = []
    for record, geom in zip(frame.to_dict("records"), frame.geometry, strict=True):
        if geom is not None and not shapely.is_empty(geom):
            geoms.append(geom)
            continue
        address = record.get("address")
        if not (isinstance(address, str) and address):
            geoms.append(None)
            continue
        place = placed_point(geocoder.geocode(address))
        geoms.append(
            None if place.lng is None or place.lat is None else shapely.Point(place.lng, place.lat)
        )
    frame = frame.drop(columns=[c for c in ("lat", "lng", "geometry") if c in frame.columns])
    if "phone" in frame.columns:
        # The windows' contacts are public (the portal lists them): each number gets its link.
        at = frame.columns.get_loc("phone") + 1
        frame.insert(
            at, "phone_uri", [tel_uri(p if isinstance(p, str) else None) for p in frame["phone"]]
        )
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")


def _good_practices(records: gpd.GeoDataFrame, store: Store) -> gpd.GeoDataFrame:
    """Good practices at their municipality's representative point, when it is known."""
    frame = _drop_row_column(records).drop(columns=["geometry"], errors="ignore")
    points: dict[str, shapely.Point] = {}
    for layer in (store.municipalities, store.units):
        for code, lng, lat in zip(layer["code"], layer["rep_lng"], layer["rep_lat"], strict=True):
            points[code] = shapely.Point(lng, lat)
    geoms = [points.get(str(c)) if isinstance(c, str) else None for c in frame["muni_code"]]
    return gpd.GeoDataFrame(pd.DataFrame(frame), geometry=geoms, crs="EPSG:4326")


_AREA_COLUMNS = (
    "lg_code",
    "kind",
    "gun",
    "name_kana",
    "parent_code",
    "area_km2",
    "households_total",
    "foreign_pop",
)


def _with_area_attributes(
    coverage: gpd.GeoDataFrame, reference: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Coverage columns plus the store's descriptive columns (kind, 郡, kana, area …)."""
    extra = [c for c in _AREA_COLUMNS if c in reference.columns and c not in coverage.columns]
    table = pd.DataFrame(reference[["code", *extra]])
    merged = coverage.merge(table, on="code", how="left")
    order = ["code", "name", *extra, *[c for c in coverage.columns if c not in ("code", "name")]]
    return gpd.GeoDataFrame(merged[order], geometry="geometry", crs=coverage.crs)


#: Coverage columns that only mean something beside withheld activities (the public view has
#: only published rows, so ``inperson_published`` would repeat ``inperson_total``).
_PLANNER_ONLY_COLUMNS = ("inperson_published",)


def _public_figures(coverage: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A coverage layer computed from the public view, without its planners-only columns."""
    return coverage.drop(columns=[c for c in _PLANNER_ONLY_COLUMNS if c in coverage.columns])


def _with_organizations(located: gpd.GeoDataFrame, orgs: pd.DataFrame) -> gpd.GeoDataFrame:
    names = dict(zip(orgs["id"].astype(str), orgs["name"].astype(str), strict=True))
    kinds = dict(zip(orgs["id"].astype(str), orgs["kind"].astype(str), strict=True))
    located = located.copy()
    ids = located["organization_id"].astype(str)
    located.insert(
        located.columns.get_loc("organization_id") + 1, "organization_name", ids.map(names)
    )
    located.insert(
        located.columns.get_loc("organization_name") + 1, "organization_kind", ids.map(kinds)
    )
    return located


def _dates_as_text(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Dates as ISO text: GeoPackage readers disagree on date types, text reads the same."""
    frame = frame.copy()
    for column in frame.columns:
        if column == frame.geometry.name:
            continue
        sample = frame[column].dropna()
        if len(sample) and all(hasattr(v, "isoformat") for v in sample.head(20)):
            frame[column] = frame[column].map(
                lambda v: v.isoformat() if hasattr(v, "isoformat") else None
            )
    return frame


def _with_public_ids(planner: gpd.GeoDataFrame, opaque: dict[str, str]) -> gpd.GeoDataFrame:
    """The planners' activities with ``public_id`` (what the public view calls each) after ``id``."""
    out = planner.copy()
    out.insert(out.columns.get_loc("id") + 1, "public_id", out["id"].astype(str).map(opaque))
    return out


def _with_suggestion_ids(suggestions: pd.DataFrame) -> pd.DataFrame:
    """Suggestions with a stable ``id``: level-area-need-group-rank, e.g. unit-11101-theme-ibasho-company-1."""
    out = suggestions.copy()
    key = ["level", "area_code", "need_kind", "need_code", "group", "rank"]
    out.insert(0, "id", out[key].astype(str).agg("-".join, axis=1) if len(out) else [])
    return out


def _plan_frame(plan: Plan) -> gpd.GeoDataFrame:
    """The plan's choices with what the dashboard says beside them: the radius, how many
    residents had no venue within it and all residents of the small areas (each row alike)."""
    frame = plan.choices.drop(columns=["lng", "lat"]).copy()
    frame["radius_m"] = plan.radius_m
    frame["unreached"] = plan.unreached
    frame["population"] = plan.population
    return frame


def build_layers(
    store: Store,
    *,
    inputs: BuildInputs,
    out: Path = DEFAULT_LAYERS,
    planner_out: Path = DEFAULT_PLANNER_LAYERS,
    geocoder: Geocoder | None = None,
    scheme: str = "quantiles",
    id_key: bytes | None = None,
    config: CoverageConfig | None = None,
) -> BuildReport:
    """Run the pipeline on ``inputs`` and write the public and planners' layer files.

    Public activities are called by opaque ids, a keyed hash of the member's id
    (:mod:`tsunagari_geo.layers.public_ids`) with ``id_key``, by default the key file beside
    ``planner_out`` (created on the first build). ``config`` is the coverage settings
    (default: the shipped ``coverage.toml``), recorded in the public file's metadata. Raises InputError when an input file is
    missing or has no valid row, StoreError when the store cannot be read. Rows with problems are left out and listed in
    ``report.validation``.
    """
    for path in (inputs.organizations, inputs.activities):
        if not path.exists():
            raise InputError("input file not found", path=path)
    geocoder = geocoder or Geocoder.from_store(store)
    cfg = config or load_coverage_config()
    report = BuildReport(public_path=out, planner_path=planner_out)

    # Codes and names are checked against the store's region, not the default one.
    vocab = Vocabulary.for_region(store.region)
    orgs_read = read_organizations(inputs.organizations, vocabulary=vocab)
    report.validation.append(orgs_read.report)
    orgs = _require(orgs_read, "organizations")
    acts_read = read_activities(inputs.activities, organizations=orgs, vocabulary=vocab)
    report.validation.append(acts_read.report)
    acts = _require(acts_read, "activities")
    good_practices = inputs.good_practices or GOOD_PRACTICES_CSV
    practices: gpd.GeoDataFrame | None = None
    if Path(good_practices).exists():
        gp_read = read_good_practices(good_practices, vocabulary=vocab)
        report.validation.append(gp_read.report)
        practices = gp_read.records
    elif inputs.good_practices is not None:
        raise InputError("input file not found", path=good_practices)
    cons: gpd.GeoDataFrame | None = None
    if inputs.consultations is not None:
        cons_read = read_consultations(inputs.consultations, vocabulary=vocab)
        report.validation.append(cons_read.report)
        cons = _consultations(cons_read.records, geocoder)

    located = _with_organizations(locate_activities(_drop_row_column(acts), store, geocoder), orgs)
    report.geocode_status = located["geo_status"].value_counts().to_dict()
    public, privacy = public_activities(located, store, geocoder)
    report.privacy = privacy

    # Coverage twice. The planners' run counts every activity (hidden, unpublished and
    # text-withheld too) at its exact point. The public run, whose figures are published,
    # counts only the rows the public view shows, at the points it shows them: every public
    # count, share and score is then what the public list itself accounts for, and comparing
    # public layers with each other or with that list recovers no withheld activity.
    organizations = _drop_row_column(orgs).drop(columns="geometry", errors="ignore")
    practice_table = (
        practices.drop(columns="geometry", errors="ignore") if practices is not None else None
    )

    def counted_at(
        rows: gpd.GeoDataFrame, points: gpd.GeoSeries, precision: pd.Series
    ) -> pd.DataFrame:
        # Only a point that locates its row counts by position (placement.LOCATING); the
        # others count where located placed them (unit_code, muni_code), as the CLI does.
        frame = pd.DataFrame(rows.drop(columns="geometry"))
        has_point = ~(points.isna() | points.is_empty) & precision.isin(LOCATING)
        frame["lng"] = np.where(has_point, points.x.where(has_point), np.nan)
        frame["lat"] = np.where(has_point, points.y.where(has_point), np.nan)
        return frame

    def coverage_at(
        rows: gpd.GeoDataFrame, points: gpd.GeoSeries, precision: pd.Series
    ) -> CoverageResult:
        return compute_coverage(
            counted_at(rows, points, precision), organizations, store,
            good_practices=practice_table, scheme=scheme, config=cfg,
        )  # fmt: skip

    planner_coverage = coverage_at(located, located.geometry, located["point_precision"])
    # Where next, from every activity at its exact point: planners' output only.
    plan: Plan | None = None
    if store.small_areas is not None:
        plan = plan_from_store(
            counted_at(located, located.geometry, located["point_precision"]),
            store,
            load_taxonomies(),
            new=cfg.plan.new,
            radius_m=cfg.plan.radius_m,
        )
    shown = public.set_index("id")
    listed = located[located["id"].astype(str).isin(shown.index)]
    coverage = coverage_at(
        listed,
        gpd.GeoSeries(listed["id"].map(shown.geometry), index=listed.index, crs=located.crs),
        listed["id"].map(shown["location_precision"]).fillna("none"),
    )
    report.unlocated_for_coverage = len(coverage.unlocated)

    # From here on the public view calls each activity by its opaque id, in the order of
    # those ids, so neither the ids nor the row order show the members' numbering or its gaps.
    key = id_key if id_key is not None else load_or_create_key(key_path(planner_out))
    opaque = public_ids(located["id"].astype(str), key)
    public = public.assign(id=public["id"].astype(str).map(opaque))
    public = public.sort_values("id", kind="stable").reset_index(drop=True)

    public_frames: dict[str, gpd.GeoDataFrame] = {
        "activities": _dates_as_text(public),
        "municipalities": _public_figures(
            _with_area_attributes(coverage.municipalities, store.municipalities)
        ),
        "units": _public_figures(_with_area_attributes(coverage.units, store.units)),
    }
    if coverage.small_areas is not None:
        public_frames["small_areas"] = coverage.small_areas
    if practices is not None:
        public_frames["good_practices"] = _good_practices(practices, store)
    if cons is not None:
        public_frames["consultations"] = cons
    attribution = list(REFERENCE_ATTRIBUTION)
    if store.small_areas is not None:
        attribution.append(SMALL_AREA_ATTRIBUTION)
    planner_frames: dict[str, pd.DataFrame] = {
        "activities": _dates_as_text(_with_public_ids(planner_activities(located), opaque)),
        # The full figures (every activity counted) stay in the planners' file.
        "municipalities": _with_area_attributes(
            planner_coverage.municipalities, store.municipalities
        ),
        "units": _with_area_attributes(planner_coverage.units, store.units),
        "suggestions": _with_suggestion_ids(planner_coverage.suggestions),
        "spread": planner_coverage.spread,
    }
    if planner_coverage.small_areas is not None:
        planner_frames["small_areas"] = planner_coverage.small_areas
    if plan is not None:
        planner_frames["plan"] = _plan_frame(plan)
    # One set: both files and their manifest appear together or not at all.
    manifest = write_layer_set(
        out,
        public_frames,
        planner_out,
        planner_frames,
        attribution=attribution,
        public_meta={
            "store_imported_at": store.meta.get("imported_at", ""),
            "scheme": scheme,
            "class_breaks": str(coverage.class_breaks),
            "coverage_config": cfg.as_json(),
        },
    )
    report.version = manifest.version
    report.counts = {name: len(frame) for name, frame in public_frames.items()}
    report.counts["activities_planner"] = len(planner_frames["activities"])
    return report
