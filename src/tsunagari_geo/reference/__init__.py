"""Reference data: public sources read and validated, imported into the embedded GeoPackage.

* :mod:`.sources` reads N03 boundaries, the Geolonia town dictionary and the census CSV.
* :mod:`.importer` validates them and writes the store atomically.
* :mod:`.store` opens the store for every later layer.
* :mod:`.fetch` downloads the same public sources onto a user's machine.
"""
