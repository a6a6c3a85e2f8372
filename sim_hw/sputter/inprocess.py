"""The sputter's reads beyond the job protocol (`drivers.sputter.backend`), in process."""
from __future__ import annotations

from sim_hw.inprocess import InProcessBackend


class InProcessSputter(InProcessBackend):
    def pressure_torr(self) -> float:
        return float(self.call(self.tool.measure_pressure)[0])   # type: ignore[attr-defined]

    def arc_counts(self) -> tuple[int, int]:
        hard, micro = self.call(self.tool.arc_counts)            # type: ignore[attr-defined]
        return int(hard), int(micro)


BACKEND = InProcessSputter
