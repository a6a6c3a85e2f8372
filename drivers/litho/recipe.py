"""Litho track program: resist, spin, bake, dose, develop, and where the mask opens the resist."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drivers.limits import limited
from drivers.litho.interface import FILMS, LIMITS, ROLES


class LithoRecipe(BaseModel):
    """Coat a film, bake, expose through a mask, develop: the film is opened over `open_over`
    regions. A resist is a temporary mask; PSPI stays as passivation; SAC-POLY stays as a
    sacrificial island that a release etch later removes from `release_distance_um` away."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    resist: Literal[FILMS]  # type: ignore[valid-type]  # choices from the interface's tuple, one source
    role: Literal[ROLES] = "resist"  # type: ignore[valid-type]  # choices from the interface's tuple, one source
    thickness_um: float = limited(LIMITS, "thickness_um", description="target coat thickness")
    spin_rpm: float = limited(LIMITS, "spin_rpm")
    spin_s: float = limited(LIMITS, "spin_s")
    soft_bake_c: float = limited(LIMITS, "soft_bake_c")
    soft_bake_s: float = limited(LIMITS, "soft_bake_s")
    dose_mj_cm2: float = limited(LIMITS, "dose_mj_cm2")
    develop_s: float = limited(LIMITS, "develop_s")
    mask: str
    open_over: list[str] = Field(min_length=1, description="wafer regions where the film is opened")
    release_distance_um: float | None = limited(LIMITS, "release_distance_um", default=None)

    @model_validator(mode="after")
    def _roles(self) -> LithoRecipe:
        expected = {"PSPI": "passivation", "SAC-POLY": "sacrificial"}.get(self.resist, "resist")
        if self.role != expected:
            raise ValueError(f"{self.resist} is coated as {expected}, not {self.role}")
        if (self.release_distance_um is None) != (self.role != "sacrificial"):
            raise ValueError("release_distance_um is given for, and only for, a sacrificial film")
        return self
