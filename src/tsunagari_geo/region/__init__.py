"""The region a deployment serves, as data: one prefecture, its registry, CRS, bounds and titles.

A region is a folder holding ``region.toml`` and the registry CSVs (``municipalities.csv``,
``mergers.csv``). The package ships ``data/saitama`` (the default); any other folder laid out
the same way is a region too, so serving another prefecture is a matter of data, not code.
The importer saves the region into the store, so a service reads it back from the store
(``store.region``) and needs no folder at run time.

Example::

    >>> region = load_region("saitama")
    >>> region.pref_name, region.unit_count, region.municipality_count
    ('埼玉県', 72, 63)
    >>> region.designated_city_codes
    ('11100',)
    >>> region.ward_short_name("11101")
    '西区'
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from tsunagari_geo.errors import RegionError
from tsunagari_geo.registry import Municipality, Registry, read_registry

#: The 47 prefectures, as written in addresses (a national fact, not a region's).
PREFECTURES: tuple[str, ...] = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
)  # fmt: skip

__all__ = ["PREFECTURES", "Region", "RegionFiles", "RegionSources", "default_region", "load_region"]

REGION_FILE = "region.toml"
MUNICIPALITIES_FILE = "municipalities.csv"
MERGERS_FILE = "mergers.csv"
#: The regions shipped with the package, by id.
SHIPPED = ("saitama",)


@dataclass(frozen=True)
class RegionFiles:
    """The three texts a region is read from; the importer stores them as they are."""

    region_toml: str
    municipalities_csv: str
    mergers_csv: str

    def as_dict(self) -> dict[str, str]:
        """File name → text, as the store's ``region`` table holds them."""
        return {
            REGION_FILE: self.region_toml,
            MUNICIPALITIES_FILE: self.municipalities_csv,
            MERGERS_FILE: self.mergers_csv,
        }

    @classmethod
    def from_dict(cls, files: dict[str, str], *, origin: str) -> RegionFiles:
        missing = [n for n in (REGION_FILE, MUNICIPALITIES_FILE, MERGERS_FILE) if n not in files]
        if missing:
            raise RegionError(f"region lacks files {missing}", path=origin)
        return cls(files[REGION_FILE], files[MUNICIPALITIES_FILE], files[MERGERS_FILE])


@dataclass(frozen=True)
class RegionSources:
    """Where the importer finds each public source, relative to the source folder."""

    boundaries: Path
    towns_index: Path
    towns_dir: Path
    #: the per-unit census CSV (muni_code, pop_total, …); None when the workbook replaces it.
    census: Path | None = None
    #: the official census workbook 「都道府県・市区町村別の主な結果」 (all Japan, e-Stat).
    census_workbook: Path | None = None
    #: the census small areas (小地域, 町丁・字等) attribute table, e.g. r2ka11.dbf.
    small_areas: Path | None = None


@dataclass(frozen=True)
class Region:
    """One prefecture as the platform serves it.

    ``units`` are what coverage is computed for (each municipality, with each designated city
    split into its wards); ``municipalities`` fold the wards back into their city.
    """

    id: str
    pref_code: str
    pref_name: str
    #: a projected CRS in metres, for every length and area.
    metric_crs: str
    #: (west, south, east, north) in lon/lat, EPSG:4326.
    bounds: tuple[float, float, float, float]
    #: the platform's title, as pages and the site show it.
    title: str
    #: other titles by role (map, dashboard, units, municipalities, good_practices); those
    #: region.toml leaves out are worded from the registry.
    titles: dict[str, str] = field(repr=False)
    sources: RegionSources = field(repr=False)
    registry: Registry = field(repr=False)
    files: RegionFiles = field(repr=False)
    #: where the region was read from (a folder or a store), for messages.
    origin: str = ""
    #: how the fictional sample generator spreads activities here (``[samples]``: ``dense``,
    #: ``thin`` and ``empty`` unit codes, ``windows`` consultation id → codes it serves);
    #: empty where region.toml has none (then population alone decides).
    samples: dict[str, object] = field(default_factory=dict, repr=False)

    @classmethod
    def from_files(cls, files: RegionFiles, *, origin: str) -> Region:
        """Read a region from its three texts; raises RegionError naming the file and key."""
        where = f"{origin}/{REGION_FILE}"
        try:
            data = tomllib.loads(files.region_toml)
        except tomllib.TOMLDecodeError as exc:
            raise RegionError(f"region.toml is not valid TOML: {exc}", path=where) from exc
        registry = read_registry(files.municipalities_csv, files.mergers_csv, origin=origin)
        pref_code = _text(data, "pref_code", where)
        if len(pref_code) != 2 or not pref_code.isdigit():
            raise RegionError(
                "pref_code is the 2-digit prefecture code", path=where, column="pref_code",
                value=pref_code,
            )  # fmt: skip
        foreign = [m.code for m in registry.municipalities if not m.code.startswith(pref_code)]
        if foreign:
            raise RegionError(
                f"municipality codes do not start with the prefecture code {pref_code}",
                path=f"{origin}/{MUNICIPALITIES_FILE}",
                column="code",
                value=foreign[:5],
            )
        bounds = data.get("bounds")
        if not (
            isinstance(bounds, list)
            and len(bounds) == 4
            and all(isinstance(b, int | float) for b in bounds)
            and -180 <= bounds[0] < bounds[2] <= 180
            and -90 <= bounds[1] < bounds[3] <= 90
        ):
            raise RegionError(
                "bounds is [west, south, east, north] in lon/lat", path=where, column="bounds",
                value=bounds,
            )  # fmt: skip
        titles = data.get("titles", {})
        src = data.get("sources", {})
        if not isinstance(titles, dict) or not isinstance(src, dict):
            raise RegionError("[titles] and [sources] are tables", path=where)
        if "census" not in src and "census_workbook" not in src:
            raise RegionError(
                "[sources] names neither census (CSV) nor census_workbook (e-Stat workbook)",
                path=where,
                column="sources.census_workbook",
            )
        return cls(
            id=_text(data, "id", where),
            pref_code=pref_code,
            pref_name=_text(data, "pref_name", where),
            metric_crs=_text(data, "metric_crs", where),
            bounds=(float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3])),
            title=_text(titles, "platform", where, table="titles"),
            titles={
                **_derived_titles(_text(data, "pref_name", where), registry),
                **{str(k): str(v) for k, v in titles.items()},
            },
            sources=RegionSources(
                boundaries=Path(_text(src, "boundaries", where, table="sources")),
                towns_index=Path(_text(src, "towns_index", where, table="sources")),
                towns_dir=Path(_text(src, "towns_dir", where, table="sources")),
                census=_optional_path(src, "census", where),
                census_workbook=_optional_path(src, "census_workbook", where),
                small_areas=_optional_path(src, "small_areas", where),
            ),
            registry=registry,
            files=files,
            origin=origin,
            samples=dict(data.get("samples", {})),
        )

    def sample_codes(self, kind: str) -> frozenset[str]:
        """Unit codes the sample generator makes ``dense``, ``thin`` or ``empty`` here."""
        value = self.samples.get(kind, [])
        return frozenset(str(c) for c in value) if isinstance(value, list) else frozenset()

    def sample_window_serves(self, window_id: str) -> str:
        """What fictional consultation window ``window_id`` serves here (codes ``a;b``), or
        ``prefecture`` where region.toml places it nowhere."""
        windows = self.samples.get("windows", {})
        value = windows.get(window_id) if isinstance(windows, dict) else None
        return str(value) if value else "prefecture"

    # --- facts derived from the registry ------------------------------------------------------

    @property
    def designated_city_codes(self) -> tuple[str, ...]:
        """Codes of the designated cities (政令指定都市), whose wards are units of their own."""
        return tuple(m.code for m in self.registry.designated_cities)

    def is_designated_city(self, code: str) -> bool:
        return code in self.designated_city_codes

    def wards_of(self, code: str) -> tuple[Municipality, ...]:
        """The wards of a designated city (empty for any other code)."""
        return tuple(self.registry.wards_of(code))

    def ward_short_name(self, code: str) -> str:
        """A ward's name without its city, as people write it alone (西区 for さいたま市西区).

        Raises KeyError for a code that is no ward of this region.
        """
        ward = self.registry.by_code[code]
        parent = self.registry.by_code.get(ward.parent_code)
        if ward.kind != "ward" or parent is None:
            raise KeyError(f"{code} is no ward of {self.pref_name}")
        return ward.name.removeprefix(parent.name)

    @property
    def pref_prefixes(self) -> tuple[str, ...]:
        """The prefecture as written in front of an address: in full, then without 県/府/都
        (埼玉県, 埼玉). 北海道 has no shorter form."""
        name = self.pref_name
        if name[-1:] in ("県", "府", "都") and len(name) > 2:
            return (name, name[:-1])
        return (name,)

    @property
    def unit_count(self) -> int:
        """How many units coverage is computed for (72 in 埼玉県)."""
        return len(self.registry.units)

    @property
    def municipality_count(self) -> int:
        """How many municipalities, wards folded into their city (63 in 埼玉県)."""
        return len(self.registry.municipalities_63)


def _derived_titles(pref_name: str, registry: Registry) -> dict[str, str]:
    """The titles a region.toml may leave out, worded from its registry (埼玉県's match its
    region.toml): ``units`` 市区町村（72、さいたま市は区ごと）, ``municipalities`` 市町村（63）,
    ``good_practices`` 好事例."""
    cities = "・".join(m.name for m in registry.designated_cities)
    n_units, n_munis = len(registry.units), len(registry.municipalities_63)
    return {
        "map": "つながりマップ",
        "dashboard": f"カバレッジ・ダッシュボード｜{pref_name} 孤独・孤立対策",
        "units": f"市区町村（{n_units}、{cities}は区ごと）" if cities else f"市区町村（{n_units}）",
        "municipalities": f"市町村（{n_munis}）",
        "good_practices": "好事例",
    }


def _optional_path(src: dict[str, Any], key: str, where: str) -> Path | None:
    """A ``[sources]`` path that a region may leave out (None then)."""
    if key not in src:
        return None
    return Path(_text(src, key, where, table="sources"))


def _text(data: dict[str, Any], key: str, where: str, *, table: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        name = f"{table}.{key}" if table else key
        raise RegionError("region.toml lacks a text value", path=where, column=name, value=value)
    return value.strip()


def _read_folder(folder: Path) -> RegionFiles:
    texts = {}
    for name in (REGION_FILE, MUNICIPALITIES_FILE, MERGERS_FILE):
        path = folder / name
        if not path.is_file():
            raise RegionError("region folder lacks a file", path=path)
        texts[name] = path.read_text(encoding="utf-8")
    return RegionFiles.from_dict(texts, origin=str(folder))


@cache
def _shipped(region_id: str) -> Region:
    folder = resources.files(__package__).joinpath("data", region_id)
    texts = {
        name: folder.joinpath(name).read_text(encoding="utf-8")
        for name in (REGION_FILE, MUNICIPALITIES_FILE, MERGERS_FILE)
    }
    return Region.from_files(
        RegionFiles.from_dict(texts, origin=f"region:{region_id}"), origin=f"region:{region_id}"
    )


def load_region(spec: str | Path) -> Region:
    """A shipped region by id (``"saitama"``) or a folder holding ``region.toml``.

    Raises RegionError naming the folder or file when it is neither, or when its data is
    inconsistent (a ward whose city is missing, a code outside the prefecture, …).
    """
    if isinstance(spec, str) and spec in SHIPPED:
        return _shipped(spec)
    folder = Path(spec)
    if not (folder / REGION_FILE).is_file():
        raise RegionError(
            f"no such region: give a shipped id ({', '.join(SHIPPED)}) or a folder with "
            f"{REGION_FILE}",
            path=folder,
        )
    return _folder(str(folder.resolve()))


@cache
def _folder(folder: str) -> Region:
    return Region.from_files(_read_folder(Path(folder)), origin=folder)


def default_region() -> Region:
    """The region named by ``TSUNAGARI_REGION`` (default ``saitama``)."""
    from tsunagari_geo.settings import get_settings

    return load_region(get_settings().region)
