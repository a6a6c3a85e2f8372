"""Litho track driver: the shared SCPI job protocol; results are coat thickness and delivered dose."""
from __future__ import annotations

from typing import Any

from drivers.backend import ScpiJobBackend
from drivers.base import ToolDriver
from drivers.jobs import Measurement, WaferResult
from drivers.litho import interface
from drivers.litho.recipe import LithoRecipe


class LithoDriver(ToolDriver):
    kind = interface.KIND
    phases = interface.PHASES
    recipe_model = LithoRecipe
    limits = interface.LIMITS

    def make_backend(self, address: str, timeout_s: float) -> ScpiJobBackend:
        return ScpiJobBackend(self.tool_id, address, interface.INTERFACE, timeout_s)

    def lamp_intensity(self) -> float:
        return self.backend.query("MEAS:LAMP?")[0]

    def wafer_result(self, row: dict[str, Any]) -> WaferResult:
        ms = []
        if "thickness_um" in row:
            ms.append(Measurement("resist.thickness", row["thickness_um"], "µm", row.get("target_um")))
        if "dose_mj_cm2" in row:
            ms.append(Measurement("dose", row["dose_mj_cm2"], "mJ/cm²", row.get("dose_set_mj_cm2")))
        return WaferResult(row["wafer_id"], row["slot"], row["status"], tuple(ms), row)


DRIVER = LithoDriver
