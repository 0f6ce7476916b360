"""Settings of the coverage-gap analysis, read from ``coverage.toml``.

The package ships one (``tsunagari_geo/resources/coverage.toml``); ``tsunagari-geo coverage
--config`` reads another. Every default below equals the shipped file, whose comments document each weight and
threshold. :func:`load_coverage_config` validates the file and raises :class:`InputError`
naming the key and value when something is off.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from tsunagari_geo.errors import InputError
from tsunagari_geo.resources import COVERAGE_TOML


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weights(_Section):
    """Weights of the gap-score components (any non-negative numbers; they are normalised)."""

    no_inperson: float = Field(default=30, ge=0)
    life_stage_missing: float = Field(default=20, ge=0)
    low_density: float = Field(default=15, ge=0)
    low_reach: float = Field(default=20, ge=0)
    not_member: float = Field(default=15, ge=0)


class Thresholds(_Section):
    reach_distance_m: Literal[1000, 2000] = 2000
    reach_share: float = Field(default=0.5, gt=0, le=1)
    density_quantile: float = Field(default=0.25, ge=0, le=1)


class Classes(_Section):
    k: int = Field(default=5, ge=2, le=12)


class Suggestions(_Section):
    per_need: int = Field(default=3, ge=1, le=50)
    neighbour_rings: int = Field(default=1, ge=1, le=5)


class Spread(_Section):
    max_distance_km: float = Field(default=25.0, gt=0)
    include_unlocated: bool = False


class Need(_Section):
    """Weights of the need indicators in the need score (non-negative; normalised)."""

    single_household_share: float = Field(default=1.0, ge=0)
    older_alone_share: float = Field(default=1.0, ge=0)
    children_share: float = Field(default=0.5, ge=0)
    foreign_share: float = Field(default=0.5, ge=0)


class NeedGap(_Section):
    """How supply is set against need in the need-gap score."""

    reach_distance: Literal["500m", "1km", "2km"] = "1km"
    reach: float = Field(default=2.0, ge=0)
    access: float = Field(default=1.0, ge=0)


class Access(_Section):
    """Enhanced 2SFCA: Gaussian distance decay inside a fixed catchment."""

    catchment_m: float = Field(default=2000.0, gt=0)
    sigma_m: float = Field(default=1000.0, gt=0)
    default_capacity: float = Field(default=1.0, gt=0)


class Plan(_Section):
    """The plan the build stores: ``new`` places reaching residents within ``radius_m``."""

    new: int = Field(default=5, ge=1, le=100)
    radius_m: float = Field(default=1000.0, gt=0, le=50_000)


class CoverageConfig(_Section):
    """All settings of :func:`tsunagari_geo.analysis.coverage.compute_coverage`."""

    weights: Weights = Weights()
    thresholds: Thresholds = Thresholds()
    classes: Classes = Classes()
    suggestions: Suggestions = Suggestions()
    spread: Spread = Spread()
    need: Need = Need()
    need_gap: NeedGap = NeedGap()
    access: Access = Access()
    plan: Plan = Plan()

    def as_json(self) -> str:
        """These settings as JSON, as the build records them beside the layers it wrote."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> CoverageConfig:
        """Settings a build recorded (:meth:`as_json`); raises InputError when unreadable."""
        try:
            return cls.model_validate_json(text)
        except PydanticValidationError as exc:
            raise InputError(f"recorded coverage settings unreadable: {exc}") from exc


def load_coverage_config(path: Path | str | None = None) -> CoverageConfig:
    """Read the TOML settings (default: the shipped ``coverage.toml``).

    Raises:
        InputError: the file is missing, not TOML, has an unknown key or a bad value, or its
            weights add up to zero.
    """
    path = Path(path or COVERAGE_TOML)
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError as exc:
        raise InputError("coverage settings not found", path=path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", path=path) from exc
    try:
        config = CoverageConfig.model_validate(raw)
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        raise InputError(
            err["msg"], path=path, column=".".join(map(str, err["loc"])), value=err.get("input")
        ) from exc
    if sum(config.weights.model_dump().values()) <= 0:
        raise InputError("the gap-score weights add up to zero", path=path, column="weights")
    if sum(config.need.model_dump().values()) <= 0:
        raise InputError("the need weights add up to zero", path=path, column="need")
    if config.need_gap.reach + config.need_gap.access <= 0:
        raise InputError("the need-gap supply weights add up to zero", path=path, column="need_gap")
    return config
