"""The plater's cells (`drivers.plater.backend`), in process: the simulated rectifiers' handlers."""
from __future__ import annotations

from typing import Any, cast

from drivers.plater.interface import QUES_CV, QUES_NO_LOAD, QUES_OT, QUES_OV
from sim_hw.inprocess import InProcessBackend
from sim_hw.plater.sim import PlaterSim

QUES_FLAGS = {QUES_CV: "CV", QUES_OV: "OV", QUES_OT: "OT", QUES_NO_LOAD: "NO_LOAD"}


class InProcessPlater(InProcessBackend):
    def _rectifiers(self) -> dict[str, Any]:
        return {f"cell{r.cell}": r for r in cast(PlaterSim, self.tool).rectifiers}

    def cells(self) -> list[str]:
        return list(self._rectifiers())

    def outputs_off(self) -> list[str]:
        for rect in self._rectifiers().values():
            self.call(rect.set_output, False)
        return []

    def cell_readings(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, rect in self._rectifiers().items():
            (bits,) = self.call(rect.questionable)
            out[name] = {"current_a": self.call(rect.measure_current)[0], "voltage_v": self.call(rect.measure_voltage)[0],
                         "output": self.call(rect.get_output)[0], "ques": bits,
                         "flags": [f for b, f in QUES_FLAGS.items() if bits & b]}
        return out

    def run_cell(self, cell: str, amps: float, seconds: float) -> None:
        rect = self._rectifiers()[cell]
        self.call(rect.set_current, amps)
        self.call(rect.set_timer, seconds)
        self.call(rect.set_output, True)

    def cell_output(self, cell: str) -> bool:
        return bool(self.call(self._rectifiers()[cell].get_output)[0])


BACKEND = InProcessPlater
