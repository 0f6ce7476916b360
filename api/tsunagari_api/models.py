"""Typed response models, so the OpenAPI document describes what the service really sends.

GeoJSON follows RFC 7946; the OGC API – Features Part 1 documents (landing page,
conformance, collections) follow the standard's schemas in the subset this service uses.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Position = list[float]


class Link(BaseModel):
    """A web link (RFC 8288) as OGC API documents carry them."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    title: str
    description: str
    attribution: str
    links: list[Link]


class Conformance(BaseModel):
    conformsTo: list[str]


class SpatialExtent(BaseModel):
    bbox: list[list[float]] = Field(description="[[minLon, minLat, maxLon, maxLat]]")
    crs: str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


class TemporalExtent(BaseModel):
    interval: list[list[str | None]] = Field(description="[[first, last]] in RFC 3339")
    trs: str = "http://www.opengis.net/def/uri/ISO-8601/0/Gregorian"


class Extent(BaseModel):
    spatial: SpatialExtent | None = None
    temporal: TemporalExtent | None = None


class CollectionInfo(BaseModel):
    id: str
    title: str
    description: str
    links: list[Link]
    extent: Extent | None = None
    itemType: Literal["feature"] = "feature"
    crs: list[str] = ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    numberOfFeatures: int | None = Field(default=None, description="Features in the collection.")
    requiresToken: bool = Field(default=False, description="Needs the bearer token.")
    filters: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Filter parameters of /items and their allowed values (empty: any).",
    )


class Collections(BaseModel):
    links: list[Link]
    collections: list[CollectionInfo]


class Geometry(BaseModel):
    """A GeoJSON geometry (lon/lat, RFC 7946); exterior rings counter-clockwise."""

    model_config = ConfigDict(extra="forbid")

    type: Literal[
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
    ]
    coordinates: list[Any]


class Feature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: Geometry | None
    properties: dict[str, Any] | None
    links: list[Link] | None = None


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[Feature]
    numberMatched: int
    numberReturned: int
    timeStamp: str
    links: list[Link]


class Health(BaseModel):
    status: Literal["ok"]
    dataset_version: str = Field(
        description="The served data's version (store import and layer set): the same on "
        "every server that serves the same data."
    )
    reload_count: int = Field(description="How many times this server loaded new data.")
    loaded_at: str
    layers_version: str = Field(description="The served layer set's version; empty: none.")
    tiles_layers_version: str | None = Field(
        description="The layer set the tiles were built from (their manifest's); null: no tiles."
    )
    warnings: list[str] = Field(
        description="What an operator should know (in Japanese), e.g. tiles of another build."
    )
    collections: dict[str, int]
    tiles: list[str]


class ReloadResult(BaseModel):
    status: Literal["reloaded"]
    dataset_version: str
    previous_version: str
    reload_count: int
    loaded_at: str
    collections: dict[str, int]


class Calendar(BaseModel):
    """The days each activity is open, from its rrule (:mod:`tsunagari_geo.activities.schedule`)."""

    start: str = Field(description="The first day of the window (YYYY-MM-DD, in Japan).")
    days: int = Field(description="Days in the window, from start.")
    open: dict[str, list[int]] = Field(
        description="Activity id → the days it is open, as offsets from start (0 is start); "
        "activities without an occurrence in the window are absent."
    )
