"""Wet bench driver: PLC job protocol plus the host-side bath-temperature interlock."""
from __future__ import annotations

from typing import Any

from drivers.base import ToolDriver
from drivers.jobs import JobStatus, Measurement, WaferResult
from drivers.modbus_backend import ModbusJobBackend
from drivers.wet_bench import interface
from drivers.wet_bench.recipe import WetBenchRecipe


class WetBenchDriver(ToolDriver):
    kind = interface.KIND
    phases = interface.PHASES
    guarded_phases = ("ETCH",)
    recipe_model = WetBenchRecipe
    limits = interface.LIMITS

    def make_backend(self, address: str, timeout_s: float) -> ModbusJobBackend:
        return ModbusJobBackend(self.tool_id, address, interface.INTERFACE, timeout_s)

    def guard(self, phase: str) -> bool:
        """No wafers into a bath that is off its temperature (wrong rate, wrong undercut)."""
        if not isinstance(self.recipe, WetBenchRecipe):
            return True
        temp = (self.last_status.readings if self.last_status else {}).get("bath_temp_c")
        return temp is not None and abs(temp - self.recipe.temperature_c) <= interface.TEMPERATURE_BAND_C

    def interlock_detail(self, status: JobStatus) -> str:
        return (f"wafers entered the bath at {status.readings.get('bath_temp_c')} °C, off the "
                f"{getattr(self.recipe, 'temperature_c', '?')} °C setpoint; job aborted")

    def wafer_result(self, row: dict[str, Any]) -> WaferResult:
        ms = (Measurement("etch.removed", row["removed_nm"], "nm"), Measurement("etch.undercut", row["undercut_um"], "µm"),
              Measurement("release.front", row["release_um"], "µm"), Measurement("release.stiction", row["stiction"], "count"))
        return WaferResult(row["wafer_id"], row["slot"], row["status"], tuple(m for m in ms if m.value is not None), row)


DRIVER = WetBenchDriver
