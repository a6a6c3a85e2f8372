"""The sputter (PVD cluster), declared once: degas, Ar pre-clean, DC magnetron deposition of a stack."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.spec import AlarmSpec, KindSpec, MaintenanceSpec, MeasurementSpec, fault
from drivers.sputter import interface
from drivers.sputter.recipe import SputterRecipe


@dataclass(frozen=True)
class SputterFacts:
    transfer_s: float = 20.0            # load lock to chamber, per wafer
    vent_s: float = 45.0
    pumpdown_timeout_s: float = 900.0
    wafer_noise_rel: float = 0.015      # 1σ wafer-to-wafer thickness


FACTS = SputterFacts()


def job_time_s(body: dict[str, Any], n: int, options: dict[str, Any]) -> float:
    """Pump-down (the simulator's pump curve to the base-pressure limit, leak-free), then per wafer:
    transfer, degas, pre-clean, every layer; then vent."""
    return _pump_s(body) + n * _per_wafer_s(body) + FACTS.vent_s


def guard_entries_s(body: dict[str, Any], n: int, options: dict[str, Any]) -> list[float]:
    """Each wafer's plasma: pre-clean after its transfer and degas, then deposition (the layers
    follow one another inside DEPOSIT)."""
    preclean = body["preclean"]["time_s"] if body.get("preclean") else None
    out = []
    for k in range(n):
        plasma = _pump_s(body) + k * _per_wafer_s(body) + FACTS.transfer_s + body["degas"]["time_s"]
        out += [plasma, plasma + preclean] if preclean is not None else [plasma]
    return out


def _pump_s(body: dict[str, Any]) -> float:
    from drivers.sputter.vacuum import time_to_pressure

    return time_to_pressure(body["base_pressure_limit_torr"], 0.0) or 0.0


def _per_wafer_s(body: dict[str, Any]) -> float:
    return FACTS.transfer_s + body["degas"]["time_s"] + (body["preclean"]["time_s"] if body.get("preclean") else 0.0) \
        + sum(layer["time_s"] for layer in body["layers"])


SPEC = KindSpec(
    kind=interface.KIND, doc=__doc__ or "", phases=interface.PHASES, guarded_phases=interface.PLASMA_PHASES,
    guard_entries_s=guard_entries_s,
    recipe_model=SputterRecipe, limits=interface.LIMITS,
    alarms=(AlarmSpec(1001, "PUMPDOWN_TIMEOUT", "base pressure not reached within the pump-down timeout (leak?)"),
            AlarmSpec(1002, "INTERLOCK_BASE_PRESSURE", "base pressure above the recipe limit: plasma refused"),
            AlarmSpec(2001, "HARD_ARC", "hard arc on a target: power off, layer incomplete"),
            AlarmSpec(2002, "TARGET_END_OF_LIFE", "a target has delivered its rated energy")),
    measurements=(MeasurementSpec("thickness.*", "nm", "deposited thickness of each layer, by material",
                                  recipe_targets=lambda body, name: [float(layer["thickness_nm"]) for layer in body["layers"]
                                                                     if f"thickness.{layer['material']}" == name]),
                  MeasurementSpec("preclean.removed", "nm", "native oxide removed by the Ar pre-clean",
                                  field="preclean_removed_nm"),
                  MeasurementSpec("arcs.micro", "count", "micro-arcs quenched while depositing", field="micro_arcs")),
    maintenance=(MaintenanceSpec("target-change", "a new target is installed: its kWh counter restarts",
                                 "material", interface.MATERIALS),),
    faults=(fault("micro_arcs", "raise the micro-arc rate to `per_min` (recovered, counted)",
                  per_min=(float, 5.0, "micro-arcs per minute")),
            fault("hard_arc", "hard arc during deposition (wafer `slot`, layer `layer`, at `fraction` of its time): "
                              "alarm, layer incomplete",
                  slot=(int, None, "default: the next wafer"), layer=(int, None, "default: the last layer"),
                  fraction=(float, 0.5, "of the layer's time")),
            fault("vacuum_leak", "leak of `torr_l_s`: base pressure never reached → pump-down timeout",
                  torr_l_s=(float, 0.05, "Torr·l/s")),
            fault("target_worn", "the target of the next layer reaches its rated life: TARGET_END_OF_LIFE"),
            fault("interlock_defeat", "the tool skips its own base-pressure check (tests the host-side interlock)")),
    job_time_s=job_time_s, wires={"scpi": interface.INTERFACE}, facts=FACTS,
    readings=("base_torr", "pressure_torr", "power_kw"),
    healthy_readings=lambda body: {"base_torr": body["base_pressure_limit_torr"] / 10, "pressure_torr": 3e-3},
)
