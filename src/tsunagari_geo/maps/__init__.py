"""The public digital map and the planners' coverage dashboard (folium / Leaflet).

* :mod:`~tsunagari_geo.maps.pages` builds the pages (``/map``, ``/dashboard``,
  ``/dashboard/{code}``) for the service or for the static site.
* :mod:`~tsunagari_geo.maps.data` reads the published layers into what the pages show.
* :mod:`~tsunagari_geo.maps.site` writes the static site (pages + GeoJSON + PMTiles).
* :mod:`~tsunagari_geo.maps.vendor` vendors Leaflet and its plugins, so no page ever loads a
  script, style or image from another origin.
"""
