"""Metrology driver: per-wafer mean, range and every site value."""
from __future__ import annotations

from typing import Any

from drivers.backend import ScpiJobBackend
from drivers.base import ToolDriver
from drivers.jobs import Measurement, WaferResult
from drivers.metrology import interface
from drivers.metrology.recipe import MetrologyRecipe


class MetrologyDriver(ToolDriver):
    kind = interface.KIND
    phases = interface.PHASES
    recipe_model = MetrologyRecipe
    limits = interface.LIMITS

    def make_backend(self, address: str, timeout_s: float) -> ScpiJobBackend:
        return ScpiJobBackend(self.tool_id, address, interface.INTERFACE, timeout_s)

    def wafer_result(self, row: dict[str, Any]) -> WaferResult:
        ms = []
        if row.get("sites"):
            name, unit = row["name"], row["unit"]
            ms = [Measurement(f"{name}.mean", row["mean"], unit), Measurement(f"{name}.min", row["min"], unit),
                  Measurement(f"{name}.max", row["max"], unit),
                  Measurement(f"{name}.nonuniformity", row["nonuniformity_pct"], "%")]
        return WaferResult(row["wafer_id"], row["slot"], row["status"], tuple(ms), row)


DRIVER = MetrologyDriver
