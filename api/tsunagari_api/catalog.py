"""What the service serves: the collections, built once per loaded dataset.

A :class:`Dataset` is everything one generation of data needs — the reference store, the
published and planners' layer files, one provider per collection, the geocoder and the tile
archives — opened and checked completely before anyone may use it. The service holds one
reference to the current dataset (:class:`DataHolder`); ``POST /admin/reload`` builds a new
one and swaps that reference, so requests already running finish on the old object.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from tsunagari_api.providers import Condition, FrameProvider, PostgisProvider, Provider
from tsunagari_api.settings import ApiSettings
from tsunagari_geo.activities.contact import LANGUAGES
from tsunagari_geo.activities.schedule import age_mask, open_on_mask
from tsunagari_geo.activities.taxonomy import load_taxonomies
from tsunagari_geo.errors import StoreError
from tsunagari_geo.geocode import Geocoder
from tsunagari_geo.reference.attribution import REFERENCE_ATTRIBUTION
from tsunagari_geo.region import Region
from tsunagari_geo.store import (
    LayerSet,
    PublishedSet,
    Store,
    has_layer_set,
    open_layer_set,
    open_store,
    watch_published,
)

logger = logging.getLogger("tsunagari_api")

#: Where a collection's frame comes from.
STORE, PUBLIC, PLANNER = "store", "public", "planner"


@dataclass(frozen=True)
class CollectionSpec:
    """How one collection is assembled: its source layer, id column and filters.

    ``filters`` maps a query parameter to the column it filters; ``vocabulary`` names the
    taxonomy whose codes a filter accepts (``themes``, ``life_stages``, ``circumstances``,
    ``muni_codes``, or a fixed tuple of values). ``title`` and ``description`` may name the
    region's facts in braces (``{pref_name}``, ``{unit_count}``, …, see :func:`region_texts`);
    :meth:`for_region` fills them in.
    """

    id: str
    title: str
    description: str
    source: str
    layer: str
    id_column: str
    filters: Mapping[str, str] = field(default_factory=dict)
    vocabulary: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    protected: bool = False
    #: Falls back to the reference store's layer when the published layers are not built.
    store_fallback: str | None = None
    #: The property the ``datetime`` parameter filters on (None: no temporal property).
    temporal: str | None = None
    #: Parameters answered by a rule over the rows rather than by a column's values
    #: (``open_on``, ``age``): parameter → the function giving the rows that match.
    conditions: Mapping[str, Condition] = field(default_factory=dict)

    def for_region(self, region: Region) -> CollectionSpec:
        """This spec with its title and description worded for ``region``."""
        texts = region_texts(region)
        return replace(
            self, title=self.title.format(**texts), description=self.description.format(**texts)
        )


_KINDS = ("city", "town", "village", "ward")
_FORMATS = ("in_person", "online", "phone", "outreach")
_CHANNELS = ("phone", "sns_chat", "email", "in_person", "online")
_ORG_KINDS = ("行政", "NPO等", "社協", "企業・業界団体", "その他")

ACTIVITY_FILTERS = {
    "theme": "themes",
    "life_stage": "life_stages",
    "format": "format",
    "muni_code": "_codes",
    "kind": "organization_kind",
    "language": "languages",
}
ACTIVITY_VOCABULARY: dict[str, str | tuple[str, ...]] = {
    "theme": "themes",
    "life_stage": "life_stages",
    "format": _FORMATS,
    "muni_code": "muni_codes",
    "kind": _ORG_KINDS,
    "language": tuple(LANGUAGES),
}
#: When an activity is open and whom it accepts: the schedule module's rules.
ACTIVITY_CONDITIONS: dict[str, Condition] = {"open_on": open_on_mask, "age": age_mask}

COLLECTIONS: tuple[CollectionSpec, ...] = (
    CollectionSpec(
        id="municipalities",
        title="{municipalities_title}",
        description="{pref_name}の{municipality_count}市町村の区域、人口、活動の充足状況"
        "（カバレッジ）。{field_notes}",
        source=PUBLIC,
        layer="municipalities",
        id_column="code",
        filters={"muni_code": "_codes", "kind": "kind"},
        vocabulary={"muni_code": "muni_codes", "kind": _KINDS},
        store_fallback="municipalities",
    ),
    CollectionSpec(
        id="units",
        title="{units_title}",
        description="{wards}を分けた{unit_count}区域の区域、人口、活動の充足状況。{field_notes}",
        source=PUBLIC,
        layer="units",
        id_column="code",
        filters={"muni_code": "_codes", "kind": "kind"},
        vocabulary={"muni_code": "muni_codes", "kind": _KINDS},
        store_fallback="units",
    ),
    CollectionSpec(
        id="towns",
        title="大字・町丁目",
        description="大字・町丁目の代表点（Geolonia 住所データ）。",
        source=STORE,
        layer="towns",
        id_column="id",
        filters={"muni_code": "_codes"},
        vocabulary={"muni_code": "muni_codes"},
    ),
    CollectionSpec(
        id="activities",
        title="活動（公開）",
        description="会員団体の活動。非公開・非表示の活動は含みません。場所の公開範囲が町字・"
        "市町村の活動は、その町字・市町村の代表点に置き、location_precision で示します。",
        source=PUBLIC,
        layer="activities",
        id_column="id",
        filters=ACTIVITY_FILTERS,
        vocabulary=ACTIVITY_VOCABULARY,
        temporal="last_verified",
        conditions=ACTIVITY_CONDITIONS,
    ),
    CollectionSpec(
        id="activities_planner",
        title="活動（計画担当者用・要認証）",
        description="非公開の活動と正確な位置を含む計画担当者用の表示。Bearer トークンが必要です。",
        source=PLANNER,
        layer="activities",
        id_column="id",
        filters=ACTIVITY_FILTERS,
        vocabulary=ACTIVITY_VOCABULARY,
        protected=True,
        temporal="last_verified",
        conditions=ACTIVITY_CONDITIONS,
    ),
    CollectionSpec(
        id="matching_suggestions",
        title="マッチング候補（計画担当者用・要認証）",
        description="活動の空白がある市町村ごとに、近隣で同じテーマ・ライフステージに取り組む"
        "会員団体の候補（企業は別枠）。非表示の活動からも計算するため要認証です。",
        source=PLANNER,
        layer="suggestions",
        id_column="id",
        filters={
            "muni_code": "area_code",
            "level": "level",
            "need_kind": "need_kind",
            "group": "group",
        },
        vocabulary={
            "muni_code": "muni_codes",
            "level": ("municipality", "unit"),
            "need_kind": ("life_stage", "theme"),
            "group": ("company", "other"),
        },
        protected=True,
    ),
    CollectionSpec(
        id="consultations",
        title="相談窓口",
        description="ライフステージ・お困りごと・相談方法で探せる相談窓口。",
        source=PUBLIC,
        layer="consultations",
        id_column="id",
        filters={
            "life_stage": "life_stages",
            "circumstance": "circumstances",
            "channel": "channels",
            "muni_code": "_codes",
        },
        vocabulary={
            "life_stage": "life_stages",
            "circumstance": "circumstances",
            "channel": _CHANNELS,
            "muni_code": "muni_codes",
        },
    ),
    CollectionSpec(
        id="small_areas",
        title="小地域の人口と住民到達率（国勢調査2020年）",
        description="{pref_name}の国勢調査の小地域（町丁・字等）ごとに、代表点（点）と人口・"
        "世帯数、最寄りの対面の活動までの距離、住民到達率、2SFCA アクセス指標。"
        "{small_area_notes}",
        source=PUBLIC,
        layer="small_areas",
        id_column="key_code",
        filters={"muni_code": "_codes"},
        vocabulary={"muni_code": "muni_codes"},
    ),
    CollectionSpec(
        id="good_practices",
        title="好事例",
        description="{good_practices_title}。市町村が分かるものはその代表点に置きます。",
        source=PUBLIC,
        layer="good_practices",
        id_column="id",
        filters={"theme": "themes", "muni_code": "_codes"},
        vocabulary={"theme": "themes", "muni_code": "muni_codes"},
    ),
)
SPECS: dict[str, CollectionSpec] = {spec.id: spec for spec in COLLECTIONS}


def region_texts(region: Region) -> dict[str, str]:
    """The region's facts a collection's title or description may name.

    ``wards`` says how the designated cities are split, or that no city is (the units are
    then the municipalities). For 埼玉県: ``wards`` さいたま市の10区, ``unit_count`` 72,
    ``municipality_count`` 63; for two cities: 静岡市の3区・浜松市の2区.
    """
    cities = region.registry.designated_cities
    wards = "・".join(f"{c.name}の{len(region.wards_of(c.code))}区" for c in cities)
    return {
        "pref_name": region.pref_name,
        "unit_count": str(region.unit_count),
        "municipality_count": str(region.municipality_count),
        "units_title": region.titles["units"],
        "municipalities_title": region.titles["municipalities"],
        "good_practices_title": region.titles["good_practices"],
        "wards": wards or f"{region.pref_name}の市町村（政令指定都市なし）",
        "field_notes": field_notes(),
        "small_area_notes": small_area_notes(),
    }


def field_notes() -> str:
    """What the coverage fields of municipalities and units mean, denominators first.

    Each life stage's per-10,000 rate names its census denominator and year (and says so where
    the census has no matching band); the reach and need fields give their range.
    """
    stages = load_taxonomies().life_stages
    rates = "、".join(
        f"stage_{code}_per10k（{stages.labels[code]}）= {stages.denominator_labels[code]}"
        for code in stages.codes
    )
    return (
        f"項目: inperson_per10k は総人口1万人あたりの対面の活動数、{rates}"
        "（いずれも令和2年国勢調査、1万人あたり）。pop_reach_500m・pop_reach_1km・"
        "pop_reach_2km は国勢調査の小地域の人口のうち、最寄りの対面の活動まで500m・1km・2km"
        "以内の住民の割合（0〜1、公開の場所だけから計算）。access_2sfca は距離減衰つき2SFCAの"
        "アクセス指標（住民1万人あたり）。single_household_share（単独世帯／一般世帯）、"
        "older_alone_share（65歳以上の単独世帯／65歳以上人口）、children_share、foreign_share"
        "は0〜1、need_score と need_gap_score は0〜100（式と重みは coverage.toml）。"
    )


def small_area_notes() -> str:
    """What each field of the small-area collection means (from the analysis' own list), with
    its denominator and year, and why a small area's figures may be published."""
    from tsunagari_geo.analysis.people_reach import SMALL_AREA_FIELDS, SMALL_AREA_GROUP_FIELD

    fields = "、".join(
        f"{name}: {text}" for name, text in (*SMALL_AREA_FIELDS.items(), SMALL_AREA_GROUP_FIELD)
    )
    return (
        f"項目: {fields}。人口・世帯数は令和2年（2020年）国勢調査の小地域集計（e-Stat）。"
        "距離・到達率・2SFCA は地図に公開している活動の場所だけから計算します（非公開・"
        "非表示の活動は数えません）。人口の少ない小地域では到達率（0 か 1）から最寄りの"
        "公開の活動の位置がある程度わかりますが、それは公開済みの活動一覧と同じ公開情報です。"
    )


def collection_specs(region: Region) -> dict[str, CollectionSpec]:
    """Every collection's spec worded for ``region``, by id, in the order of COLLECTIONS."""
    return {spec.id: spec.for_region(region) for spec in COLLECTIONS}


@dataclass(frozen=True)
class Collection:
    """One served collection: its spec and its provider."""

    spec: CollectionSpec
    provider: Provider


def vocabularies(region: Region) -> dict[str, tuple[str, ...]]:
    """Codes each named vocabulary accepts (the taxonomies, the region's registry)."""
    registry = region.registry
    codes = sorted({u.code for u in registry.units} | {m.code for m in registry.municipalities_63})
    taxonomies = load_taxonomies()
    out: dict[str, tuple[str, ...]] = {
        "muni_codes": tuple(codes),
        "themes": tuple(taxonomies.themes.codes),
        "life_stages": tuple(taxonomies.life_stages.codes),
        "circumstances": tuple(taxonomies.circumstances.codes),
    }
    return out


def filter_vocabulary(spec: CollectionSpec, region: Region) -> dict[str, tuple[str, ...]]:
    """Allowed values of each of ``spec``'s filters in ``region`` (empty tuple: any value)."""
    named = vocabularies(region)
    out: dict[str, tuple[str, ...]] = {}
    for param in spec.filters:
        source = spec.vocabulary.get(param)
        if isinstance(source, tuple):
            out[param] = source
        elif isinstance(source, str):
            out[param] = named.get(source, ())
        else:
            out[param] = ()
    return out


def _codes_column(frame: pd.DataFrame, parent_of: Mapping[str, str]) -> list[list[str]]:
    """Every municipality code a row belongs to, so that a designated city's code finds its
    wards (``parent_of`` maps each ward to its city).

    Uses ``code``/``unit_code``/``muni_code``/``serves`` where present; ``prefecture`` in
    ``serves`` means every code.
    """
    all_codes = sorted(set(parent_of) | set(parent_of.values()))
    rows: list[list[str]] = []
    for record in frame.to_dict("records"):
        codes: set[str] = set()
        for column in ("code", "unit_code", "muni_code"):
            value = record.get(column)
            if isinstance(value, str) and value:
                codes.add(value)
        serves = record.get("serves")
        if isinstance(serves, list):
            if "prefecture" in serves:
                codes.update(all_codes)
            codes.update(s for s in serves if s != "prefecture")
        codes.update([parent_of[c] for c in list(codes) if c in parent_of])
        rows.append(sorted(codes))
    return rows


def _towns_frame(store: Store) -> gpd.GeoDataFrame:
    towns = store.towns.sort_values(["unit_code", "town", "koaza"], kind="stable")
    towns = towns.drop(columns=["lat", "lng", "key"]).reset_index(drop=True)
    # Stable ids from the dictionary order within each unit, e.g. 11101-0007.
    towns.insert(
        0,
        "id",
        towns["unit_code"] + "-" + towns.groupby("unit_code").cumcount().map("{:04d}".format),
    )
    return towns


def build_collection(
    spec: CollectionSpec,
    store: Store,
    public: LayerSet | None,
    planner: LayerSet | None,
) -> Collection | None:
    """The collection for ``spec`` from the loaded sources, or None when its layer is absent."""
    frame: gpd.GeoDataFrame | None
    table = None
    if spec.source == STORE:
        frame = _towns_frame(store) if spec.layer == "towns" else getattr(store, spec.layer)
    else:
        layers = public if spec.source == PUBLIC else planner
        tables = getattr(layers, "tables", None)
        if tables is not None and spec.layer in tables:
            # A layer in a database stays there: only its attributes are read (see
            # PostgisProvider); the geometries are read per page and bbox asked of PostGIS.
            table = tables[spec.layer]
            frame = table.frame(geometry=False)
        else:
            frame = layers.frames.get(spec.layer) if layers is not None else None
        if frame is None and spec.store_fallback is not None:
            frame = getattr(store, spec.store_fallback)
    if frame is None:
        return None
    frame = frame.copy()
    if "rep_lng" in frame.columns:
        frame = frame.drop(columns=[c for c in ("rep_lng", "rep_lat") if c in frame.columns])
    hidden = {c for c in frame.columns if c.startswith("_")}
    if "_codes" in spec.filters.values():
        units = store.region.registry.units
        parent_of = {u.code: u.muni_code for u in units if u.muni_code != u.code}
        frame["_codes"] = _codes_column(frame, parent_of)
        hidden.add("_codes")
    vocab = {p: frozenset(v) for p, v in filter_vocabulary(spec, store.region).items() if v}
    filters = {p: c for p, c in spec.filters.items() if c in frame.columns}
    common: dict[str, Any] = {
        "id_column": spec.id_column,
        "filter_columns": filters,
        "vocabularies": vocab,
        "hidden": frozenset(hidden),
        "temporal_column": spec.temporal,
        "conditions": spec.conditions,
    }
    provider: FrameProvider = (
        FrameProvider(frame, **common)
        if table is None
        else PostgisProvider(frame, table=table, **common)
    )
    return Collection(spec=spec, provider=provider)


@dataclass(frozen=True)
class Dataset:
    """One generation of served data, opened and checked in full before use.

    ``version`` names the data (the store's import and the layer set's version), so every
    server serving the same data says the same, however often each one reloaded;
    ``generation`` counts this server's loads (1 at start).
    """

    generation: int
    version: str
    loaded_at: str
    store: Store
    public: LayerSet | None
    planner: LayerSet | None
    #: Every collection's spec worded for the store's region (served ones or not).
    specs: dict[str, CollectionSpec]
    collections: dict[str, Collection]
    geocoder: Geocoder
    attribution: tuple[str, ...]
    #: The layer set's version (its manifest's), "" when none is built: the same in every
    #: server that serves the same set.
    layers_version: str = ""

    @property
    def reload_count(self) -> int:
        """How many times this server loaded new data since it started (its own count)."""
        return self.generation - 1

    @property
    def region(self) -> Region:
        """The region of the store this dataset serves."""
        return self.store.region

    @property
    def data_time(self) -> str:
        """When the served data was made (the layer build, else the store import): the same in
        every worker, unlike ``loaded_at``, so identical data gets identical ETags."""
        if self.public is not None and self.public.meta.get("built_at"):
            return self.public.meta["built_at"]
        return self.store.meta.get("imported_at", self.loaded_at)

    @classmethod
    def load(
        cls, settings: ApiSettings, generation: int = 1, *, require_layers: bool = False
    ) -> Dataset:
        """Open the store and the layer files named in ``settings``; build every provider.

        The layer files are opened only when every byte matches their manifest
        (:func:`tsunagari_geo.store.open_layer_set`). Raises StoreError (naming the file) when
        the store is broken, or when any of the layer set's files (``layers.gpkg``,
        ``planner.gpkg``, the manifest) exists and the set does not check; with
        ``require_layers`` (a reload of a service that serves layers), also when they are
        missing. Otherwise a set not built yet is not an error: its collections are reported
        as not built (503) until ``tsunagari-geo build`` has run.
        """
        store = open_store(settings.store)
        # Read every layer now, so that a broken file fails here and not mid-request.
        _ = store.units, store.municipalities, store.towns, store.region
        published = open_published(settings, require=require_layers)
        public = published.public if published is not None else None
        planner = published.planner if published is not None else None
        layers_version = published.version if published is not None else ""
        specs = collection_specs(store.region)
        collections: dict[str, Collection] = {}
        for spec in specs.values():
            built = build_collection(spec, store, public, planner)
            if built is not None:
                collections[spec.id] = built
        geocoder = _make_geocoder(store)
        attribution = tuple(
            dict.fromkeys(
                [
                    *REFERENCE_ATTRIBUTION,
                    *(public.attribution if public is not None else []),
                ]
            )
        )
        # The data, not this server's history: two servers on one database say the same.
        stamp = "|".join([store.meta.get("imported_at", ""), layers_version])
        return cls(
            generation=generation,
            version=hashlib.blake2b(stamp.encode(), digest_size=8).hexdigest(),
            loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            store=store,
            public=public,
            planner=planner,
            specs=specs,
            collections=collections,
            geocoder=geocoder,
            attribution=attribution,
            layers_version=layers_version,
        )


def open_published(settings: ApiSettings, *, require: bool = False) -> PublishedSet | None:
    """The layer set named in ``settings``, every byte checked against its manifest.

    None when none of its files (``layers.gpkg``, ``planner.gpkg``, the manifest) exists and
    ``require`` is false: not built yet. Raises StoreError naming the file otherwise, when the
    set does not check (a missing member, a changed byte, a file of another build).
    """
    public, planner = settings.layer_locations()
    if not require and not has_layer_set(public, planner):
        return None
    return open_layer_set(public, planner)


def _make_geocoder(store: Store) -> Geocoder:
    """The offline geocoder over this store's town dictionary (built in about a second)."""
    return Geocoder.from_store(store)


class DataHolder:
    """The one reference to the current dataset, swapped atomically by :meth:`reload`.

    With several uvicorn workers, ``POST /admin/reload`` reaches one process. That process
    then touches the reload stamp (a small file beside the layers); every worker looks at the
    stamp at most once a second, from :meth:`dataset`, and when it changed reloads in a
    background thread, keeping its old dataset if the new data fails to open.
    """

    #: Seconds between two looks at the stamp.
    STAMP_INTERVAL = 1.0

    def __init__(self, dataset: Dataset, stamp: Path | None = None) -> None:
        self.current = dataset
        self._lock = threading.Lock()
        self._stamp = stamp
        self._seen = self._stamp_identity()
        self._next_look = time.monotonic() + self.STAMP_INTERVAL
        self._following = False

    def _stamp_identity(self) -> tuple[int, int] | None:
        if self._stamp is None:
            return None
        try:
            st = self._stamp.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def reload(self, settings: ApiSettings) -> Dataset:
        """Load a new dataset completely, then swap it in; on StoreError the old one stays."""
        with self._lock:
            # Once layers are served, a missing file is a refused reload, never "not built".
            new = Dataset.load(
                settings,
                generation=self.current.generation + 1,
                require_layers=self.current.public is not None,
            )
            self.current = new  # a single reference assignment: atomic for readers
            if self._stamp is not None:
                self._stamp.parent.mkdir(parents=True, exist_ok=True)
                self._stamp.write_text(f"{new.version} {new.loaded_at}\n")
                self._seen = self._stamp_identity()
            return new

    def dataset(self, settings: ApiSettings) -> Dataset:
        """The current dataset; starts following another worker's reload when one is due."""
        now = time.monotonic()
        if self._stamp is not None and now >= self._next_look and not self._following:
            self._next_look = now + self.STAMP_INTERVAL
            identity = self._stamp_identity()
            if identity is not None and identity != self._seen:
                self._seen = identity
                self._following = True
                threading.Thread(target=self._follow, args=(settings,), daemon=True).start()
        return self.current

    def follow_publications(self, settings: ApiSettings) -> bool:
        """Reload whenever a build publishes a new layer set in the store's database.

        A daemon thread listens to the database (LISTEN/NOTIFY, and a look every
        ``settings.watch_interval`` seconds). Each new version is loaded and checked
        completely while the old dataset keeps serving; a set that does not check is refused
        (logged once) and the old dataset stays. False when the layers are files (their
        servers follow ``POST /admin/reload`` through the reload stamp instead).
        """
        public, _ = settings.layer_locations()
        versions = watch_published(
            public, interval=settings.watch_interval, listen=settings.watch_listen
        )
        if versions is None:
            return False
        threading.Thread(
            target=self._follow_versions, args=(settings, versions), daemon=True
        ).start()
        return True

    def _follow_versions(self, settings: ApiSettings, versions: Iterator[str]) -> None:
        refused = ""
        for version in versions:
            if version in (self.current.layers_version, refused):
                continue
            try:
                with self._lock:
                    self.current = Dataset.load(
                        settings,
                        generation=self.current.generation + 1,
                        require_layers=self.current.public is not None,
                    )
                logger.info("followed a publication: layers %s", self.current.layers_version)
            except StoreError as exc:
                # The set does not check: refused until another one is published.
                refused = version
                logger.warning("layer set %s was published but is refused: %s", version, exc)
            except Exception:
                # Anything else (the database restarting, …) is tried again at the next look.
                logger.exception("could not load layer set %s; trying again", version)

    def _follow(self, settings: ApiSettings) -> None:
        try:
            with self._lock:
                self.current = Dataset.load(
                    settings,
                    generation=self.current.generation + 1,
                    require_layers=self.current.public is not None,
                )
            logger.info("followed a reload by another worker: %s", self.current.version)
        except Exception:
            logger.exception("another worker reloaded, but the new data does not open here")
        finally:
            self._following = False
