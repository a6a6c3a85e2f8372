"""The sputter's process-program parameters (what a ToolRecipe's `parameters` holds)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.limits import limited
from drivers.sputter.interface import LIMITS, MATERIALS

Material = Literal[MATERIALS]  # type: ignore[valid-type]  # choices from the interface's tuple, one source
LayerRole = Literal["adhesion", "barrier", "wetting", "seed", "ubm", "rdl", "spacing", "sacrificial", "cap", "cup"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Degas(Strict):
    temperature_c: float = limited(LIMITS, "temperature_c", description="wafer degas temperature")
    time_s: float = limited(LIMITS, "time_s")


class PreClean(Strict):
    """Ar sputter-etch of the pad's native oxide, in SiO2-equivalent nanometres."""
    removal_nm: float = limited(LIMITS, "removal_nm")
    time_s: float = limited(LIMITS, "time_s")


class SputterLayer(Strict):
    material: Material
    role: LayerRole
    thickness_nm: float = limited(LIMITS, "thickness_nm", description="target thickness")
    power_kw: float = limited(LIMITS, "power_kw")
    time_s: float = limited(LIMITS, "time_s")
    ar_pressure_mtorr: float = limited(LIMITS, "ar_pressure_mtorr")
    ar_flow_sccm: float = limited(LIMITS, "ar_flow_sccm")


class SputterRecipe(Strict):
    base_pressure_limit_torr: float = limited(LIMITS, "base_pressure_limit_torr",
                                              description="interlock: no plasma above this")
    chuck_temperature_c: float = limited(LIMITS, "chuck_temperature_c")
    degas: Degas
    preclean: PreClean | None = None
    layers: list[SputterLayer] = Field(min_length=1, max_length=6)
