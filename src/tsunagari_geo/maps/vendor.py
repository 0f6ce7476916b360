"""Front-end assets served by the app itself: Leaflet and its plugins, pinned, with licences.

folium's pages load Leaflet and friends from public CDNs. Here every script, stylesheet and
image comes from the page's own origin, so the map works offline, behind a prefecture
firewall, and tells no third party who looked at which support. The versions are pinned in
``vendor/package.json`` and ``vendor/package-lock.json`` (npm registry, with integrity
hashes); :func:`vendor_assets` runs ``npm ci`` there and copies only the files the pages use,
plus each package's licence, into ``static/vendor/`` (git-ignored), which the app and the static
site serve.

Example::

    >>> from tsunagari_geo.maps.vendor import vendor_assets
    >>> vendor_assets()  # doctest: +SKIP
    PosixPath('.../tsunagari_geo/maps/static/vendor')
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tsunagari_geo.errors import FetchError

MAPS_DIR = Path(__file__).resolve().parent
VENDOR_SOURCE = MAPS_DIR / "vendor"
STATIC_DIR = MAPS_DIR / "static"
VENDOR_DIR = STATIC_DIR / "vendor"


@dataclass(frozen=True)
class VendoredPackage:
    """One npm package: the files the pages need (relative to the package) and its licence."""

    name: str
    files: tuple[str, ...]
    license_file: str


PACKAGES: tuple[VendoredPackage, ...] = (
    VendoredPackage(
        "leaflet",
        (
            "dist/leaflet.js",
            "dist/leaflet.css",
            "dist/images/layers.png",
            "dist/images/layers-2x.png",
            "dist/images/marker-icon.png",
            "dist/images/marker-icon-2x.png",
            "dist/images/marker-shadow.png",
        ),
        "LICENSE",
    ),
    VendoredPackage(
        "leaflet.markercluster",
        (
            "dist/leaflet.markercluster.js",
            "dist/MarkerCluster.css",
            "dist/MarkerCluster.Default.css",
        ),
        "MIT-LICENCE.txt",
    ),
)


def vendored_url(base: str, package: str, file: str) -> str:
    """The URL of a vendored file under ``base`` (e.g. ``/assets`` or ``../assets``)."""
    return f"{base}/vendor/{package}/{Path(file).name}"


def is_vendored(target: Path = VENDOR_DIR) -> bool:
    """True when every file of every pinned package is in ``target`` at its pinned version."""
    manifest = target / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return False
    if recorded != _pinned_versions():
        return False
    return all(
        (target / p.name / _flat(f)).is_file() for p in PACKAGES for f in (*p.files, p.license_file)
    )


def vendor_assets(target: Path = VENDOR_DIR, *, npm: str = "npm") -> Path:
    """Install the pinned packages with ``npm ci`` and copy their needed files into ``target``.

    Images keep their ``images/`` folder (Leaflet's CSS refers to them relatively); everything
    else is flattened into ``target/<package>/``. A ``manifest.json`` records the versions.

    Returns ``target``. Raises FetchError when npm is missing, fails, or a file is absent.
    """
    node_modules = VENDOR_SOURCE / "node_modules"
    if not _installed(node_modules):
        try:
            subprocess.run(
                [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=VENDOR_SOURCE,
                check=True,
                capture_output=True,
                text=True,
            )
        except FileNotFoundError as exc:
            raise FetchError(
                "npm が見つかりません。nodejs と npm を入れてください", path=VENDOR_SOURCE
            ) from exc
        except subprocess.CalledProcessError as exc:
            raise FetchError(
                f"npm ci に失敗しました: {exc.stderr.strip()[-500:]}", path=VENDOR_SOURCE
            ) from exc
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    for package in PACKAGES:
        root = node_modules / package.name
        for file in (*package.files, package.license_file):
            src = root / file
            if not src.is_file():
                raise FetchError("必要なファイルがパッケージにありません", path=src)
            dest = staging / package.name / _flat(file)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
    (staging / "manifest.json").write_text(
        json.dumps(_pinned_versions(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    # Swap the folder whole, so a server never sees half the assets.
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def ensure_vendored(target: Path = VENDOR_DIR) -> Path:
    """:func:`vendor_assets` unless the pinned files are already in place; returns ``target``."""
    return target if is_vendored(target) else vendor_assets(target)


def _flat(file: str) -> str:
    path = Path(file)
    return f"images/{path.name}" if path.parent.name == "images" else path.name


def _pinned_versions() -> dict[str, str]:
    lock = json.loads((VENDOR_SOURCE / "package-lock.json").read_text(encoding="utf-8"))
    return {p.name: lock["packages"][f"node_modules/{p.name}"]["version"] for p in PACKAGES}


def _installed(node_modules: Path) -> bool:
    pinned = _pinned_versions()
    for name, version in pinned.items():
        manifest = node_modules / name / "package.json"
        if not manifest.is_file():
            return False
        if json.loads(manifest.read_text(encoding="utf-8")).get("version") != version:
            return False
    return True
