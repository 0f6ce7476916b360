"""A schemathesis run over the OpenAPI document: no server error, no response off the schema.

Each operation of ``/api`` gets its own hypothesis run of generated requests (bounded by
``max_examples``) through the real app; ``call_and_validate`` applies schemathesis' checks
(no 5xx, status code, content type, headers and body conform to the document).
"""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Any:
    built = build_deployment(tmp_path_factory.mktemp("schema"), store_path)
    region = open_store(built.settings.store).region
    build_tiles(
        built.settings.layers, built.settings.tiles_dir, region=region, spec=TileSpec(5, 10)
    )
    return schemathesis.openapi.from_asgi("/api", create_app(built.settings))


def _check(operation: Any, headers: dict[str, str]) -> None:
    """One bounded hypothesis run of generated requests against one operation."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        # Schema-valid but meaningless requests (a bbox with min > max) are rightly refused
        # with 400; every other check applies.
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    run()


def test_every_operation_conforms_to_the_schema(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:
        # The planners' view is exercised with the token too; reload is left unauthorised
        # (each authorised call would reload the whole dataset).
        protected = any(
            f"/collections/{s.id}" in operation.label for s in COLLECTIONS if s.protected
        )
        headers = {"Authorization": f"Bearer {TOKEN}"} if protected else {}
        _check(operation, headers)
