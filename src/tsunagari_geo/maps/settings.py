"""Settings of the map and dashboard pages (environment prefix ``TSUNAGARI_``).

The base map is the one choice that may send a request to another origin, so it is a
setting: ``gsi`` (地理院タイル, with its attribution) for a real deployment, ``blank`` (no tile
layer: a plain background under the municipality outlines) for tests, demos and networks
where nothing may leave the origin.

Example::

    TSUNAGARI_BASEMAP=blank tsunagari-geo serve
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: 地理院タイル 淡色地図: light enough for coloured markers and choropleths.
GSI_PALE_URL = "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png"
GSI_ATTRIBUTION_HTML = (
    '<a href="https://maps.gsi.go.jp/development/ichiran.html" target="_blank" '
    'rel="noopener">地理院タイル</a>'
)


class MapSettings(BaseSettings):
    """What the pages need beyond the data (every default visible here)."""

    model_config = SettingsConfigDict(env_prefix="TSUNAGARI_", extra="ignore")

    basemap: Literal["gsi", "blank"] = Field(
        default="gsi",
        description="Background of the maps: gsi (地理院タイル, requests go to GSI) or blank "
        "(no request leaves the origin).",
    )
    gsi_tile_url: str = Field(default=GSI_PALE_URL, description="Tile URL template for gsi.")
    classification_scheme: str = Field(
        # FisherJenks is the exact optimum of the criterion NaturalBreaks approximates by
        # random restarts: the same classes on every build, and ~15× faster (the first
        # /dashboard took 10 s with NaturalBreaks, ~30 metrics × 2 levels).
        default="FisherJenks",
        description="mapclassify scheme for the dashboard's choropleth classes.",
    )
    classes: int = Field(default=5, ge=2, le=9, description="Number of choropleth classes.")
    # Off by default: suggestions are computed from every activity, hidden ones included, and a
    # distance to a hidden activity's organisation could hint at where it is. A deployment whose
    # dashboard sits behind the prefecture's own access control turns them on.
    dashboard_suggestions: bool = Field(
        default=False,
        description="Show the planners' matching suggestions and 横展開 candidates on the "
        "service's municipality pages. They name member organisations and a distance rounded "
        "to 0.1 km, computed from every activity (hidden ones too) but never holding an "
        "activity's point or fields; turn on only where the dashboard is not public.",
    )


def get_map_settings() -> MapSettings:
    """Read the map settings from the environment now (not cached: tests change it)."""
    return MapSettings()
