"""Shared fixtures: the real reference data, imported once per test session into a real store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from postgis_server import PostgisServer, postgis_or_skip
from tsunagari_geo.reference.importer import import_reference
from tsunagari_geo.store import Store, open_store

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def source_dir() -> Path:
    """The public source folder (CI and the Makefile point it at ../shared/data/saitama)."""
    path = Path(os.environ.get("TSUNAGARI_SOURCE", REPO.parent / "shared/data/saitama"))
    if not (path / "SOURCES.md").exists():
        pytest.fail(f"reference data not found at {path}; set TSUNAGARI_SOURCE")
    return path


@pytest.fixture(scope="session")
def japan_dir() -> Path:
    """The national source folder (all 47 prefectures' towns), beside the Saitama one."""
    path = Path(os.environ.get("TSUNAGARI_JAPAN", REPO.parent / "shared/data/japan"))
    if not (path / "towns/api/ja.json").exists():
        pytest.fail(f"national reference data not found at {path}; set TSUNAGARI_JAPAN")
    return path


@pytest.fixture(scope="session")
def japan_store_path(
    source_dir: Path, japan_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A store of the real sources with all Japan's towns, once for the whole session."""
    path = tmp_path_factory.mktemp("japan_store") / "tsunagari.gpkg"
    import_reference(source_dir, path, japan=japan_dir)
    return path


@pytest.fixture(scope="session")
def store_path(source_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store imported from the real sources, once for the whole session."""
    path = tmp_path_factory.mktemp("store") / "tsunagari.gpkg"
    import_reference(source_dir, path)
    return path


@pytest.fixture(scope="session")
def store(store_path: Path) -> Store:
    return open_store(store_path)


@pytest.fixture(scope="session")
def postgis_server() -> Iterator[PostgisServer]:
    """A real PostgreSQL + PostGIS cluster for the session (skipped locally when not installed,
    a failure in CI; see tests/postgis_server.py)."""
    postgis_or_skip()
    with PostgisServer.started() as server:
        yield server
