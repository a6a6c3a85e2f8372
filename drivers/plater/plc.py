"""bumpline's reference plater: the bath PLC (Modbus job block) sequences jobs; every cell's rectifier
speaks SCPI on its own socket (the line config's `endpoints`: cell1…cellN)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from drivers.errors import CommandRejected, CommunicationLost
from drivers.modbus_backend import ModbusJobBackend
from drivers.modbus_jobs import PlcInterface
from drivers.plater import interface
from drivers.plater.spec import SPEC
from drivers.scpi_client import ScpiClient
from drivers.spec import AlarmSpec
from drivers.transport.visa import VisaTransport
from drivers.vendors import plc_vendor

QUES_FLAGS = {interface.QUES_CV: "CV", interface.QUES_OV: "OV", interface.QUES_OT: "OT",
              interface.QUES_NO_LOAD: "NO_LOAD"}


class PlcRectifierBackend(ModbusJobBackend):
    def __init__(self, tool_id: str, address: str, plc: PlcInterface, timeout_s: float = 3.0, *,
                 alarms: Sequence[AlarmSpec] = (), endpoints: Mapping[str, str] | None = None) -> None:
        super().__init__(tool_id, address, plc, timeout_s, alarms=alarms, endpoints=endpoints)
        self.rectifiers = {name: ScpiClient(VisaTransport(f"{tool_id}.{name}", addr, timeout_s), SPEC.wire("rectifier"))
                           for name, addr in sorted((endpoints or {}).items()) if name.startswith("cell")}

    def close(self) -> None:
        for rect in self.rectifiers.values():
            rect.transport.close()
        super().close()

    def cells(self) -> list[str]:
        return list(self.rectifiers)

    def outputs_off(self) -> list[str]:
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

    def run_cell(self, cell: str, amps: float, seconds: float) -> None:
        rect = self.rectifiers[cell]
        rect.command("SOUR:CURR", amps)
        rect.command("OUTP:TIM", seconds)
        rect.command("OUTP", True)

    def cell_output(self, cell: str) -> bool:
        return bool(self.rectifiers[cell].query("OUTP?")[0])


VENDOR = plc_vendor("bumpline-plater", SPEC, PlcRectifierBackend, __doc__ or "")
