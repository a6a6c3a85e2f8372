"""Plater driver: jobs through the bath PLC (Modbus), every cell's rectifier watched over SCPI.

The host mirrors the PLC's interlock (no plating on a low or off-temperature bath), reads each
cell's current, voltage and questionable status, switches every output off when it aborts, and can
run a dummy-plate on an idle cell to condition the bath.
"""
from __future__ import annotations

import time
from typing import Any

from drivers.base import ToolDriver
from drivers.errors import CommandRejected, CommunicationLost, InvalidTransition
from drivers.jobs import JobStatus, Measurement, WaferResult
from drivers.modbus_backend import ModbusJobBackend
from drivers.plater import interface
from drivers.plater.recipe import PlaterRecipe
from drivers.scpi_client import ScpiClient
from drivers.transport.visa import VisaTransport

QUES_FLAGS = {interface.QUES_CV: "CV", interface.QUES_OV: "OV", interface.QUES_OT: "OT",
              interface.QUES_NO_LOAD: "NO_LOAD"}


class PlaterDriver(ToolDriver):
    kind = interface.KIND
    phases = interface.PHASES
    guarded_phases = ("PLATE",)
    recipe_model = PlaterRecipe
    limits = interface.LIMITS

    def make_backend(self, address: str, timeout_s: float) -> ModbusJobBackend:
        self.rectifiers = {name: ScpiClient(VisaTransport(f"{self.tool_id}.{name}", addr, timeout_s), interface.RECTIFIER)
                           for name, addr in sorted(self.endpoints.items()) if name.startswith("cell")}
        return ModbusJobBackend(self.tool_id, address, interface.INTERFACE, timeout_s)

    def close(self) -> None:
        for rect in self.rectifiers.values():
            rect.transport.close()
        super().close()

    def guard(self, phase: str) -> bool:
        """Mirror of the PLC interlock: no current into a low or off-temperature bath."""
        readings = self.last_status.readings if self.last_status else {}
        level, temp, bath = readings.get("bath_level_pct"), readings.get("bath_temp_c"), readings.get("installed_bath")
        if level is None or temp is None or bath not in interface.TEMP_BANDS:
            return False
        lo, hi = interface.TEMP_BANDS[bath]
        return level >= interface.MIN_LEVEL_PCT and lo <= temp <= hi

    def interlock_detail(self, status: JobStatus) -> str:
        r = status.readings
        return (f"plating with bath level {r.get('bath_level_pct')} % and {r.get('bath_temp_c')} °C "
                f"({r.get('installed_bath')}); outputs off, job aborted")

    def _interlock_tripped(self, status: JobStatus) -> None:
        self.outputs_off()
        super()._interlock_tripped(status)

    def abort(self) -> None:
        self.outputs_off()
        super().abort()

    def outputs_off(self) -> list[str]:
        """Switch every rectifier off (allowed in any state); returns the cells that did not answer."""
        silent = []
        for name, rect in self.rectifiers.items():
            try:
                rect.command("OUTP", False)
            except (CommunicationLost, CommandRejected):
                silent.append(name)
        return silent

    def cell_readings(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, rect in self.rectifiers.items():
            bits = rect.query("STAT:QUES:COND?")[0]
            out[name] = {"current_a": rect.query("MEAS:CURR?")[0], "voltage_v": rect.query("MEAS:VOLT?")[0],
                         "output": rect.query("OUTP?")[0], "ques": bits,
                         "flags": [f for b, f in QUES_FLAGS.items() if bits & b]}
        return out

    def dummy_plate(self, cell: str, amps: float, seconds: float, wait: bool = True) -> dict[str, Any]:
        """Condition the bath on an idle cell: set current, timer, output on (the rectifier stops itself)."""
        if self.state not in ("IDLE",):
            raise InvalidTransition(self.tool_id, f"dummy plating needs an idle tool, not {self.state}")
        rect = self.rectifiers[cell]
        rect.command("SOUR:CURR", amps)
        rect.command("OUTP:TIM", seconds)
        rect.command("OUTP", True)
        while wait and rect.query("OUTP?")[0]:
            time.sleep(0.02)
        return self.cell_readings()[cell]

    def wafer_result(self, row: dict[str, Any]) -> WaferResult:
        target = self.recipe.target_thickness_um if isinstance(self.recipe, PlaterRecipe) else None
        ms = (Measurement("plated.thickness", row["thickness_um"], "µm", target),
              Measurement("plated.charge", row["charge_ah"], "Ah"), Measurement("plated.current", row["current_a"], "A"),
              Measurement("plated.voltage_max", row["voltage_max_v"], "V"),
              Measurement("plated.nonuniformity", row["nonuniformity_pct"], "%"))
        return WaferResult(row["wafer_id"], row["slot"], row["status"], tuple(m for m in ms if m.value is not None), row)


DRIVER = PlaterDriver
