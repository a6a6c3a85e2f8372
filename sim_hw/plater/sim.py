"""Simulated multi-cell plating tool: a bath PLC sequencing wafers through parallel cells
(pre-wet → plate → spin-rinse-dry), each cell's rectifier an SCPI instrument of its own."""
from __future__ import annotations

import asyncio
from typing import Any, cast

from drivers.materials import conducts, sheet_resistance
from drivers.plater.recipe import PlaterRecipe
from drivers.plater.spec import FACTS, SPEC
from drivers.vocabulary import DeviceError, WaferStatus
from sim_hw.plater import physics
from sim_hw.plater.rectifier import RectifierSim
from sim_hw.registry import SimKind
from sim_hw.tool import AlarmStop, SimError, SimJob, SimTool
from sim_hw.world import Layer, Wafer, WorldModel

PHASE_ORDER = ("PLATE", "PREWET", "SRD")


class PlaterSim(SimTool):
    @classmethod
    def typical_incoming(cls, world: WorldModel, wafer_id: str) -> None:
        """A plater receives wafers with a conductive seed (Ti adhesion, Cu seed) on every region."""
        regions = tuple(world.wafer(wafer_id).regions)
        world.deposit(wafer_id, regions, Layer("Ti", 100.0, "adhesion"))
        world.deposit(wafer_id, regions, Layer("Cu", 300.0, "seed"))

    spec = SPEC

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bath = self.options.get("bath", "Cu-acid")
        self.n_cells = int(self.options.get("cells", FACTS.default_cells))
        lo, hi = FACTS.temp_bands[self.bath]
        self.bath_temp = (lo + hi) / 2
        self.level = FACTS.level_nominal_pct
        self.bath_ah = float(self.options.get("bath_ah", 0.0))      # since the last replenish
        self.anode_ah = float(self.options.get("anode_ah", 0.0))    # since the anodes were changed
        self.noise_rel = float(self.options.get("noise_pct", physics.WAFER_NOISE_REL * 100)) / 100
        self.rectifiers = [RectifierSim(self.tool_id, n, self.clock, self._idle_load) for n in range(1, self.n_cells + 1)]
        self.cell_phase: dict[int, str] = {}

    def _idle_load(self, i_set: float) -> tuple[float, float, bool]:
        """A dummy-plate cathode: a healthy cell with nothing special on it."""
        return physics.operating_point(self.bath, i_set, physics.R_SOLUTION_OHM + physics.R_CONTACT_OHM)

    def readings(self) -> dict[str, Any]:
        return {"installed_bath": self.bath, "bath_temp_c": round(self.bath_temp, 2), "bath_level_pct": self.level,
                "bath_flow_lpm": 20.0, "bath_ah": round(self.bath_ah + sum(r.manual_ah for r in self.rectifiers), 4),
                "anode_ah": round(self.anode_ah, 4),
                "cells": self.n_cells, "cells_busy": len(self.cell_phase)}

    def maintained(self, action: str, item: str) -> None:
        if action == "bath-replenish":
            self.bath_ah = 0.0
            for rect in self.rectifiers:
                rect.manual_ah = 0.0
        elif action == "anode-change":
            self.anode_ah = 0.0

    def load_recipe(self, body: dict[str, Any]) -> None:
        super().load_recipe(body)
        if body["bath"] != self.bath:
            raise SimError(DeviceError.RECIPE_LIMIT, f"recipe is for a {body['bath']} bath; this tool holds {self.bath}")

    # ---- the sequencer --------------------------------------------------------------------------
    async def process(self, job: SimJob) -> None:
        r = PlaterRecipe.model_validate(job.recipe)
        while pending := [row for row in job.results if row["status"] == WaferStatus.NOT_PROCESSED]:
            queue: asyncio.Queue = asyncio.Queue()
            for row in pending:
                queue.put_nowait(row)
            self.halted = False
            monitor = asyncio.get_running_loop().create_task(self._bath_monitor(job, r))
            try:
                await asyncio.gather(*(self._cell(job, r, n, queue) for n in range(1, self.n_cells + 1)))
            finally:
                monitor.cancel()
                self.rejoin()               # the job goes on from its last cell's end
            if not self.halted:
                break
            await self.wait_for_resume(job)
        job.wafer_index = 0

    async def _bath_monitor(self, job: SimJob, r: PlaterRecipe) -> None:
        """The PLC's bath loop: temperature drift and the low-level interlock, each simulated second."""
        lo, hi = FACTS.temp_bands[self.bath]
        while True:
            await self.clock.sleep(1.0)     # the bath loop runs on the clock, beside the job
            if drift := self.faults.active("bath_temp_drift"):
                self.bath_temp += drift.params["c_per_min"] / 60.0
            low = self.faults.active("low_level")
            if low and low.params["during"] in ("", *self.cell_phase.values()):
                self.level = low.params["pct"]
            if self.level < FACTS.min_level_pct and not self._has_alarm(8002):
                for rect in self.rectifiers:
                    rect.set_output(False)
                self._stop(job, self.alarm("LOW_LEVEL", f"bath level {self.level:.0f} % < {FACTS.min_level_pct:g} %: "
                                                             "every rectifier switched off"), "")
            if not lo <= self.bath_temp <= hi and not self._has_alarm(8001):
                self._stop(job, self.alarm("TEMP_OUT_OF_BAND", f"{self.bath} at {self.bath_temp:.1f} °C, band "
                                                                    f"{lo:g}–{hi:g} °C"), "")

    def _has_alarm(self, alid: int) -> bool:
        return any(a["alid"] == alid for a in self.alarm_rows)

    def _stop(self, job: SimJob, stop: AlarmStop, wafer_id: str) -> None:
        self.raise_alarm(stop, job, wafer_id)
        self.halted = True

    async def _cell(self, job: SimJob, r: PlaterRecipe, n: int, queue: asyncio.Queue) -> None:
        rect = self.rectifiers[n - 1]
        while not self.halted and not queue.empty():
            row = queue.get_nowait()
            job.wafer_index = row["slot"]
            row.update(status=WaferStatus.IN_PROCESS, started_s=self.now(), cell=float(n))
            try:
                self.cell_phase[n] = "PREWET"
                self._update_phase(job)
                await self.sleep(r.prewet_s)
                self.cell_phase[n] = "PLATE"
                self._update_phase(job)
                await self._plate(job, r, n, rect, row)
                self.cell_phase[n] = "SRD"
                self._update_phase(job)
                await self.sleep(r.srd_s)
                row["status"] = WaferStatus.PROCESSED
            except AlarmStop as stop:
                row["status"], row["alarm"] = WaferStatus.INCOMPLETE, stop.name
                if not self._has_alarm(stop.alid):
                    self._stop(job, stop, row["wafer_id"])
            except asyncio.CancelledError:
                # an interlock had already cut this cell's current mid-plate: the wafer is part-plated
                # (INCOMPLETE) whether the cell noticed before the host's abort or not
                halted_mid_plate = self.halted and self.cell_phase.get(n) == "PLATE"
                row["status"] = WaferStatus.INCOMPLETE if halted_mid_plate else WaferStatus.ABORTED
                raise
            finally:
                rect.locked = False
                self.cell_phase.pop(n, None)
                self._update_phase(job)
                row["ended_s"] = self.now()
                self._log_wafer(job, row)

    def _update_phase(self, job: SimJob) -> None:
        busy = set(self.cell_phase.values())
        job.phase = next((p for p in PHASE_ORDER if p in busy), "")

    async def _plate(self, job: SimJob, r: PlaterRecipe, n: int, rect: RectifierSim, row: dict[str, Any]) -> None:
        wafer = self.world.wafer(row["wafer_id"])
        i_set = physics.set_current_a(r.current_density_asd, r.open_area_cm2)
        seed = [(l.material, l.thickness_nm) for l in wafer.regions["field"] if conducts(l.material)]
        contact = physics.R_CONTACT_FAILED_OHM if self._cell_fault("contact_failure", n) or not seed else physics.R_CONTACT_OHM
        state = {"t": 0.0, "charge": 0.0, "r_anode": 0.0, "low_s": 0.0, "v_max": 0.0}
        rect.locked, rect.output = True, True
        try:
            def step(dt: float) -> bool:
                dt = min(dt, r.time_s - state["t"])   # the rectifier stops at the recipe's time, not at the tick after
                if not rect.output:
                    raise self.alarm("RECTIFIER_OFF", f"cell {n} output switched off while plating {row['wafer_id']}")
                if (passivating := self.faults.active("anode_passivation")) and self._cell_fault("anode_passivation", n):
                    rate = passivating.params["ohm_per_s"]
                    state["r_anode"] += rate * dt
                amps, volts, cv = physics.operating_point(self.bath, i_set, physics.R_SOLUTION_OHM + contact + state["r_anode"])
                rect.drive(amps, volts, cv)
                state["t"] += dt
                state["charge"] += amps * dt
                state["v_max"] = max(state["v_max"], volts)
                state["low_s"] = state["low_s"] + dt if amps < 0.9 * i_set else 0.0
                if state["low_s"] > FACTS.deviation_s:
                    if amps < 0.01 * i_set:
                        raise self.alarm("NO_CURRENT", f"cell {n}: no current at {volts:.1f} V on {row['wafer_id']} "
                                                            f"({'no conductive seed' if not seed else 'contact ring open'})")
                    raise self.alarm("COMPLIANCE", f"cell {n}: {amps:.2f} A of {i_set:.2f} A at {volts:.1f} V "
                                                        f"compliance on {row['wafer_id']} (anode passivation?)")
                return state["t"] >= r.time_s

            await self.integrate(step)
        finally:
            rect.output = False
            rect.drive(0.0, 0.0, False)
            self.bath_ah += state["charge"] / 3600.0
            self.anode_ah += state["charge"] / 3600.0
            self._deposit(job, r, wafer, seed, i_set, state, row)

    def _cell_fault(self, name: str, n: int) -> bool:
        fault = self.faults.active(name)
        return fault is not None and fault.params["cell"] == n

    def _deposit(self, job: SimJob, r: PlaterRecipe, wafer: Wafer, seed: list, i_set: float,
                 state: dict[str, float], row: dict[str, Any]) -> None:
        """Metal grows where the top of a region conducts; resist and dielectric stay bare."""
        bath = physics.BATHS[self.bath]
        regions = [name for name, stack in wafer.regions.items() if stack and conducts(stack[-1].material)]
        area = sum(wafer.area_cm2[name] for name in regions)
        ce = physics.aged_efficiency(self.bath, self.bath_ah) if self.drift else bath.efficiency
        ce *= self.noise(self.noise_rel)
        thickness = physics.thickness_um(self.bath, state["charge"], area, ce) if area and state["charge"] > 0 else 0.0
        mean_a = state["charge"] / state["t"] if state["t"] else 0.0
        nu = physics.terminal_nonuniformity_pct(sheet_resistance(seed), mean_a) if seed else 0.0
        if self.drift:
            nu += physics.anode_nonuniformity_pct(self.anode_ah)
        for name in regions:
            self.world.deposit(wafer.wafer_id, (name,), Layer(bath.deposit, thickness * 1000.0, r.deposit_role,
                                                              self.tool_id, job.job_id,
                                                              {"nonuniformity_pct": round(nu, 3), "bath": self.bath}))
        if self.bath == "Au-cyanide":
            for layer in (l for stack in wafer.regions.values() for l in stack if l.role == "resist"):
                layer.props["damaged"] = "cyanide gold bath attacked the resist"
        row.update(thickness_um=round(thickness, 4), charge_ah=round(state["charge"] / 3600, 5),
                   current_a=round(mean_a, 4), voltage_max_v=round(state["v_max"], 3), nonuniformity_pct=round(nu, 3))


def _servers(tool: SimTool, host: str, ports: dict[str, int]) -> dict[str, Any]:
    from sim_hw.modbus.server import PlcServer
    from sim_hw.scpi.server import ScpiServer

    servers: dict[str, Any] = {"main": PlcServer(SPEC.wire("modbus"), tool, host, ports.get("main", 0))}
    for rect in cast(PlaterSim, tool).rectifiers:
        name = f"cell{rect.cell}"
        servers[name] = ScpiServer(SPEC.wire("rectifier"), rect, host, ports.get(name, 0))
    return servers


SIMULATOR = SimKind(PlaterSim, {"modbus": _servers})
