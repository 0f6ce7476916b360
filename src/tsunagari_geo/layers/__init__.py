"""Layers and tiles: what the pipeline publishes, and how precisely each activity is shown.

* :mod:`.privacy` — public and planners' views of activities (location privacy, 場所の公開範囲).
* :mod:`.build` — the pipeline build (``tsunagari-geo build``): inputs → geocode → join →
  coverage → ``data/build/layers.gpkg`` (public) and ``data/build/planner.gpkg``.
* :mod:`.published` — reading and atomically writing those layer files.
* :mod:`.tiles` — PMTiles vector tiles of the public layers (``tsunagari-geo tiles build``).
* :mod:`.simplify` — lighter boundaries for the web, simplified as one coverage.
* :mod:`.paths` — default locations.
"""
