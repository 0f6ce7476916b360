"""Where the pipeline writes what the service and the maps read (relative to the repo root)."""

from __future__ import annotations

from pathlib import Path

#: Published layers: the public view only. Anything in this file may be shown to anyone.
DEFAULT_LAYERS = Path("data/build/layers.gpkg")
#: Planners' layers: exact points and unpublished rows. Served only with the bearer token.
DEFAULT_PLANNER_LAYERS = Path("data/build/planner.gpkg")
#: Vector tile archives (PMTiles), built from the published layers only.
DEFAULT_TILES_DIR = Path("tiles")
