"""The electroplater, declared once: single-wafer cells on one bath (prewet, plate, spin-rinse-dry);
the bath PLC sequences jobs, every cell's rectifier is watched on its own."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from drivers.plater import interface
from drivers.plater.recipe import PlaterRecipe
from drivers.spec import AlarmSpec, KindSpec, MaintenanceSpec, MeasurementSpec, fault


@dataclass(frozen=True)
class PlaterFacts:
    temp_bands: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(interface.TEMP_BANDS))
    min_level_pct: float = interface.MIN_LEVEL_PCT
    level_nominal_pct: float = 95.0
    k_um_per_asd_min: dict[str, float] = field(default_factory=lambda: dict(interface.K_UM_PER_ASD_MIN))
    bath_metal: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(interface.BATH_METAL))
    deviation_s: float = 5.0             # current off its setpoint this long: the cell alarms
    default_cells: int = 4


FACTS = PlaterFacts()


def job_time_s(body: dict[str, Any], n: int, options: dict[str, Any]) -> float:
    """Cells run in parallel, each taking the next wafer: ceil(n / cells) rounds."""
    return _rounds(n, options) * (body["prewet_s"] + body["time_s"] + body["srd_s"])


def guard_entries_s(body: dict[str, Any], n: int, options: dict[str, Any]) -> list[float]:
    """Each round's cells start plating after their pre-wet."""
    cycle = body["prewet_s"] + body["time_s"] + body["srd_s"]
    return [k * cycle + body["prewet_s"] for k in range(_rounds(n, options))]


def _rounds(n: int, options: dict[str, Any]) -> int:
    return math.ceil(n / int(options.get("cells", FACTS.default_cells)))


SPEC = KindSpec(
    kind=interface.KIND, doc=__doc__ or "", phases=interface.PHASES, guarded_phases=("PLATE",),
    guard_entries_s=guard_entries_s,
    recipe_model=PlaterRecipe, limits=interface.LIMITS,
    alarms=(AlarmSpec(8001, "TEMP_OUT_OF_BAND", "bath temperature outside its band"),
            AlarmSpec(8002, "LOW_LEVEL", "bath level low: interlock switched every rectifier off"),
            AlarmSpec(8003, "COMPLIANCE", "rectifier at voltage compliance, current below setpoint (anode passivation?)"),
            AlarmSpec(8004, "NO_CURRENT", "no current flows at compliance voltage (contact ring or seed)"),
            AlarmSpec(8005, "RECTIFIER_OFF", "a rectifier output was switched off during plating")),
    measurements=(MeasurementSpec("plated.thickness", "µm", "plated thickness (Faraday, from the charge)",
                                  "thickness_um", recipe_targets=lambda body, name: [float(body["target_thickness_um"])]),
                  MeasurementSpec("plated.charge", "Ah", "charge passed", "charge_ah"),
                  MeasurementSpec("plated.current", "A", "mean current", "current_a"),
                  MeasurementSpec("plated.voltage_max", "V", "highest cell voltage", "voltage_max_v"),
                  MeasurementSpec("plated.nonuniformity", "%", "thickness non-uniformity", "nonuniformity_pct")),
    maintenance=(MaintenanceSpec("bath-replenish", "the bath is replenished (bleed and feed, additives dosed): "
                                                   "its A·h since replenish restarts"),
                 MaintenanceSpec("anode-change", "the soluble anodes are changed: their A·h restarts")),
    faults=(fault("bath_temp_drift", "bath temperature drifts at `c_per_min`: TEMP_OUT_OF_BAND",
                  c_per_min=(float, 0.5, "°C/min")),
            fault("anode_passivation", "cell `cell`: anode film grows `ohm_per_s`, voltage climbs to compliance",
                  cell=(int, 1, "cell number"), ohm_per_s=(float, 0.02, "Ω/s")),
            fault("contact_failure", "cell `cell`: contact ring open, no current: NO_CURRENT",
                  cell=(int, 1, "cell number")),
            fault("low_level", "bath level drops to `pct`, once a cell is in phase `during` (default: at once): "
                               "interlock, every rectifier off: LOW_LEVEL",
                  pct=(float, 60.0, "%"), during=(str, "", "a phase name"))),
    job_time_s=job_time_s, wires={"modbus": interface.INTERFACE, "rectifier": interface.RECTIFIER}, facts=FACTS,
    readings=interface.INTERFACE.readbacks,
    healthy_readings=lambda body: {"installed_bath": body["bath"], "bath_level_pct": FACTS.level_nominal_pct,
                                   "bath_temp_c": sum(FACTS.temp_bands[body["bath"]]) / 2},
)
