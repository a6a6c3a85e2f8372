"""Litho track program: resist, spin, bake, dose, develop, and where the mask opens the resist."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from drivers.limits import limited
from drivers.litho.interface import LIMITS, RESISTS


class LithoRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    resist: Literal[RESISTS]  # type: ignore[valid-type]
    thickness_um: float = limited(LIMITS, "thickness_um", description="target coat thickness")
    spin_rpm: float = limited(LIMITS, "spin_rpm")
    spin_s: float = limited(LIMITS, "spin_s")
    soft_bake_c: float = limited(LIMITS, "soft_bake_c")
    soft_bake_s: float = limited(LIMITS, "soft_bake_s")
    dose_mj_cm2: float = limited(LIMITS, "dose_mj_cm2")
    develop_s: float = limited(LIMITS, "develop_s")
    mask: str
    open_over: Literal["pad", "field"]
