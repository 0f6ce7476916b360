"""``/healthz`` for probes and ``POST /admin/reload`` (bearer token) for swapping data."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from tsunagari_api.catalog import DataHolder, Dataset
from tsunagari_api.dependencies import get_dataset, make_require_token
from tsunagari_api.errors import ReloadRefused, problem_responses
from tsunagari_api.models import Health, ReloadResult
from tsunagari_api.responses import ResponseCache
from tsunagari_api.settings import ApiSettings
from tsunagari_api.tilesets import available_tilesets, tiles_layers_version, tiles_mismatch
from tsunagari_geo.errors import TsunagariError

logger = logging.getLogger("tsunagari_api")


def admin_router(settings: ApiSettings, cache: ResponseCache) -> APIRouter:
    """Health check and reload."""
    router = APIRouter(tags=["運用"])

    @router.get("/healthz", response_model=Health, summary="Liveness and loaded data")
    def healthz(dataset: Annotated[Dataset, Depends(get_dataset)]) -> Health:
        tiles_from = tiles_layers_version(settings)
        return Health(
            status="ok",
            dataset_version=dataset.version,
            reload_count=dataset.reload_count,
            loaded_at=dataset.loaded_at,
            layers_version=dataset.layers_version,
            tiles_layers_version=tiles_from,
            warnings=tiles_mismatch(tiles_from, dataset.layers_version),
            collections={
                k: c.provider.count for k, c in dataset.collections.items() if not c.spec.protected
            },
            tiles=sorted(available_tilesets(settings)),
        )

    @router.post(
        "/admin/reload",
        response_model=ReloadResult,
        responses=problem_responses(401, 409),
        dependencies=[Depends(make_require_token(settings))],
        summary="Open the store and layers again and swap them in atomically",
    )
    async def reload(request: Request) -> ReloadResult:
        holder: DataHolder = request.app.state.holder
        previous = holder.current
        try:
            # Loading takes seconds: off the event loop, so requests keep being served.
            new = await run_in_threadpool(holder.reload, settings)
        except Exception as exc:
            # Whatever breaks while opening new data, the old dataset is still the current one.
            logger.warning("reload refused: %s", exc)
            reason = exc.describe() if isinstance(exc, TsunagariError) else type(exc).__name__
            raise ReloadRefused(
                f"新しいデータを開けないため、再読み込みをやめました（これまでのデータで"
                f"提供を続けます）: {reason}"
            ) from exc
        cache.clear()
        logger.info("reloaded: %s -> %s", previous.version, new.version)
        return ReloadResult(
            status="reloaded",
            dataset_version=new.version,
            previous_version=previous.version,
            reload_count=new.reload_count,
            loaded_at=new.loaded_at,
            collections={k: c.provider.count for k, c in new.collections.items()},
        )

    return router
