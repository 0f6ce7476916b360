"""Routers, each built by a factory from the settings: ogc, tiles, geocode, admin."""
