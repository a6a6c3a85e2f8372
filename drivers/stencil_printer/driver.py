"""Stencil printer driver: PLC job protocol; per-wafer SPI volume, height and offset."""
from __future__ import annotations

from typing import Any

from drivers.base import ToolDriver
from drivers.jobs import Measurement, WaferResult
from drivers.modbus_backend import ModbusJobBackend
from drivers.stencil_printer import interface
from drivers.stencil_printer.recipe import StencilPrintRecipe


class StencilPrinterDriver(ToolDriver):
    kind = interface.KIND
    phases = interface.PHASES
    recipe_model = StencilPrintRecipe
    limits = interface.LIMITS

    def make_backend(self, address: str, timeout_s: float) -> ModbusJobBackend:
        return ModbusJobBackend(self.tool_id, address, interface.INTERFACE, timeout_s)

    def wafer_result(self, row: dict[str, Any]) -> WaferResult:
        ms = (Measurement("paste.volume", row["volume_pct"], "%"), Measurement("paste.height", row["height_um"], "µm"),
              Measurement("print.offset", row["offset_um"], "µm"), Measurement("print.area_ratio", row["area_ratio"], ""))
        return WaferResult(row["wafer_id"], row["slot"], row["status"], tuple(m for m in ms if m.value is not None), row)


DRIVER = StencilPrinterDriver
