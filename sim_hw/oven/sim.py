"""Simulated batch oven: N2 purge to the O2 limit, profile following, cool-down."""
from __future__ import annotations

from typing import Any

from drivers.oven import thermal as physics
from drivers.oven.recipe import OvenRecipe
from drivers.oven.spec import FACTS, SPEC
from sim_hw.oven.effects import apply_thermal
from sim_hw.registry import SimKind, plc_main, scpi_main
from sim_hw.tool import BatchSimTool, SimJob


class OvenSim(BatchSimTool):
    spec = SPEC

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model: physics.OvenModel | None = None
        self.o2 = physics.AIR_O2_PPM
        self.o2_floor = physics.O2_FLOOR_PPM

    def readings(self) -> dict[str, Any]:
        m = self.model
        return {"oven_c": round(m.oven if m else 25.0, 2), "wafer_c": round(m.wafer if m else 25.0, 2),
                "setpoint_c": round(m.setpoint if m else 25.0, 2), "o2_ppm": physics.o2_reading(self.o2),
                "segment": m.segment + 1 if m else 0}

    def _floor(self) -> float:
        fault = self.faults.active("o2_high")
        if fault is None or (self.model.wafer if self.model else 25.0) < fault.params["above_c"]:
            return physics.O2_FLOOR_PPM
        return fault.params["ppm"]

    async def process_batch(self, job: SimJob) -> None:
        r = OvenRecipe.model_validate(job.recipe)
        job.phase = "PURGE"
        if r.n2_purge and not self.faults.active("interlock_defeat"):
            purge = {"t": 0.0}

            def purge_step(dt: float) -> bool:
                purge["t"] += dt
                self.o2 = physics.purge_o2_ppm(purge["t"], r.n2_flow_slm, self._floor())
                if purge["t"] > FACTS.purge_timeout_s:
                    raise self.alarm("O2_HIGH", f"O2 {self.o2:.0f} ppm still above {r.o2_limit_ppm:g} ppm after "
                                                     f"{FACTS.purge_timeout_s:.0f} s purge")
                return physics.o2_reading(self.o2) <= r.o2_limit_ppm    # on the reading the host's interlock sees

            await self.integrate(purge_step)
        heater = self.faults.active("heater_failure")
        overshoot = self.faults.active("overshoot")
        self.model = m = physics.OvenModel(
            [s.model_dump() for s in r.segments], r.cool_c_per_min, r.liquidus_c,
            max_heat_c_per_min=heater.params["c_per_min"] if heater else 120.0,
            overshoot_c=overshoot.params["c"] if overshoot else 0.0)
        job.phase = "HEAT"
        self.batch_started = True
        hist: dict[str, Any] = {"o2_max_hot_ppm": 0.0,
                                "above": dict.fromkeys(FACTS.thresholds(), 0.0)}

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
            if r.n2_purge and physics.o2_reading(self.o2) > r.o2_limit_ppm and not self.faults.active("interlock_defeat"):
                raise self.alarm("O2_HIGH", f"O2 {self.o2:.0f} ppm above the {r.o2_limit_ppm:g} ppm limit at "
                                                 f"{m.wafer:.0f} °C; heaters off")
            if m.deviating:
                raise self.alarm("ZONE_DEVIATION", f"oven {m.oven:.0f} °C vs profile {m.setpoint:.0f} °C "
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


# The oven's two vendors: the PLC (Modbus) and a SCPI furnace controller, over the same physics.
SIMULATOR = SimKind(OvenSim, {"modbus": plc_main(SPEC.wire("modbus")), "scpi": scpi_main(SPEC.wire("scpi"))})
