"""The geocoder as a geopy ``Geocoder``, and optional remote fallbacks through geopy.

``OfflineGeocoder`` lets ``geopandas.tools.geocode(series, provider=OfflineGeocoder(...))`` and
``geopy.extra.rate_limiter.RateLimiter`` use the offline geocoder; ``Location.raw`` carries every
field of :class:`~tsunagari_geo.geocode.core.GeocodeResult`.

Remote fallbacks are off by default. A user enables them with settings
(``TSUNAGARI_GEOCODE_FALLBACK=nominatim`` plus ``TSUNAGARI_GEOCODE_NOMINATIM_DOMAIN`` …); they are
tried only for rows the offline geocoder leaves below level 3, through geopy's RateLimiter, and
every answer (also "nothing found") is cached by query, so a batch never asks twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim
from geopy.geocoders.base import Geocoder as GeopyGeocoder
from geopy.location import Location

from tsunagari_geo.geocode.core import Geocoder, GeocodeResult
from tsunagari_geo.region import Region, default_region
from tsunagari_geo.settings import GeocodeSettings

__all__ = ["GeocodeSettings", "OfflineGeocoder", "RemoteFallback"]


class RemoteFallback:
    """Ask a geopy geocoder for rows below level 3; rate-limited, cached, region-only.

    A point is taken only if it lies in the region's bounds (region.toml, with a margin); the
    row keeps its level and status and gains ``remote_point:<name>`` in ``reason`` (its
    precision is the remote's).
    """

    def __init__(
        self,
        geocoder: GeopyGeocoder,
        *,
        name: str,
        min_delay_seconds: float = 1.0,
        region: Region | None = None,
    ) -> None:
        self.name = name
        self.region = region or default_region()
        self._limited: Callable[..., Any] = RateLimiter(
            geocoder.geocode, min_delay_seconds=min_delay_seconds, max_retries=1,
            swallow_exceptions=True, return_value_on_exception=None,
        )  # fmt: skip
        self.cache: dict[str, tuple[float, float] | None] = {}
        self.calls = 0

    @classmethod
    def from_settings(
        cls, settings: GeocodeSettings | None = None, *, region: Region | None = None
    ) -> RemoteFallback | None:
        """The configured fallback for ``region`` (default region), or None when off."""
        settings = settings or GeocodeSettings()
        if settings.fallback == "":
            return None
        if settings.fallback != "nominatim":
            from tsunagari_geo.errors import InputError

            raise InputError("未対応のフォールバックです", value=settings.fallback)
        nominatim = Nominatim(
            domain=settings.nominatim_domain,
            scheme=settings.nominatim_scheme,
            user_agent=settings.user_agent,
            timeout=settings.timeout,
        )
        return cls(
            nominatim,
            name="nominatim",
            min_delay_seconds=settings.min_delay_seconds,
            region=region,
        )

    def query_for(self, result: GeocodeResult) -> str:
        """The text sent: the normalised address, with the prefecture when it was not written."""
        text, pref = result.normalized, self.region.pref_name
        return text if text.startswith(pref) else pref + text

    def __call__(self, result: GeocodeResult) -> GeocodeResult:
        if result.level >= 3 or result.status in ("empty", "outside_prefecture"):
            return result
        query = self.query_for(result)
        if query not in self.cache:
            self.calls += 1
            location = self._limited(query, exactly_one=True)
            point = None
            if location is not None:
                lat, lng = float(location.latitude), float(location.longitude)
                west, south, east, north = self.region.bounds
                if south <= lat <= north and west <= lng <= east:
                    point = (lat, lng)
            self.cache[query] = point
        point = self.cache[query]
        if point is None:
            return result
        reason = ",".join(r for r in (result.reason, f"remote_point:{self.name}") if r)
        return replace(result, lat=point[0], lng=point[1], reason=reason)


class OfflineGeocoder(GeopyGeocoder):
    """geopy-compatible wrapper of the offline geocoder (no network unless a fallback is set).

    >>> import geopandas  # doctest: +SKIP
    >>> geopandas.tools.geocode(addresses, provider=OfflineGeocoder())  # doctest: +SKIP
    """

    def __init__(
        self,
        geocoder: Geocoder | None = None,
        *,
        fallback: RemoteFallback | None = None,
        min_level: int = 2,
    ) -> None:
        """``min_level``: results below it count as "not found" (``None``); default 2."""
        super().__init__()
        self.offline = geocoder if geocoder is not None else Geocoder.from_store()
        self.fallback = fallback
        self.min_level = min_level

    def __call__(self, **kwargs: Any) -> OfflineGeocoder:
        # geopandas.tools.geocode calls `provider(**kwargs)` to build its geocoder; an instance
        # passed as provider therefore answers with itself.
        if kwargs:
            raise TypeError(f"OfflineGeocoder takes no options here: {sorted(kwargs)}")
        return self

    def geocode(
        self,
        query: str,
        *,
        exactly_one: bool = True,
        timeout: float | None = None,
        context: str | None = None,
    ) -> Location | list[Location] | None:
        """A ``Location`` (address, (lat, lng), raw = every result field) or None."""
        del timeout  # offline: nothing to wait for
        result = self.offline.geocode(query, context)
        if self.fallback is not None:
            result = self.fallback(result)
        if result.level < self.min_level or result.lat is None or result.lng is None:
            return None
        address = f"{result.pref}{result.city}{result.town}{result.koaza}{result.rest}"
        location = Location(address, (result.lat, result.lng), result.to_dict())
        return location if exactly_one else [location]
