"""Wet bench front end: the shared job protocol plus the host-side bath-temperature interlock."""
from __future__ import annotations

from drivers.base import ToolDriver
from drivers.jobs import JobStatus
from drivers.wet_bench.recipe import WetBenchRecipe
from drivers.wet_bench.spec import FACTS, SPEC


class WetBenchDriver(ToolDriver):
    spec = SPEC

    def guard(self, phase: str) -> bool:
        """No wafers into a bath that is off its temperature (wrong rate, wrong undercut)."""
        if not isinstance(self.recipe, WetBenchRecipe):
            return True
        temp = (self.last_status.readings if self.last_status else {}).get("bath_temp_c")
        return temp is not None and abs(temp - self.recipe.temperature_c) <= FACTS.temperature_band_c

    def interlock_detail(self, status: JobStatus) -> str:
        return (f"wafers entered the bath at {status.readings.get('bath_temp_c')} °C, off the "
                f"{getattr(self.recipe, 'temperature_c', '?')} °C setpoint; job aborted")


DRIVER = WetBenchDriver
