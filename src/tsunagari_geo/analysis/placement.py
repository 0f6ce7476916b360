"""How a geocoding result becomes a placed point: the one rule for the CLI and the pipeline.

``tsunagari-geo coverage`` (rows without coordinates) and ``tsunagari-geo build``
(:func:`tsunagari_geo.layers.privacy.locate_activities`) both turn the geocoder's answer into a
place with :func:`placed_point`, so the two compute the same counts and the same reach.

No invented precision: a result the geocoder leaves at municipality level (level 2) is placed
at its municipality's representative point with precision ``municipality``; that point shows
where the row is on a map but never locates it further. Only :data:`LOCATING` precisions
(``exact``: the member's own coordinates, ``town``: a 大字・町丁目 point) decide the unit by
point-in-polygon and measure reach. So an address naming only さいたま市, or a town that is in
several of its wards, belongs to さいたま市 (``muni_code`` 11100) and to no ward
(``unit_code`` empty), instead of to whichever ward holds the city's centre.

Example::

    >>> place = placed_point(geocoder.geocode("さいたま市塚本1-1"))
    >>> place.unit_code, place.muni_code, place.precision
    ('', '11100', 'municipality')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Precision = Literal["exact", "town", "municipality", "none"]

#: Precisions whose point locates a row (its unit by point-in-polygon) and measures reach.
LOCATING: tuple[Precision, ...] = ("exact", "town")


class _Result(Protocol):
    """What :func:`placed_point` reads of a geocoding result (a ``GeocodeResult``)."""

    level: int
    status: str
    unit_code: str
    muni_code: str
    lat: float | None
    lng: float | None


@dataclass(frozen=True)
class PlacedPoint:
    """Where a geocoded row is placed, with the codes it belongs to and how precisely.

    ``lng``/``lat`` (EPSG:4326) are None when the result has no point; ``unit_code`` is one
    of the 72 units or empty when the ward of さいたま市 is not known; ``muni_code`` one of the
    63 municipalities or empty.
    """

    lng: float | None
    lat: float | None
    unit_code: str
    muni_code: str
    precision: Precision

    @property
    def locates(self) -> bool:
        """Whether the point may decide the unit and measure reach (see :data:`LOCATING`)."""
        return self.precision in LOCATING and self.lng is not None and self.lat is not None


def placed_point(result: _Result) -> PlacedPoint:
    """The place of one geocoding result.

    Level 3 (town) → the town's point, precision ``town``; level 2 (municipality) → the
    municipality's representative point, precision ``municipality``; anything less → no point,
    no codes, precision ``none``. An address outside the region (``outside_prefecture``) is not
    placed either, even when the geocoder read it to a town and a point in another prefecture:
    the region's analysis and maps take such rows in only on purpose, never by default.
    """
    if result.status == "outside_prefecture":
        return PlacedPoint(None, None, "", "", "none")
    has_point = result.lat is not None and result.lng is not None
    if result.level >= 3 and has_point:
        precision: Precision = "town"
    elif result.level >= 2:
        precision = "municipality"
    else:
        return PlacedPoint(None, None, "", "", "none")
    return PlacedPoint(
        lng=float(result.lng) if has_point and result.lng is not None else None,
        lat=float(result.lat) if has_point and result.lat is not None else None,
        unit_code=result.unit_code,
        muni_code=result.muni_code,
        precision=precision,
    )
