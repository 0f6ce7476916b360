"""The package as a user gets it: a wheel built from this tree and installed in a fresh venv.

Nothing of the checkout is on the path: the wheel is built with ``python -m build --wheel``,
installed with pip into a new virtual environment (dependencies pinned by
``requirements.lock``), and the commands run from an empty folder outside the repository,
exactly as the README tells a new deployment to: ``data import``, ``build``, ``tiles build``,
``serve``. Then headless Chromium opens ``/map``: every script and stylesheet the page asks for
must come from the installed package (none answers 503), and the sample activities must be on
the map. The sdist is checked too, and a tree without the vendored front-end must refuse to
build.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from server_helpers import LOOPBACK, free_port, serving
from test_browser_fixtures import DESKTOP, chromium, open_page, screenshot
from tsunagari_geo.layers.published import LayerSet
from tsunagari_geo.maps.vendor import PACKAGES, ensure_vendored

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "requirements.lock"

#: Files of the installed package that a checkout used to provide from outside it.
DATA_FILES = (
    "tsunagari_geo/resources/taxonomies/themes.csv",
    "tsunagari_geo/resources/taxonomies/life_stages.csv",
    "tsunagari_geo/resources/taxonomies/circumstances.csv",
    "tsunagari_geo/resources/coverage.toml",
    "tsunagari_geo/resources/good_practices.csv",
    "tsunagari_geo/resources/samples/README.md",
    "tsunagari_geo/resources/samples/organizations.csv",
    "tsunagari_geo/resources/samples/activities.csv",
    "tsunagari_geo/resources/samples/consultations.csv",
    "tsunagari_geo/resources/templates/activities.csv",
    "tsunagari_geo/resources/templates/activities.xlsx",
    "tsunagari_geo/maps/vendor/package-lock.json",
    "tsunagari_geo/maps/static/vendor/manifest.json",
    "tsunagari_geo/maps/static/vendor/leaflet/leaflet.js",
    "tsunagari_geo/maps/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
    # The pages' message catalogue, read as .po at start-up (nothing compiled at build time).
    "tsunagari_geo/maps/locale/messages.pot",
    "tsunagari_geo/maps/locale/en/LC_MESSAGES/messages.po",
    "tsunagari_geo/maps/locale/easy/LC_MESSAGES/messages.po",
    "tsunagari_geo/maps/templates/language_switch.html",
)


@dataclass(frozen=True)
class Installed:
    """A fresh virtual environment with the wheel installed, and an empty working folder."""

    venv: Path
    work: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A command of the venv (``tsunagari-geo``, ``python``) in the working folder."""
        return _run([str(self.venv / "bin" / args[0]), *args[1:]], cwd=self.work, env=self.env)


def _run(
    command: list[str], *, cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-3000:]}\n"
            f"{done.stderr[-3000:]}"
        )
    return done


def _build(
    kind: str, source: Path, out: Path, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``python -m build --<kind>`` of ``source`` into ``out`` (an isolated build, as pip does)."""
    return _run(
        [sys.executable, "-m", "build", f"--{kind}", "--outdir", str(out), str(source)],
        cwd=source,
        check=check,
    )


def _user_env(venv: Path) -> dict[str, str]:
    """The environment of someone who installed the wheel: none of this checkout, no settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TSUNAGARI_") and k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["TSUNAGARI_BASEMAP"] = "blank"  # offline: a request to any other origin is a failure
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # `make venv` vendors the front-end; a bare pytest run does it here, like the browser tests.
    ensure_vendored()
    out = tmp_path_factory.mktemp("dist")
    _build("wheel", REPO, out)
    _build("sdist", REPO, out)
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("user")
    venv, work = root / "venv", root / "work"
    work.mkdir()
    env = _user_env(venv)
    _run([sys.executable, "-m", "venv", str(venv)], cwd=root, env=env)
    (wheel,) = dist.glob("tsunagari_geo-*.whl")
    _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", str(wheel), "-c", str(LOCK)],
        cwd=root,
        env=env,
    )  # fmt: skip
    return Installed(venv, work, env)


@pytest.fixture(scope="module")
def deployed(installed: Installed, source_dir: Path) -> Installed:
    """The README's first steps, run by the installed package in its empty working folder."""
    installed.run("tsunagari-geo", "data", "import", "--source", str(source_dir.resolve()))
    installed.run("tsunagari-geo", "build")
    installed.run("tsunagari-geo", "tiles", "build")
    return installed


@pytest.fixture(scope="module")
def server(deployed: Installed) -> Iterator[str]:
    port = free_port()
    command = [str(deployed.venv / "bin" / "tsunagari-geo"), "serve", "--host", LOOPBACK,
               "--port", str(port), "--log-level", "warning"]  # fmt: skip
    base = f"http://{LOOPBACK}:{port}"
    with serving(command, f"{base}/healthz", deployed.env, cwd=deployed.work):
        yield base


def test_the_installed_package_lists_its_data_files_and_front_end(installed: Installed) -> None:
    listed = installed.run(
        "python",
        "-c",
        "import importlib.metadata as m; print('\\n'.join(map(str, m.files('tsunagari-geo'))))",
    ).stdout.splitlines()
    assert [f for f in DATA_FILES if f not in listed] == []


def test_the_installed_package_reads_its_files_from_the_venv(installed: Installed) -> None:
    code = (
        "from tsunagari_geo.resources import RESOURCES_DIR\n"
        "from tsunagari_geo.maps.vendor import VENDOR_DIR, is_vendored\n"
        "from tsunagari_geo.activities.taxonomy import load_taxonomies\n"
        "print(RESOURCES_DIR, VENDOR_DIR, is_vendored(), len(load_taxonomies().themes.codes))"
    )
    resources, vendor, vendored, themes = installed.run("python", "-c", code).stdout.split()
    site_packages = str(installed.venv / "lib")
    assert resources.startswith(site_packages) and vendor.startswith(site_packages)
    assert vendored == "True" and int(themes) > 0


def test_the_pipeline_writes_its_files_into_the_working_folder(deployed: Installed) -> None:
    build = deployed.work / "data" / "build"
    for name in ("tsunagari.gpkg", "layers.gpkg", "planner.gpkg"):
        assert (build / name).stat().st_size > 0, name
    assert sorted(p.name for p in (deployed.work / "tiles").glob("*.pmtiles")) == [
        "activities.pmtiles",
        "municipalities.pmtiles",
    ]


def test_the_installed_map_loads_its_own_scripts_and_shows_the_activities(
    deployed: Installed, server: str
) -> None:
    activities = LayerSet.open(deployed.work / "data" / "build" / "layers.gpkg", "public")
    mapped = activities.frames["activities"].geometry.notna().sum()
    assert mapped > 0
    with chromium() as browser:
        page, log = open_page(browser, DESKTOP)
        page.goto(f"{server}/map")
        page.wait_for_function("() => document.body.dataset.ready === 'markers'", timeout=30_000)
        page.wait_for_function("() => Tsunagari.ready.then(() => true)")
        screenshot(page, "wheel_map")
        drawn = page.evaluate("Tsunagari.cluster.getLayers().length")
        icons = page.eval_on_selector_all(
            ".leaflet-marker-pane .leaflet-marker-icon", "e => e.length"
        )
        # The installed catalogue: the same page in English (the .po files came with the wheel).
        page.goto(f"{server}/map?lang=en")
        page.wait_for_function("() => document.body.dataset.ready === 'markers'", timeout=30_000)
        english = page.inner_text("#tg-search button[type=submit]")
    assert english == "Search"
    assert log.failures == [] and log.errors == []
    assert log.origins() == {server}
    for package in PACKAGES:
        assert any(f"/vendor/{package.name}/" in u for u in log.requests), log.requests
    assert drawn == mapped and icons > 0


def test_the_sdist_carries_the_data_files_and_the_front_end(dist: Path) -> None:
    (sdist,) = dist.glob("tsunagari_geo-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert [f for f in DATA_FILES if f"src/{f}" not in names] == []
    assert "hatch_build.py" in names and "requirements.lock" in names


def test_a_tree_without_the_vendored_front_end_does_not_build(dist: Path, tmp_path: Path) -> None:
    (sdist,) = dist.glob("tsunagari_geo-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (tree,) = tmp_path.iterdir()
    manifest = tree / "src" / "tsunagari_geo" / "maps" / "static" / "vendor" / "manifest.json"
    manifest.unlink()
    done = _build("wheel", tree, tmp_path / "out", check=False)
    assert done.returncode != 0
    assert "make vendor" in done.stdout + done.stderr
    assert not list((tmp_path / "out").glob("*.whl"))
