"""Analysis: the spatial join of points to areas and the coverage-gap analysis.

* :mod:`.join` gives every point its unit (72) and municipality (63) and checks it against the
  geocoder's code (``tsunagari-geo join``).
* :mod:`.coverage` measures, per area, what support exists, for whom, how far away, which
  members are there, where the gaps are and who nearby could fill them
  (``tsunagari-geo coverage``).
* :mod:`.config` reads the gap-score weights and thresholds from ``coverage.toml``
  (shipped in ``resources/``).
"""
