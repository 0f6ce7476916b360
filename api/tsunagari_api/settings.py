"""Service settings, read from environment variables with the same ``TSUNAGARI_`` prefix.

Every default is visible here. The service extends the package's :class:`Settings` (which
holds the store path) with what only the service needs: where the published layers and the
tiles are, the admin token, CORS origins and request limits.

Example::

    TSUNAGARI_TOKEN=secret TSUNAGARI_CORS_ORIGINS='["https://www.pref.saitama.lg.jp"]' \\
        tsunagari-geo serve --port 8000
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from tsunagari_geo.layers.paths import DEFAULT_LAYERS, DEFAULT_PLANNER_LAYERS, DEFAULT_TILES_DIR
from tsunagari_geo.settings import Settings
from tsunagari_geo.store import is_database, published_locations

#: scheme://host[:port], as a browser sends it in the Origin header.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?")


class ApiSettings(Settings):
    """Settings of the GeoJSON service (environment prefix ``TSUNAGARI_``)."""

    layers: Path = Field(
        default=DEFAULT_LAYERS,
        description="GeoPackage of the published layers written by `tsunagari-geo build` "
        "(with a database store and this default: the database).",
    )
    planner_layers: Path = Field(
        default=DEFAULT_PLANNER_LAYERS,
        description="GeoPackage of the planners' layers (exact points, unpublished rows; "
        "with a database store and this default: the database).",
    )
    tiles_dir: Path = Field(
        default=DEFAULT_TILES_DIR, description="Folder holding the built .pmtiles archives."
    )
    reload_stamp: Path | None = Field(
        default=None,
        description="File touched by POST /admin/reload so that every uvicorn worker "
        "reloads too; default `.reload-stamp` beside the layers file.",
    )

    def layer_locations(self) -> tuple[str | Path, str | Path]:
        """Where the public and planners' layers are: the files above, or the database when
        the store is one and they were not set (:func:`tsunagari_geo.store.published_locations`)."""
        return published_locations(self.store, self.layers, self.planner_layers)

    def stamp_path(self) -> Path | None:
        """The reload stamp shared by the workers; None when the layers are in a database,
        which announces every publication to every server itself."""
        if self.reload_stamp is not None:
            return self.reload_stamp
        public, _ = self.layer_locations()
        if is_database(public):
            return None
        return Path(public).with_name(".reload-stamp")

    watch_interval: float = Field(
        default=5.0,
        gt=0,
        description="Seconds between two looks at a database's current layer set, besides "
        "LISTEN/NOTIFY (a missed notification is noticed this late at most).",
    )
    watch_listen: bool = Field(
        default=True,
        description="Listen for a database's publications (LISTEN/NOTIFY). False: only the "
        "look every watch_interval seconds (behind a pooler that drops LISTEN).",
    )

    token: SecretStr | None = Field(
        default=None,
        description="Bearer token for the planners' view and POST /admin/reload. Without "
        "one, both are refused (401), never opened.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed by CORS (scheme://host[:port]); empty means same origin "
        "only, ['*'] any. Credentials are never allowed, whatever the origins.",
    )

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, origins: list[str]) -> list[str]:
        # A path, a missing scheme or a comma-joined list would silently match nothing.
        for origin in origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"cors_origins: {origin!r} is not an origin like https://www.example.lg.jp"
                )
        return origins

    default_limit: int = Field(default=100, ge=1, description="Items per page when unasked.")
    max_limit: int = Field(default=10_000, ge=1, description="Largest `limit` accepted.")
    max_body_bytes: int = Field(
        default=1_000_000, ge=1, description="Largest request body accepted (413 above)."
    )
    geocode_batch_max: int = Field(
        default=1_000, ge=1, description="Most addresses one POST /geocode may send."
    )
    cache_max_age: int = Field(
        default=300, ge=0, description="Cache-Control max-age (seconds) of public responses."
    )
    response_cache_bytes: int = Field(
        default=128 * 1024 * 1024,
        ge=0,
        description="Memory for finished response bodies (full layers, repeated queries).",
    )
    gzip_min_bytes: int = Field(default=1_000, ge=0, description="Smaller bodies go plain.")


def get_api_settings() -> ApiSettings:
    """Read the service settings from the environment now (not cached: tests change it)."""
    return ApiSettings()
