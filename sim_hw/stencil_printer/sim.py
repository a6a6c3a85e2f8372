"""Simulated wafer stencil printer: align, print a stroke, inspect (SPI), wipe every N prints."""
from __future__ import annotations

import math
from typing import Any

from drivers.stencil_printer import interface
from drivers.stencil_printer import paste as physics
from drivers.stencil_printer.interface import OPEN_TIME_H
from drivers.stencil_printer.recipe import StencilPrintRecipe
from drivers.stencil_printer.spec import FACTS, SPEC
from drivers.vocabulary import JobState
from sim_hw.registry import SimKind, plc_main
from sim_hw.tool import SimJob, SimTool
from sim_hw.world import Layer


class StencilPrinterSim(SimTool):
    spec = SPEC

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prints_since_wipe = 0
        self.prints_since_clean = int(self.options.get("prints_since_clean", 0))   # since the last stencil wipe
        self.paste_loaded_s: float | None = None
        self.loaded_paste = interface.PASTES[0]
        self.loaded_stencil = ""
        self.align = (0.0, 0.0)

    def load_recipe(self, body: dict[str, Any]) -> None:
        super().load_recipe(body)
        recipe = StencilPrintRecipe.model_validate(body)
        if recipe.paste != self.loaded_paste or self.paste_loaded_s is None:
            self.paste_loaded_s = self.now()   # a fresh jar is kneaded onto the stencil
        self.loaded_paste, self.loaded_stencil = recipe.paste, recipe.stencil_id

    def start_job(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is not None and job.state == JobState.WAITING_FOR_START:
            self.paste_loaded_s = self.now()   # fresh paste kneaded onto the stencil as each lot starts (§1.4)
        super().start_job(job_id)

    def paste_age_h(self) -> float:
        if self.faults.active("paste_expired"):
            return OPEN_TIME_H[self.loaded_paste] + 1.0
        return 0.0 if self.paste_loaded_s is None else (self.now() - self.paste_loaded_s) / 3600

    def maintained(self, action: str, item: str) -> None:
        self.prints_since_clean = 0                  # stencil-wipe: the apertures unloaded

    def readings(self) -> dict[str, Any]:
        return {"prints_since_wipe": self.prints_since_wipe, "prints_since_clean": min(self.prints_since_clean, 65535),
                "paste_age_min": round(self.paste_age_h() * 60, 2),
                "align_x_um": round(self.align[0], 2), "align_y_um": round(self.align[1], 2),
                "loaded_stencil": self.loaded_stencil, "loaded_paste": self.loaded_paste}

    async def process_wafer(self, job: SimJob, row: dict[str, Any]) -> None:
        r = StencilPrintRecipe.model_validate(job.recipe)
        await self.phase(job, "ALIGN", FACTS.load_align_s)
        mis = self.faults.active("misalignment")
        offset = mis.params["um"] if mis else 0.0
        sigma = FACTS.align_sigma_um * self.noise_scale
        self.align = (offset + self.rng.gauss(0, sigma), self.rng.gauss(0, sigma))
        total = math.hypot(*self.align)
        row["offset_um"] = round(total, 2)
        if total > FACTS.align_limit_um:
            raise self.alarm("MISALIGNMENT", f"offset {total:.0f} µm after alignment on {row['wafer_id']}")
        if self.paste_age_h() > OPEN_TIME_H[r.paste]:
            raise self.alarm("PASTE_EXPIRED", f"{r.paste} on the stencil for {self.paste_age_h():.1f} h "
                                                   f"(open time {OPEN_TIME_H[r.paste]:g} h)")
        await self.phase(job, "PRINT", FACTS.stroke_mm / r.print_speed_mm_s + FACTS.separation_s)
        self._print(job, row, r)
        self.prints_since_wipe += 1
        await self.phase(job, "INSPECT", FACTS.inspect_s)
        if self.prints_since_wipe >= r.wipe_every:
            await self.phase(job, "WIPE", FACTS.wipe_s)
            self.prints_since_wipe = 0
            if (clog := self.faults.active("clogged_apertures")) and clog.one_shot:
                self.faults.clear("clogged_apertures")
        if row["volume_pct"] < FACTS.spi_min_volume_pct:
            raise self.alarm("PRINT_VOLUME_LOW", f"{row['wafer_id']}: paste volume {row['volume_pct']:.0f} % "
                                                      f"of the aperture")

    def _print(self, job: SimJob, row: dict[str, Any], r: StencilPrintRecipe) -> None:
        wafer = self.world.wafer(row["wafer_id"])
        fraction = physics.transfer(r.paste, r.mode, r.aperture_um, r.stencil_thickness_um,
                                    r.squeegee_pressure_n_mm, r.print_speed_mm_s, r.separation_speed_mm_s,
                                    self.prints_since_clean if self.drift else 0)
        self.prints_since_clean += 1
        if clog := self.faults.active("clogged_apertures"):
            fraction *= clog.params["factor"]
        fraction = max(0.0, fraction * self.noise(0.03))
        if r.mode == "fill_holes":
            resist = [l.thickness_nm for stack in wafer.regions.values() for l in stack if l.role == "resist"]
            depth_nm = max(resist, default=0.0)
            where = tuple(n for n, stack in wafer.regions.items() if not any(l.role == "resist" for l in stack))
            ar = physics.area_ratio(r.aperture_um, depth_nm / 1000) if depth_nm else 0.0
        else:
            depth_nm, ar = r.stencil_thickness_um * 1000, physics.area_ratio(r.aperture_um, r.stencil_thickness_um)
            where = tuple(n for n in r.print_over if n in wafer.regions)
        height_nm = depth_nm * fraction if where else 0.0      # nowhere to print (no open hole): nothing laid
        if height_nm > 0 and where:
            material = "Ag-epoxy" if r.paste == "Ag-epoxy" else "SAC305"
            self.world.deposit(row["wafer_id"], where, Layer(
                material, height_nm, "paste", self.tool_id, job.job_id,
                {"volume_pct": round(fraction * 100, 2), "paste": r.paste, "cured": False, "mode": r.mode}))
        row.update(volume_pct=round(fraction * 100, 2), height_um=round(height_nm / 1000, 3), area_ratio=round(ar, 3))


SIMULATOR = SimKind(StencilPrinterSim, {"modbus": plc_main(SPEC.wire("modbus"))})
