"""tsunagari-geo (つながり): the geospatial engine behind Saitama Prefecture's public-private
platform against loneliness and isolation (孤独・孤立対策官民連携プラットフォーム).

Data flows one way through the sub-packages::

    reference (sources → GeoPackage store) → geocode → activities → analysis (join, coverage)
    → layers/tiles → maps → cli, and the service in ``api/``.
"""

__version__ = "0.1.0"
