"""Wet bench program: one chemistry bath, then rinse and dry."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from drivers.limits import limited
from drivers.wet_bench.interface import CHEMISTRIES, DRYERS, LIMITS


class WetBenchRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    chemistry: Literal[CHEMISTRIES]  # type: ignore[valid-type]  # choices from the interface's tuple, one source
    temperature_c: float = limited(LIMITS, "temperature_c")
    time_s: float = limited(LIMITS, "time_s")
    flow_lpm: float = limited(LIMITS, "flow_lpm")
    rinse_s: float = limited(LIMITS, "rinse_s")
    dry: Literal[DRYERS]  # type: ignore[valid-type]  # choices from the interface's tuple, one source
    megasonic: bool = False
