"""Plating program: bath, current density over the open area, time, and what the deposit is for."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from drivers.limits import limited
from drivers.plater.interface import BATHS, DEPOSIT_ROLES, LIMITS


class PlaterRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    bath: Literal[BATHS]  # type: ignore[valid-type]  # choices from the interface's tuple, one source
    deposit_role: Literal[DEPOSIT_ROLES]  # type: ignore[valid-type]  # choices from the interface's tuple, one source
    current_density_asd: float = limited(LIMITS, "current_density_asd")
    time_s: float = limited(LIMITS, "time_s")
    open_area_cm2: float = limited(LIMITS, "open_area_cm2", description="plated area the current is set for")
    target_thickness_um: float = limited(LIMITS, "target_thickness_um")
    efficiency_pct: float = limited(LIMITS, "efficiency_pct", description="expected current efficiency")
    bath_temperature_c: float = limited(LIMITS, "bath_temperature_c")
    agitation_rpm: float = limited(LIMITS, "agitation_rpm")
    prewet_s: float = limited(LIMITS, "prewet_s")
    srd_s: float = limited(LIMITS, "srd_s")
