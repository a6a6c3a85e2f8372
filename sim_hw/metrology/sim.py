"""Simulated metrology tool: reads the world model at N sites with instrument noise."""
from __future__ import annotations

from typing import Any

from drivers.metrology.readout import reading
from drivers.metrology.recipe import MetrologyRecipe
from drivers.metrology.spec import FACTS, SPEC
from sim_hw.metrology import physics
from sim_hw.registry import SimKind, scpi_main
from sim_hw.tool import SimJob, SimTool
from sim_hw.world import Wafer

NOISE = {"film_thickness": (0.003, 0.5), "bump_height": (0.005, 0.1), "paste_volume": (0.02, 0.0),
         "resist_residue": (0.01, 5.0)}


class MetrologySim(SimTool):
    spec = SPEC

    async def process_wafer(self, job: SimJob, row: dict[str, Any]) -> None:
        r = MetrologyRecipe.model_validate(job.recipe)
        await self.phase(job, "ALIGN", FACTS.align_s)
        fault = self.faults.active("pattern_recognition")
        if fault and fault.params["slot"] in (None, row["slot"]):
            self.faults.take("pattern_recognition")
            raise self.alarm("PATTERN_RECOGNITION_FAILED", f"no alignment mark found on {row['wafer_id']}")
        await self.phase(job, "MEASURE", FACTS.per_site_s * r.sites)
        name, unit, true_values = self.truth(self.world.wafer(row["wafer_id"]), r)
        drift = self.faults.active("calibration_drift")
        bias = drift.params["pct"] / 100 if drift else 0.0
        rel, absolute = NOISE[r.measurement]
        values = [round(v, 4) for v in physics.measure(true_values, self.rng, rel * self.noise_scale, absolute * self.noise_scale, bias)]
        mean = sum(values) / len(values)
        row.update(name=name, unit=unit, sites=values, site_xy_mm=[list(xy) for xy in physics.site_positions(r.sites)],
                   mean=round(mean, 4), min=min(values), max=max(values),
                   nonuniformity_pct=round((max(values) - min(values)) / (2 * mean) * 100, 3) if mean else 0.0)

    def truth(self, wafer: Wafer, r: MetrologyRecipe) -> tuple[str, str, list[float]]:
        radii = physics.site_radii(r.sites)
        name, unit, value, layers = reading(wafer.regions[r.region], r.measurement, r.material)
        if r.measurement in ("film_thickness", "bump_height"):
            nu = max((l.props.get("nonuniformity_pct", 0.0) for l in layers), default=0.0)
            return name, unit, [physics.radial(value, nu, x) for x in radii]
        return name, unit, [value] * len(radii)


SIMULATOR = SimKind(MetrologySim, {"scpi": scpi_main(SPEC.wire("scpi"))})
