"""Simulated wet bench: load a cassette, etch at a controlled temperature, rinse, dry."""
from __future__ import annotations

from typing import Any

from drivers.wet_bench import interface as spec
from drivers.wet_bench.chemistry import CHEMISTRY, arrhenius
from drivers.wet_bench.recipe import WetBenchRecipe
from sim_hw.registry import SimKind, plc_main
from sim_hw.tool import AlarmStop, BatchSimTool, SimJob
from sim_hw.wet_bench import physics

LOAD_S = 60.0
DRY_S = {"spin_dry": 180.0, "ipa_dry": 420.0, "supercritical_co2": 2400.0}
EXCURSION_DETECT_S = 60.0
AMBIENT_C = 22.0


class WetBenchSim(BatchSimTool):
    kind = spec.KIND
    recipe_model = WetBenchRecipe
    limits = spec.LIMITS
    faults_known = {
        "temp_excursion": "bath heater runs away by `c` °C (default 15) at `c_per_s` (0.25 °C/s): TEMP_EXCURSION",
        "exhausted_bath": "bath activity falls to `activity` (default 0.3): under-etch, residual film",
        "over_etch": "the bath timer runs `factor` (default 2) times too long: over-etch and undercut",
        "stiction": "released parts stick on drying, even after a supercritical dry",
        "heater_failure": "the bath stays at ambient (22 °C): the tool refuses to load (TEMP_EXCURSION)",
        "interlock_defeat": "the tool loads wafers into an off-temperature bath (tests the host interlock)",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bath_temp = 25.0
        self.bath_age_h = 0.0
        self.chemistry = spec.CHEMISTRIES[0]
        self.flow = 0.0

    def readings(self) -> dict[str, Any]:
        return {"bath_temp_c": round(self.bath_temp, 2), "bath_level_pct": 95.0, "bath_age_h": round(self.bath_age_h, 3),
                "flow_actual_lpm": self.flow, "bath_chemistry": self.chemistry}

    async def process_batch(self, job: SimJob) -> None:
        r = WetBenchRecipe.model_validate(job.recipe)
        chem = CHEMISTRY[r.chemistry]
        self.chemistry = r.chemistry
        self.bath_temp = AMBIENT_C if self.faults.active("heater_failure") else r.temperature_c
        await self.clock.sleep(LOAD_S)
        if abs(self.bath_temp - r.temperature_c) > spec.TEMPERATURE_BAND_C and not self.faults.active("interlock_defeat"):
            raise AlarmStop(6001, "TEMP_EXCURSION", f"bath at {self.bath_temp:.1f} °C, setpoint {r.temperature_c:g} °C: "
                                                    "cassette not loaded")
        over = self.faults.active("over_etch")
        duration = r.time_s * (float(over.params.get("factor", 2.0)) if over else 1.0)
        runaway = self.faults.active("temp_excursion")
        exhausted = self.faults.active("exhausted_bath")
        activity = float(exhausted.params.get("activity", 0.3)) if exhausted else 1.0
        state = {"t": 0.0, "t_eff": 0.0, "off_band_s": 0.0}
        job.phase, self.flow = "ETCH", r.flow_lpm
        self.batch_started = True

        def etch_step(dt: float) -> bool:
            state["t"] += dt
            if runaway:
                target = r.temperature_c + float(runaway.params.get("c", 15.0))
                step = abs(float(runaway.params.get("c_per_s", 0.25))) * dt
                self.bath_temp += max(-step, min(step, target - self.bath_temp))
            state["t_eff"] += dt * arrhenius(self.bath_temp, chem.t_ref_c)
            off = abs(self.bath_temp - r.temperature_c) > spec.TEMPERATURE_BAND_C
            state["off_band_s"] = state["off_band_s"] + dt if off else 0.0
            if state["off_band_s"] > EXCURSION_DETECT_S and not self.faults.active("interlock_defeat"):
                raise AlarmStop(6001, "TEMP_EXCURSION", f"bath {self.bath_temp:.1f} °C vs setpoint {r.temperature_c:g} °C; "
                                                        f"cassette pulled after {state['t']:.0f} s")
            return state["t"] >= duration

        try:
            await self.integrate(etch_step)
        finally:
            self.bath_age_h += state["t"] / 3600.0
            self.flow = 0.0
            self._etch(job, r, state["t_eff"], activity)
        await self.phase(job, "RINSE", r.rinse_s)
        await self.phase(job, "DRY", DRY_S[r.dry])
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
            if not row.get("released"):
                continue
            if r.dry != "supercritical_co2" or forced:
                wafer = self.world.wafer(row["wafer_id"])
                for layer in (l for reg in wafer.regions.values() for l in reg if l.role == "gap"):
                    layer.props["stiction"] = True
                wafer.flags.append(f"stiction after {r.dry} ({self.tool_id} {job.job_id})")
                row["stiction"] = 1.0


SIMULATOR = SimKind(WetBenchSim, plc_main(spec.INTERFACE))
