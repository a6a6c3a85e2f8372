"""Stencil print program: stencil and paste identity, print settings, wipe frequency."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drivers.limits import limited
from drivers.stencil_printer.interface import LIMITS, MODES, PASTES


class StencilPrintRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    paste: Literal[PASTES]  # type: ignore[valid-type]  # choices from the interface's tuple, one source
    mode: Literal[MODES]  # type: ignore[valid-type]  # choices from the interface's tuple, one source
    stencil_id: str = Field(max_length=16, pattern=r"^[A-Z0-9-]+$")
    stencil_thickness_um: float = limited(LIMITS, "stencil_thickness_um", description="ignored for fill_holes")
    aperture_um: float = limited(LIMITS, "aperture_um")
    print_speed_mm_s: float = limited(LIMITS, "print_speed_mm_s")
    squeegee_pressure_n_mm: float = limited(LIMITS, "squeegee_pressure_n_mm")
    snap_off_mm: float = limited(LIMITS, "snap_off_mm")
    separation_speed_mm_s: float = limited(LIMITS, "separation_speed_mm_s")
    wipe_every: int = limited(LIMITS, "wipe_every")
    print_over: list[str] = Field(default_factory=list, description="regions the stencil prints on (pads mode)")

    @model_validator(mode="after")
    def _where(self) -> StencilPrintRecipe:
        if (self.mode == "pads") != bool(self.print_over):
            raise ValueError("pads mode prints over named regions (print_over); fill_holes fills where the resist is open")
        return self
