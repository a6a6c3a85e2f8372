"""The litho track's reads beyond the job protocol (`drivers.litho.backend`), in process."""
from __future__ import annotations

from typing import cast

from sim_hw.inprocess import InProcessBackend
from sim_hw.litho.sim import LithoSim


class InProcessLitho(InProcessBackend):
    def lamp_intensity(self) -> float:
        return float(self.call(cast(LithoSim, self.tool).lamp_intensity)[0])


BACKEND = InProcessLitho
