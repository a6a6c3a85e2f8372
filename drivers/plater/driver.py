"""Plater front end: jobs through the bath controller, every cell's rectifier watched.

The host mirrors the PLC's interlock (no plating on a low or off-temperature bath), reads each
cell's current, voltage and questionable status, switches every output off when it aborts, and can
run a dummy-plate on an idle cell to condition the bath.
"""
from __future__ import annotations

import time
from typing import Any, cast

from drivers.base import ToolDriver
from drivers.errors import InvalidTransition
from drivers.jobs import JobStatus, Measurement
from drivers.plater.backend import PlaterBackend
from drivers.plater.recipe import PlaterRecipe
from drivers.plater.spec import FACTS, SPEC
from drivers.states import Mirror


class PlaterDriver(ToolDriver):
    spec = SPEC

    @property
    def cells(self) -> PlaterBackend:
        return cast(PlaterBackend, self.backend)

    @property
    def rectifiers(self) -> dict[str, Any]:
        """The vendor's rectifier clients, by cell (for diagnostics; the front end uses `cells`)."""
        return getattr(self.backend, "rectifiers", {})

    def guard(self, phase: str) -> bool:
        """Mirror of the PLC interlock: no current into a low or off-temperature bath."""
        readings = self.last_status.readings if self.last_status else {}
        level, temp, bath = readings.get("bath_level_pct"), readings.get("bath_temp_c"), readings.get("installed_bath")
        if level is None or temp is None or bath not in FACTS.temp_bands:
            return False
        lo, hi = FACTS.temp_bands[bath]
        return level >= FACTS.min_level_pct and lo <= temp <= hi

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
        return self.cells.outputs_off()

    def cell_readings(self) -> dict[str, dict[str, Any]]:
        return self.cells.cell_readings()

    def dummy_plate(self, cell: str, amps: float, seconds: float, wait: bool = True) -> dict[str, Any]:
        """Condition the bath on an idle cell: set current, timer, output on (the rectifier stops itself)."""
        if self.state != Mirror.IDLE:
            raise InvalidTransition(self.tool_id, f"dummy plating needs an idle tool, not {self.state}")
        self.cells.run_cell(cell, amps, seconds)
        while wait and self.cells.cell_output(cell):
            time.sleep(0.02)
        return self.cell_readings()[cell]

    def measurements(self, row: dict[str, Any]) -> list[Measurement]:
        target = self.recipe.target_thickness_um if isinstance(self.recipe, PlaterRecipe) else None
        return [Measurement(m.name, m.value, m.unit, target) if m.name == "plated.thickness" else m
                for m in super().measurements(row)]


DRIVER = PlaterDriver
