"""Stencil print program: stencil and paste identity, print settings, wipe frequency."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.limits import limited
from drivers.stencil_printer.interface import LIMITS, MODES, PASTES


class StencilPrintRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    paste: Literal[PASTES]  # type: ignore[valid-type]
    mode: Literal[MODES]  # type: ignore[valid-type]
    stencil_id: str = Field(max_length=16, pattern=r"^[A-Z0-9-]+$")
    stencil_thickness_um: float = limited(LIMITS, "stencil_thickness_um", description="ignored for fill_holes")
    aperture_um: float = limited(LIMITS, "aperture_um")
    print_speed_mm_s: float = limited(LIMITS, "print_speed_mm_s")
    squeegee_pressure_n_mm: float = limited(LIMITS, "squeegee_pressure_n_mm")
    snap_off_mm: float = limited(LIMITS, "snap_off_mm")
    separation_speed_mm_s: float = limited(LIMITS, "separation_speed_mm_s")
    wipe_every: int = limited(LIMITS, "wipe_every")
