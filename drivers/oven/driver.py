"""Oven front end: the job protocol (whichever vendor's) plus the host-side O2 interlock before heating."""
from __future__ import annotations

from drivers.base import ToolDriver
from drivers.jobs import JobStatus
from drivers.oven.recipe import OvenRecipe
from drivers.oven.spec import SPEC


class OvenDriver(ToolDriver):
    spec = SPEC

    def guard(self, phase: str) -> bool:
        """No heating in a purged process until the O2 reading is below the recipe limit."""
        recipe = self.recipe
        if not isinstance(recipe, OvenRecipe) or not recipe.n2_purge:
            return True
        o2 = (self.last_status.readings if self.last_status else {}).get("o2_ppm")
        return o2 is not None and o2 <= recipe.o2_limit_ppm

    def interlock_detail(self, status: JobStatus) -> str:
        return f"heating started with O2 {status.readings.get('o2_ppm')} ppm above the limit; job aborted"


DRIVER = OvenDriver
