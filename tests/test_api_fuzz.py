"""schemathesis over ``/api``: thousands of generated requests per operation, in process.

Each operation of the OpenAPI document gets its own hypothesis run of
``TSUNAGARI_FUZZ_EXAMPLES`` generated requests (default 400; CI uses the default) sent
straight to the ASGI app, no network. Every response must pass schemathesis' checks: no
server error, a documented status code and content type, headers and a body that conform to
the schema. Schema-valid but meaningless requests (a bbox with min > max) are rightly refused
with 400, so only the "positive data must be accepted" check is left out.

Runs are derandomized (the same requests every time, so a failure reproduces) and without
hypothesis' deadline and health checks (the first request of a run warms caches and is slow).
Generated data covers both schema-valid and schema-violating requests (positive and negative modes).

    TSUNAGARI_FUZZ_EXAMPLES=2000 .venv/bin/pytest tests/test_api_fuzz.py -q   # a longer run
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from test_layers_fixtures import TOKEN, build_deployment

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis

from schemathesis.specs.openapi.checks import positive_data_acceptance

from tsunagari_api.catalog import COLLECTIONS
from tsunagari_api.factory import create_app
from tsunagari_geo.layers.tiles import TileSpec, build_tiles
from tsunagari_geo.store import open_store

EXAMPLES = int(os.environ.get("TSUNAGARI_FUZZ_EXAMPLES", "400"))

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Any:
    built = build_deployment(tmp_path_factory.mktemp("fuzz"), store_path)
    region = open_store(built.settings.store).region
    build_tiles(built.settings.layers, built.settings.tiles_dir, region=region, spec=TileSpec(5, 9))
    schema = schemathesis.openapi.from_asgi("/api", create_app(built.settings))
    schema.config.generation.update(modes=list(schemathesis.GenerationMode))
    return schema


def _operations(api_schema: Any) -> list[Any]:
    return [result.ok() for result in api_schema.get_all_operations()]


def _fuzz(operation: Any) -> int:
    """``EXAMPLES`` generated requests against one operation; returns how many were sent."""
    protected = any(f"/collections/{s.id}" in operation.label for s in COLLECTIONS if s.protected)
    # The planners' view is fuzzed with the token. /admin/reload is fuzzed without it: each
    # authorised call would reload the whole dataset.
    headers = {"Authorization": f"Bearer {TOKEN}"} if protected else {}
    sent = 0

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        print_blob=True,
    )
    def run(case: schemathesis.Case) -> None:
        nonlocal sent
        sent += 1
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    run()
    return sent


def test_every_operation_survives_generated_requests(api_schema: Any) -> None:
    operations = _operations(api_schema)
    assert len(operations) > 20
    report = []
    for operation in operations:
        start = time.perf_counter()
        sent = _fuzz(operation)
        report.append((operation.label, sent, time.perf_counter() - start))
    for label, sent, seconds in report:
        print(f"{label}: {sent} requests in {seconds:.1f} s")
    # hypothesis stops early only when an operation's inputs run out (no parameters, or an
    # enum of two tileset names); every operation with an open input gets the full count.
    open_inputs = ("/items", "{featureId}", "/geocode", ".mvt", "/admin/reload")
    for label, sent, _seconds in report:
        if any(label.endswith(o) for o in open_inputs):
            assert sent == EXAMPLES, (label, sent)
