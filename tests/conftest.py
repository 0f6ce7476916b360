"""Shared fixtures: the real reference data, imported once per test session into a real store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tsunagari_geo.reference.importer import import_reference
from tsunagari_geo.reference.store import ReferenceStore

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
def store_path(source_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store imported from the real sources, once for the whole session."""
    path = tmp_path_factory.mktemp("store") / "tsunagari.gpkg"
    import_reference(source_dir, path)
    return path


@pytest.fixture(scope="session")
def store(store_path: Path) -> ReferenceStore:
    return ReferenceStore.open(store_path)
