"""The data files the package ships with, found through :mod:`importlib.resources`.

They sit inside the package, so a wheel carries them and an installed ``tsunagari-geo`` finds
them wherever it is run from; a checkout installed editable reads (and ``tsunagari-geo
samples`` rewrites) the same files in ``src/tsunagari_geo/resources/``:

* ``taxonomies/``: ``themes.csv``, ``life_stages.csv``, ``circumstances.csv``, the
  vocabularies the secretariat (事務局) edits (:mod:`tsunagari_geo.activities.taxonomy`).
* ``coverage.toml``: weights and thresholds of the gap score
  (:mod:`tsunagari_geo.analysis.config`).
* ``good_practices.csv``: the real good practices 好事例 (つながるSAITAMA大賞).
* ``samples/``: the FICTIONAL sample dataset ``tsunagari-geo build`` uses by default
  (:mod:`tsunagari_geo.activities.samples`).
* ``templates/``: the activity templates handed to members (``activities.csv``/``.xlsx``).

Each reader takes another file or folder as an argument (and the CLI as an option), so a
deployment can point at its own copy; these are only the defaults.

Example::

    >>> from tsunagari_geo.resources import TAXONOMIES_DIR
    >>> sorted(p.name for p in TAXONOMIES_DIR.glob("*.csv"))
    ['circumstances.csv', 'life_stages.csv', 'themes.csv']
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _folder() -> Path:
    # The readers take paths (CSV, TOML and XLSX readers, error messages naming the file), so
    # the package must be a folder on disk, as every wheel installed by pip is, not a zip.
    root = resources.files(__name__)
    if not isinstance(root, Path):
        raise RuntimeError(f"{__name__} must be installed as files on disk, not in {root!r}")
    return root


RESOURCES_DIR = _folder()
TAXONOMIES_DIR = RESOURCES_DIR / "taxonomies"
COVERAGE_TOML = RESOURCES_DIR / "coverage.toml"
GOOD_PRACTICES_CSV = RESOURCES_DIR / "good_practices.csv"
SAMPLES_DIR = RESOURCES_DIR / "samples"
TEMPLATES_DIR = RESOURCES_DIR / "templates"
