"""Sputter driver: the shared SCPI job protocol plus the base-pressure plasma interlock."""
from __future__ import annotations

from typing import Any

from drivers.backend import ScpiJobBackend
from drivers.base import ToolDriver
from drivers.jobs import JobStatus, Measurement, WaferResult
from drivers.sputter import interface
from drivers.sputter.recipe import SputterRecipe


class SputterDriver(ToolDriver):
    kind = interface.KIND
    phases = interface.PHASES
    guarded_phases = interface.PLASMA_PHASES
    recipe_model = SputterRecipe
    limits = interface.LIMITS

    def make_backend(self, address: str, timeout_s: float) -> ScpiJobBackend:
        return ScpiJobBackend(self.tool_id, address, interface.INTERFACE, timeout_s)

    @property
    def base_limit_torr(self) -> float:
        if isinstance(self.recipe, SputterRecipe):
            return self.recipe.base_pressure_limit_torr
        return interface.LIMITS["base_pressure_limit_torr"].max or 5e-6

    def guard(self, phase: str) -> bool:
        """No plasma unless the chamber reached its base-pressure limit before striking."""
        status = self.last_status
        if status is None:
            return False
        base = status.readings.get("base_torr")
        return base is not None and float(base) <= self.base_limit_torr

    def interlock_detail(self, status: JobStatus) -> str:
        return (f"tool entered {status.phase} with base pressure {status.readings.get('base_torr')} Torr "
                f"above the limit {self.base_limit_torr:g} Torr; job aborted")

    def pressure_torr(self) -> float:
        (torr,) = self.backend.query("MEAS:PRES?")
        return torr

    def arc_counts(self) -> tuple[int, int]:
        hard, micro = self.backend.query("DIAG:ARC?")
        return hard, micro

    def wafer_result(self, row: dict[str, Any]) -> WaferResult:
        ms = [Measurement(f"thickness.{layer['material']}", layer["thickness_nm"], "nm", layer["target_nm"])
              for layer in row.get("layers", [])]
        if "preclean_removed_nm" in row:
            ms.append(Measurement("preclean.removed", row["preclean_removed_nm"], "nm"))
        if "micro_arcs" in row:
            ms.append(Measurement("arcs.micro", row["micro_arcs"], "count"))
        return WaferResult(row["wafer_id"], row["slot"], row["status"], tuple(ms), row)
DRIVER = SputterDriver
