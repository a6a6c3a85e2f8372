"""Simulated PVD cluster: load-lock pump-down, per wafer degas → Ar pre-clean → layer stack, vent."""
from __future__ import annotations

import asyncio
from typing import Any

from drivers.sputter import deposition as physics
from drivers.sputter import interface, vacuum
from drivers.sputter.recipe import SputterLayer, SputterRecipe
from drivers.sputter.spec import FACTS, SPEC
from sim_hw.registry import SimKind, scpi_main
from sim_hw.tool import SimJob, SimTool
from sim_hw.world import Layer


class SputterSim(SimTool):
    spec = SPEC

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pump_started_s: float | None = None
        self.chamber_vented = True
        self.base_torr = vacuum.ATM_TORR
        self.power_kw = 0.0
        self.hard_arcs = 0
        self.micro_arcs = 0
        self.target_kwh: dict[str, float] = {m: float(self.options.get("target_kwh", {}).get(m, 0.0))
                                             for m in interface.MATERIALS}
        self.noise_rel = float(self.options.get("noise_pct", FACTS.wafer_noise_rel * 100)) / 100

    # ---- readings ------------------------------------------------------------------------
    def leak(self) -> float:
        fault = self.faults.active("vacuum_leak")
        return fault.params["torr_l_s"] if fault else 0.0

    def pressure(self) -> float:
        if self.pump_started_s is None:
            return vacuum.ATM_TORR if self.chamber_vented else vacuum.ultimate_pressure(self.leak())
        return vacuum.pumpdown_pressure(self.now() - self.pump_started_s, self.leak())

    def readings(self) -> dict[str, Any]:
        return {"pressure_torr": float(f"{self.pressure():.3e}"), "base_torr": float(f"{self.base_torr:.3e}"),
                "power_kw": self.power_kw, "micro_arcs": self.micro_arcs}

    def measure_pressure(self) -> tuple:
        return (self.pressure(),)

    def arc_counts(self) -> tuple:
        return (self.hard_arcs, self.micro_arcs)

    def target_life(self) -> tuple:
        return ({m: round(v, 3) for m, v in self.target_kwh.items()},)

    def maintained(self, action: str, item: str) -> None:
        self.target_kwh[item] = 0.0                  # target-change: a new target of that material

    # ---- process -------------------------------------------------------------------------
    def recipe(self, job: SimJob) -> SputterRecipe:
        return SputterRecipe.model_validate(job.recipe)

    async def before_wafers(self, job: SimJob) -> None:
        """Pump the chamber from atmosphere until the base-pressure limit, or time out."""
        limit = self.recipe(job).base_pressure_limit_torr
        job.phase = "PUMPDOWN"
        self.chamber_vented = False
        self.pump_started_s = self.now()
        needed = vacuum.time_to_pressure(limit, self.leak())
        defeated = self.faults.active("interlock_defeat") is not None
        try:
            if needed is None or needed > FACTS.pumpdown_timeout_s:
                await self.sleep(FACTS.pumpdown_timeout_s)
                if not defeated:
                    raise self.alarm("PUMPDOWN_TIMEOUT",
                                    f"base pressure {self.pressure():.2e} Torr not below {limit:.1e} Torr "
                                    f"after {FACTS.pumpdown_timeout_s:.0f} s (leak?)")
            else:
                await self.sleep(needed)
        finally:
            self.base_torr = self.pressure()
            self.pump_started_s = None

    async def after_wafers(self, job: SimJob) -> None:
        job.phase = "VENT"
        await self.sleep(FACTS.vent_s)
        self.chamber_vented = True
        self.base_torr = vacuum.ATM_TORR

    async def process_wafer(self, job: SimJob, row: dict[str, Any]) -> None:
        recipe = self.recipe(job)
        wafer_id = row["wafer_id"]
        await self.sleep(FACTS.transfer_s)
        await self.phase(job, "DEGAS", recipe.degas.time_s)
        self.world.heat(wafer_id, recipe.degas.temperature_c)
        row["degas_c"] = recipe.degas.temperature_c
        self.base_torr = vacuum.ultimate_pressure(self.leak()) * self.noise(0.1)
        self._check_base_pressure(recipe)
        if recipe.preclean:
            await self.phase(job, "PRECLEAN", recipe.preclean.time_s)
            removed = 0.0
            wafer = self.world.wafer(wafer_id)
            for region, stack in wafer.regions.items():     # the plasma reaches an oxide on top, not one buried
                if stack and stack[-1].role == "native_oxide":
                    oxide = stack[-1]
                    here = physics.oxide_removed_nm(recipe.preclean.removal_nm, oxide.thickness_nm)
                    oxide.thickness_nm -= here
                    removed = max(removed, here)
                    if oxide.thickness_nm <= physics.OXIDE_GONE_NM:
                        wafer.remove(region, oxide)
            row["preclean_removed_nm"] = round(removed, 3)
        row["layers"] = []
        row["micro_arcs"] = 0
        for index, layer in enumerate(recipe.layers, 1):
            self._check_base_pressure(recipe)
            await self._deposit(job, row, index, layer)

    def _check_base_pressure(self, recipe: SputterRecipe) -> None:
        if self.base_torr > recipe.base_pressure_limit_torr and not self.faults.active("interlock_defeat"):
            raise self.alarm("INTERLOCK_BASE_PRESSURE",
                            f"base pressure {self.base_torr:.2e} Torr above {recipe.base_pressure_limit_torr:.1e} Torr: "
                            "plasma refused")

    async def _deposit(self, job: SimJob, row: dict[str, Any], index: int, layer: SputterLayer) -> None:
        job.phase = "DEPOSIT"
        if self.faults.take("target_worn"):
            self.target_kwh[layer.material] = max(self.target_kwh[layer.material], physics.TARGET_LIFE_KWH)
        if self.target_kwh[layer.material] >= physics.TARGET_LIFE_KWH:
            raise self.alarm("TARGET_END_OF_LIFE", f"{layer.material} target at {self.target_kwh[layer.material]:.0f} kWh "
                                                   f"of {physics.TARGET_LIFE_KWH:.0f}: replace it before depositing "
                                                   f"layer {index} on {row['wafer_id']}")
        rate = physics.deposition_rate_nm_min(layer.material, layer.power_kw) * self.noise(self.noise_rel)
        if self.drift:
            rate *= physics.aged_rate_factor(self.target_kwh[layer.material])
        duration = layer.time_s
        arc = self.faults.active("hard_arc")
        arc_here = arc is not None and arc.params["slot"] in (None, row["slot"]) \
            and (arc.params["layer"] or len(self.recipe(job).layers)) == index
        if arc is not None and arc_here:
            duration = layer.time_s * arc.params["fraction"]
        started = self.now()
        self.power_kw = layer.power_kw
        try:
            await self.sleep(duration)
        except asyncio.CancelledError:
            self._lay_down(job, row, layer, rate, self.now() - started, complete=False)
            raise
        finally:
            self.power_kw = 0.0
        self._count_micro_arcs(row, layer, duration)
        if arc_here:
            self.faults.take("hard_arc")
            self.hard_arcs += 1
            self._lay_down(job, row, layer, rate, duration, complete=False)
            raise self.alarm("HARD_ARC",
                            f"hard arc on {layer.material} target at {layer.power_kw:g} kW, wafer {row['wafer_id']} "
                            f"layer {index} stopped at {duration:.0f}/{layer.time_s:.0f} s; power off")
        self._lay_down(job, row, layer, rate, duration, complete=True)

    def _count_micro_arcs(self, row: dict[str, Any], layer: SputterLayer, duration_s: float) -> None:
        fault = self.faults.active("micro_arcs")
        per_min = fault.params["per_min"] if fault else physics.MICRO_ARC_RATE_PER_KW_MIN * layer.power_kw
        # Poisson count over the deposition time; each micro-arc is quenched in µs and recovered.
        n, t = 0, self.rng.expovariate(per_min / 60.0) if per_min > 0 else float("inf")
        while t < duration_s:
            n += 1
            t += self.rng.expovariate(per_min / 60.0)
        self.micro_arcs += n
        row["micro_arcs"] = row.get("micro_arcs", 0) + n

    def _lay_down(self, job: SimJob, row: dict[str, Any], layer: SputterLayer, rate: float, seconds: float,
                  complete: bool) -> None:
        thickness = rate * seconds / 60.0
        self.target_kwh[layer.material] += layer.power_kw * seconds / 3600.0
        row["layers"].append({"material": layer.material, "role": layer.role, "target_nm": layer.thickness_nm,
                              "thickness_nm": round(thickness, 2), "complete": complete})
        if thickness > 0:
            self.world.deposit(row["wafer_id"], tuple(self.world.wafer(row["wafer_id"]).regions),
                               Layer(layer.material, thickness, layer.role, self.tool_id, job.job_id,
                                     {"complete": complete}))


SIMULATOR = SimKind(SputterSim, {"scpi": scpi_main(SPEC.wire("scpi"))})
