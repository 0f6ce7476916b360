"""Offline geocoding of the region's addresses (住所), and the batch job around it.

``Geocoder`` turns one free-text address into a :class:`GeocodeResult` with an honest level
(0 nothing, 1 prefecture, 2 municipality, 3 town); ``OfflineGeocoder`` wraps it for geopy and
``geopandas.tools.geocode``; :mod:`tsunagari_geo.geocode.batch` runs it over a whole table.
"""

from tsunagari_geo.geocode.core import REASONS, Geocoder, GeocodeResult
from tsunagari_geo.geocode.dictionary import AddressDictionary

__all__ = ["REASONS", "AddressDictionary", "GeocodeResult", "Geocoder"]
