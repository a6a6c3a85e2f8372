"""Simulated wet bench: load a cassette, etch at a controlled temperature, rinse, dry."""
from __future__ import annotations

from typing import Any

from drivers.wet_bench import etching, interface
from drivers.wet_bench.chemistry import CHEMISTRY, arrhenius
from drivers.wet_bench.recipe import WetBenchRecipe
from drivers.wet_bench.spec import FACTS, SPEC
from sim_hw.registry import SimKind, plc_main
from sim_hw.tool import BatchSimTool, SimJob
from sim_hw.wet_bench import physics


class WetBenchSim(BatchSimTool):
    spec = SPEC

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bath_temp = 25.0
        self.bath_age_h = 0.0
        self.chemistry = interface.CHEMISTRIES[0]
        self.flow = 0.0

    def readings(self) -> dict[str, Any]:
        return {"bath_temp_c": round(self.bath_temp, 2), "bath_level_pct": 95.0, "bath_age_h": round(self.bath_age_h, 3),
                "flow_actual_lpm": self.flow, "bath_chemistry": self.chemistry}

    async def process_batch(self, job: SimJob) -> None:
        r = WetBenchRecipe.model_validate(job.recipe)
        chem = CHEMISTRY[r.chemistry]
        self.chemistry = r.chemistry
        self.bath_temp = FACTS.ambient_c if self.faults.active("heater_failure") else r.temperature_c
        await self.sleep(FACTS.load_s)
        if abs(self.bath_temp - r.temperature_c) > FACTS.temperature_band_c and not self.faults.active("interlock_defeat"):
            raise self.alarm("TEMP_EXCURSION", f"bath at {self.bath_temp:.1f} °C, setpoint {r.temperature_c:g} °C: "
                                                    "cassette not loaded")
        over = self.faults.active("over_etch")
        duration = r.time_s * (over.params["factor"] if over else 1.0)
        runaway = self.faults.active("temp_excursion")
        exhausted = self.faults.active("exhausted_bath")
        activity = exhausted.params["activity"] if exhausted else 1.0
        state = {"t": 0.0, "t_eff": 0.0, "off_band_s": 0.0}
        job.phase, self.flow = "ETCH", r.flow_lpm
        self.batch_started = True

        def etch_step(dt: float) -> bool:
            dt = min(dt, duration - state["t"])      # the cassette comes out at the recipe's time, not the tick after
            state["t"] += dt
            if runaway:
                target = r.temperature_c + runaway.params["c"]
                step = abs(runaway.params["c_per_s"]) * dt
                self.bath_temp += max(-step, min(step, target - self.bath_temp))
            state["t_eff"] += dt * arrhenius(self.bath_temp, chem.t_ref_c)
            off = abs(self.bath_temp - r.temperature_c) > FACTS.temperature_band_c
            state["off_band_s"] = state["off_band_s"] + dt if off else 0.0
            if state["off_band_s"] > FACTS.excursion_detect_s and not self.faults.active("interlock_defeat"):
                raise self.alarm("TEMP_EXCURSION", f"bath {self.bath_temp:.1f} °C vs setpoint {r.temperature_c:g} °C; "
                                                        f"cassette pulled after {state['t']:.0f} s")
            return state["t"] >= duration

        try:
            await self.integrate(etch_step)
        finally:
            self.bath_age_h += state["t"] / 3600.0
            self.flow = 0.0
            self._etch(job, r, state["t_eff"], activity)
        await self.phase(job, "RINSE", r.rinse_s)
        await self.phase(job, "DRY", FACTS.dry_s[r.dry])
        self._dry(job, r)

    def _etch(self, job: SimJob, r: WetBenchRecipe, t_eff: float, activity: float) -> None:
        for row in job.results:
            rep = physics.etch_wafer(self.world.wafer(row["wafer_id"]), r.chemistry, t_eff, activity)
            row.update(removed_nm=round(rep.removed_nm, 2), undercut_um=round(rep.undercut_um, 4),
                       release_um=round(rep.release_um, 3), stiction=0.0, released=rep.released,
                       lifted_off=rep.lifted_off)

    def _dry(self, job: SimJob, r: WetBenchRecipe) -> None:
        """Capillary forces on drying pull released parts down unless the dry is supercritical."""
        forced = self.faults.active("stiction") is not None
        for row in job.results:
            wafer = self.world.wafer(row["wafer_id"])
            if etching.dry(wafer.regions, "spin_dry" if forced else r.dry, bool(row.get("released"))):
                wafer.flags.append(f"stiction after {r.dry} ({self.tool_id} {job.job_id})")
                row["stiction"] = 1.0


SIMULATOR = SimKind(WetBenchSim, {"modbus": plc_main(SPEC.wire("modbus"))})
