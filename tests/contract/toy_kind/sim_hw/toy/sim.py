"""The simulated spin cleaner: rinse, spin, count what is left."""
from typing import Any

from drivers.toy.spec import SPEC, SPIN_S
from sim_hw.registry import SimKind, scpi_main
from sim_hw.tool import SimJob, SimTool


class ToySim(SimTool):
    spec = SPEC

    async def process_wafer(self, job: SimJob, row: dict[str, Any]) -> None:
        await self.phase(job, "RINSE", job.recipe["rinse_s"])
        jam = self.faults.active("jam")
        if jam and jam.params["slot"] in (None, row["slot"]):
            self.faults.take("jam")
            raise self.alarm("BOWL_JAMMED", f"bowl stalled spinning {row['wafer_id']}")
        await self.phase(job, "SPIN", SPIN_S)
        row["particles"] = round(100 * 30 / job.recipe["rinse_s"] * self.noise(0.1))


SIMULATOR = SimKind(ToySim, {"scpi": scpi_main(SPEC.wire("scpi"))})
