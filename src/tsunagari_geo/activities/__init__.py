"""Activities: the platform's records (organisations, activities, 相談窓口, 好事例).

* :mod:`.taxonomy` reads the editable vocabularies (shipped in ``resources/taxonomies``).
* :mod:`.models` defines the records (pydantic, after Open Referral HSDS).
* :mod:`.readers` reads CSV/XLSX/GeoJSON into GeoDataFrames plus a validation report.
* :mod:`.samples` generates the fictional sample dataset in ``resources/samples``.
"""
