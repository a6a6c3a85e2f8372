"""Oven driver: the PLC job protocol plus the host-side O2 interlock before heating."""
from __future__ import annotations

from typing import Any

from drivers.base import ToolDriver
from drivers.jobs import JobStatus, Measurement, WaferResult
from drivers.modbus_backend import ModbusJobBackend
from drivers.oven import interface
from drivers.oven.recipe import OvenRecipe


class OvenDriver(ToolDriver):
    kind = interface.KIND
    phases = interface.PHASES
    guarded_phases = ("HEAT",)
    recipe_model = OvenRecipe
    limits = interface.LIMITS

    def make_backend(self, address: str, timeout_s: float) -> ModbusJobBackend:
        return ModbusJobBackend(self.tool_id, address, interface.INTERFACE, timeout_s)

    def guard(self, phase: str) -> bool:
        """No heating in a purged process until the O2 reading is below the recipe limit."""
        recipe = self.recipe
        if not isinstance(recipe, OvenRecipe) or not recipe.n2_purge:
            return True
        o2 = (self.last_status.readings if self.last_status else {}).get("o2_ppm")
        return o2 is not None and o2 <= recipe.o2_limit_ppm

    def interlock_detail(self, status: JobStatus) -> str:
        return f"heating started with O2 {status.readings.get('o2_ppm')} ppm above the limit; job aborted"

    def wafer_result(self, row: dict[str, Any]) -> WaferResult:
        # No target on the peak: zone setpoints sit above the product peak; the route's specs judge it.
        ms = (Measurement("peak", row["peak_c"], "°C"), Measurement("tal", row["tal_s"], "s"),
              Measurement("o2_max_hot", row["o2_max_hot_ppm"], "ppm"),
              Measurement("time_above_230", row["time_above_230_s"], "s"))
        return WaferResult(row["wafer_id"], row["slot"], row["status"],
                           tuple(m for m in ms if m.value is not None), row)


DRIVER = OvenDriver
