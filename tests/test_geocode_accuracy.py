"""Accuracy floors on the real MHLW care-facility sample (2,290 rows), measured by the bench script.

Accuracy, not speed, is asserted: the numbers come from ``bench/geocode_accuracy.py``, which runs
the batch job over the file and compares with the published ``city`` and coordinates.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tsunagari_geo.geocode import Geocoder
from tsunagari_geo.store import Store

BENCH = Path(__file__).resolve().parent.parent / "bench" / "geocode_accuracy.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("geocode_accuracy", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def accuracy(store: Store, source_dir: Path) -> object:
    geocoder = Geocoder.from_store(store)
    return _bench().measure(source_dir / "samples/care_facilities_mhlw_2025.csv", store, geocoder)


def test_every_row_is_measured(accuracy: object) -> None:
    assert accuracy.rows == 2290  # type: ignore[attr-defined]


def test_municipality_agrees_with_the_published_city(accuracy: object) -> None:
    assert accuracy.muni_share >= 0.997  # type: ignore[attr-defined]


def test_level_three_share(accuracy: object) -> None:
    assert accuracy.level3_share >= 0.98  # type: ignore[attr-defined]


def test_points_are_near_the_published_points(accuracy: object) -> None:
    assert accuracy.compared_points >= 2200  # type: ignore[attr-defined]
    assert accuracy.median_m <= 500  # type: ignore[attr-defined]
    assert accuracy.within_1km >= 0.85  # type: ignore[attr-defined]
