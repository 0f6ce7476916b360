"""Analysis: placing points in areas and the coverage-gap analysis, one idea per module.

* :mod:`.placement` turns a geocoding result into a placed point (the one rule for
  ``coverage`` and ``build``; a municipality-level result invents no ward).
* :mod:`.join` gives every point its unit (72) and municipality (63) and checks it against the
  geocoder's code (``tsunagari-geo join``); which unit holds a point is decided by
  :mod:`tsunagari_geo.reference.locator`.
* :mod:`.coverage` assembles, per area, what support exists, for whom, how far away, which
  members are there, where the gaps are and who nearby could fill them
  (``tsunagari-geo coverage``), from :mod:`.inputs` (where each activity counts),
  :mod:`.counts`, :mod:`.reach`, :mod:`.gap_score`, :mod:`.classes`, :mod:`.suggestions`
  and :mod:`.spread` (横展開); :mod:`.distance` measures in metres.
* :mod:`.config` reads the gap-score weights and thresholds from ``coverage.toml``
  (shipped in ``resources/``).
"""
