"""Sputter front end: the job protocol plus the base-pressure plasma interlock."""
from __future__ import annotations

from typing import Any, cast

from drivers.base import ToolDriver
from drivers.jobs import JobStatus, Measurement
from drivers.sputter.backend import SputterBackend
from drivers.sputter.recipe import SputterRecipe
from drivers.sputter.spec import SPEC


class SputterDriver(ToolDriver):
    spec = SPEC

    @property
    def base_limit_torr(self) -> float:
        if isinstance(self.recipe, SputterRecipe):
            return self.recipe.base_pressure_limit_torr
        return self.limits["base_pressure_limit_torr"].max or 5e-6

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
        return cast(SputterBackend, self.backend).pressure_torr()

    def arc_counts(self) -> tuple[int, int]:
        return cast(SputterBackend, self.backend).arc_counts()

    def measurements(self, row: dict[str, Any]) -> list[Measurement]:
        layers = [Measurement(f"thickness.{layer['material']}", layer["thickness_nm"], "nm", layer["target_nm"])
                  for layer in row.get("layers", [])]
        return layers + super().measurements(row)


DRIVER = SputterDriver
