"""Simulated batch oven: N2 purge to the O2 limit, profile following, cool-down."""
from __future__ import annotations

from typing import Any

from drivers.oven import interface as spec
from drivers.oven.recipe import OvenRecipe
from sim_hw.oven import physics
from sim_hw.oven.effects import PASTE_CURE_C, PI_CURE, apply_thermal
from sim_hw.registry import SimKind, plc_main
from sim_hw.tool import AlarmStop, BatchSimTool, SimJob

PURGE_TIMEOUT_S = 1800.0


class OvenSim(BatchSimTool):
    kind = spec.KIND
    recipe_model = OvenRecipe
    limits = spec.LIMITS
    faults_known = {
        "o2_high": "N2 supply lost: O2 floor `ppm` (default 3000), from the moment the wafers pass `above_c` "
                   "(default: at once) — O2_HIGH alarm; molten solder dewets",
        "overshoot": "zone controller overshoots holds by `c` °C (default 40): ZONE_DEVIATION",
        "heater_failure": "heaters deliver at most `c_per_min` (default 3 °C/min): cannot follow the ramp",
        "interlock_defeat": "the tool heats without waiting for the purge (tests the host-side O2 interlock)",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model: physics.OvenModel | None = None
        self.o2 = physics.AIR_O2_PPM
        self.o2_floor = physics.O2_FLOOR_PPM

    def readings(self) -> dict[str, Any]:
        m = self.model
        return {"oven_c": round(m.oven if m else 25.0, 2), "wafer_c": round(m.wafer if m else 25.0, 2),
                "setpoint_c": round(m.setpoint if m else 25.0, 2), "o2_ppm": round(self.o2, 1),
                "segment": m.segment + 1 if m else 0}

    def _floor(self) -> float:
        fault = self.faults.active("o2_high")
        if fault is None or (self.model.wafer if self.model else 25.0) < float(fault.params.get("above_c", -273.0)):
            return physics.O2_FLOOR_PPM
        return float(fault.params.get("ppm", 3000.0))

    async def process_batch(self, job: SimJob) -> None:
        r = OvenRecipe.model_validate(job.recipe)
        job.phase = "PURGE"
        if r.n2_purge and not self.faults.active("interlock_defeat"):
            purge = {"t": 0.0}

            def purge_step(dt: float) -> bool:
                purge["t"] += dt
                self.o2 = physics.purge_o2_ppm(purge["t"], r.n2_flow_slm, self._floor())
                if purge["t"] > PURGE_TIMEOUT_S:
                    raise AlarmStop(3001, "O2_HIGH", f"O2 {self.o2:.0f} ppm still above {r.o2_limit_ppm:g} ppm after "
                                                     f"{PURGE_TIMEOUT_S:.0f} s purge")
                return self.o2 <= r.o2_limit_ppm

            await self.integrate(purge_step)
        heater = self.faults.active("heater_failure")
        overshoot = self.faults.active("overshoot")
        self.model = m = physics.OvenModel(
            [s.model_dump() for s in r.segments], r.cool_c_per_min, r.liquidus_c,
            max_heat_c_per_min=float(heater.params.get("c_per_min", 3.0)) if heater else 120.0,
            overshoot_c=float(overshoot.params.get("c", 40.0)) if overshoot else 0.0)
        job.phase = "HEAT"
        self.batch_started = True
        hist = {"o2_max_hot_ppm": 0.0, "above": {PASTE_CURE_C: 0.0, **{t: 0.0 for t, _, _ in PI_CURE}}}

        def heat_step(dt: float) -> bool:
            done = m.step(dt)
            if r.n2_purge and not self.faults.active("interlock_defeat"):
                self.o2 = self._floor()
            if m.wafer >= r.liquidus_c:
                hist["o2_max_hot_ppm"] = max(hist["o2_max_hot_ppm"], self.o2)
            for temp in hist["above"]:
                if m.wafer >= temp:
                    hist["above"][temp] += dt
            if m.cooling:
                job.phase = "COOL"
            self._record(job, m, hist)
            if r.n2_purge and self.o2 > r.o2_limit_ppm and not self.faults.active("interlock_defeat"):
                raise AlarmStop(3001, "O2_HIGH", f"O2 {self.o2:.0f} ppm above the {r.o2_limit_ppm:g} ppm limit at "
                                                 f"{m.wafer:.0f} °C; heaters off")
            if m.deviating:
                raise AlarmStop(3002, "ZONE_DEVIATION", f"oven {m.oven:.0f} °C vs profile {m.setpoint:.0f} °C "
                                                        f"for over {physics.DEVIATION_GRACE_S:.0f} s")
            return done

        try:
            await self.integrate(heat_step)
        finally:
            self._apply(job, m, hist, r.liquidus_c)

    def _record(self, job: SimJob, m: physics.OvenModel, hist: dict[str, Any]) -> None:
        for row in job.results:
            row.update(peak_c=round(m.peak, 2), tal_s=m.tal_s, o2_max_hot_ppm=round(hist["o2_max_hot_ppm"], 1),
                       time_above_230_s=m.above_230_s)

    def _apply(self, job: SimJob, m: physics.OvenModel, hist: dict[str, Any], liquidus: float) -> None:
        for wafer_id in job.wafers:
            self.world.heat(wafer_id, m.peak)
            apply_thermal(self.world.wafer(wafer_id), self.tool_id, job.job_id,
                          {"peak_c": m.peak, "tal_s": m.tal_s, "above": hist["above"],
                           "o2_max_hot_ppm": hist["o2_max_hot_ppm"], "liquidus_c": liquidus})


SIMULATOR = SimKind(OvenSim, plc_main(spec.INTERFACE))
