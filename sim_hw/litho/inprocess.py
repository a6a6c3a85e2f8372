"""The litho track's reads beyond the job protocol (`drivers.litho.backend`), in process."""
from __future__ import annotations

from sim_hw.inprocess import InProcessBackend


class InProcessLitho(InProcessBackend):
    def lamp_intensity(self) -> float:
        return float(self.call(self.tool.lamp_intensity)[0])     # type: ignore[attr-defined]


BACKEND = InProcessLitho
