"""Oven profile: ramp/hold segments, atmosphere, cooling."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from drivers.limits import limited
from drivers.oven.interface import LIMITS, MAX_SEGMENTS


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Segment(Strict):
    ramp_c_per_min: float = limited(LIMITS, "ramp_c_per_min")
    target_c: float = limited(LIMITS, "target_c")
    hold_s: float = limited(LIMITS, "hold_s")


class OvenRecipe(Strict):
    segments: list[Segment] = Field(min_length=1, max_length=MAX_SEGMENTS)
    n2_purge: bool
    o2_limit_ppm: float = limited(LIMITS, "o2_limit_ppm", description="process stops above this")
    n2_flow_slm: float = limited(LIMITS, "n2_flow_slm")
    cool_c_per_min: float = limited(LIMITS, "cool_c_per_min")
    liquidus_c: float = limited(LIMITS, "liquidus_c", description="for time-above-liquidus reporting")
