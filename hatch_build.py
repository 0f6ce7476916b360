"""Build hook: no wheel or sdist leaves without the vendored front-end.

``src/tsunagari_geo/maps/static/vendor/`` (Leaflet and its plugins, copied from npm at the
versions pinned in ``maps/vendor/package-lock.json``) is git-ignored, so hatch would skip it
and the installed map would answer 503 for its own scripts. ``pyproject.toml`` lists it as an
artifact; this hook stops the build, saying how to vendor, when the folder is missing or holds
other versions. The check is :func:`tsunagari_geo.maps.vendor.is_vendored`, the same one the
service runs before serving the files. Editable installs read the checkout's folder and are
not checked (``make venv`` installs the package first, then vendors with its CLI).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

VENDOR_MODULE = Path("src/tsunagari_geo/maps/vendor.py")


class VendoredFrontEnd(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        root = Path(self.root).resolve()
        vendor = _vendor_module(root)
        if not vendor.is_vendored():
            raise RuntimeError(
                f"{vendor.VENDOR_DIR.relative_to(root)}/ does not hold the front-end pinned in "
                f"{vendor.VENDOR_SOURCE.relative_to(root)}/package-lock.json; "
                "without it the installed map cannot load its scripts. "
                "Run `make vendor` (or `tsunagari-geo site vendor`) first, then build again."
            )


def _vendor_module(root: Path) -> ModuleType:
    """``tsunagari_geo.maps.vendor`` of this tree, loaded from its file (the build environment
    has none of the package's dependencies, and that module needs none of them)."""
    src = str(root / "src")
    sys.path.insert(0, src)
    try:
        spec = importlib.util.spec_from_file_location("_tsunagari_vendor", root / VENDOR_MODULE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(src)
    return module
