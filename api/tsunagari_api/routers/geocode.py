"""``GET /geocode?q=…`` and ``POST /geocode`` (up to the configured batch size) for addresses.

Same fields as ``tsunagari-geo lookup``: input, normalized, pref, city, unit_code (the unit:
a municipality, or a ward of a designated city; empty when only the city is known), muni_code
(the municipality, a ward's city), town, rest, level, lat, lng, status, reason, candidates,
suggestions, and the same words the batch job writes beside the codes
(:mod:`tsunagari_geo.geocode.labels`): status_label (結果), level_label (一致レベル) and
reason_labels (理由, one per reason code). The geocoder is the one of the current dataset,
so it changes with ``/admin/reload`` like everything else.
"""

# No `from __future__ import annotations`: FastAPI must resolve the Annotated query built
# inside the factory, which refers to a local variable (the region's example).

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field, StringConstraints

from tsunagari_api.catalog import Dataset
from tsunagari_api.dependencies import get_dataset
from tsunagari_api.errors import InvalidParameter, problem_responses
from tsunagari_api.settings import ApiSettings
from tsunagari_geo.geocode.core import GeocodeResult as CoreResult
from tsunagari_geo.geocode.labels import result_labels
from tsunagari_geo.region import Region


class GeocodeResult(BaseModel):
    """One address's match; ``level`` 0 nothing, 1 prefecture, 2 municipality, 3 town."""

    input: str
    normalized: str
    pref: str
    city: str
    unit_code: str = Field(
        description="The unit: a municipality, or a designated city's ward; empty when the "
        "address names only the city or a town in several of its wards: no ward is invented."
    )
    muni_code: str = Field(description="The municipality (a ward's city).")
    town: str
    koaza: str = Field(
        default="",
        description="The 小字 (字) read after the town, when the dictionary has it; the point "
        "is then the 小字's and ``town`` stays the 大字 (``town`` + ``koaza`` is the full 町字).",
    )
    rest: str
    level: int = Field(ge=0)
    lat: float | None
    lng: float | None
    status: str
    status_label: str = Field(description="The status in Japanese, e.g. 町字まで一致.")
    reason: str
    reason_labels: list[str] = Field(
        description="Each reason code in Japanese, in the order of ``reason``."
    )
    level_label: str = Field(description="The level in Japanese, e.g. 市区町村まで.")
    candidates: list[str]
    suggestions: list[str] = Field(
        default_factory=list,
        description="Names one character away from what was written, when a municipality or "
        "town was not found (a hint for a person; never applied).",
    )


class GeocodeBatch(BaseModel):
    """Addresses to geocode, in order."""

    addresses: list[Annotated[str, StringConstraints(max_length=500)]] = Field(
        description="Free-text addresses, one per entry (500 characters at most each)."
    )


class GeocodeBatchResult(BaseModel):
    results: list[GeocodeResult]
    summary: dict[str, int] = Field(description="Rows per status.")


def _answer(result: CoreResult, region: Region) -> GeocodeResult:
    labels = result_labels(result.status, result.level, result.reason, region)
    return GeocodeResult.model_validate({**result.to_dict(), **labels})


def geocode_router(settings: ApiSettings, region: Region) -> APIRouter:
    """The geocoding endpoints; the example address is written from ``region``."""
    example = region.pref_name + region.registry.units[0].full_name
    router = APIRouter(tags=["住所検索"])

    @router.get(
        "/geocode",
        response_model=GeocodeResult,
        responses=problem_responses(400),
        summary=f"Geocode one address (offline, {region.pref_name})",
    )
    def geocode_one(
        dataset: Annotated[Dataset, Depends(get_dataset)],
        q: Annotated[
            str,
            Query(
                min_length=1,
                max_length=500,
                description=f"The address, e.g. {example}…",
            ),
        ],
    ) -> GeocodeResult:
        return _answer(dataset.geocoder.geocode(q), dataset.geocoder.region)

    @router.post(
        "/geocode",
        response_model=GeocodeBatchResult,
        responses=problem_responses(400, 413),
        summary=f"Geocode up to {settings.geocode_batch_max} addresses",
    )
    def geocode_many(
        dataset: Annotated[Dataset, Depends(get_dataset)],
        batch: Annotated[GeocodeBatch, Body()],
    ) -> GeocodeBatchResult:
        if len(batch.addresses) > settings.geocode_batch_max:
            raise InvalidParameter(
                f"一度に送れる住所は {settings.geocode_batch_max} 件までです"
                f"（{len(batch.addresses)} 件ありました）。分けて送ってください",
                parameter="addresses",
            )
        geocoder = dataset.geocoder
        results = [_answer(geocoder.geocode(a), geocoder.region) for a in batch.addresses]
        summary: dict[str, int] = {}
        for r in results:
            summary[r.status] = summary.get(r.status, 0) + 1
        return GeocodeBatchResult(results=results, summary=summary)

    return router
