"""How long a job takes on a tool, in simulated seconds, from the recipe body and the simulator's
physics and fixed handling times — computed, not measured, so the bottleneck bound and the SimPy
model do not depend on how well the host drives the line.

Each function mirrors its kind's `sim_hw/<kind>/sim.py` job (start → PROCESS_COMPLETE). The
throughput benchmark checks these against the job logs of the real run."""
from __future__ import annotations

import math
from typing import Any, Callable

from sim_hw.litho import sim as litho
from sim_hw.metrology import sim as metrology
from sim_hw.oven import physics as oven_physics
from sim_hw.sputter import physics as sputter_physics
from sim_hw.sputter import sim as sputter
from sim_hw.stencil_printer import sim as printer
from sim_hw.wet_bench import sim as wet
from drivers.litho.interface import NOMINAL_LAMP_MW_CM2


def sputter_s(b: dict[str, Any], n: int, options: dict[str, Any]) -> float:
    pump = sputter_physics.time_to_pressure(b["base_pressure_limit_torr"], 0.0) or 0.0
    per_wafer = sputter.TRANSFER_S + b["degas"]["time_s"] + (b["preclean"]["time_s"] if b.get("preclean") else 0.0) \
        + sum(layer["time_s"] for layer in b["layers"])
    return pump + n * per_wafer + sputter.VENT_S


def litho_s(b: dict[str, Any], n: int, options: dict[str, Any]) -> float:
    per_wafer = (litho.HANDLING_S + b["spin_s"] + 10.0 + b["soft_bake_s"] + litho.ALIGN_S
                 + b["dose_mj_cm2"] / NOMINAL_LAMP_MW_CM2 + b["develop_s"] + litho.RINSE_S)
    return n * per_wafer


def plater_s(b: dict[str, Any], n: int, options: dict[str, Any]) -> float:
    """Cells run in parallel, each taking the next wafer: ceil(n / cells) rounds."""
    cells = int(options.get("cells", 4))
    return math.ceil(n / cells) * (b["prewet_s"] + b["time_s"] + b["srd_s"])


def printer_s(b: dict[str, Any], n: int, options: dict[str, Any]) -> float:
    per_wafer = printer.LOAD_ALIGN_S + printer.STROKE_MM / b["print_speed_mm_s"] + 2.0 + printer.INSPECT_S
    wipes = n / b["wipe_every"]             # the wipe counter runs across lots: on average
    return n * per_wafer + wipes * printer.WIPE_S


def wet_s(b: dict[str, Any], n: int, options: dict[str, Any]) -> float:
    return wet.LOAD_S + b["time_s"] + b["rinse_s"] + wet.DRY_S[b["dry"]]


def oven_s(b: dict[str, Any], n: int, options: dict[str, Any]) -> float:
    purge = 0.0
    if b["n2_purge"]:
        purge = math.ceil(oven_physics.purge_time_s(b["o2_limit_ppm"], b["n2_flow_slm"]) or 0.0)
    model = oven_physics.OvenModel(b["segments"], b["cool_c_per_min"], b["liquidus_c"])
    steps = 1
    while not model.step(1.0):
        steps += 1
    return purge + steps


def metrology_s(b: dict[str, Any], n: int, options: dict[str, Any]) -> float:
    return n * (metrology.ALIGN_S + metrology.PER_SITE_S * b["sites"])


JOB_TIME: dict[str, Callable[[dict[str, Any], int, dict[str, Any]], float]] = {
    "sputter": sputter_s, "litho": litho_s, "plater": plater_s, "stencil_printer": printer_s,
    "wet_bench": wet_s, "oven": oven_s, "metrology": metrology_s,
}


def job_time_s(kind: str, body: dict[str, Any], n_wafers: int, options: dict[str, Any] | None = None) -> float:
    """Simulated seconds a job of `n_wafers` runs on a tool of `kind` (its `options`: cells …)."""
    return JOB_TIME[kind](body, n_wafers, options or {})
