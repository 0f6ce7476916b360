"""Settings, read once from environment variables with the ``TSUNAGARI_`` prefix.

Every default is visible here. ``TSUNAGARI_SOURCE`` is the folder holding the public source
files (laid out as ``../shared/data/saitama``); ``TSUNAGARI_STORE`` the store (a GeoPackage
path or a ``postgresql://`` URL; the backend is chosen from the location, see
:func:`tsunagari_geo.store.open_store`);
``TSUNAGARI_REGION`` the region ``data import`` imports (a shipped id or a region folder);
``TSUNAGARI_JAPAN`` the national source folder (all Japan's towns) it adds, if set.
Facts about the place (prefecture, CRS, designated cities) are region data, not settings.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Where the team's machines and CI keep the public source files, relative to the repo root.
DEFAULT_SOURCE = Path("../shared/data/saitama")
DEFAULT_STORE = Path("data/build/tsunagari.gpkg")
#: Where they keep the national sources (all 47 prefectures' towns), relative to the repo root.
DEFAULT_JAPAN = Path("../shared/data/japan")

DEFAULT_REGION = "saitama"
#: CRS of everything stored and served (GeoJSON, RFC 7946).
STORE_CRS = "EPSG:4326"


class Settings(BaseSettings):
    """Paths and switches shared by the CLI, the batch jobs and the service."""

    model_config = SettingsConfigDict(env_prefix="TSUNAGARI_", extra="ignore")

    source: Path | None = Field(
        default=None,
        description="Source folder of the public data; defaults to ../shared/data/saitama "
        "when that folder exists.",
    )
    store: Path = Field(
        default=DEFAULT_STORE,
        description="The store: the embedded GeoPackage, or a PostgreSQL/PostGIS database "
        "as postgresql://user@host:port/db (give the host: a path would fold the //).",
    )
    japan: Path | None = Field(
        default=None,
        description="National source folder (towns of all Japan, laid out as "
        "../shared/data/japan) that `data import` adds when set; without it addresses "
        "outside the region stop at their prefecture or municipality name.",
    )
    region: str = Field(
        default=DEFAULT_REGION,
        description="Region to import: a shipped id (saitama) or a folder with region.toml.",
    )
    fetch_dir: Path = Field(
        default=Path("data/sources"),
        description="Where `data fetch` puts downloaded public sources.",
    )

    def source_dir(self) -> Path | None:
        """The configured source folder, or the default one if it exists, else None."""
        if self.source is not None:
            return self.source
        if DEFAULT_SOURCE.is_dir():
            return DEFAULT_SOURCE
        if self.fetch_dir.is_dir():
            return self.fetch_dir
        return None


def get_settings() -> Settings:
    """Read the settings from the environment now (not cached: tests change it)."""
    return Settings()


class GeocodeSettings(BaseSettings):
    """Remote fallback switches (env prefix ``TSUNAGARI_GEOCODE_``); all off by default.

    Here rather than beside the geopy adapter so a run with the fallback off never imports
    geopy (start-up of ``tsunagari-geo geocode``)."""

    model_config = SettingsConfigDict(env_prefix="TSUNAGARI_GEOCODE_", extra="ignore")

    fallback: str = Field(default="", description="'' (off) or 'nominatim'.")
    nominatim_domain: str = Field(default="nominatim.openstreetmap.org")
    nominatim_scheme: str = Field(default="https")
    user_agent: str = Field(default="tsunagari-geo")
    min_delay_seconds: float = Field(default=1.0, description="Nominatim's policy: 1 req/s.")
    timeout: float = Field(default=10.0)
