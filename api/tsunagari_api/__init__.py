"""tsunagari-api: the GeoJSON service (OGC API – Features, vector tiles, geocoding).

``create_app(settings)`` assembles the FastAPI application; ``tsunagari-geo serve`` runs it
under uvicorn.
"""

from tsunagari_api.factory import create_app

__all__ = ["create_app"]
