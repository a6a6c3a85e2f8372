"""Simulated coat/develop track with aligner: one wafer at a time through coat, bake, expose, develop."""
from __future__ import annotations

from typing import Any

from drivers.litho import resists as physics
from drivers.litho.recipe import LithoRecipe
from drivers.litho.spec import FACTS, SPEC
from sim_hw.registry import SimKind, scpi_main
from sim_hw.tool import SimJob, SimTool
from sim_hw.world import Layer


class LithoSim(SimTool):
    spec = SPEC

    def lamp(self) -> float:
        fault = self.faults.active("lamp_low")
        return FACTS.nominal_lamp_mw_cm2 * (fault.params["factor"] if fault else 1.0)

    def readings(self) -> dict[str, Any]:
        return {"lamp_mw_cm2": self.lamp(), "resist_pct": 5.0 if self.faults.active("resist_low") else 80.0}

    def lamp_intensity(self) -> tuple:
        return (self.lamp(),)

    def resist_level(self) -> tuple:
        return (self.readings()["resist_pct"],)

    async def process_wafer(self, job: SimJob, row: dict[str, Any]) -> None:
        r = LithoRecipe.model_validate(job.recipe)
        res = physics.RESISTS[r.resist]
        wafer_id = row["wafer_id"]
        await self.sleep(FACTS.handling_s)
        job.phase = "COAT"
        if self.faults.take("resist_low"):
            raise self.alarm("RESIST_LOW", f"{r.resist} dispense bottle empty before coating {wafer_id}")
        await self.sleep(r.spin_s + FACTS.spin_settle_s)
        thickness = physics.spin_thickness_um(r.resist, r.spin_rpm) * self.noise(0.01)
        material, role = physics.COATED_AS.get(r.resist, (r.resist, "resist"))
        props = {"t_limit_c": res.t_limit_c, "tone": res.tone, "mask": r.mask}
        if r.release_distance_um is not None:
            props["release_distance_um"] = r.release_distance_um
        if material == "PI":
            props["cured"] = False
        wafer = self.world.wafer(wafer_id)
        self.world.deposit(wafer_id, tuple(wafer.regions), Layer(material, thickness * 1000.0, role, self.tool_id,
                                                                 job.job_id, props))
        row.update(thickness_um=round(thickness, 3), target_um=r.thickness_um)
        await self.phase(job, "BAKE", r.soft_bake_s)
        self.world.heat(wafer_id, r.soft_bake_c)
        exposure_s = r.dose_mj_cm2 / FACTS.nominal_lamp_mw_cm2
        await self.phase(job, "EXPOSE", FACTS.align_s + exposure_s)
        dose = self.lamp() * exposure_s
        row.update(dose_mj_cm2=round(dose, 1), dose_set_mj_cm2=r.dose_mj_cm2)
        await self.phase(job, "DEVELOP", r.develop_s + FACTS.rinse_s)
        self._develop(wafer_id, r, thickness, dose)

    def _develop(self, wafer_id: str, r: LithoRecipe, thickness_um: float, dose: float) -> None:
        """Open the film where the mask says; an under-dosed opening keeps a residue."""
        wafer = self.world.wafer(wafer_id)
        fraction = physics.cleared_fraction(r.resist, thickness_um, dose, r.develop_s)
        for region in r.open_over:
            if region not in wafer.regions:
                continue  # the mask has an opening where this design has no feature
            film = wafer.top(region)
            if fraction >= 1.0:
                wafer.remove(region, film)
            else:
                film.thickness_nm *= 1.0 - fraction
                film.props["residue"] = True


SIMULATOR = SimKind(LithoSim, {"scpi": scpi_main(SPEC.wire("scpi"))})
