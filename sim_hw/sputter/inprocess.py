"""The sputter's reads beyond the job protocol (`drivers.sputter.backend`), in process."""
from __future__ import annotations

from typing import cast

from sim_hw.inprocess import InProcessBackend
from sim_hw.sputter.sim import SputterSim


class InProcessSputter(InProcessBackend):
    @property
    def sputter(self) -> SputterSim:
        return cast(SputterSim, self.tool)

    def pressure_torr(self) -> float:
        return float(self.call(self.sputter.measure_pressure)[0])

    def arc_counts(self) -> tuple[int, int]:
        hard, micro = self.call(self.sputter.arc_counts)
        return int(hard), int(micro)


BACKEND = InProcessSputter
